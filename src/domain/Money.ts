/**
 * Exact money: an ISO 4217 currency and an integer count of its minor units.
 *
 * No floating-point number ever holds an amount. Decimal input is parsed digit by digit; an
 * amount with more decimals than the currency allows is an {@link InvalidAmount} error, never
 * rounded (1.005 USD is rejected). Arithmetic across currencies is a {@link CurrencyMismatch}.
 *
 * @since 0.1.0
 */
import { Either, Order, Schema } from "effect"
import * as Currency from "./Currency.js"
import { maskCardNumbers } from "./Sanitize.js"

/**
 * The largest magnitude of minor units accepted: the PostgreSQL `bigint` maximum, so every
 * amount AegisPay accepts can be stored without overflow.
 *
 * @since 0.1.0
 */
export const MAX_MINOR = 9_223_372_036_854_775_807n

/**
 * An amount of money. `minor` counts minor units of `currency` (cents for USD, yen for JPY,
 * fils for KWD). Values may be zero or negative as results of arithmetic; payment inputs are
 * checked to be positive where they enter.
 *
 * @since 0.1.0
 */
export class Money extends Schema.Class<Money>("Money")({
  currency: Currency.CurrencyCode,
  minor: Schema.BigInt
}) {
  /** The amount as an exact decimal string in major units, e.g. `"10.50"` for 1050 USD cents. */
  toDecimalString(): string {
    return toDecimalString(this)
  }
  /** `"10.50 USD"`. */
  override toString(): string {
    return `${toDecimalString(this)} ${this.currency}`
  }
}

/**
 * An amount could not be read exactly in its currency. `input` echoes what was sent, with any
 * card number in it masked (see `Sanitize.maskCardNumbers`).
 *
 * @since 0.1.0
 */
export class InvalidAmount extends Schema.TaggedError<InvalidAmount>()("InvalidAmount", {
  input: Schema.String,
  currency: Schema.String,
  reason: Schema.String
}) {
  constructor(props: { readonly input: string; readonly currency: string; readonly reason: string }, options?: Schema.MakeOptions) {
    super({ input: maskCardNumbers(props.input), currency: maskCardNumbers(props.currency), reason: props.reason }, options)
  }
  override get message(): string {
    return `invalid amount ${this.input} ${this.currency}: ${this.reason}`
  }
}

/**
 * Two amounts in different currencies were combined.
 *
 * @since 0.1.0
 */
export class CurrencyMismatch extends Schema.TaggedError<CurrencyMismatch>()("CurrencyMismatch", {
  left: Schema.String,
  right: Schema.String
}) {
  override get message(): string {
    return `cannot combine ${this.left} with ${this.right}`
  }
}

/**
 * Builds money from minor units.
 *
 * @since 0.1.0
 */
export const fromMinor = (currency: Currency.CurrencyCode, minor: bigint): Money =>
  new Money({ currency, minor }, true)

/**
 * Zero in a currency.
 *
 * @since 0.1.0
 */
export const zero = (currency: Currency.CurrencyCode): Money => fromMinor(currency, 0n)

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/

/**
 * Parses a decimal string in major units ("10.50", "1000", "0.005") exactly. Fails when the
 * string is not a plain decimal (no exponent, no thousands separators), when it has more
 * significant decimals than the currency's exponent ("1.505" USD fails; trailing zeros are
 * fine: "1.500" USD is 150 cents), or when it exceeds {@link MAX_MINOR}.
 *
 * @since 0.1.0
 */
export const fromDecimalString = (
  input: string,
  currency: Currency.CurrencyCode
): Either.Either<Money, InvalidAmount> => {
  const fail = (reason: string) => Either.left(new InvalidAmount({ input, currency, reason }))
  const match = DECIMAL.exec(input.trim())
  if (match === null) return fail("not a decimal number")
  const [, sign, whole = "0", fractionRaw = ""] = match
  const exp = Currency.exponent(currency)
  const significant = fractionRaw.replace(/0+$/, "")
  if (significant.length > exp) {
    return fail(
      exp === 0
        ? `${currency} has no minor unit; decimals are not allowed`
        : `${currency} allows at most ${exp} decimal places`
    )
  }
  const fraction = significant.padEnd(exp, "0")
  const magnitude = BigInt(whole + fraction)
  if (magnitude > MAX_MINOR) return fail("amount too large")
  return Either.right(fromMinor(currency, sign === "-" ? -magnitude : magnitude))
}

