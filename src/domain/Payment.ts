/**
 * The Payment aggregate: an immutable value, changed only by applying its events.
 *
 * Every command here is a pure function `(payment, input, now) → Either<Decision, Error>`; a
 * {@link Decision} is the events produced and the payment after applying them with
 * {@link apply}. Because the snapshot is always built by folding events, the payment as stored
 * equals {@link fold} of its events by construction. `version` is the sequence number of the
 * last event applied.
 *
 * @since 0.1.0
 */
import type { DateTime} from "effect";
import { Array as Arr, Either, Option, Schema } from "effect"
import { Customer } from "./Customer.js"
import { Metadata } from "./Metadata.js"
import * as Money from "./Money.js"
import {
  CaptureExceedsAuthorized,
  InvalidTransition,
  RefundExceedsCaptured,
  RefundLimitReached,
  ReviewNotOpen,
  ValidationError
} from "./PaymentError.js"
import * as Event from "./PaymentEvent.js"
import { pinnedGateway, PaymentMethodToken } from "./PaymentMethod.js"
import * as State from "./PaymentState.js"

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
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

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
  /** The review items still open. */
  get openReviews(): ReadonlyArray<ReviewItem> {
    return this.reviews.filter((r) => r.state === "OPEN")
  }
}

/**
 * The only gateway that may take this payment, if it is restricted to one: the gateway of its
 * gateway token (pinned: the token is valid nowhere else), else the gateway the request named,
 * else `undefined` (routing chooses among all gateways).
 *
 * @since 0.1.0
 */
export const requiredGateway = (payment: Payment): string | undefined =>
  pinnedGateway(payment.paymentMethod) ?? payment.gatewayPreference

/**
 * The result of a command: the events it produced and the payment after them.
 *
 * @since 0.1.0
 */
export interface Decision {
  readonly payment: Payment
  readonly events: ReadonlyArray<Event.PaymentEvent>
}

const update = (payment: Payment, event: Event.PaymentEvent, fields: Partial<Payment>): Payment =>
  new Payment({ ...payment, ...fields, version: event.seq, updatedAt: event.occurredAt }, true)

/** `update` that also ends a pending capture or void. */
const settle = (payment: Payment, event: Event.PaymentEvent, fields: Partial<Payment>): Payment => {
  const { pendingOperation: _, ...rest } = payment
  return new Payment({ ...rest, ...fields, version: event.seq, updatedAt: event.occurredAt }, true)
}

const updateAttempt = (payment: Payment, attemptId: string, fields: Partial<Attempt>): ReadonlyArray<Attempt> =>
  payment.attempts.map((a) => (a.id === attemptId ? new Attempt({ ...a, ...fields }, true) : a))

const updateCompensation = (
  payment: Payment,
  compensationId: string,
  at: DateTime.Utc,
  fields: Partial<Compensation>
): ReadonlyArray<Compensation> =>
  payment.compensations.map((c) =>
    c.id === compensationId ? new Compensation({ ...c, ...fields, updatedAt: at }, true) : c
  )

/** The id of the review item a `ManualReviewRequired` event opens: stable, derived from the event. */
export const reviewIdOf = (event: { readonly paymentId: string; readonly seq: number }): string =>
  `rev_${event.paymentId}_${event.seq}`

const updateRefund = (
  payment: Payment,
  refundId: string,
  at: DateTime.Utc,
  fields: Partial<Refund>
): ReadonlyArray<Refund> =>
  payment.refunds.map((r) => (r.id === refundId ? new Refund({ ...r, ...fields, updatedAt: at }, true) : r))

/**
 * The events that change an existing payment (every event but {@link Event.PaymentInitiated}).
 *
 * @since 0.1.0
 */
export type ChangeEvent = Exclude<Event.PaymentEvent, Event.PaymentInitiated>

/**
 * A payment's event log does not fold: it is empty of a `PaymentInitiated` first event, repeats
 * it, or skips a sequence number.
 *
 * @since 0.1.0
 */
export class MalformedEventLog extends Schema.TaggedError<MalformedEventLog>()("MalformedEventLog", {
  paymentId: Schema.String,
  reason: Schema.String
}) {}

/**
 * The payment a `PaymentInitiated` event creates.
 *
 * @since 0.1.0
 */
