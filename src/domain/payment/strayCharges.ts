/**
 * Stray charges: which applied charge is the payment's own (`ownsCharge`) and the compensation
 * (refund or void) of any other, committed before the gateway is asked.
 *
 * @internal
 */
import type { DateTime } from "effect"
import { Either } from "effect"
import { InvalidTransition } from "../PaymentError.js"
import * as Event from "../PaymentEvent.js"
import { emit } from "./command.js"
import type { Attempt, Decision, Payment } from "./entities.js"

/**
 * Whether a charge the gateway applied for `attempt` is the payment's own charge: the attempt
 * authorized or succeeded, or it is the attempt in progress (PROCESSING, or ACTION_REQUIRED: the
 * customer finished), which that charge completes. Any other applied charge is a stray charge, to be compensated.
 *
 * @since 0.1.0
 */
export const ownsCharge = (payment: Payment, attempt: Attempt): boolean =>
  attempt.status === "succeeded" || attempt.status === "authorized" ||
  ((payment.state === "PROCESSING" || payment.state === "ACTION_REQUIRED") && payment.currentAttempt?.id === attempt.id)

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
