/**
 * The request and response bodies of the HTTP API.
 *
 * Request bodies are strict: an unknown field is a 400 (`onExcessProperty: "error"`), amounts are
 * exact decimal strings (`"10.50"`; a JSON number is a 400, so no float ever carries money), and
 * everything else is checked again by the domain's own validation (a `ValidationError` is a 400
 * naming the field). Responses use the domain's public views (`PaymentView`): exact decimal
 * amounts with their currency, no card number, vault token, fingerprint or gateway key.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import { AmountView, PaymentView } from "../domain/PaymentView.js"
import { RefundState } from "../domain/Payment.js"

const strict = { parseOptions: { onExcessProperty: "error" as const } }

/**
 * An amount in major units as an exact decimal string: `"10"`, `"10.5"`, `"0.001"`. The
 * currency's exponent is checked by the domain (`"1.005"` USD is a 400, never rounded).
 *
 * @since 0.2.0
 */
export const DecimalAmount = Schema.String.pipe(
  Schema.pattern(/^\d{1,20}(\.\d{1,18})?$/, {
    message: () => "amount must be a decimal string such as \"10.50\" (never a JSON number)"
  })
).annotations({ identifier: "DecimalAmount", examples: ["49.99"] })

/**
 * A card as the caller sends it (only to a PCI-compliant installation: prefer gateway tokens).
 * The number is vaulted, never echoed: responses show brand, last four and expiry.
 *
 * @since 0.2.0
 */
export const CardBody = Schema.Struct({
  type: Schema.Literal("card"),
  number: Schema.String,
  expiryMonth: Schema.Int,
  expiryYear: Schema.Int,
  cvv: Schema.String,
  holderName: Schema.String
}).annotations({ identifier: "CardPaymentMethod" })

/**
 * A provider's token (e.g. Stripe's `pm_…` from its browser SDK): the payment is pinned to that
 * gateway and no card number touches AegisPay.
 *
 * @since 0.2.0
 */
export const GatewayTokenBody = Schema.Struct({
  type: Schema.Literal("gateway_token"),
  gateway: Schema.String,
  token: Schema.String
}).annotations({ identifier: "GatewayTokenPaymentMethod" })

/**
 * A checkout the customer finishes at the provider (PayPal approval, Razorpay Checkout,
 * Pagadito's hosted page): `confirm` answers 202 with the customer action; `complete` settles it.
 * `gateway` pins the payment to one provider; absent, routing picks a gateway that takes checkouts.
 *
 * @since 0.2.0
 */
export const CheckoutBody = Schema.Struct({
  type: Schema.Literal("checkout"),
  gateway: Schema.optional(Schema.String)
}).annotations({ identifier: "CheckoutPaymentMethod" })

/**
 * One line of the order (shown by providers with a hosted checkout); `price` is the unit price,
 * an exact decimal string in the payment's currency.
 *
 * @since 0.2.0
 */
export const LineItemBody = Schema.Struct({
  quantity: Schema.Int,
  description: Schema.String,
  price: Schema.String,
  url: Schema.optional(Schema.String)
}).annotations({ identifier: "LineItem" })

/**
 * The body of `POST /v1/payments` (and of the seed's `POST /api/v1/payments/initiate`). The
 * tenant is never in the body: it is the API key's. The idempotency key is the
 * `Idempotency-Key` header.
 *
 * @since 0.2.0
 */
export const CreatePaymentBody = Schema.Struct({
  amount: DecimalAmount,
  currency: Schema.String,
  captureMethod: Schema.optional(Schema.Literal("automatic", "manual")),
  paymentMethod: Schema.Union(CardBody, GatewayTokenBody, CheckoutBody),
  customer: Schema.Struct({
    id: Schema.String,
    email: Schema.String,
    name: Schema.optional(Schema.String),
    country: Schema.optional(Schema.String)
  }),
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) })),
  description: Schema.optional(Schema.String),
  gateway: Schema.optional(Schema.String),
  /** Where the provider sends the customer back after a customer action. */
  returnUrl: Schema.optional(Schema.String),
  /** Where the provider sends a customer who abandons the checkout. */
  cancelUrl: Schema.optional(Schema.String),
  lineItems: Schema.optional(Schema.Array(LineItemBody)),
  /** Accept a provider-pending result (settled later by status or webhook). */
  allowPending: Schema.optional(Schema.Boolean),
  /** The merchant's order or external reference number (Pagadito's ERN). */
  externalReference: Schema.optional(Schema.String)
}).annotations({ identifier: "CreatePayment", ...strict })

/**
 * @since 0.2.0
 */
export type CreatePaymentBody = typeof CreatePaymentBody.Type

/**
 * The body of a capture: `amount` absent captures the whole authorization.
 *
 * @since 0.2.0
 */
export const CaptureBody = Schema.Struct({
  amount: Schema.optional(DecimalAmount)
}).annotations({ identifier: "CapturePayment", ...strict })

/**
 * The body of a cancel.
 *
 * @since 0.2.0
 */
export const CancelBody = Schema.Struct({
  reason: Schema.optional(Schema.String)
}).annotations({ identifier: "CancelPayment", ...strict })

/**
 * The body of `complete` (the return from a customer action): what the provider handed back on
 * the return URL (e.g. PayPal's `token`, Pagadito's `token`), passed to the gateway as is.
 *
 * @since 0.2.0
 */
export const CompleteBody = Schema.Struct({
  params: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
}).annotations({ identifier: "CompletePayment", ...strict })

/**
 * The body of a refund: `amount` absent refunds everything still refundable.
 *
 * @since 0.2.0
 */