export const start = (event: Event.PaymentInitiated): Payment => {
  const zero = Money.zero(event.amount.currency)
  return new Payment(
    {
      id: event.paymentId,
      tenantId: event.tenantId,
      idempotencyKey: event.idempotencyKey,
      requestFingerprint: event.requestFingerprint,
      amount: event.amount,
      authorizedAmount: zero,
      capturedAmount: zero,
      refundedAmount: zero,
      state: "INITIATED",
      captureMethod: event.captureMethod,
      paymentMethod: event.paymentMethod,
      customer: event.customer,
      metadata: event.metadata,
      ...(event.description === undefined ? {} : { description: event.description }),
      ...(event.gatewayPreference === undefined ? {} : { gatewayPreference: event.gatewayPreference }),
      attempts: [],
      refunds: [],
      requiresReconciliation: false,
      version: event.seq,
      createdAt: event.occurredAt,
      updatedAt: event.occurredAt
    },
    true
  )
}

/**
 * Applies one event to a payment. Pure and total: it trusts that the event was produced by a
 * command of this module (events are facts; validation happened when they were decided).
 *
 * @since 0.1.0
 */
export const apply = (payment: Payment, event: ChangeEvent): Payment => {
  switch (event._tag) {
    case "PaymentAuthenticated":
      return update(payment, event, { state: "AUTHENTICATED", gateway: event.gateway })
    case "PaymentProcessing":
      return update(payment, event, {
        state: "PROCESSING",
        gateway: event.gateway,
        attempts: [
          ...payment.attempts,
          new Attempt(
            {
              id: event.attemptId,
              number: event.attemptNumber,
              gateway: event.gateway,
              idempotencyKey: event.gatewayIdempotencyKey,
              status: "pending",
              uncertain: false,
              retries: 0,
              startedAt: event.occurredAt
            },
            true
          )
        ]
      })
    case "PaymentRetryAttempted":
      return update(payment, event, {
        attempts: event.failover === true
          ? updateAttempt(payment, event.attemptId, {
            status: "failed",
            failureReason: event.reason,
            needsStatusCheck: event.mayHaveApplied === true
          })
          : updateAttempt(payment, event.attemptId, { retries: event.retry })
      })
    case "PaymentOutcomeUnknown":
      return update(payment, event, {
        requiresReconciliation: true,
        attempts: updateAttempt(payment, event.attemptId, {
          status: "unknown",
          uncertain: true,
          failureReason: event.reason
        })
      })
    case "PaymentReconciled":
      return update(payment, event, {
        requiresReconciliation: false,
        attempts: event.gatewayStatus === "not_found"
          ? updateAttempt(payment, event.attemptId, { status: "pending" })
          : payment.attempts
      })
    case "PaymentAuthorized":
      return update(payment, event, {
        state: "AUTHORIZED",
        authorizedAmount: event.amount,
        gatewayTransactionId: event.gatewayTransactionId,
        requiresReconciliation: false,
        attempts: updateAttempt(payment, event.attemptId, {
          status: "authorized",
          gatewayTransactionId: event.gatewayTransactionId
        })
      })
    case "PaymentSucceeded": {
      const captureOfAuthorization = payment.state === "AUTHORIZED"
      return settle(payment, event, {
        state: "SUCCESS",
        authorizedAmount: captureOfAuthorization ? payment.authorizedAmount : event.captured,
        capturedAmount: event.captured,
        gatewayTransactionId: event.gatewayTransactionId,
        requiresReconciliation: false,
        attempts: updateAttempt(payment, event.attemptId, {
          status: "succeeded",
          gatewayTransactionId: event.gatewayTransactionId
        })
      })
    }
    case "PaymentFailed": {
      const { declineCode, attemptId } = event
      return update(payment, event, {
        state: "FAILURE",
        failureReason: event.reason,
        requiresReconciliation: false,
        ...(declineCode === undefined ? {} : { declineCode }),
        attempts: attemptId === undefined
          ? payment.attempts
          : updateAttempt(payment, attemptId, {
            status: "failed",
            failureReason: event.reason,
            needsStatusCheck: event.mayHaveApplied === true
          })
      })
    }
    case "PaymentCancelled":
      return settle(payment, event, { state: "CANCELLED", failureReason: event.reason })
    case "PaymentOperationRequested":
      return update(payment, event, {
        pendingOperation: new PendingOperation(
          { operation: event.operation, amount: event.amount, idempotencyKey: event.idempotencyKey },
          true
        )
      })
    case "PaymentOperationFailed":
      return settle(payment, event, {})
    case "RefundRequested":
      return update(payment, event, {
        refunds: [
          ...payment.refunds,
          new Refund(
            {
              id: event.refundId,
              paymentId: payment.id,
              amount: event.amount,
              state: "PENDING",
              idempotencyKey: event.idempotencyKey,
              gatewayIdempotencyKey: event.gatewayIdempotencyKey,
              ...(event.reason === undefined ? {} : { reason: event.reason }),
              createdAt: event.occurredAt,
              updatedAt: event.occurredAt
            },
            true
          )
        ]
      })
    case "RefundSucceeded": {
      const refund = payment.refunds.find((r) => r.id === event.refundId)
      const amount = refund?.amount.minor ?? 0n
      return update(payment, event, {
        refundedAmount: Money.fromMinor(payment.amount.currency, payment.refundedAmount.minor + amount),
        refunds: updateRefund(payment, event.refundId, event.occurredAt, {
          state: "SUCCEEDED",
          gatewayRefundId: event.gatewayRefundId
        })
      })
    }
    case "RefundFailed":
      return update(payment, event, {
        refunds: updateRefund(payment, event.refundId, event.occurredAt, {
          state: "FAILED",
          failureReason: event.reason
        })
      })
    case "ManualReviewRequired":
      return update(payment, event, {
        refunds: event.refundId === undefined
          ? payment.refunds
          : updateRefund(payment, event.refundId, event.occurredAt, { state: "MANUAL_REVIEW", failureReason: event.reason }),
        compensations: event.compensationId === undefined
          ? payment.compensations
          : updateCompensation(payment, event.compensationId, event.occurredAt, {
            state: "MANUAL_REVIEW",
            failureReason: event.reason
          }),
        reviews: [
          ...payment.reviews,
          new ReviewItem({
            id: reviewIdOf(event),
            ...(event.refundId === undefined ? {} : { refundId: event.refundId }),
            ...(event.compensationId === undefined ? {} : { compensationId: event.compensationId }),
            reason: event.reason,
            state: "OPEN",
            openedAt: event.occurredAt
          }, true)
        ]
      })
    case "ManualReviewResolved": {
      const review = payment.reviews.find((r) => r.id === event.reviewId)
      const refunded = event.resolution === "refunded"
      const refund = review?.refundId === undefined ? undefined : payment.refunds.find((r) => r.id === review.refundId)
      return update(payment, event, {
        reviews: payment.reviews.map((r) =>
          r.id === event.reviewId
            ? new ReviewItem({
              ...r,
              state: "RESOLVED",
              resolution: event.resolution,
              note: event.note,
              ...(event.resolvedBy === undefined ? {} : { resolvedBy: event.resolvedBy }),
              resolvedAt: event.occurredAt
            }, true)
            : r
        ),
        ...(refund === undefined ? {} : {
          refunds: updateRefund(payment, refund.id, event.occurredAt, refunded
            ? { state: "SUCCEEDED", ...(event.gatewayRefundId === undefined ? {} : { gatewayRefundId: event.gatewayRefundId }) }
            : { state: "FAILED" }),
          refundedAmount: refunded
            ? Money.fromMinor(payment.amount.currency, payment.refundedAmount.minor + refund.amount.minor)
            : payment.refundedAmount
        }),
        ...(review?.compensationId === undefined ? {} : {
          compensations: updateCompensation(payment, review.compensationId, event.occurredAt, refunded
            ? { state: "REFUNDED", ...(event.gatewayRefundId === undefined ? {} : { gatewayRefundId: event.gatewayRefundId }) }
            : { state: "KEPT" })
        })
      })
    }
    case "CompensationRequested":
      return update(payment, event, {
        // the attempt's charge is known now: no status check is needed any more
        attempts: updateAttempt(payment, event.attemptId, { needsStatusCheck: false }),
        compensations: [
          ...payment.compensations,
          new Compensation({
            id: event.compensationId,
            attemptId: event.attemptId,
            gateway: event.gateway,
            gatewayTransactionId: event.gatewayTransactionId,
            operation: event.operation,
            amount: event.amount,
            idempotencyKey: event.idempotencyKey,
            reason: event.reason,
            state: "PENDING",
            createdAt: event.occurredAt,
            updatedAt: event.occurredAt
          }, true)
        ]
      })
    case "AttemptStatusChecked":
      return update(payment, event, {
        attempts: updateAttempt(payment, event.attemptId, { needsStatusCheck: false })
      })
    case "NotificationReceived":
      return update(payment, event, {
        notificationIds: [...payment.notificationIds, event.notificationId].slice(-MAX_NOTIFICATION_IDS)
      })
    case "CompensationSucceeded":
      return update(payment, event, {
        compensations: updateCompensation(payment, event.compensationId, event.occurredAt, {
          state: "REFUNDED",
          gatewayRefundId: event.gatewayRefundId
        })
      })
  }
}

