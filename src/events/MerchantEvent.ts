/**
 * The public events a merchant's webhook endpoint receives: a coarse, stable set of types
 * (`payment.succeeded`, `refund.failed`, …) instead of the internal `PaymentEvent` tags, each with
 * a JSON body holding only what a merchant may see.
 *
 * - **Types.** Each public type comes from exactly one `PaymentEvent` tag ({@link typeOf}). Internal
 *   steps (authentication, retries, reconciliations, compensations, gateway notifications,
 *   captures or voids merely requested) have no public type and are never sent.
 * - **Body.** `{ id, type, createdAt, tenantId, paymentId, sequence, data }` ({@link MerchantEvent});
 *   `id` is the event id (stable: the same on every attempt and replay, for dedupe), `sequence` the
 *   event's number within its payment (1, 2, 3…; a merchant that receives a lower one after a
 *   higher one knows it is a replay). Amounts are exact decimal strings with their currency
 *   (`{ currency: "USD", amount: "10.05" }`), never floats. Never a card number, a vault token, a
 *   fingerprint, a provider token or an idempotency key sent to a gateway.
 * - The body of an event is a pure function of the event: every attempt and every replay of a
 *   delivery sends the same bytes.
 *
 * @since 0.2.0
 */
import { DateTime, Option, Schema } from "effect"
import * as Money from "../domain/Money.js"
import type { PaymentEvent, PaymentEventType } from "../domain/PaymentEvent.js"

/**
 * Every public event type, in a documented order.
 *
 * @since 0.2.0
 */
export const types = [
  "payment.created",
  "payment.processing",
  "payment.authorized",
  "payment.succeeded",
  "payment.failed",
  "payment.cancelled",
  "payment.outcome_unknown",
  "payment.operation_failed",
  "refund.created",
  "refund.succeeded",
  "refund.failed",
  "review.required",
  "review.resolved"
] as const

/**
 * A public event type.
 *
 * @since 0.2.0
 */
export const EventType = Schema.Literal(...types)

/**
 * @since 0.2.0
 */
export type EventType = typeof EventType.Type

/**
 * What an endpoint subscribes to: public types, or `"*"` for every public type (also those added
 * by later versions).
 *
 * @since 0.2.0
 */
export const Subscription = Schema.Union(EventType, Schema.Literal("*"))

/**
 * @since 0.2.0
 */
export type Subscription = typeof Subscription.Type

/**
 * The `PaymentEvent` tag behind each public type.
 *
 * @since 0.2.0
 */
export const tagOf: { readonly [K in EventType]: PaymentEventType } = {
  "payment.created": "PaymentInitiated",
  "payment.processing": "PaymentProcessing",
  "payment.authorized": "PaymentAuthorized",
  "payment.succeeded": "PaymentSucceeded",
  "payment.failed": "PaymentFailed",
  "payment.cancelled": "PaymentCancelled",
  "payment.outcome_unknown": "PaymentOutcomeUnknown",
  "payment.operation_failed": "PaymentOperationFailed",
  "refund.created": "RefundRequested",
  "refund.succeeded": "RefundSucceeded",
  "refund.failed": "RefundFailed",
  "review.required": "ManualReviewRequired",
  "review.resolved": "ManualReviewResolved"
}

const byTag = new Map<string, EventType>(types.map((type) => [tagOf[type], type]))

/**
 * The public type of a `PaymentEvent` tag; none for internal events.
 *
 * @since 0.2.0
 */
export const typeOf = (tag: string): Option.Option<EventType> => Option.fromNullable(byTag.get(tag))

/**
 * The `PaymentEvent` tags an endpoint subscribed to `subscriptions` receives (`"*"`: every tag
 * with a public type), without duplicates, in the order of {@link types}.
 *
 * @since 0.2.0
 */
export const tagsFor = (subscriptions: ReadonlyArray<Subscription>): ReadonlyArray<PaymentEventType> => {
  const all = subscriptions.includes("*")
  return types.filter((type) => all || subscriptions.includes(type)).map((type) => tagOf[type])
}

