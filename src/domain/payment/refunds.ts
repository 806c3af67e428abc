/**
 * Refunds: reserving one within the refundable amount (`requestRefund`) and settling it
 * (succeeded, failed, manual review).
 *
 * @internal
 */
import type { DateTime, Option } from "effect"
import { Array as Arr, Either } from "effect"
import type * as Money from "../Money.js"
import type { ValidationError } from "../PaymentError.js"
import { InvalidTransition, RefundExceedsCaptured, RefundLimitReached } from "../PaymentError.js"
import * as Event from "../PaymentEvent.js"
import { emit } from "./command.js"
import type { Decision, Payment, Refund } from "./entities.js"
import { MAX_REFUNDS } from "./entities.js"
import { checkAmount } from "./settlement.js"

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