/**
 * Rebuilds a payment from its events, in sequence order. `None` for an empty log; a
 * {@link MalformedEventLog} when the log does not start with `PaymentInitiated` at sequence 1 or
 * has a gap.
 *
 * @since 0.1.0
 */
export const fold = (events: ReadonlyArray<Event.PaymentEvent>): Either.Either<Option.Option<Payment>, MalformedEventLog> => {
  const [first, ...rest] = events
  if (first === undefined) return Either.right(Option.none())
  const malformed = (reason: string) => Either.left(new MalformedEventLog({ paymentId: first.paymentId, reason }))
  if (first._tag !== "PaymentInitiated" || first.seq !== 1) return malformed("the log does not start with PaymentInitiated")
  let payment = start(first)
  for (const event of rest) {
    if (event._tag === "PaymentInitiated") return malformed(`PaymentInitiated repeated at seq ${event.seq}`)
    if (event.seq !== payment.version + 1) return malformed(`seq ${event.seq} follows ${payment.version}`)
    payment = apply(payment, event)
  }
  return Either.right(Option.some(payment))
}

type Draft = (base: Event.EventBase) => ChangeEvent

const emit = (payment: Payment, now: DateTime.Utc, ...drafts: ReadonlyArray<Draft>): Decision => {
  let current = payment
  const events: Array<ChangeEvent> = []
  for (const draft of drafts) {
    const seq = current.version + 1
    const event = draft({
      eventId: Event.eventId(payment.id, seq),
      paymentId: payment.id,
      tenantId: payment.tenantId,
      seq,
      occurredAt: now
    })
    current = apply(current, event)
    events.push(event)
  }
  return { payment: current, events }
}

