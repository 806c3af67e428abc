/**
 * Payment methods: what a caller sends ({@link PaymentMethodInput}) and what a payment keeps
 * ({@link PaymentMethodToken}).
 *
 * - **Card** ({@link CardInput}): the raw card exists only at the boundary. Its number and CVV
 *   are held in `Redacted` values, so they print as `<redacted>` in logs and errors. What the
 *   payment keeps is a {@link CardToken}: brand, last four digits, expiry, a keyed fingerprint
 *   and an opaque vault reference. The card number and CVV are never stored in a payment, an
 *   event or a log line; the number is held encrypted in the card vault (PCI DSS scope).
 * - **Gateway token** ({@link GatewayTokenInput}): a payment method the provider's browser or
 *   mobile SDK made (a Stripe `pm_…`, say). The payment keeps it as a {@link GatewayToken} and is
 *   pinned to that gateway: it is sent there and nowhere else (the token is valid only there),
 *   and no card number ever reaches AegisPay. The recommended mode outside PCI scope.
 * - **Checkout** ({@link CheckoutInput}, 0.2): the customer chooses how to pay at the provider
 *   (PayPal approval, Pagadito or Razorpay hosted checkout). The payment keeps a
 *   {@link CheckoutMethod}; it goes only to gateways that take checkouts, and only to `gateway`
 *   when the caller named one. No card data at all.
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Redacted, Schema } from "effect"
import { containsCardNumber, isStorable, keyProblem, luhn as luhnCheck, unstorableMessage } from "./Sanitize.js"

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
 * The longest gateway token accepted, in UTF-16 code units. Provider tokens are short (a Stripe
 * `pm_…` is under 40 characters); the bound keeps every payment and event small.
 *
 * @since 0.1.0
 */
export const MAX_GATEWAY_TOKEN_LENGTH = 2048

/**
 * A gateway's registry id in a payment method: compared exactly with the registered ids (never
 * trimmed), 1 to 255 characters, no control characters, no whitespace at either end, storable,
 * no card number inside (it is echoed in errors such as `NoGatewayAvailable`).
 *
 * @since 0.1.0
 */
export const GatewayId = Schema.String.pipe(
  Schema.filter((id) =>
    keyProblem("gateway", 255, id) ?? (containsCardNumber(id) ? "gateway must not contain a card number" : true)
  )
).annotations({ identifier: "GatewayId" })

/**
 * A provider's token of a payment method, kept exactly as sent: 1 to
 * {@link MAX_GATEWAY_TOKEN_LENGTH} characters, no control characters, no whitespace at either
 * end, storable, and **no card number inside**: a run of 13 to 19 digits (spaces or dashes
 * allowed between them) passing the Luhn check is refused, so a card number sent in place of a
 * token is never stored. The message never quotes the token.
 *
 * @since 0.1.0
 */
export const GatewayTokenValue = Schema.String.pipe(
  Schema.filter((token) =>
    keyProblem("payment method token", MAX_GATEWAY_TOKEN_LENGTH, token) ??
      (containsCardNumber(token)
        ? "payment method token must not contain a card number: send the token the provider's SDK made, never the card"
        : true)
  )
).annotations({ identifier: "GatewayTokenValue" })

/**
 * A gateway token as the caller sends it: `{ type: "gateway_token", gateway, token }`, where
 * `gateway` is the registry id of the gateway that made `token` (e.g. a Stripe `pm_…` made by
 * Stripe.js in the customer's browser). The payment is pinned to that gateway.
 *
 * @since 0.1.0
 */
export const GatewayTokenInput = Schema.Struct({
  type: Schema.Literal("gateway_token"),
  gateway: GatewayId,
  token: GatewayTokenValue
})

/**
 * @since 0.1.0
 */
export type GatewayTokenInput = typeof GatewayTokenInput.Type

/**
 * A checkout the customer finishes at the provider: `{ type: "checkout" }` (routing chooses a
 * gateway that takes checkouts) or `{ type: "checkout", gateway }` (that gateway only).
 *
 * @since 0.2.0
 */
export const CheckoutInput = Schema.Struct({
  type: Schema.Literal("checkout"),
  gateway: Schema.optional(GatewayId)
})

/**
 * @since 0.2.0
 */
export type CheckoutInput = typeof CheckoutInput.Type

/**
 * A payment method as the caller sends it: a card, a gateway token or a checkout.
 *
 * @since 0.1.0
 */
export const PaymentMethodInput = Schema.Union(CardInput, GatewayTokenInput, CheckoutInput)

/**
 * @since 0.1.0
 */
export type PaymentMethodInput = typeof PaymentMethodInput.Type

/**
 * What a payment keeps of a gateway token: the gateway it is pinned to and the provider's token,
 * which that gateway's adapter passes to the provider. Not card data (the provider holds the
 * card); it is kept out of the public payment view all the same.
 *
 * @since 0.1.0
 */
export class GatewayToken extends Schema.Class<GatewayToken>("GatewayToken")({
  type: Schema.Literal("gateway_token"),
  gateway: Schema.String,
  token: Schema.String
}) {}

/**
 * What a payment keeps of a checkout: the gateway the caller named, if any.
 *
 * @since 0.2.0
 */
export class CheckoutMethod extends Schema.Class<CheckoutMethod>("CheckoutMethod")({
  type: Schema.Literal("checkout"),
  gateway: Schema.optional(Schema.String)
}) {}

/**
 * The payment method a payment keeps: a {@link CardToken}, a {@link GatewayToken} or a
 * {@link CheckoutMethod}, told apart by `type`. A card is encoded exactly as before gateway tokens
 * existed, so payments and events stored earlier decode unchanged.
 *
 * @since 0.1.0
 */
export const PaymentMethodToken = Schema.Union(CardToken, GatewayToken, CheckoutMethod)

/**
 * @since 0.1.0
 */
export type PaymentMethodToken = CardToken | GatewayToken | CheckoutMethod

/**
 * The gateway a payment method must go to: the gateway of a {@link GatewayToken} (pinned: valid
 * nowhere else) or the gateway a {@link CheckoutMethod} names; `undefined` otherwise.
 *
 * @since 0.2.0
 */
export const methodGateway = (method: PaymentMethodToken): string | undefined =>
  method.type === "card" ? undefined : method.gateway

/**
 * The gateway a payment method is pinned to: the gateway of a {@link GatewayToken}, `undefined`
 * for a card (any gateway may charge it).
 *
 * @since 0.1.0
 */
export const pinnedGateway = (method: PaymentMethodToken): string | undefined =>
  method.type === "gateway_token" ? method.gateway : undefined
