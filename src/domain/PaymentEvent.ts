/**
 * Domain events: the complete, replayable record of every change to a payment.
 *
 * Every event carries `eventId` (unique, derived from the payment id and sequence number, so a
 * consumer can dedupe by it), `paymentId`, `tenantId`, `seq` (1, 2, 3… per payment, no gaps)
 * and `occurredAt`, plus a Schema-typed payload. Card numbers and CVVs never appear in events:
 * the payment method is the {@link PaymentMethodToken} (a card's token, or a gateway token; a card
 * is encoded as before gateway tokens existed, so older events decode unchanged).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Customer } from "./Customer.js"
import { CustomerAction } from "./CustomerAction.js"
import { Metadata } from "./Metadata.js"
import { Money } from "./Money.js"
import { PaymentMethodToken } from "./PaymentMethod.js"

/**
 * How a payment is captured: `automatic` charges at once, `manual` authorizes and waits for
 * `capturePayment`.
 *
 * @since 0.1.0
 */
export const CaptureMethod = Schema.Literal("automatic", "manual")

/**
 * @since 0.1.0
 */
export type CaptureMethod = typeof CaptureMethod.Type

const base = {
  eventId: Schema.String,
  paymentId: Schema.String,
  tenantId: Schema.String,
  seq: Schema.Int,
  occurredAt: Schema.DateTimeUtc
}

/**
 * The fields every event carries.
 *
 * @since 0.1.0
 */
export type EventBase = Schema.Struct.Type<typeof base>

/**
 * One line of an order as stored: `price` is the exact unit price in the payment's currency.
 *
 * @since 0.2.0
 */
export const CheckoutLineItem = Schema.Struct({
  quantity: Schema.Int,
  description: Schema.String,
  price: Money,
  url: Schema.optional(Schema.String)
})

/**
 * What a payment tells the provider besides the amount (see the gateway contract's
 * `CheckoutDetails`): the pages the customer returns to, the order's lines, whether a
 * provider-pending result is acceptable, the merchant's external reference. Every field is
 * optional; a payment created before 0.2 has none.
 *
 * @since 0.2.0
 */
export const CheckoutInfo = Schema.Struct({
  returnUrl: Schema.optional(Schema.String),
  cancelUrl: Schema.optional(Schema.String),
  lineItems: Schema.optional(Schema.Array(CheckoutLineItem)),
  allowPending: Schema.optional(Schema.Boolean),
  externalReference: Schema.optional(Schema.String)
})

/**
 * @since 0.2.0
 */
export type CheckoutInfo = typeof CheckoutInfo.Type

/**
 * A payment was created (seed event). Carries everything needed to rebuild the payment.
 *
 * @since 0.1.0
 */
export class PaymentInitiated extends Schema.TaggedClass<PaymentInitiated>()("PaymentInitiated", {
  ...base,
  idempotencyKey: Schema.String,
  requestFingerprint: Schema.String,
  amount: Money,
  captureMethod: CaptureMethod,
  paymentMethod: PaymentMethodToken,
  customer: Customer,
  metadata: Metadata,
  description: Schema.optional(Schema.String),
  gatewayPreference: Schema.optional(Schema.String),
  /** Absent before 0.2 and when the request named none of the checkout fields. */
  checkout: Schema.optional(CheckoutInfo)
}) {}

/**
 * The payment method was authenticated with a gateway (seed event).
 *
 * @since 0.1.0
 */
export class PaymentAuthenticated extends Schema.TaggedClass<PaymentAuthenticated>()("PaymentAuthenticated", {
  ...base,
  gateway: Schema.String
}) {}

/**
 * An attempt was committed before any money-moving call (seed event). The attempt's gateway
 * idempotency key is stable: a restart resends the same key, never a new one.
 *
 * @since 0.1.0
 */
export class PaymentProcessing extends Schema.TaggedClass<PaymentProcessing>()("PaymentProcessing", {
  ...base,
  attemptId: Schema.String,
  attemptNumber: Schema.Int,
  gateway: Schema.String,
  gatewayIdempotencyKey: Schema.String
}) {}

/**
 * The current attempt failed without moving money and is tried again (seed event): with the
 * same idempotency key after a transient error (`failover` absent), or, with `failover: true`,
 * as a new attempt at `nextGateway` (new attempt id, new key) that follows in the same write.
 *
 * @since 0.1.0
 */