/**
 * Runs a second command on the payment a first decision produced; the events of both are written
 * together, in one atomic step.
 *
 * @since 0.1.0
 */
export const andThen = <E>(
  first: Decision,
  next: (payment: Payment) => Either.Either<Decision, E>
): Either.Either<Decision, E> =>
  Either.map(next(first.payment), (second) => ({
    payment: second.payment,
    events: [...first.events, ...second.events]
  }))

const guard = (payment: Payment, to: State.PaymentState): Either.Either<void, InvalidTransition> =>
  State.canTransition(payment.state, to)
    ? Either.void
    : Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to }))

/**
 * What creating a payment needs.
 *
 * @since 0.1.0
 */
export interface InitiateInput {
  readonly id: string
  readonly tenantId: string
  readonly idempotencyKey: string
  readonly requestFingerprint: string
  readonly amount: Money.Money
  readonly captureMethod: Event.CaptureMethod
  readonly paymentMethod: PaymentMethodToken
  readonly customer: Customer
  readonly metadata: Metadata
  readonly description?: string | undefined
  readonly gatewayPreference?: string | undefined
}

/**
 * Creates a payment in INITIATED.
 *
 * @since 0.1.0
 */
export const initiate = (input: InitiateInput, now: DateTime.Utc): Decision => {
  const event = new Event.PaymentInitiated(
    {
      eventId: Event.eventId(input.id, 1),
      paymentId: input.id,
      tenantId: input.tenantId,
      seq: 1,
      occurredAt: now,
      idempotencyKey: input.idempotencyKey,
      requestFingerprint: input.requestFingerprint,
      amount: input.amount,
      captureMethod: input.captureMethod,
      paymentMethod: input.paymentMethod,
      customer: input.customer,
      metadata: input.metadata,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.gatewayPreference === undefined ? {} : { gatewayPreference: input.gatewayPreference })
    },
    true
  )
  return { payment: start(event), events: [event] }
}

/**
 * INITIATED → AUTHENTICATED.
 *
 * @since 0.1.0
 */
export const authenticate = (payment: Payment, gateway: string, now: DateTime.Utc) =>
  Either.map(guard(payment, "AUTHENTICATED"), () =>
    emit(payment, now, (base) => new Event.PaymentAuthenticated({ ...base, gateway }, true)))

/**
 * AUTHENTICATED → PROCESSING with a new attempt, committed before any money-moving call.
 *
 * @since 0.1.0
 */
export const startAttempt = (
  payment: Payment,
  attempt: { readonly id: string; readonly gateway: string; readonly idempotencyKey: string },
  now: DateTime.Utc
) =>
  Either.map(guard(payment, "PROCESSING"), () =>
    emit(payment, now, (base) =>
      new Event.PaymentProcessing({
        ...base,
        attemptId: attempt.id,
        attemptNumber: payment.attempts.length + 1,
        gateway: attempt.gateway,
        gatewayIdempotencyKey: attempt.idempotencyKey
      }, true)))

const inProcessing = (payment: Payment, to: State.PaymentState): Either.Either<Attempt, InvalidTransition> => {
  const attempt = payment.currentAttempt
  return payment.state === "PROCESSING" && attempt !== undefined
    ? Either.right(attempt)
    : Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to }))
}

