/**
 * Razorpay's JSON on the wire: the entities the adapter reads (order, payment, refund, dispute,
 * collections, webhook events, error bodies), decoded with `Schema`. Every schema is lenient
 * where Razorpay is (fields absent or `null`), strict where the adapter relies on a value
 * (ids, amounts as integers, statuses as strings).
 *
 * `notes` arrive as an object, or as `[]` when empty (Razorpay's PHP heritage): both decode,
 * and {@link note} reads one string note from either.
 *
 * @internal
 */
import { Schema } from "effect"

/** An amount in the currency's smallest unit: a non-negative safe integer. */
export const Amount = Schema.Number.pipe(Schema.int(), Schema.nonNegative(), Schema.lessThanOrEqualTo(Number.MAX_SAFE_INTEGER))

/** `notes`: an object of notes, or `[]` when there are none. */
export const Notes = Schema.Union(
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  Schema.Array(Schema.Unknown)
)
export type Notes = typeof Notes.Type

/** One note as a string (`undefined` when absent, empty, or not a string). */
export const note = (notes: Notes | undefined | null, key: string): string | undefined => {
  if (notes === undefined || notes === null || Array.isArray(notes)) return undefined
  const value: unknown = Object.prototype.hasOwnProperty.call(notes, key) ? Reflect.get(notes, key) : undefined
  return typeof value === "string" && value.length > 0 ? value : undefined
}

const optionalString = Schema.optional(Schema.NullOr(Schema.String))

/** An order (`POST /v1/orders`, `GET /v1/orders/{id}`). `status`: created, attempted, paid. */
export const Order = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  amount: Amount,
  amount_paid: Schema.optional(Amount),
  amount_due: Schema.optional(Amount),
  currency: Schema.String,
  receipt: optionalString,
  status: Schema.String,
  notes: Schema.optional(Schema.NullOr(Notes)),
  created_at: Schema.optional(Schema.Number)
})
export type Order = typeof Order.Type

/**
 * A payment. `status`: created (the customer is paying), authorized, captured, refunded (fully;
 * `captured: false` when Razorpay auto-refunded an uncaptured authorization), failed.
 */
export const Payment = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  amount: Amount,
  currency: Schema.String,
  status: Schema.String,
  order_id: optionalString,
  captured: Schema.optional(Schema.NullOr(Schema.Boolean)),
  amount_refunded: Schema.optional(Schema.NullOr(Amount)),
  notes: Schema.optional(Schema.NullOr(Notes)),
  error_code: optionalString,
  error_description: optionalString,
  error_source: optionalString,
  error_step: optionalString,
  error_reason: optionalString,
  created_at: Schema.optional(Schema.Number)
})
export type Payment = typeof Payment.Type

/** A refund. `status`: pending, processed, failed. */
export const Refund = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  amount: Amount,
  currency: Schema.optional(Schema.String),
  payment_id: Schema.String,
  status: Schema.String,
  notes: Schema.optional(Schema.NullOr(Notes)),
  created_at: Schema.optional(Schema.Number)
})
export type Refund = typeof Refund.Type

/** A dispute (`payment.dispute.*` webhooks). */
export const Dispute = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  payment_id: Schema.optional(Schema.String),
  amount: Schema.optional(Amount),
  currency: Schema.optional(Schema.String),
  status: Schema.optional(Schema.String),
  phase: optionalString,
  reason_code: optionalString
})
export type Dispute = typeof Dispute.Type

/** A list answer: `{ entity: "collection", count, items }`. */
export const Collection = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.Struct({
    count: Schema.optional(Schema.Number),
    items: Schema.Array(item)
  })

/** Razorpay's error body: `{ error: { code, description, source, step, reason, field, metadata } }`. */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String,
    description: optionalString,
    source: optionalString,
    step: optionalString,
    reason: optionalString,
    field: optionalString
  })
})
export type ErrorBody = typeof ErrorBody.Type

const entity = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(Schema.Struct({ entity: schema }))

/** A webhook event: `{ entity: "event", event, contains, payload: { payment, order, refund, dispute }, created_at }`. */
export const WebhookEvent = Schema.Struct({
  event: Schema.String.pipe(Schema.minLength(1)),
  account_id: Schema.optional(Schema.String),
  payload: Schema.Struct({
    payment: entity(Payment),
    order: entity(Order),
    refund: entity(Refund),
    dispute: entity(Dispute)
  }),
  created_at: Schema.optional(Schema.Number)
})
export type WebhookEvent = typeof WebhookEvent.Type
