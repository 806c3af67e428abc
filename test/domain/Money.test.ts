import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import { Currency, Money } from "aegispay"

const usd = (s: string) => Either.getOrThrow(Money.fromDecimalString(s, "USD"))

describe("Money", () => {
  it("round-trips every amount exactly through its decimal string, for every currency", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Currency.codes),
        fc.bigInt({ min: -Money.MAX_MINOR, max: Money.MAX_MINOR }),
        (currency, minor) => {
          const money = Money.fromMinor(currency, minor)
          const text = Money.toDecimalString(money)
          const decimals = text.split(".")[1]?.length ?? 0
          expect(decimals).toBe(Currency.exponent(currency))
          const back = Either.getOrThrow(Money.fromDecimalString(text, currency))
          expect(back.minor).toBe(minor)
          expect(back.currency).toBe(currency)
        }
      ),
      { numRuns: 2000 }
    )
  })

  it("covers every exponent ISO 4217 uses", () => {
    expect(new Set(Currency.codes.map(Currency.exponent))).toEqual(new Set([0, 2, 3, 4]))
    expect(Currency.exponent("JPY")).toBe(0)
    expect(Currency.exponent("KWD")).toBe(3)
    expect(Currency.exponent("BHD")).toBe(3)
    expect(Currency.exponent("CLF")).toBe(4)
    expect(Currency.codes.length).toBeGreaterThan(150)
  })

  it("parses decimal strings exactly and never rounds", () => {
    expect(usd("10.50").minor).toBe(1050n)
    expect(usd("0.01").minor).toBe(1n)
    expect(usd("1.500").minor).toBe(150n)
    expect(Either.isLeft(Money.fromDecimalString("1.005", "USD"))).toBe(true)
    expect(Either.isLeft(Money.fromDecimalString("1.5", "JPY"))).toBe(true)
    expect(Either.getOrThrow(Money.fromDecimalString("1.005", "KWD")).minor).toBe(1005n)
    expect(Either.isLeft(Money.fromDecimalString("1.0005", "KWD"))).toBe(true)
    for (const bad of ["", "abc", "1,00", "1e3", "0x10", "1.", ".5", "--1", "9223372036854775808"]) {
      expect(Either.isLeft(Money.fromDecimalString(bad, "JPY")), bad).toBe(true)
    }
  })

  it("accepts a JS number only where it converts exactly", () => {
    expect(Either.getOrThrow(Money.fromNumber(10.5, "USD")).minor).toBe(1050n)
    expect(Either.getOrThrow(Money.fromNumber(49.99, "USD")).minor).toBe(4999n)
    expect(Either.getOrThrow(Money.fromNumber(5000, "JPY")).minor).toBe(5000n)
    expect(Either.getOrThrow(Money.fromNumber(35184372088831.99, "USD")).minor).toBe(3518437208883199n) // below 2^45
    const rejected = [1.005, 0.1 + 0.2, Number.NaN, Infinity, 1e21, 1e-7, Number("90071992547409.93"), Number("70368744177664.01")]
    for (const n of rejected) expect(Either.isLeft(Money.fromNumber(n, "USD")), String(n)).toBe(true)
    const error = Either.getLeft(Money.fromNumber(1.005, "USD"))
    expect(error._tag === "Some" && error.value._tag).toBe("InvalidAmount")
  })

  it("property: a number with at most `exponent` decimals converts to exactly its digits", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), (cents) => {
        const n = cents / 100
        const money = Either.getOrThrow(Money.fromNumber(n, "USD"))
        expect(money.minor).toBe(BigInt(cents))
      })
    )
  })

  it("refuses arithmetic across currencies with a typed error", () => {
    const a = Money.fromMinor("USD", 100n)
    const b = Money.fromMinor("EUR", 100n)
    const sum = Money.add(a, b)
    expect(Either.isLeft(sum) && sum.left._tag).toBe("CurrencyMismatch")
    expect(Either.isLeft(Money.subtract(a, b))).toBe(true)
    expect(Either.isLeft(Money.compare(a, b))).toBe(true)
    expect(Either.getOrThrow(Money.add(a, a)).minor).toBe(200n)
  })

  it("formats with the currency's exponent", () => {
    expect(Money.fromMinor("USD", 5n).toString()).toBe("0.05 USD")
    expect(Money.fromMinor("USD", -1050n).toString()).toBe("-10.50 USD")
    expect(Money.fromMinor("JPY", 5000n).toString()).toBe("5000 JPY")
    expect(Money.fromMinor("KWD", 1n).toString()).toBe("0.001 KWD")
  })
})