export class PaymentRetryAttempted extends Schema.TaggedClass<PaymentRetryAttempted>()("PaymentRetryAttempted", {
  ...base,
  attemptId: Schema.String,
  retry: Schema.Int,
  reason: Schema.String,
  failover: Schema.optional(Schema.Boolean),
  nextGateway: Schema.optional(Schema.String),
  /**
   * With `failover`: the attempt was possibly sent (a request for it may have left the process
   * without a definite answer: transient errors, an interrupted or crashed send), so its gateway
   * may have applied it.
   */
  mayHaveApplied: Schema.optional(Schema.Boolean)
}) {}

/**
 * The gateway's status of a failed-over attempt that may have been applied was asked (once).
 * A charge it reports is a stray charge, compensated in the same write.
 *
 * @since 0.1.0
 */
export class AttemptStatusChecked extends Schema.TaggedClass<AttemptStatusChecked>()("AttemptStatusChecked", {
  ...base,
  attemptId: Schema.String,
  gatewayStatus: Schema.Literal("succeeded", "authorized", "failed", "not_found")
}) {}

/**
 * The provider's reference of the current attempt (e.g. a PaymentIntent id) became known: from
 * `initiate` of a gateway that looks status up by reference (committed on its own, before the
 * money-moving call), or from the answer of `process`. Every later status, complete and cancel
 * call of the attempt uses it.
 *
 * @since 0.2.0
 */
export class AttemptReferenceRecorded extends Schema.TaggedClass<AttemptReferenceRecorded>()("AttemptReferenceRecorded", {
  ...base,
  attemptId: Schema.String,
  reference: Schema.String
}) {}

/**
 * The provider waits for the customer (3-D Secure, an approval page, a hosted checkout): the
 * payment moves to ACTION_REQUIRED (or, already there, gets the provider's newer action) until
 * `expiresAt`. The action is what the customer's browser needs; it never holds card data.
 *
 * @since 0.2.0
 */
export class CustomerActionRequired extends Schema.TaggedClass<CustomerActionRequired>()("CustomerActionRequired", {
  ...base,
  attemptId: Schema.String,
  reference: Schema.String,
  action: CustomerAction,
  expiresAt: Schema.DateTimeUtc
}) {}

/**
 * The provider accepted the attempt without settling it (Pagadito `VERIFYING`, a payment under
 * review): the payment (PROCESSING, or ACTION_REQUIRED when the customer finished; the state
 * does not change) waits for the provider's status or webhook until `expiresAt`, after which the
 * provider is asked to cancel it. Never failed over, never failed
 * without the provider's definite answer.
 *
 * @since 0.2.0
 */
export class PaymentPendingAtProvider extends Schema.TaggedClass<PaymentPendingAtProvider>()("PaymentPendingAtProvider", {
  ...base,
  attemptId: Schema.String,
  reference: Schema.String,
  reason: Schema.optional(Schema.String),
  expiresAt: Schema.DateTimeUtc
}) {}

/**
 * The gateway did not answer a money-moving call in time: the charge may or may not have
 * happened. The payment stays PROCESSING until the gateway's own status tells.
 *
 * @since 0.1.0
 */
export class PaymentOutcomeUnknown extends Schema.TaggedClass<PaymentOutcomeUnknown>()("PaymentOutcomeUnknown", {
  ...base,
  attemptId: Schema.String,
  reason: Schema.String
}) {}

/**
 * The gateway's status was asked for an attempt whose outcome was unknown.
 *
 * @since 0.1.0
 */
export class PaymentReconciled extends Schema.TaggedClass<PaymentReconciled>()("PaymentReconciled", {
  ...base,
  attemptId: Schema.String,
  /** `action_required` and `pending` since 0.2 (the provider still waits). */
  gatewayStatus: Schema.Literal("succeeded", "authorized", "failed", "not_found", "action_required", "pending")
}) {}

/**
 * The gateway authorized the amount (manual capture); money is held, not yet captured.
 *
 * @since 0.1.0
 */
export class PaymentAuthorized extends Schema.TaggedClass<PaymentAuthorized>()("PaymentAuthorized", {
  ...base,
  attemptId: Schema.String,
  gatewayTransactionId: Schema.String,
  amount: Money
}) {}

/**
 * The payment succeeded: `captured` was charged (seed event).
 *
 * @since 0.1.0
 */
export class PaymentSucceeded extends Schema.TaggedClass<PaymentSucceeded>()("PaymentSucceeded", {
  ...base,
  attemptId: Schema.String,
  gatewayTransactionId: Schema.String,
  captured: Money
}) {}

/**
 * The payment failed (seed event): declined, authentication failed or the gateway unavailable.
 *
 * @since 0.1.0
 */
