/**
 * How the aggregate evolves: `start` (the payment a `PaymentInitiated` creates), `apply` (one
 * event to a payment) and `fold` (a whole event log). The payment as stored equals the fold of its
 * events because every command builds its snapshot with `apply`.
 *
 * @internal
 */
import type { DateTime } from "effect"
import { Either, Option, Schema } from "effect"
import * as Money from "../Money.js"
import type * as Event from "../PaymentEvent.js"
import {
  Attempt,
  Compensation,
  Dispute,
  MAX_DISPUTES,
  MAX_NOTIFICATION_IDS,
  Payment,
  PendingOperation,
  Refund,
  ReviewItem
} from "./entities.js"

const update = (payment: Payment, event: Event.PaymentEvent, fields: Partial<Payment>): Payment =>
  new Payment({ ...payment, ...fields, version: event.seq, updatedAt: event.occurredAt }, true)

/** `update` that also ends a pending capture or void, and any wait for the customer or provider. */
const settle = (payment: Payment, event: Event.PaymentEvent, fields: Partial<Payment>): Payment => {
  const { actionExpiresAt: _e, customerAction: _a, pendingOperation: _, providerPending: _p, ...rest } = payment
  return new Payment({ ...rest, ...fields, version: event.seq, updatedAt: event.occurredAt }, true)
}

/** `update` that ends any wait for the customer or the provider (the charge is settled or failed). */
const endWait = (payment: Payment, event: Event.PaymentEvent, fields: Partial<Payment>): Payment => {
  const { actionExpiresAt: _e, customerAction: _a, providerPending: _p, ...rest } = payment
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
      ...(event.checkout === undefined ? {} : { checkout: event.checkout }),
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
        // the provider has no answer yet (never saw it, or still waits): the attempt is in progress again
        attempts: event.gatewayStatus === "not_found" || event.gatewayStatus === "action_required" ||
            event.gatewayStatus === "pending"
          ? updateAttempt(payment, event.attemptId, { status: "pending" })
          : payment.attempts
      })
    case "AttemptReferenceRecorded":
      return update(payment, event, {
        attempts: updateAttempt(payment, event.attemptId, { reference: event.reference })
      })
    case "CustomerActionRequired":
      return (({ providerPending: _, ...rest }) =>
        new Payment({
          ...rest,
          state: "ACTION_REQUIRED",
          customerAction: event.action,
          actionExpiresAt: event.expiresAt,
          attempts: updateAttempt(payment, event.attemptId, { reference: event.reference }),
          version: event.seq,
          updatedAt: event.occurredAt
        }, true))(payment)
    case "PaymentPendingAtProvider":
      return (({ customerAction: _, ...rest }) =>
        new Payment({
          ...rest,
          // the customer finished (ACTION_REQUIRED stays: the table has no way back), or PROCESSING
          providerPending: true,
          actionExpiresAt: event.expiresAt,
          attempts: updateAttempt(payment, event.attemptId, { reference: event.reference }),
          version: event.seq,
          updatedAt: event.occurredAt
        }, true))(payment)
    case "DisputeRecorded": {
      const disputes = payment.disputes ?? []
      const existing = disputes.find((d) => d.id === event.disputeId)
      const fields = {
        state: event.status === "opened" ? "OPEN" as const : "CLOSED" as const,
        ...(event.amount === undefined ? {} : { amount: event.amount }),
        ...(event.reason === undefined ? {} : { reason: event.reason }),
        ...(event.outcome === undefined ? {} : { outcome: event.outcome }),
        updatedAt: event.occurredAt
      }
      return update(payment, event, {
        disputes: existing !== undefined
          ? disputes.map((d) => d.id === event.disputeId ? new Dispute({ ...d, ...fields }, true) : d)
          : disputes.length >= MAX_DISPUTES
          ? disputes
          : [...disputes, new Dispute({ id: event.disputeId, gateway: event.gateway, openedAt: event.occurredAt, ...fields }, true)]
      })
    }
    case "ExternalRefundRecorded":
      return update(payment, event, {
        refundedAmount: Money.fromMinor(payment.amount.currency, payment.refundedAmount.minor + event.amount.minor),
        refunds: [
          ...payment.refunds,
          new Refund({
            id: event.refundId,
            paymentId: payment.id,
            amount: event.amount,
            state: "SUCCEEDED",
            idempotencyKey: `external_${event.gatewayRefundId}`,
            gatewayIdempotencyKey: `external_${event.gatewayRefundId}`,
            gatewayRefundId: event.gatewayRefundId,
            external: true,
            createdAt: event.occurredAt,
            updatedAt: event.occurredAt
          }, true)
        ]
      })
    case "PaymentAuthorized":
      return endWait(payment, event, {
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
      return endWait(payment, event, {
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
    case "PaymentCancelled": {
      // a cancelled checkout (from ACTION_REQUIRED) ends its waiting attempt
      const waiting = payment.state === "ACTION_REQUIRED" ? payment.currentAttempt : undefined
      return settle(payment, event, {
        state: "CANCELLED",
        failureReason: event.reason,
        ...(waiting === undefined ? {} : { attempts: updateAttempt(payment, waiting.id, { status: "failed", failureReason: event.reason }) })
      })
    }
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
