/**
 * The public events a merchant's webhook endpoint receives: a coarse, stable set of types
 * (`payment.succeeded`, `refund.failed`, …) instead of the internal `PaymentEvent` tags, each with
 * a JSON body holding only what a merchant may see.
 *
 * - **Types.** Each public type comes from exactly one `PaymentEvent` tag, or one tag with one
 *   value of its `status` field (`dispute.opened` / `dispute.closed` are `DisputeRecorded` with
 *   `status` `opened` / `closed`): its {@link selectorOf}. Internal steps (authentication,
 *   retries, reconciliations, compensations, gateway notifications, captures or voids merely
 *   requested) have no public type and are never sent.
 * - **Everything a merchant must hear about** has a type: the customer must act
 *   (`payment.action_required`), the provider holds the payment (`payment.pending`), the payment
 *   settles (`payment.succeeded`, `payment.authorized`), fails (`payment.failed`; a checkout that
 *   expired or was cancelled at the provider has `data.declineCode` `expired` / `canceled`) or is
 *   cancelled (`payment.cancelled`), refunds (ours and `refund.external`, made in the provider's
 *   dashboard), disputes, manual reviews.
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
  "payment.action_required",
  "payment.pending",
  "payment.authorized",
  "payment.succeeded",
  "payment.failed",
  "payment.cancelled",
  "payment.outcome_unknown",
  "payment.operation_failed",
  "refund.created",
  "refund.succeeded",
  "refund.failed",
  "refund.external",
  "dispute.opened",
  "dispute.closed",
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
 * What selects the `PaymentEvent`s of each public type: a tag (`PaymentSucceeded`), or a tag and
 * the value of the event's `status` field (`DisputeRecorded:opened`).
 *
 * @since 0.2.0
 */
export const selectorOf: { readonly [K in EventType]: `${PaymentEventType}` | `${PaymentEventType}:${string}` } = {
  "payment.created": "PaymentInitiated",
  "payment.processing": "PaymentProcessing",
  "payment.action_required": "CustomerActionRequired",
  "payment.pending": "PaymentPendingAtProvider",
  "payment.authorized": "PaymentAuthorized",
  "payment.succeeded": "PaymentSucceeded",
  "payment.failed": "PaymentFailed",
  "payment.cancelled": "PaymentCancelled",
  "payment.outcome_unknown": "PaymentOutcomeUnknown",
  "payment.operation_failed": "PaymentOperationFailed",
  "refund.created": "RefundRequested",
  "refund.succeeded": "RefundSucceeded",
  "refund.failed": "RefundFailed",
  "refund.external": "ExternalRefundRecorded",
  "dispute.opened": "DisputeRecorded:opened",
  "dispute.closed": "DisputeRecorded:closed",
  "review.required": "ManualReviewRequired",
  "review.resolved": "ManualReviewResolved"
}

const bySelector = new Map<string, EventType>(types.map((type) => [selectorOf[type], type]))

const statusOf = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null || !("status" in value)) return undefined
  return typeof value.status === "string" ? value.status : undefined
}

/**
 * The public type of a stored event: its tag and its (encoded or decoded) body, whose `status`
 * field tells the type where the tag alone does not; none for internal events.
 *
 * @since 0.2.0
 */
export const typeOfStored = (tag: string, event: unknown): Option.Option<EventType> => {
  const byTag = bySelector.get(tag)
  if (byTag !== undefined) return Option.some(byTag)
  const status = statusOf(event)
  return Option.fromNullable(status === undefined ? undefined : bySelector.get(`${tag}:${status}`))
}

/**
 * The public type of a `PaymentEvent`; none for internal events.
 *
 * @since 0.2.0
 */
export const typeOf = (event: PaymentEvent): Option.Option<EventType> => typeOfStored(event._tag, event)

/**
 * The selectors (see {@link selectorOf}) an endpoint subscribed to `subscriptions` receives
 * (`"*"`: every public type), without duplicates, in the order of {@link types}. An event is
 * delivered when its tag, or its tag and `status` (`Tag:status`), is one of them.
 *
 * @since 0.2.0
 */
export const selectorsFor = (subscriptions: ReadonlyArray<Subscription>): ReadonlyArray<string> => {
  const all = subscriptions.includes("*")
  return types.filter((type) => all || subscriptions.includes(type)).map((type) => selectorOf[type])
}

/**
 * Whether an event (its tag and its encoded or decoded body) is selected by `selectors`.
 *
 * @since 0.2.0
 */
export const selects = (selectors: ReadonlyArray<string>, tag: string, event: unknown): boolean => {
  if (selectors.includes(tag)) return true
  const status = statusOf(event)
  return status !== undefined && selectors.includes(`${tag}:${status}`)
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
    case "CustomerActionRequired":
      return {
        // what the customer's browser needs; a client secret is not sent (read the payment)
        action: event.action.type === "redirect"
          ? { type: "redirect", url: event.action.url }
          : event.action.type === "checkout"
          ? { type: "checkout", params: event.action.params }
          : { type: event.action.type },
        expiresAt: DateTime.formatIso(event.expiresAt)
      }
    case "PaymentPendingAtProvider":
      return defined({ reason: event.reason, expiresAt: DateTime.formatIso(event.expiresAt) })
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
    case "ExternalRefundRecorded":
      return defined({
        refundId: event.refundId,
        gateway: event.gateway,
        gatewayRefundId: event.gatewayRefundId,
        amount: amount(event.amount),
        reportedAmount: event.reportedAmount === undefined ? undefined : amount(event.reportedAmount)
      })
    case "DisputeRecorded":
      return defined({
        disputeId: event.disputeId,
        gateway: event.gateway,
        status: event.status,
        amount: event.amount === undefined ? undefined : amount(event.amount),
        reason: event.reason,
        outcome: event.outcome
      })
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
  Option.flatMap(typeOf(event), (type) => {
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
