/**
 * PayPal's wire formats (Orders v2, Payments v2, OAuth2, webhooks) as `Schema`s, and PayPal's
 * amount rules. Only the fields the adapter reads are declared; everything else PayPal sends is
 * ignored. A status outside the documented set fails decoding, so an unexpected answer is a
 * typed error (see `internal/http.ts` `decode`), never a guess.
 *
 * Shapes from PayPal's published OpenAPI descriptions (`paypal/paypal-rest-api-specifications`:
 * `checkout_orders_v2.json`, `payments_payment_v2.json`, `notifications_webhooks_v1.json`).
 *
 * @internal
 */
import { Either, Schema } from "effect"
import type { CurrencyCode } from "../../domain/Currency.js"
import * as Money from "../../domain/Money.js"

/**
 * The currencies PayPal's REST APIs accept (developer.paypal.com "Currency codes"). BRL, MYR and
 * CNY only for in-country accounts; PayPal refuses them otherwise (a `GatewayMisconfigured`).
 */
export const currencies: ReadonlyArray<CurrencyCode> = [
  "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR", "MXN", "TWD",
  "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD"
]

/**
 * Currencies PayPal takes without decimals although ISO 4217 gives them two (HUF, TWD) or none
 * (JPY): "Decimal amounts cause an error".
 */
export const noDecimals: ReadonlySet<string> = new Set(["HUF", "JPY", "TWD"])

/**
 * An amount as PayPal's `value`: the exact decimal string, whole units for HUF/JPY/TWD. `Left`
 * with the reason when PayPal cannot take it (a fraction of a forint, a currency it does not
 * support): never rounded.
 */
export const toValue = (money: Money.Money): Either.Either<string, string> => {
  if (!currencies.includes(money.currency)) return Either.left(`PayPal does not support ${money.currency}`)
  if (noDecimals.has(money.currency) && money.currency !== "JPY") {
    if (money.minor % 100n !== 0n) {
      return Either.left(`PayPal takes ${money.currency} in whole units only: ${Money.toDecimalString(money)} has a fraction`)
    }
    return Either.right((money.minor / 100n).toString())
  }
  return Either.right(Money.toDecimalString(money))
}

/** PayPal's `{ currency_code, value }`. */
export const PayPalMoney = Schema.Struct({ currency_code: Schema.String, value: Schema.String })

/** The request body form of an amount (after {@link toValue}). */
export const money = (currency: string, value: string) => ({ currency_code: currency, value })

/** A HATEOAS link. */
export const Link = Schema.Struct({ href: Schema.String, rel: Schema.String, method: Schema.optional(Schema.String) })
export type Link = typeof Link.Type

const StatusDetails = Schema.Struct({ reason: Schema.optional(Schema.String) })

const RelatedIds = Schema.Struct({
  order_id: Schema.optional(Schema.String),
  authorization_id: Schema.optional(Schema.String),
  capture_id: Schema.optional(Schema.String)
})

const Supplementary = Schema.Struct({ related_ids: Schema.optional(RelatedIds) })

/** `capture_status`. */
export const CaptureStatus = Schema.Literal("COMPLETED", "DECLINED", "PARTIALLY_REFUNDED", "PENDING", "REFUNDED", "FAILED")

/** A captured payment (`capture`). */
export const Capture = Schema.Struct({
  id: Schema.String,
  status: CaptureStatus,
  status_details: Schema.optional(StatusDetails),
  amount: Schema.optional(PayPalMoney),
  custom_id: Schema.optional(Schema.String),
  invoice_id: Schema.optional(Schema.String),
  final_capture: Schema.optional(Schema.Boolean),
  links: Schema.optional(Schema.Array(Link)),
  supplementary_data: Schema.optional(Supplementary)
})
export type Capture = typeof Capture.Type

/** `authorization_status` (EXPIRED from the older description: accepted, never assumed absent). */
export const AuthorizationStatus = Schema.Literal("CREATED", "CAPTURED", "DENIED", "PARTIALLY_CAPTURED", "VOIDED", "PENDING", "EXPIRED")

/** An authorized payment (`authorization`). */
export const Authorization = Schema.Struct({
  id: Schema.String,
  status: AuthorizationStatus,
  status_details: Schema.optional(StatusDetails),
  amount: Schema.optional(PayPalMoney),
  custom_id: Schema.optional(Schema.String),
  invoice_id: Schema.optional(Schema.String),
  links: Schema.optional(Schema.Array(Link)),
  supplementary_data: Schema.optional(Supplementary)
})
export type Authorization = typeof Authorization.Type