/**
 * The body a merchant's endpoint receives.
 *
 * @since 0.2.0
 */
export const MerchantEvent = Schema.Struct({
  /** The event id (`evt_<paymentId>_<sequence>`): the same on every attempt and replay. */
  id: Schema.String,
  type: EventType,
  /** When the event happened (ISO 8601, UTC). */
  createdAt: Schema.String,
  tenantId: Schema.String,
  paymentId: Schema.String,
  /** The event's number within its payment: 1, 2, 3… */
  sequence: Schema.Int,
  data: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

/**
 * @since 0.2.0
 */
export type MerchantEvent = typeof MerchantEvent.Type

const amount = (money: Money.Money) => ({ currency: money.currency, amount: Money.toDecimalString(money) })

/** Only the defined fields of `fields`. */
const defined = (fields: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))

const dataOf = (event: PaymentEvent): Record<string, unknown> | undefined => {
  switch (event._tag) {
    case "PaymentInitiated": {
      const method = event.paymentMethod
      return defined({
        amount: amount(event.amount),
        captureMethod: event.captureMethod,
        idempotencyKey: event.idempotencyKey,
        paymentMethod: method.type === "card"
          ? { type: "card", brand: method.brand, last4: method.last4, expiryMonth: method.expiryMonth, expiryYear: method.expiryYear }
          : { type: method.type, gateway: method.gateway },
        customer: defined({
          id: event.customer.id,
          email: event.customer.email,
          name: event.customer.name,
          country: event.customer.country
        }),
        metadata: event.metadata,
        description: event.description
      })
    }
    case "PaymentProcessing":
      return { gateway: event.gateway, attemptNumber: event.attemptNumber }
    case "PaymentAuthorized":
      return { amount: amount(event.amount), gatewayTransactionId: event.gatewayTransactionId }
    case "PaymentSucceeded":
      return { captured: amount(event.captured), gatewayTransactionId: event.gatewayTransactionId }
    case "PaymentFailed":
      return defined({ reason: event.reason, declineCode: event.declineCode })
    case "PaymentCancelled":
      return { reason: event.reason, voided: event.voided }
    case "PaymentOutcomeUnknown":
      return { reason: event.reason }
    case "PaymentOperationFailed":
      return { operation: event.operation, reason: event.reason }
    case "RefundRequested":
      return defined({
        refundId: event.refundId,
        amount: amount(event.amount),
        idempotencyKey: event.idempotencyKey,
        reason: event.reason
      })
    case "RefundSucceeded":
      return { refundId: event.refundId, gatewayRefundId: event.gatewayRefundId }
    case "RefundFailed":
      return { refundId: event.refundId, reason: event.reason }
    case "ManualReviewRequired":
      return defined({ refundId: event.refundId, reason: event.reason })
    case "ManualReviewResolved":
      return defined({ reviewId: event.reviewId, resolution: event.resolution, note: event.note })
    default:
      return undefined
  }
}

/**
 * The public event of a `PaymentEvent`; none for an internal one.
 *
 * @since 0.2.0
 */
export const fromPaymentEvent = (event: PaymentEvent): Option.Option<MerchantEvent> =>
  Option.flatMap(typeOf(event._tag), (type) => {
    const data = dataOf(event)
    return data === undefined ? Option.none() : Option.some({
      id: event.eventId,
      type,
      createdAt: DateTime.formatIso(event.occurredAt),
      tenantId: event.tenantId,
      paymentId: event.paymentId,
      sequence: event.seq,
      data
    })
  })

/**
 * The exact bytes sent for an event (its JSON), or none for an internal event.
 *
 * @since 0.2.0
 */
export const body = (event: PaymentEvent): Option.Option<string> =>
  Option.map(fromPaymentEvent(event), (merchantEvent) => JSON.stringify(merchantEvent))
