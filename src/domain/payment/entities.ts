/**
 * The Payment aggregate's entities: the payment itself, its attempts, refunds, pending capture or
 * void, compensations (stray charges returned) and review items, and `Decision`, what every
 * command returns.
 *
 * @internal
 */
import { Schema } from "effect"
import { Customer } from "../Customer.js"
import { CustomerAction } from "../CustomerAction.js"
import { Metadata } from "../Metadata.js"
import * as Money from "../Money.js"
import * as Event from "../PaymentEvent.js"
import { methodGateway, PaymentMethodToken } from "../PaymentMethod.js"
import * as State from "../PaymentState.js"

/**
 * One try at a gateway. Its `idempotencyKey` is sent with every money-moving call of the
 * attempt and never changes, so resending after a crash cannot charge twice.
 *
 * @since 0.1.0
 */
export class Attempt extends Schema.Class<Attempt>("Attempt")({
  id: Schema.String,
  number: Schema.Int,
  gateway: Schema.String,
  idempotencyKey: Schema.String,
  status: Schema.Literal("pending", "unknown", "authorized", "succeeded", "failed"),
  /**
   * Whether this attempt's outcome was ever unknown. Such an attempt may have been applied late
   * by its gateway: it is never failed over and never failed on anything but a definite answer.
   */
  uncertain: Schema.Boolean,
  retries: Schema.Int,
  /**
   * The attempt was failed over (or failed) while possibly sent: a request for it may have left
   * the process without a definite answer (transient errors; a send interrupted or cut by a
   * crash, then found `not_found` and resent into an open circuit), so its gateway may have
   * applied the charge all the same. The recovery worker asks the gateway's status once and
   * compensates a stray charge; until then the payment has open work.
   */
  needsStatusCheck: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /**
   * The provider's reference of the attempt (0.2), once known: status, complete and cancel calls
   * find the attempt by it.
   */
  reference: Schema.optional(Schema.String),
  gatewayTransactionId: Schema.optional(Schema.String),
  failureReason: Schema.optional(Schema.String),
  startedAt: Schema.DateTimeUtc
}) {}

/**
 * Refund states: PENDING until the gateway answers, then SUCCEEDED or FAILED; MANUAL_REVIEW when a
 * person must decide.
 *
 * @since 0.1.0
 */
export const RefundState = Schema.Literal("PENDING", "SUCCEEDED", "FAILED", "MANUAL_REVIEW")

/**
 * A refund of part or all of the captured amount, with its own idempotency key.
 *
 * @since 0.1.0
 */