/**
 * Records a transient failure of the current attempt that will be retried with the same key.
 *
 * @since 0.1.0
 */
export const recordRetry = (payment: Payment, reason: string, now: DateTime.Utc) =>
  Either.map(inProcessing(payment, "PROCESSING"), (attempt) =>
    emit(payment, now, (base) =>
      new Event.PaymentRetryAttempted({ ...base, attemptId: attempt.id, retry: attempt.retries + 1, reason }, true)))

/**
 * Fails the current attempt and starts a new one at another gateway, in one decision:
 * `PaymentRetryAttempted { failover }` then `PaymentProcessing`.
 * `mayHaveApplied`: the attempt was possibly sent (transient errors, an interrupted or crashed
 * send), so its gateway may have charged all the same; the attempt is marked `needsStatusCheck`.
 * Refused when the current attempt's outcome is or ever was unknown: such a payment never fails
 * over, since its first gateway may still apply the charge.
 *
 * @since 0.1.0
 */
export const failover = (
  payment: Payment,
  reason: string,
  next: { readonly id: string; readonly gateway: string; readonly idempotencyKey: string },
  now: DateTime.Utc,
  mayHaveApplied = false
) =>
  Either.flatMap(inProcessing(payment, "PROCESSING"), (attempt) =>
    attempt.uncertain
      ? Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: "PROCESSING" }))
      : Either.right(emit(
        payment,
        now,
        (base) =>
          new Event.PaymentRetryAttempted({
            ...base,
            attemptId: attempt.id,
            retry: payment.attempts.length,
            reason,
            failover: true,
            nextGateway: next.gateway,
            ...(mayHaveApplied ? { mayHaveApplied } : {})
          }, true),
        (base) =>
          new Event.PaymentProcessing({
            ...base,
            attemptId: next.id,
            attemptNumber: payment.attempts.length + 1,
            gateway: next.gateway,
            gatewayIdempotencyKey: next.idempotencyKey
          }, true)
      )))

/**
 * Marks the current attempt's outcome unknown. The payment stays PROCESSING.
 *
 * @since 0.1.0
 */
export const outcomeUnknown = (payment: Payment, reason: string, now: DateTime.Utc) =>
  Either.map(inProcessing(payment, "PROCESSING"), (attempt) =>
    emit(payment, now, (base) => new Event.PaymentOutcomeUnknown({ ...base, attemptId: attempt.id, reason }, true)))

/**
 * Records what the gateway's status said about the current attempt.
 *
 * @since 0.1.0
 */
export const reconciled = (
  payment: Payment,
  gatewayStatus: Event.PaymentReconciled["gatewayStatus"],
  now: DateTime.Utc
) =>
  Either.map(inProcessing(payment, "PROCESSING"), (attempt) =>
    emit(payment, now, (base) => new Event.PaymentReconciled({ ...base, attemptId: attempt.id, gatewayStatus }, true)))

/**
 * PROCESSING → SUCCESS: the full amount was charged.
 *
 * @since 0.1.0
 */
export const succeed = (payment: Payment, gatewayTransactionId: string, now: DateTime.Utc) =>
  Either.flatMap(inProcessing(payment, "SUCCESS"), (attempt) =>
    Either.map(guard(payment, "SUCCESS"), () =>
      emit(payment, now, (base) =>
        new Event.PaymentSucceeded({
          ...base,
          attemptId: attempt.id,
          gatewayTransactionId,
          captured: payment.amount
        }, true))))

/**
 * PROCESSING → AUTHORIZED: the amount is held for a later capture.
 *
 * @since 0.1.0
 */
export const authorize = (payment: Payment, gatewayTransactionId: string, now: DateTime.Utc) =>
  Either.flatMap(inProcessing(payment, "AUTHORIZED"), (attempt) =>
    Either.map(guard(payment, "AUTHORIZED"), () =>
      emit(payment, now, (base) =>
        new Event.PaymentAuthorized({
          ...base,
          attemptId: attempt.id,
          gatewayTransactionId,
          amount: payment.amount
        }, true))))

/**
 * → FAILURE, from INITIATED, AUTHENTICATED or PROCESSING (the current attempt fails with it).
 * `mayHaveApplied`: the attempt was possibly sent (transient errors, an interrupted or crashed
 * send), so its gateway may have charged all the same; the attempt is marked `needsStatusCheck`
 * (a charge found later is compensated).
 *
 * @since 0.1.0
 */