export class PaymentFailed extends Schema.TaggedClass<PaymentFailed>()("PaymentFailed", {
  ...base,
  attemptId: Schema.optional(Schema.String),
  reason: Schema.String,
  declineCode: Schema.optional(Schema.String),
  /**
   * The failed attempt was possibly sent (transient errors, an interrupted or crashed send), so its
   * gateway may have applied it.
   */
  mayHaveApplied: Schema.optional(Schema.Boolean)
}) {}

/**
 * A capture (or a void) of the authorization was committed before the gateway was asked, with
 * its idempotency key. Until the gateway's definite answer, any further capture or cancel call
 * resends exactly this operation.
 *
 * @since 0.1.0
 */
export class PaymentOperationRequested extends Schema.TaggedClass<PaymentOperationRequested>()(
  "PaymentOperationRequested",
  {
    ...base,
    operation: Schema.Literal("capture", "void"),
    amount: Money,
    idempotencyKey: Schema.String
  }
) {}

/**
 * The gateway definitely refused the pending capture or void; the authorization is unchanged.
 *
 * @since 0.1.0
 */
export class PaymentOperationFailed extends Schema.TaggedClass<PaymentOperationFailed>()("PaymentOperationFailed", {
  ...base,
  operation: Schema.Literal("capture", "void"),
  reason: Schema.String
}) {}

/**
 * The payment was cancelled: before processing, or by voiding its authorization.
 *
 * @since 0.1.0
 */
export class PaymentCancelled extends Schema.TaggedClass<PaymentCancelled>()("PaymentCancelled", {
  ...base,
  reason: Schema.String,
  voided: Schema.Boolean
}) {}

/**
 * A refund was reserved against the captured amount before the gateway was asked.
 *
 * @since 0.1.0
 */
export class RefundRequested extends Schema.TaggedClass<RefundRequested>()("RefundRequested", {
  ...base,
  refundId: Schema.String,
  amount: Money,
  idempotencyKey: Schema.String,
  gatewayIdempotencyKey: Schema.String,
  reason: Schema.optional(Schema.String)
}) {}

/**
 * The gateway refunded the money.
 *
 * @since 0.1.0
 */
export class RefundSucceeded extends Schema.TaggedClass<RefundSucceeded>()("RefundSucceeded", {
  ...base,
  refundId: Schema.String,
  gatewayRefundId: Schema.String
}) {}

/**
 * The gateway refused the refund; its reservation is released.
 *
 * @since 0.1.0
 */
export class RefundFailed extends Schema.TaggedClass<RefundFailed>()("RefundFailed", {
  ...base,
  refundId: Schema.String,
  reason: Schema.String
}) {}

/**
 * A person must look at this payment (or one of its refunds).
 *
 * @since 0.1.0
 */
export class ManualReviewRequired extends Schema.TaggedClass<ManualReviewRequired>()("ManualReviewRequired", {
  ...base,
  refundId: Schema.optional(Schema.String),
  compensationId: Schema.optional(Schema.String),
  reason: Schema.String
}) {}

/**
 * A person resolved a review item (its id is derived from the `ManualReviewRequired` event that
 * opened it): `refunded` records the refund or compensation as done (with the gateway's refund id
 * when known), `not_refunded` records that no money went back.
 *
 * @since 0.1.0
 */
export class ManualReviewResolved extends Schema.TaggedClass<ManualReviewResolved>()("ManualReviewResolved", {
  ...base,
  reviewId: Schema.String,
  resolution: Schema.Literal("refunded", "not_refunded"),
  note: Schema.String,
  resolvedBy: Schema.optional(Schema.String),
  gatewayRefundId: Schema.optional(Schema.String)
}) {}

/**
 * A gateway applied a charge for an attempt that is not the payment's charge (a stray charge:
 * the attempt was failed over or failed, then applied late). Its return (a refund, or the void
 * of an authorization) is committed with its idempotency key before the gateway is asked.
 *
 * @since 0.1.0
 */
export class CompensationRequested extends Schema.TaggedClass<CompensationRequested>()("CompensationRequested", {
  ...base,
  compensationId: Schema.String,
  attemptId: Schema.String,
  gateway: Schema.String,
  gatewayTransactionId: Schema.String,
  operation: Schema.Literal("refund", "void"),
  amount: Money,
  idempotencyKey: Schema.String,
  reason: Schema.String
}) {}

/**
 * The gateway returned a stray charge.
 *
 * @since 0.1.0
 */