export class Refund extends Schema.Class<Refund>("Refund")({
  id: Schema.String,
  paymentId: Schema.String,
  amount: Money.Money,
  state: RefundState,
  idempotencyKey: Schema.String,
  gatewayIdempotencyKey: Schema.String,
  reason: Schema.optional(Schema.String),
  gatewayRefundId: Schema.optional(Schema.String),
  failureReason: Schema.optional(Schema.String),
  /** Made outside AegisPay (the provider's dashboard) and recorded from its notification (0.2). */
  external: Schema.optional(Schema.Boolean),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

/**
 * A dispute the provider reported (recorded only: no dispute workflow).
 *
 * @since 0.2.0
 */
export class Dispute extends Schema.Class<Dispute>("Dispute")({
  id: Schema.String,
  gateway: Schema.String,
  state: Schema.Literal("OPEN", "CLOSED"),
  amount: Schema.optional(Money.Money),
  reason: Schema.optional(Schema.String),
  outcome: Schema.optional(Schema.String),
  openedAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

/**
 * The most disputes one payment records; keeps every aggregate bounded (later ones are recorded
 * as notifications only).
 *
 * @since 0.2.0
 */
export const MAX_DISPUTES = 20

/**
 * The most refunds one payment may have; keeps every aggregate bounded.
 *
 * @since 0.1.0
 */
export const MAX_REFUNDS = 100

/**
 * How many notification ids a payment remembers for deduplication. An older redelivery is
 * applied again, which changes nothing: notifications only move a payment forward.
 *
 * @since 0.1.0
 */
export const MAX_NOTIFICATION_IDS = 100

/**
 * A capture or void committed before the gateway call and not yet answered definitely.
 *
 * @since 0.1.0
 */
export class PendingOperation extends Schema.Class<PendingOperation>("PendingOperation")({
  operation: Schema.Literal("capture", "void"),
  amount: Money.Money,
  idempotencyKey: Schema.String
}) {}

/**
 * Compensation states: PENDING until the gateway answers the refund (or void) of a stray charge,
 * then REFUNDED; MANUAL_REVIEW when the gateway refused it and a person must act; KEPT when a
 * person decided the charge stands (resolved review).
 *
 * @since 0.1.0
 */
export const CompensationState = Schema.Literal("PENDING", "REFUNDED", "MANUAL_REVIEW", "KEPT")

/**
 * The automatic return of a stray charge: money a gateway took for an attempt that is not the
 * payment's charge (an attempt failed over or failed locally, then applied late by its gateway).
 * Its `idempotencyKey` is sent with the refund (or void) and never changes.
 *
 * @since 0.1.0
 */
export class Compensation extends Schema.Class<Compensation>("Compensation")({
  id: Schema.String,
  attemptId: Schema.String,
  gateway: Schema.String,
  gatewayTransactionId: Schema.String,
  /** `refund` for a captured stray charge, `void` for a stray authorization. */
  operation: Schema.Literal("refund", "void"),
  amount: Money.Money,
  idempotencyKey: Schema.String,
  reason: Schema.String,
  state: CompensationState,
  gatewayRefundId: Schema.optional(Schema.String),
  failureReason: Schema.optional(Schema.String),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

/**
 * How a person resolved a review item: `refunded` (the money went back: the refund or
 * compensation is recorded as done), `not_refunded` (nothing went back and nothing will: a
 * refund is recorded FAILED and its reservation released; a compensation is recorded KEPT).
 *
 * @since 0.1.0
 */
export const ReviewResolution = Schema.Literal("refunded", "not_refunded")

/**
 * @since 0.1.0
 */
export type ReviewResolution = typeof ReviewResolution.Type

/**
 * Something a person must look at, opened by a `ManualReviewRequired` event with the full
 * context (the refund or compensation it is about, and why), closed by `ManualReviewResolved`.
 *
 * @since 0.1.0
 */
export class ReviewItem extends Schema.Class<ReviewItem>("ReviewItem")({
  id: Schema.String,
  refundId: Schema.optional(Schema.String),
  compensationId: Schema.optional(Schema.String),
  reason: Schema.String,
  state: Schema.Literal("OPEN", "RESOLVED"),
  resolution: Schema.optional(ReviewResolution),
  note: Schema.optional(Schema.String),
  resolvedBy: Schema.optional(Schema.String),
  openedAt: Schema.DateTimeUtc,
  resolvedAt: Schema.optional(Schema.DateTimeUtc)
}) {}

/**
 * A payment.
 *
 * @since 0.1.0
 */
export class Payment extends Schema.Class<Payment>("Payment")({
  id: Schema.String,
  tenantId: Schema.String,
  idempotencyKey: Schema.String,
  requestFingerprint: Schema.String,
  amount: Money.Money,
  authorizedAmount: Money.Money,
  capturedAmount: Money.Money,
  refundedAmount: Money.Money,
  state: State.PaymentState,
  captureMethod: Event.CaptureMethod,
  /** A card's token, or a gateway token (the payment is then pinned to its gateway). */
  paymentMethod: PaymentMethodToken,
  customer: Customer,
  metadata: Metadata,
  description: Schema.optional(Schema.String),
  gatewayPreference: Schema.optional(Schema.String),
  /** Return pages, order lines, allow-pending, external reference (0.2; absent when none was given). */
  checkout: Schema.optional(Event.CheckoutInfo),
  gateway: Schema.optional(Schema.String),
  gatewayTransactionId: Schema.optional(Schema.String),
  attempts: Schema.Array(Attempt),
  refunds: Schema.Array(Refund),
  pendingOperation: Schema.optional(PendingOperation),
  /** Returns of stray charges (see {@link Compensation}); empty for almost every payment. */
  compensations: Schema.optionalWith(Schema.Array(Compensation), { default: () => [] }),
  /** Ids of the latest verified gateway notifications received (at most {@link MAX_NOTIFICATION_IDS}). */
  notificationIds: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Review items, open and resolved. */
  reviews: Schema.optionalWith(Schema.Array(ReviewItem), { default: () => [] }),
  /** What the customer must do (ACTION_REQUIRED only; dropped once the provider holds the payment pending). */
  customerAction: Schema.optional(CustomerAction),
  /**
   * Until when the payment waits for the customer (ACTION_REQUIRED) or for the provider
   * (`providerPending`); after it, recovery asks the provider to cancel.
   */
  actionExpiresAt: Schema.optional(Schema.DateTimeUtc),
  /**
   * Accepted by the provider and not settled yet (a provider-pending result): in PROCESSING, or
   * in ACTION_REQUIRED when the customer finished.
   */
  providerPending: Schema.optional(Schema.Boolean),
  /** Disputes the provider reported (at most {@link MAX_DISPUTES}); absent when none. */
  disputes: Schema.optional(Schema.Array(Dispute)),
  failureReason: Schema.optional(Schema.String),
  declineCode: Schema.optional(Schema.String),
  requiresReconciliation: Schema.Boolean,
  version: Schema.Int,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {
  /** The attempt in progress or last made, if any. */
  get currentAttempt(): Attempt | undefined {
    return this.attempts[this.attempts.length - 1]
  }
  /** Captured minus refunded and pending refunds: what a new refund may still take. */
  get refundable(): Money.Money {
    const reserved = this.refunds.reduce(
      (sum, r) => (r.state === "PENDING" || r.state === "SUCCEEDED" || r.state === "MANUAL_REVIEW" ? sum + r.amount.minor : sum),
      0n
    )
    return Money.fromMinor(this.amount.currency, this.capturedAmount.minor - reserved)
  }
  /** The provider's reference of the attempt in progress or last made, if known. */
  get reference(): string | undefined {
    return this.currentAttempt?.reference
  }
  /** Whether the payment waits for the customer or for the provider (see `actionExpiresAt`). */
  get waiting(): boolean {
    return this.state === "ACTION_REQUIRED" || this.providerPending === true
  }
  /** The review items still open. */
  get openReviews(): ReadonlyArray<ReviewItem> {
    return this.reviews.filter((r) => r.state === "OPEN")
  }
}

/**
 * The only gateway that may take this payment, if it is restricted to one: the gateway of its
 * gateway token (pinned: the token is valid nowhere else) or the gateway its checkout names, else
 * the gateway the request named, else `undefined` (routing chooses among all gateways able to
 * take its payment method).
 *
 * @since 0.1.0
 */
export const requiredGateway = (payment: Payment): string | undefined =>
  methodGateway(payment.paymentMethod) ?? payment.gatewayPreference

/**
 * The result of a command: the events it produced and the payment after them.
 *
 * @since 0.1.0
 */
export interface Decision {
  readonly payment: Payment
  readonly events: ReadonlyArray<Event.PaymentEvent>
}