export const fail = (
  payment: Payment,
  reason: string,
  declineCode: string | undefined,
  now: DateTime.Utc,
  mayHaveApplied = false
) =>
  Either.map(guard(payment, "FAILURE"), () =>
    emit(payment, now, (base) => {
      const attemptId = payment.state === "PROCESSING" ? payment.currentAttempt?.id : undefined
      return new Event.PaymentFailed({
        ...base,
        reason,
        ...(attemptId === undefined ? {} : { attemptId }),
        ...(declineCode === undefined ? {} : { declineCode }),
        ...(attemptId !== undefined && mayHaveApplied ? { mayHaveApplied } : {})
      }, true)
    }))

/**
 * Checks an amount a caller asks to capture or refund: in the payment's currency and greater than
 * zero. Anything else is a {@link ValidationError} on `amount` (never `CaptureExceedsAuthorized`
 * or `RefundExceedsCaptured`: a zero or negative amount exceeds nothing, it is invalid input).
 *
 * @since 0.1.0
 */
export const checkAmount = (payment: Payment, amount: Money.Money): Either.Either<Money.Money, ValidationError> =>
  amount.currency !== payment.amount.currency
    ? Either.left(new ValidationError({ path: "amount", message: `amount must be in ${payment.amount.currency}` }))
    : amount.minor <= 0n
    ? Either.left(new ValidationError({ path: "amount", message: "amount must be greater than zero" }))
    : Either.right(amount)

/**
 * Validates a capture: AUTHORIZED, positive, same currency, at most the authorized amount. Callers
 * check what they were asked with {@link checkAmount} first, so that a zero or negative amount is
 * a `ValidationError`; here any amount out of range is a `CaptureExceedsAuthorized`.
 *
 * @since 0.1.0
 */
export const checkCapture = (
  payment: Payment,
  amount: Money.Money
): Either.Either<Money.Money, InvalidTransition | CaptureExceedsAuthorized> => {
  if (payment.state !== "AUTHORIZED") {
    return Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: "SUCCESS" }))
  }
  if (
    amount.currency !== payment.amount.currency || amount.minor <= 0n ||
    amount.minor > payment.authorizedAmount.minor
  ) {
    return Either.left(
      new CaptureExceedsAuthorized({ paymentId: payment.id, requested: amount, authorized: payment.authorizedAmount })
    )
  }
  return Either.right(amount)
}

/**
 * AUTHORIZED → SUCCESS with `amount` captured (full or partial; the rest of the hold is released).
 *
 * @since 0.1.0
 */
export const capture = (payment: Payment, amount: Money.Money, now: DateTime.Utc) =>
  Either.flatMap(checkCapture(payment, amount), (captured) => {
    const attempt = payment.currentAttempt
    const transactionId = payment.gatewayTransactionId
    return attempt === undefined || transactionId === undefined
      ? Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: "SUCCESS" }))
      : Either.right(emit(payment, now, (base) =>
        new Event.PaymentSucceeded({ ...base, attemptId: attempt.id, gatewayTransactionId: transactionId, captured }, true)))
  })

/**
 * → CANCELLED: from INITIATED or AUTHENTICATED (nothing to void) or AUTHORIZED (after the void).
 *
 * @since 0.1.0
 */
export const cancel = (payment: Payment, reason: string, now: DateTime.Utc) =>
  Either.map(guard(payment, "CANCELLED"), () =>
    emit(payment, now, (base) =>
      new Event.PaymentCancelled({ ...base, reason, voided: payment.state === "AUTHORIZED" }, true)))

/**
 * Validates and reserves a refund: SUCCESS, under {@link MAX_REFUNDS}, within the refundable
 * amount (captured minus succeeded and pending refunds). An `amount` that is zero, negative or in
 * another currency is a {@link ValidationError} (checked first, by {@link checkAmount}); without
 * an `amount` everything still refundable is refunded, and nothing left is a
 * `RefundExceedsCaptured`.
 *
 * @since 0.1.0
 */
export const requestRefund = (
  payment: Payment,
  refund: {
    readonly id: string
    readonly amount?: Money.Money | undefined
    readonly idempotencyKey: string
    readonly gatewayIdempotencyKey: string
    readonly reason?: string | undefined
  },
  now: DateTime.Utc
): Either.Either<Decision, ValidationError | InvalidTransition | RefundExceedsCaptured | RefundLimitReached> => {
  if (refund.amount !== undefined) {
    const checked = checkAmount(payment, refund.amount)
    if (Either.isLeft(checked)) return Either.left(checked.left)
  }
  if (payment.state !== "SUCCESS") {
    return Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: "SUCCESS" }))
  }
  if (payment.refunds.length >= MAX_REFUNDS) {
    return Either.left(new RefundLimitReached({ paymentId: payment.id, limit: MAX_REFUNDS }))
  }
  const refundable = payment.refundable
  const amount = refund.amount ?? refundable
  if (amount.minor <= 0n || amount.minor > refundable.minor) {
    return Either.left(new RefundExceedsCaptured({ paymentId: payment.id, requested: amount, refundable }))
  }
  return Either.right(emit(payment, now, (base) =>
    new Event.RefundRequested({
      ...base,
      refundId: refund.id,
      amount,
      idempotencyKey: refund.idempotencyKey,
      gatewayIdempotencyKey: refund.gatewayIdempotencyKey,
      ...(refund.reason === undefined ? {} : { reason: refund.reason })
    }, true)))
}

