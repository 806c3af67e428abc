/**
 * Settling an authorization: amount checks, `capture` (full or partial), `cancel` (void), and the
 * capture or void committed before the gateway is asked (`requestOperation`, `operationFailed`).
 *
 * @internal
 */
import type { DateTime } from "effect"
import { Either } from "effect"
import type * as Money from "../Money.js"
import { CaptureExceedsAuthorized, InvalidTransition, ValidationError } from "../PaymentError.js"
import * as Event from "../PaymentEvent.js"
import { emit, guard } from "./command.js"
import type { Decision, Payment } from "./entities.js"

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
 * → CANCELLED: from INITIATED or AUTHENTICATED (nothing to void), AUTHORIZED (after the void),
 * or ACTION_REQUIRED once the provider has confirmed that nothing was charged and nothing will
 * be (the merchant cancelled the checkout at the provider; the waiting attempt is failed).
 *
 * @since 0.1.0
 */
export const cancel = (payment: Payment, reason: string, now: DateTime.Utc) =>
  Either.map(guard(payment, "CANCELLED"), () =>
    emit(payment, now, (base) =>
      new Event.PaymentCancelled({ ...base, reason, voided: payment.state === "AUTHORIZED" }, true)))

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