export class CompensationSucceeded extends Schema.TaggedClass<CompensationSucceeded>()("CompensationSucceeded", {
  ...base,
  compensationId: Schema.String,
  gatewayRefundId: Schema.String
}) {}

/**
 * The kinds of gateway notification (webhook) the library understands.
 *
 * @since 0.1.0
 */
export const NotificationType = Schema.Literal(
  "charge.succeeded",
  "charge.authorized",
  "charge.failed",
  "refund.succeeded",
  "refund.failed",
  /** The provider accepted the charge without settling it (0.2). */
  "charge.pending",
  /** The provider waits for the customer (0.2): applied by asking the provider for the action. */
  "charge.action_required",
  /** The checkout expired at the provider: nothing was charged (0.2). */
  "charge.expired",
  /** The checkout or charge was cancelled at the provider before any money moved (0.2). */
  "charge.canceled",
  /** The customer disputed the charge (0.2): recorded, no workflow. */
  "dispute.opened",
  /** The dispute ended (0.2): `code` carries the provider's outcome (`won`, `lost`, …). */
  "dispute.closed",
  /** A refund made outside AegisPay, e.g. in the provider's dashboard (0.2). */
  "refund.external"
)

/**
 * @since 0.2.0
 */
export type NotificationType = typeof NotificationType.Type

/**
 * A verified gateway notification was received and applied (or found to change nothing: an
 * older status, an unknown reference). Recorded with the changes it caused, in one write, so a
 * redelivery is recognised by its id.
 *
 * @since 0.1.0
 */
export class NotificationReceived extends Schema.TaggedClass<NotificationReceived>()("NotificationReceived", {
  ...base,
  notificationId: Schema.String,
  gateway: Schema.String,
  notificationType: NotificationType,
  outcome: Schema.Literal("applied", "ignored"),
  detail: Schema.String
}) {}

/**
 * A dispute notification was recorded (no dispute workflow: the record is for people and
 * reports). `amount` is the disputed amount when the provider said it.
 *
 * @since 0.2.0
 */
export class DisputeRecorded extends Schema.TaggedClass<DisputeRecorded>()("DisputeRecorded", {
  ...base,
  disputeId: Schema.String,
  gateway: Schema.String,
  status: Schema.Literal("opened", "closed"),
  amount: Schema.optional(Money),
  reason: Schema.optional(Schema.String),
  /** The provider's outcome of a closed dispute (`won`, `lost`, …). */
  outcome: Schema.optional(Schema.String)
}) {}

/**
 * A refund made outside AegisPay (in the provider's dashboard) was recorded: it is a SUCCEEDED
 * refund of `amount` (what was left refundable of the amount the provider reported, never more:
 * the refunded amount never exceeds the captured one).
 *
 * @since 0.2.0
 */
export class ExternalRefundRecorded extends Schema.TaggedClass<ExternalRefundRecorded>()("ExternalRefundRecorded", {
  ...base,
  refundId: Schema.String,
  gateway: Schema.String,
  gatewayRefundId: Schema.String,
  amount: Money,
  /** What the provider reported, when more than could be recorded. */
  reportedAmount: Schema.optional(Money)
}) {}

/**
 * Any payment event.
 *
 * @since 0.1.0
 */
export const PaymentEvent = Schema.Union(
  PaymentInitiated,
  PaymentAuthenticated,
  PaymentProcessing,
  PaymentRetryAttempted,
  PaymentOutcomeUnknown,
  PaymentReconciled,
  PaymentAuthorized,
  PaymentSucceeded,
  PaymentFailed,
  PaymentCancelled,
  PaymentOperationRequested,
  PaymentOperationFailed,
  RefundRequested,
  RefundSucceeded,
  RefundFailed,
  ManualReviewRequired,
  ManualReviewResolved,
  CompensationRequested,
  CompensationSucceeded,
  NotificationReceived,
  AttemptStatusChecked,
  AttemptReferenceRecorded,
  CustomerActionRequired,
  PaymentPendingAtProvider,
  DisputeRecorded,
  ExternalRefundRecorded
)

/**
 * @since 0.1.0
 */
export type PaymentEvent = typeof PaymentEvent.Type

/**
 * The tag of every event type, for subscriptions.
 *
 * @since 0.1.0
 */
export type PaymentEventType = PaymentEvent["_tag"]

/**
 * The id of the event with sequence number `seq` of a payment: unique and stable, so consumers
 * dedupe by it.
 *
 * @since 0.1.0
 */
export const eventId = (paymentId: string, seq: number): string => `evt_${paymentId}_${seq}`