/**
 * Whether something on the payment is still open and must be driven on by a later call (or the
 * recovery worker): processing not finished (AUTHENTICATED, PROCESSING, an unknown outcome), a
 * capture or void sent without a known answer, a refund or a compensation still PENDING, a
 * failed-over attempt whose gateway's status has not been checked.
 *
 * @since 0.1.0
 */
export const hasOpenWork = (payment: Payment): boolean =>
  payment.state === "AUTHENTICATED" || payment.state === "PROCESSING" || payment.requiresReconciliation ||
  payment.pendingOperation !== undefined || payment.refunds.some((r) => r.state === "PENDING") ||
  payment.compensations.some((c) => c.state === "PENDING") || payment.attempts.some((a) => a.needsStatusCheck)

/**
 * Whether the payment has a review item still open.
 *
 * @since 0.1.0
 */
export const needsReview = (payment: Payment): boolean => payment.reviews.some((r) => r.state === "OPEN")

/**
 * Finds a refund by its idempotency key.
 *
 * @since 0.1.0
 */
export const findRefundByKey = (payment: Payment, idempotencyKey: string): Option.Option<Refund> =>
  Arr.findFirst(payment.refunds, (r) => r.idempotencyKey === idempotencyKey)

/**
 * PENDING → SUCCEEDED for a refund.
 *
 * @since 0.1.0
 */
export const refundSucceeded = (payment: Payment, refundId: string, gatewayRefundId: string, now: DateTime.Utc) =>
  emit(payment, now, (base) => new Event.RefundSucceeded({ ...base, refundId, gatewayRefundId }, true))

/**
 * PENDING → FAILED for a refund; its reservation is released.
 *
 * @since 0.1.0
 */
export const refundFailed = (payment: Payment, refundId: string, reason: string, now: DateTime.Utc) =>
  emit(payment, now, (base) => new Event.RefundFailed({ ...base, refundId, reason }, true))

/**
 * PENDING → MANUAL_REVIEW for a refund whose outcome the gateway's answers cannot settle; its
 * reservation holds.
 *
 * @since 0.1.0
 */
export const refundNeedsReview = (payment: Payment, refundId: string, reason: string, now: DateTime.Utc) =>
  emit(payment, now, (base) => new Event.ManualReviewRequired({ ...base, refundId, reason }, true))

/**
 * Commits a capture or void of the authorization before the gateway is asked. Refused when
 * another operation is pending (resend that one instead).
 *
 * @since 0.1.0
 */
export const requestOperation = (
  payment: Payment,
  operation: "capture" | "void",
  amount: Money.Money,
  idempotencyKey: string,
  now: DateTime.Utc
): Either.Either<Decision, InvalidTransition | CaptureExceedsAuthorized> => {
  const checked: Either.Either<unknown, InvalidTransition | CaptureExceedsAuthorized> = operation === "capture"
    ? checkCapture(payment, amount)
    : guard(payment, "CANCELLED")
  return Either.flatMap(checked, () =>
    payment.state !== "AUTHORIZED" || payment.pendingOperation !== undefined
      ? Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: operation === "capture" ? "SUCCESS" : "CANCELLED" }))
      : Either.right(emit(payment, now, (base) =>
        new Event.PaymentOperationRequested({ ...base, operation, amount, idempotencyKey }, true))))
}

/**
 * The gateway definitely refused the pending operation: the authorization stays as it was.
 *
 * @since 0.1.0
 */
export const operationFailed = (payment: Payment, reason: string, now: DateTime.Utc) => {
  const pending = payment.pendingOperation
  return pending === undefined
    ? Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: payment.state }))
    : Either.right(emit(payment, now, (base) =>
      new Event.PaymentOperationFailed({ ...base, operation: pending.operation, reason }, true)))
}


/**
 * Finds an attempt by its gateway idempotency key.
 *
 * @since 0.1.0
 */
export const findAttemptByKey = (payment: Payment, idempotencyKey: string): Option.Option<Attempt> =>
  Arr.findFirst(payment.attempts, (a) => a.idempotencyKey === idempotencyKey)