/**
 * Converts a JavaScript number in major units, accepted only where it converts exactly: its
 * shortest decimal representation must fit the currency's exponent and the number must be precise
 * enough at its magnitude to tell adjacent minor units apart. `10.5` USD is 1050 cents; `1.005` USD, `0.1 + 0.2` USD, `NaN`,
 * `Infinity` and `1e21` fail. Prefer strings or minor units for amounts above 2^53 minor units.
 *
 * @since 0.1.0
 */
export const fromNumber = (
  input: number,
  currency: Currency.CurrencyCode
): Either.Either<Money, InvalidAmount> => {
  const text = String(input)
  if (!Number.isFinite(input)) {
    return Either.left(new InvalidAmount({ input: text, currency, reason: "not a finite number" }))
  }
  if (/e/i.test(text)) {
    return Either.left(
      new InvalidAmount({ input: text, currency, reason: "cannot be represented exactly; pass a decimal string" })
    )
  }
  // The number must resolve the currency's minor unit: the gap between adjacent doubles at its
  // magnitude (its ULP) must be below one minor unit, or two different amounts would share one
  // number (70368744177664.01 USD is really …64.015625).
  const ulp = input === 0 ? 0 : 2 ** (Math.floor(Math.log2(Math.abs(input))) - 52)
  if (ulp * 10 ** Currency.exponent(currency) >= 1) {
    return Either.left(
      new InvalidAmount({ input: text, currency, reason: "beyond exact number precision; pass a decimal string" })
    )
  }
  return fromDecimalString(text, currency)
}

/**
 * The exact decimal string of an amount in major units, with exactly the currency's number of
 * decimals ("10.50", "1000", "1.005" for KWD).
 *
 * @since 0.1.0
 */
export const toDecimalString = (money: Money): string => {
  const exp = Currency.exponent(money.currency)
  const negative = money.minor < 0n
  const digits = (negative ? -money.minor : money.minor).toString().padStart(exp + 1, "0")
  const whole = digits.slice(0, digits.length - exp)
  const fraction = digits.slice(digits.length - exp)
  return `${negative ? "-" : ""}${whole}${exp > 0 ? `.${fraction}` : ""}`
}

const sameCurrency = (a: Money, b: Money): Either.Either<void, CurrencyMismatch> =>
  a.currency === b.currency
    ? Either.void
    : Either.left(new CurrencyMismatch({ left: a.currency, right: b.currency }))

/**
 * `a + b`, or a {@link CurrencyMismatch}.
 *
 * @since 0.1.0
 */
export const add = (a: Money, b: Money): Either.Either<Money, CurrencyMismatch> =>
  Either.map(sameCurrency(a, b), () => fromMinor(a.currency, a.minor + b.minor))

/**
 * `a - b`, or a {@link CurrencyMismatch}.
 *
 * @since 0.1.0
 */
export const subtract = (a: Money, b: Money): Either.Either<Money, CurrencyMismatch> =>
  Either.map(sameCurrency(a, b), () => fromMinor(a.currency, a.minor - b.minor))

/**
 * Compares two amounts of the same currency: -1, 0 or 1; or a {@link CurrencyMismatch}.
 *
 * @since 0.1.0
 */
export const compare = (a: Money, b: Money): Either.Either<-1 | 0 | 1, CurrencyMismatch> =>
  Either.map(sameCurrency(a, b), () => Order.bigint(a.minor, b.minor))

/**
 * Tells whether an amount is strictly positive.
 *
 * @since 0.1.0
 */
export const isPositive = (money: Money): boolean => money.minor > 0n

/**
 * Tells whether two amounts are the same currency and value.
 *
 * @since 0.1.0
 */
export const equals = (a: Money, b: Money): boolean => a.currency === b.currency && a.minor === b.minor

/**
 * Schema of an amount as callers send it: minor units as a bigint, or major units as a decimal
 * string or an exactly convertible number, together with a currency code.
 *
 * @since 0.1.0
 */
export const AmountInput = Schema.Union(Schema.String, Schema.Number, Schema.BigIntFromSelf)

/**
 * Reads an amount given as a decimal string or number in major units, or as a bigint in minor
 * units.
 *
 * @since 0.1.0
 */
export const fromInput = (
  input: typeof AmountInput.Type,
  currency: Currency.CurrencyCode
): Either.Either<Money, InvalidAmount> => {
  if (typeof input === "string") return fromDecimalString(input, currency)
  if (typeof input === "number") return fromNumber(input, currency)
  return input > MAX_MINOR || input < -MAX_MINOR
    ? Either.left(new InvalidAmount({ input: input.toString(), currency, reason: "amount too large" }))
    : Either.right(fromMinor(currency, input))
}