/** `refund_status`. */
export const RefundStatus = Schema.Literal("CANCELLED", "FAILED", "PENDING", "COMPLETED")

/** A refund (`refund`). */
export const Refund = Schema.Struct({
  id: Schema.String,
  status: RefundStatus,
  status_details: Schema.optional(StatusDetails),
  amount: Schema.optional(PayPalMoney),
  custom_id: Schema.optional(Schema.String),
  invoice_id: Schema.optional(Schema.String),
  links: Schema.optional(Schema.Array(Link))
})
export type Refund = typeof Refund.Type

/** `order_status`. */
export const OrderStatus = Schema.Literal("CREATED", "SAVED", "APPROVED", "VOIDED", "COMPLETED", "PAYER_ACTION_REQUIRED")
export type OrderStatus = typeof OrderStatus.Type

/** A purchase unit as answered. */
export const PurchaseUnit = Schema.Struct({
  reference_id: Schema.optional(Schema.String),
  custom_id: Schema.optional(Schema.String),
  invoice_id: Schema.optional(Schema.String),
  amount: Schema.optional(PayPalMoney),
  payments: Schema.optional(Schema.Struct({
    captures: Schema.optional(Schema.Array(Capture)),
    authorizations: Schema.optional(Schema.Array(Authorization)),
    refunds: Schema.optional(Schema.Array(Refund))
  }))
})

/** An order (`order`). */
export const Order = Schema.Struct({
  id: Schema.String,
  status: OrderStatus,
  intent: Schema.optional(Schema.Literal("CAPTURE", "AUTHORIZE")),
  create_time: Schema.optional(Schema.String),
  links: Schema.optional(Schema.Array(Link)),
  purchase_units: Schema.optional(Schema.Array(PurchaseUnit))
})
export type Order = typeof Order.Type

/** `POST /v1/oauth2/token`'s answer. */
export const Token = Schema.Struct({
  access_token: Schema.String.pipe(Schema.minLength(1)),
  token_type: Schema.String,
  expires_in: Schema.Number.pipe(Schema.positive())
})

/** PayPal's error body (`error_4xx`): `name`, `message`, `details[].issue`. */
export const ErrorBody = Schema.Struct({
  name: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
  debug_id: Schema.optional(Schema.String),
  details: Schema.optional(Schema.Array(Schema.Struct({
    issue: Schema.optional(Schema.String),
    description: Schema.optional(Schema.String),
    field: Schema.optional(Schema.String)
  })))
})
export type ErrorBody = typeof ErrorBody.Type

/** The OAuth2 error body: `{ error, error_description }`. */
export const OAuthError = Schema.Struct({ error: Schema.String, error_description: Schema.optional(Schema.String) })

/** `POST /v1/notifications/verify-webhook-signature`'s answer. */
export const Verification = Schema.Struct({ verification_status: Schema.Literal("SUCCESS", "FAILURE") })

/** A webhook event (`event`): the resource is decoded per event type. */
export const Event = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  event_type: Schema.String,
  resource_type: Schema.optional(Schema.String),
  resource: Schema.Unknown
})
export type Event = typeof Event.Type

/** A dispute (`CUSTOMER.DISPUTE.*` resource): the fields that name the payment. */
export const Dispute = Schema.Struct({
  dispute_id: Schema.String,
  reason: Schema.optional(Schema.String),
  status: Schema.optional(Schema.String),
  dispute_amount: Schema.optional(PayPalMoney),
  dispute_outcome: Schema.optional(Schema.Struct({ outcome_code: Schema.optional(Schema.String) })),
  disputed_transactions: Schema.optional(Schema.Array(Schema.Struct({
    seller_transaction_id: Schema.optional(Schema.String),
    custom: Schema.optional(Schema.String),
    invoice_number: Schema.optional(Schema.String)
  })))
})
export type Dispute = typeof Dispute.Type

/** The first link with `rel` (`approve`, `payer-action`, `up`, …). */
export const link = (links: ReadonlyArray<Link> | undefined, rel: string): string | undefined =>
  links?.find((l) => l.rel === rel)?.href

/** The last path segment of a link (`…/captures/{id}` → `{id}`). */
export const lastSegment = (href: string): string | undefined => {
  const parts = href.split("?")[0]?.split("/").filter((p) => p.length > 0)
  return parts === undefined ? undefined : parts[parts.length - 1]
}