/**
 * Whether a charge the gateway applied for `attempt` is the payment's own charge: the attempt
 * authorized or succeeded, or it is the attempt in progress (PROCESSING), which that charge
 * completes. Any other applied charge is a stray charge, to be compensated.
 *
 * @since 0.1.0
 */
export const ownsCharge = (payment: Payment, attempt: Attempt): boolean =>
  attempt.status === "succeeded" || attempt.status === "authorized" ||
  (payment.state === "PROCESSING" && payment.currentAttempt?.id === attempt.id)

/**
 * Commits the return of a stray charge before the gateway is asked (see {@link Compensation}).
 * Refused when the charge is the payment's own ({@link ownsCharge}) or already compensated.
 *
 * @since 0.1.0
 */
export const requestCompensation = (
  payment: Payment,
  input: {
    readonly id: string
    readonly attempt: Attempt
    readonly gatewayTransactionId: string
    readonly operation: "refund" | "void"
    readonly idempotencyKey: string
    readonly reason: string
  },
  now: DateTime.Utc
): Either.Either<Decision, InvalidTransition> =>
  ownsCharge(payment, input.attempt) || payment.compensations.some((c) => c.attemptId === input.attempt.id)
    ? Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: payment.state }))
    : Either.right(emit(payment, now, (base) =>
      new Event.CompensationRequested({
        ...base,
        compensationId: input.id,
        attemptId: input.attempt.id,
        gateway: input.attempt.gateway,
        gatewayTransactionId: input.gatewayTransactionId,
        operation: input.operation,
        amount: payment.amount,
        idempotencyKey: input.idempotencyKey,
        reason: input.reason
      }, true)))

/**
 * PENDING → REFUNDED for a compensation.
 *
 * @since 0.1.0
 */
export const compensationSucceeded = (payment: Payment, compensationId: string, gatewayRefundId: string, now: DateTime.Utc) =>
  emit(payment, now, (base) => new Event.CompensationSucceeded({ ...base, compensationId, gatewayRefundId }, true))

/**
 * PENDING → MANUAL_REVIEW for a compensation the gateway refused; opens a review item.
 *
 * @since 0.1.0
 */
export const compensationNeedsReview = (payment: Payment, compensationId: string, reason: string, now: DateTime.Utc) =>
  emit(payment, now, (base) => new Event.ManualReviewRequired({ ...base, compensationId, reason }, true))

/**
 * Resolves an open review item (see {@link ReviewResolution} for what each resolution records).
 *
 * @since 0.1.0
 */
export const resolveReview = (
  payment: Payment,
  input: {
    readonly reviewId: string
    readonly resolution: ReviewResolution
    readonly note: string
    readonly resolvedBy?: string | undefined
    readonly gatewayRefundId?: string | undefined
  },
  now: DateTime.Utc
): Either.Either<Decision, ReviewNotOpen> =>
  payment.reviews.some((r) => r.id === input.reviewId && r.state === "OPEN")
    ? Either.right(emit(payment, now, (base) =>
      new Event.ManualReviewResolved({
        ...base,
        reviewId: input.reviewId,
        resolution: input.resolution,
        note: input.note,
        ...(input.resolvedBy === undefined ? {} : { resolvedBy: input.resolvedBy }),
        ...(input.gatewayRefundId === undefined ? {} : { gatewayRefundId: input.gatewayRefundId })
      }, true)))
    : Either.left(new ReviewNotOpen({ paymentId: payment.id, reviewId: input.reviewId }))

/**
 * Records a verified gateway notification after the changes it caused (`decision`, possibly
 * empty), in one decision.
 *
 * @since 0.1.0
 */
export const recordNotification = (
  decision: Decision,
  notification: {
    readonly notificationId: string
    readonly gateway: string
    readonly notificationType: Event.NotificationReceived["notificationType"]
    readonly outcome: "applied" | "ignored"
    readonly detail: string
  },
  now: DateTime.Utc
): Decision => {
  const recorded = emit(decision.payment, now, (base) => new Event.NotificationReceived({ ...base, ...notification }, true))
  return { payment: recorded.payment, events: [...decision.events, ...recorded.events] }
}

/**
 * Records the gateway's status of a failed-over attempt (see `Attempt.needsStatusCheck`).
 *
 * @since 0.1.0
 */
export const attemptStatusChecked = (
  payment: Payment,
  attemptId: string,
  gatewayStatus: Event.AttemptStatusChecked["gatewayStatus"],
  now: DateTime.Utc
): Decision => emit(payment, now, (base) => new Event.AttemptStatusChecked({ ...base, attemptId, gatewayStatus }, true))
