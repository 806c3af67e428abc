/**
 * Payment methods: the card as a caller sends it, and the token AegisPay keeps.
 *
 * The raw card ({@link CardInput}) exists only at the boundary. Its number and CVV are held in
 * `Redacted` values, so they print as `<redacted>` in logs and errors. What the payment keeps is
 * a {@link CardToken}: brand, last four digits, expiry, a keyed fingerprint and an opaque vault
 * reference. The card number and CVV are never stored in a payment, an event or a log line.
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Redacted, Schema } from "effect"
import { isStorable, luhn as luhnCheck, unstorableMessage } from "./Sanitize.js"

/**
 * The Luhn (mod 10) check of a card number given as digits.
 *
 * @since 0.1.0
 */
export const luhn: (digits: string) => boolean = luhnCheck

/**
 * Card brands recognised from the number's leading digits.
 *
 * @since 0.1.0
 */
export const CardBrand = Schema.Literal("visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "unknown")

/**
 * @since 0.1.0
 */
export type CardBrand = typeof CardBrand.Type

const inRange = (digits: string, length: number, low: number, high: number): boolean => {
  const prefix = Number(digits.slice(0, length))
  return prefix >= low && prefix <= high
}

/**
 * The brand of a card number (digits only), from its issuer identification prefix.
 *
 * @since 0.1.0
 */
export const brandOf = (digits: string): CardBrand => {
  if (digits.startsWith("4")) return "visa"
  if (inRange(digits, 2, 51, 55) || inRange(digits, 4, 2221, 2720)) return "mastercard"
  if (digits.startsWith("34") || digits.startsWith("37")) return "amex"
  if (digits.startsWith("6011") || digits.startsWith("65") || inRange(digits, 3, 644, 649)) return "discover"
  if (inRange(digits, 4, 3528, 3589)) return "jcb"
  if (digits.startsWith("36") || inRange(digits, 3, 300, 305) || digits.startsWith("38")) return "diners"
  if (digits.startsWith("62")) return "unionpay"
  return "unknown"
}

const CARD_NUMBER = /^\d{12,19}$/

/**
 * A card number: 12 to 19 digits (spaces and dashes between groups are removed) passing the
 * Luhn check. Decodes to a `Redacted<string>` of digits, so it never prints.
 *
 * @since 0.1.0
 */
export const CardNumber = Schema.transformOrFail(
  Schema.String,
  Schema.RedactedFromSelf(Schema.String),
  {
    strict: true,
    decode: (input, _, ast) => {
      const digits = input.replace(/[\s-]/g, "")
      if (!CARD_NUMBER.test(digits)) {
        return Either.left(new ParseResult.Type(ast, "<redacted>", "card number must have 12 to 19 digits"))
      }
      if (!luhn(digits)) return Either.left(new ParseResult.Type(ast, "<redacted>", "card number fails the Luhn check"))
      return Either.right(Redacted.make(digits))
    },
    encode: (redacted) => Either.right(Redacted.value(redacted))
  }
).annotations({ identifier: "CardNumber" })

/**
 * A card verification value: 3 or 4 digits, held as `Redacted`.
 *
 * @since 0.1.0
 */
export const Cvv = Schema.transformOrFail(
  Schema.String,
  Schema.RedactedFromSelf(Schema.String),
  {
    strict: true,
    decode: (input, _, ast) =>
      /^\d{3,4}$/.test(input)
        ? Either.right(Redacted.make(input))
        : Either.left(new ParseResult.Type(ast, "<redacted>", "CVV must be 3 or 4 digits")),
    encode: (redacted) => Either.right(Redacted.value(redacted))
  }
).annotations({ identifier: "Cvv" })

/**
 * Expiry month 1–12.
 *
 * @since 0.1.0
 */
export const ExpiryMonth = Schema.Int.pipe(
  Schema.between(1, 12, { message: () => "expiry month must be between 1 and 12" })
)

/**
 * Four-digit expiry year.
 *
 * @since 0.1.0
 */
export const ExpiryYear = Schema.Int.pipe(
  Schema.between(2000, 2099, { message: () => "expiry year must be a four-digit year" })
)

/**
 * A card as the caller sends it. Validation here is structural (Luhn, CVV, month, holder); the
 * expiry is checked against the `Clock` where the card enters (see `PaymentService`).
 *
 * @since 0.1.0
 */
export const CardInput = Schema.Struct({
  type: Schema.Literal("card"),
  number: CardNumber,
  expiryMonth: ExpiryMonth,
  expiryYear: ExpiryYear,
  cvv: Cvv,
  holderName: Schema.Trim.pipe(
    Schema.minLength(1, { message: () => "card holder name is required" }),
    Schema.maxLength(200, { message: () => "card holder name is at most 200 characters" }),
    Schema.filter((name) => isStorable(name) || unstorableMessage("card holder name"))
  )
})

/**
 * @since 0.1.0
 */
export type CardInput = typeof CardInput.Type

/**
 * Tells whether a card has expired at `now` (epoch milliseconds, UTC). A card is valid through
 * the last day of its expiry month.
 *
 * @since 0.1.0
 */
export const isExpired = (card: { readonly expiryMonth: number; readonly expiryYear: number }, nowMillis: number) => {
  const now = new Date(nowMillis)
  const year = now.getUTCFullYear()
  const month = now.getUTCMonth() + 1
  return card.expiryYear < year || (card.expiryYear === year && card.expiryMonth < month)
}

/**
 * What AegisPay keeps of a card: never the number or the CVV.
 *
 * - `fingerprint`: a keyed hash of the card number, equal for the same card, useless without
 *   the key;
 * - `vaultToken`: the opaque reference under which the card vault holds the card for gateways.
 *
 * @since 0.1.0
 */
export class CardToken extends Schema.Class<CardToken>("CardToken")({
  type: Schema.Literal("card"),
  brand: CardBrand,
  bin: Schema.String,
  last4: Schema.String,
  expiryMonth: Schema.Int,
  expiryYear: Schema.Int,
  holderName: Schema.String,
  fingerprint: Schema.String,
  vaultToken: Schema.String
}) {}

/**
 * A tokenised payment method.
 *
 * @since 0.1.0
 */
export const PaymentMethodToken = CardToken

/**
 * @since 0.1.0
 */
export type PaymentMethodToken = CardToken
