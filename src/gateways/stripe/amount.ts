/**
 * Money → Stripe's `amount`: an integer count of the currency's unit *as Stripe counts it*,
 * which is not always ISO 4217's minor unit. Exact or refused: never rounded.
 *
 * Stripe's rules (https://docs.stripe.com/currencies, "Minor units", "Zero-decimal",
 * "Three-decimal", "Special cases"):
 * - zero-decimal currencies (BIF, CLP, DJF, GNF, JPY, KMF, KRW, MGA, PYG, RWF, UGX, VND, VUV,
 *   XAF, XOF, XPF): the amount in major units (MGA is 2 decimals in ISO 4217: a fractional
 *   ariary is refused);
 * - three-decimal currencies (BHD, JOD, KWD, OMR, TND): thousandths, and the last digit must be
 *   0 (Stripe asks integrations to round to the nearest ten: AegisPay refuses instead);
 * - ISK: 0 decimals in ISO 4217, sent with two decimals (×100);
 * - every other currency: hundredths; an ISO exponent above 2 (CLF, IQD, LYD, UYW, …) is
 *   accepted only when the amount is a whole number of hundredths.
 *
 * @internal
 */
import { Either } from "effect"
import * as Currency from "../../domain/Currency.js"
import type { Money } from "../../domain/Money.js"

/** Stripe's zero-decimal currencies. */
export const zeroDecimal: ReadonlySet<string> = new Set([
  "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"
])

/** Stripe's three-decimal currencies (last digit must be 0). */
export const threeDecimal: ReadonlySet<string> = new Set(["BHD", "JOD", "KWD", "OMR", "TND"])

/** How many decimals Stripe's `amount` has for `currency`. */
export const stripeExponent = (currency: string): number =>
  zeroDecimal.has(currency) ? 0 : threeDecimal.has(currency) ? 3 : 2

const pow10 = (n: number): bigint => 10n ** BigInt(n)

/**
 * Stripe's integer `amount` for `money`, or why it cannot be sent exactly.
 */
export const toStripe = (money: Money): Either.Either<bigint, string> => {
  const iso = Currency.exponent(money.currency)
  const stripe = stripeExponent(money.currency)
  if (money.minor <= 0n) return Either.left(`amount must be positive, got ${money.minor} minor units`)
  let amount: bigint
  if (stripe >= iso) {
    amount = money.minor * pow10(stripe - iso)
  } else {
    const divisor = pow10(iso - stripe)
    if (money.minor % divisor !== 0n) {
      return Either.left(`${money.toString()} cannot be sent exactly: Stripe counts ${money.currency} with ${stripe} decimals`)
    }
    amount = money.minor / divisor
  }
  if (threeDecimal.has(money.currency) && amount % 10n !== 0n) {
    return Either.left(`${money.toString()} cannot be sent exactly: Stripe requires the last digit of a ${money.currency} amount to be 0`)
  }
  return Either.right(amount)
}

/**
 * The Money a Stripe `amount` stands for in `currency` (for comparing what Stripe reports).
 */
export const fromStripe = (currency: Currency.CurrencyCode, amount: bigint): bigint => {
  const iso = Currency.exponent(currency)
  const stripe = stripeExponent(currency)
  return stripe >= iso ? amount / pow10(stripe - iso) : amount * pow10(iso - stripe)
}
