/**
 * Stripe's JSON on the wire, as far as the adapter reads it: PaymentIntents, Refunds, search
 * results, error bodies and webhook events (field names and types from Stripe's OpenAPI
 * description, API version 2023-08-16, `../shared/vendor/stripe/`). Fields the adapter does not
 * read are ignored when decoding; a status the description does not list decodes as a string
 * and is treated as an unexpected answer, never guessed.
 *
 * @internal
 */
import { Schema } from "effect"

const Metadata = Schema.Record({ key: Schema.String, value: Schema.String })

/** `payment_intent.next_action`: only the parts the adapter turns into a customer action. */
export const NextAction = Schema.Struct({
  type: Schema.String,
  redirect_to_url: Schema.optional(Schema.NullOr(Schema.Struct({
    url: Schema.optional(Schema.NullOr(Schema.String))
  })))
})

/** `payment_intent.last_payment_error` (an `api_errors` object). */
export const LastPaymentError = Schema.Struct({
  type: Schema.optional(Schema.String),
  code: Schema.optional(Schema.NullOr(Schema.String)),
  decline_code: Schema.optional(Schema.NullOr(Schema.String)),
  message: Schema.optional(Schema.NullOr(Schema.String))
})

/** The statuses the OpenAPI description lists for a PaymentIntent. */
export const IntentStatus = Schema.Literal(
  "canceled",
  "processing",
  "requires_action",
  "requires_capture",
  "requires_confirmation",
  "requires_payment_method",
  "succeeded"
)
export type IntentStatus = typeof IntentStatus.Type

/** A PaymentIntent (`object: "payment_intent"`). */
export const PaymentIntent = Schema.Struct({
  id: Schema.String.pipe(Schema.startsWith("pi_")),
  object: Schema.Literal("payment_intent"),
  status: IntentStatus,
  amount: Schema.Number,
  currency: Schema.String,
  livemode: Schema.optional(Schema.Boolean),
  capture_method: Schema.optional(Schema.String),
  client_secret: Schema.optional(Schema.NullOr(Schema.String)),
  metadata: Schema.optional(Metadata),
  next_action: Schema.optional(Schema.NullOr(NextAction)),
  last_payment_error: Schema.optional(Schema.NullOr(LastPaymentError)),
  cancellation_reason: Schema.optional(Schema.NullOr(Schema.String)),
  latest_charge: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Struct({ id: Schema.String }))))
})
export type PaymentIntent = typeof PaymentIntent.Type

/** A Refund (`object: "refund"`). `status` is nullable in the description. */
export const Refund = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("refund"),
  amount: Schema.Number,
  currency: Schema.optional(Schema.NullOr(Schema.String)),
  status: Schema.optional(Schema.NullOr(Schema.String)),
  payment_intent: Schema.optional(Schema.NullOr(Schema.String)),
  charge: Schema.optional(Schema.NullOr(Schema.String)),
  metadata: Schema.optional(Schema.NullOr(Metadata)),
  failure_reason: Schema.optional(Schema.NullOr(Schema.String))
})
export type Refund = typeof Refund.Type

/** `GET /v1/payment_intents/search` and `GET /v1/payment_intents`: a page of PaymentIntents. */
export const IntentPage = Schema.Struct({
  object: Schema.Literal("search_result", "list"),
  data: Schema.Array(PaymentIntent)
})

/** `GET /v1/refunds`: a page of Refunds. */
export const RefundPage = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Refund)
})

/** An error body: `{ error: { type, code, decline_code, message, … } }`. */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    type: Schema.String,
    code: Schema.optional(Schema.NullOr(Schema.String)),
    decline_code: Schema.optional(Schema.NullOr(Schema.String)),
    message: Schema.optional(Schema.NullOr(Schema.String)),
    param: Schema.optional(Schema.NullOr(Schema.String)),
    payment_intent: Schema.optional(Schema.NullOr(PaymentIntent))
  })
})
export type ErrorBody = typeof ErrorBody.Type

/** A Charge inside `charge.refunded`: only its PaymentIntent and refunds are read. */
export const Charge = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("charge"),
  payment_intent: Schema.optional(Schema.NullOr(Schema.String)),
  amount_refunded: Schema.optional(Schema.Number),
  metadata: Schema.optional(Schema.NullOr(Metadata))
})

/** A Dispute inside `charge.dispute.*`. */
export const Dispute = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("dispute"),
  amount: Schema.Number,
  currency: Schema.optional(Schema.NullOr(Schema.String)),
  charge: Schema.optional(Schema.NullOr(Schema.String)),
  payment_intent: Schema.optional(Schema.NullOr(Schema.String)),
  reason: Schema.optional(Schema.NullOr(Schema.String)),
  status: Schema.optional(Schema.NullOr(Schema.String))
})

/** A webhook event (`object: "event"`); `data.object` is decoded by type. */
export const Event = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  object: Schema.Literal("event"),
  type: Schema.String,
  created: Schema.optional(Schema.Number),
  livemode: Schema.optional(Schema.Boolean),
  data: Schema.Struct({ object: Schema.Unknown })
})
export type Event = typeof Event.Type

/** The metadata keys the adapter writes on every PaymentIntent and Refund it creates. */
export const metadataKeys = {
  paymentId: "aegispay_payment_id",
  idempotencyKey: "aegispay_idempotency_key"
} as const