export const RefundBody = Schema.Struct({
  amount: Schema.optional(DecimalAmount),
  reason: Schema.optional(Schema.String)
}).annotations({ identifier: "CreateRefund", ...strict })

/**
 * The public shape of a refund.
 *
 * @since 0.2.0
 */
export const RefundView = Schema.Struct({
  id: Schema.String,
  paymentId: Schema.String,
  amount: AmountView,
  state: RefundState,
  reason: Schema.optional(Schema.String),
  failureReason: Schema.optional(Schema.String),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}).annotations({ identifier: "Refund" })

/**
 * @since 0.2.0
 */
export type RefundView = typeof RefundView.Type

/**
 * A list of refunds.
 *
 * @since 0.2.0
 */
export const RefundList = Schema.Struct({ data: Schema.Array(RefundView) }).annotations({ identifier: "RefundList" })

/**
 * A page of payments, newest first; `nextCursor` is absent on the last page.
 *
 * @since 0.2.0
 */
export const PaymentPage = Schema.Struct({
  data: Schema.Array(PaymentView),
  nextCursor: Schema.optional(Schema.String)
}).annotations({ identifier: "PaymentPage" })

/**
 * The query of a customer's payments: `limit` 1–100 (default 20), `cursor` from the last page.
 *
 * @since 0.2.0
 */
export const PageParams = Schema.Struct({
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100))),
  cursor: Schema.optional(Schema.String)
})

/**
 * One gateway's health.
 *
 * @since 0.2.0
 */
export const GatewayHealthView = Schema.Struct({
  gateway: Schema.String,
  circuit: Schema.Literal("CLOSED", "OPEN", "HALF_OPEN"),
  score: Schema.Number,
  requests: Schema.Number,
  successRate: Schema.optional(Schema.Number),
  p50: Schema.optional(Schema.Number),
  p95: Schema.optional(Schema.Number),
  p99: Schema.optional(Schema.Number)
}).annotations({ identifier: "GatewayHealth" })

/**
 * The health of the caller's gateways.
 *
 * @since 0.2.0
 */
export const GatewayHealthList = Schema.Struct({ data: Schema.Array(GatewayHealthView) }).annotations({
  identifier: "GatewayHealthList"
})

/**
 * What an incoming webhook did: one entry per notification in it.
 *
 * @since 0.2.0
 */
export const WebhookResult = Schema.Struct({
  received: Schema.Int,
  results: Schema.Array(Schema.Struct({
    id: Schema.String,
    paymentId: Schema.String,
    result: Schema.Literal("Applied", "Ignored", "Duplicate", "Checked")
  }))
}).annotations({ identifier: "WebhookResult" })

/**
 * The body of the seed's `POST /api/v1/payments/complete`.
 *
 * @since 0.2.0
 */
export const SeedCompleteBody = Schema.Struct({
  paymentId: Schema.String,
  params: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
}).annotations({ identifier: "SeedCompletePayment", ...strict })

/**
 * The body of the seed's `POST /api/v1/payments/refund`.
 *
 * @since 0.2.0
 */
export const SeedRefundBody = Schema.Struct({
  paymentId: Schema.String,
  amount: Schema.optional(DecimalAmount),
  reason: Schema.optional(Schema.String)
}).annotations({ identifier: "SeedRefund", ...strict })

/**
 * The body of the seed's `POST /api/v1/providers/credentials` (`saveOrUpdateProviderKeys`): the
 * provider and its credential fields; stored encrypted for the caller's tenant, never returned.
 *
 * @since 0.2.0
 */
export const CredentialsBody = Schema.Struct({
  provider: Schema.String,
  credentials: Schema.Record({ key: Schema.String, value: Schema.String })
}).annotations({ identifier: "ProviderCredentials", ...strict })

/**
 * What a credentials save answers: the fields, masked (last four characters only).
 *
 * @since 0.2.0
 */
export const CredentialsSaved = Schema.Struct({
  provider: Schema.String,
  fields: Schema.Record({ key: Schema.String, value: Schema.String })
}).annotations({ identifier: "ProviderCredentialsSaved" })

/**
 * A provider's stored credentials of the caller's tenant, masked: field names and the last four
 * characters of each value (shorter values masked entirely); `version` counts the saves.
 *
 * @since 0.2.0
 */
export const CredentialsView = Schema.Struct({
  provider: Schema.String,
  version: Schema.Number,
  updatedAt: Schema.Date,
  fields: Schema.Record({ key: Schema.String, value: Schema.String })
}).annotations({ identifier: "ProviderCredentialsView" })

/**
 * The tenant's stored credentials, one entry per provider, masked.
 *
 * @since 0.2.0
 */
export const CredentialsList = Schema.Struct({ data: Schema.Array(CredentialsView) }).annotations({
  identifier: "ProviderCredentialsList"
})

/**
 * The providers this installation can build tenant gateways for, and the fields each takes.
 *
 * @since 0.2.0
 */
export const ProviderList = Schema.Struct({
  data: Schema.Array(Schema.Struct({
    provider: Schema.String,
    fields: Schema.Array(Schema.Struct({ name: Schema.String, secret: Schema.Boolean, optional: Schema.Boolean }))
  }))
}).annotations({ identifier: "ProviderList" })

/**
 * Liveness / readiness.
 *
 * @since 0.2.0
 */
export const HealthStatus = Schema.Struct({
  status: Schema.Literal("ok", "not_ready"),
  checks: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
}).annotations({ identifier: "HealthStatus" })
