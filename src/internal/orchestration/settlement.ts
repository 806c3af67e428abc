/**
 * Settling an authorization (capture and void), and cancelling a checkout that waits for its customer.
 *
 * @internal
 */
import { type DateTime, Effect, Either } from "effect"
import * as Money from "../../domain/Money.js"
import * as Payment from "../../domain/Payment.js"
import * as Commit from "./commit.js"
import * as OperationLog from "../../observability/OperationLog.js"
import { CaptureExceedsAuthorized, CheckoutNotCancelled, InvalidTransition, OperationPending, ValidationError } from "../../domain/PaymentError.js"
import type { CapturePaymentRequest, CancelPaymentRequest } from "./options.js"
import type { ChargeCore } from "./charge.js"
import type { Dependencies } from "./dependencies.js"

/**
 * The gateway, attempt and transaction of a payment that holds money (AUTHORIZED or SUCCESS).
 */
export const makeChargedAt = (deps: Dependencies) => {
  const { registry } = deps

  return (payment: Payment.Payment) =>
    Effect.gen(function*() {
      const attempt = payment.currentAttempt
      const transactionId = payment.gatewayTransactionId
      if (attempt === undefined || transactionId === undefined) {
        return yield* Effect.dieMessage(`payment ${payment.id} holds money without an attempt`)
      }
      return { attempt, transactionId, gateway: yield* registry.forTenant(payment.tenantId).get(attempt.gateway) }
    })
}

/**
 * `PaymentService.capturePayment`, `cancelPayment` and `resumeOperation`: a capture or void is
 * committed before the gateway is asked, and resent with its own key after a lost answer.
 */
export const make = (deps: Dependencies, core: ChargeCore) => {
  const { paymentLock, ids, registry } = deps
  const { moving, reading, status, withRetry } = deps.calls
  const { commit } = Commit.committer(deps.repository)
  const chargedAt = makeChargedAt(deps)

  /**
   * Sends the pending capture or void (committed before this call) and settles it on a
   * definite answer: success captures or cancels, a decline or misconfiguration ends the
   * operation (the authorization stays). Anything else leaves it pending: calling again
   * resends the same operation with the same key.
   */
  const sendOperation = (payment: Payment.Payment, pending: Payment.PendingOperation, reason: string) =>
    Effect.gen(function*() {
      const { gateway, transactionId } = yield* chargedAt(payment)
      const result = yield* Effect.either(withRetry(
        pending.operation === "capture"
          ? Effect.asVoid(moving(gateway, "capture", gateway.capture({
            transactionId,
            idempotencyKey: pending.idempotencyKey,
            amount: pending.amount
          })))
          : moving(gateway, "void", gateway.void({ transactionId, idempotencyKey: pending.idempotencyKey }))
      ))
      if (Either.isRight(result)) {
        return yield* commit(payment, (at) =>
          pending.operation === "capture"
            ? Payment.capture(payment, pending.amount, at)
            : Payment.cancel(payment, reason, at))
      }
      const error = result.left
      if (error._tag === "GatewayDeclined" || error._tag === "GatewayMisconfigured") {
        yield* commit(payment, (at) => Payment.operationFailed(payment, error.message, at))
      }
      return yield* error
    })

  /** Commits a new capture or void, then sends it. */
  const startOperation = (payment: Payment.Payment, operation: "capture" | "void", amount: Money.Money, reason: string) =>
    Effect.gen(function*() {
      const opId = yield* ids.next("op")
      const requested = yield* commit(payment, (at) =>
        Payment.requestOperation(payment, operation, amount, `${payment.id}_${opId}_${operation}`, at))
      const pending = requested.pendingOperation
      if (pending === undefined) return yield* Effect.dieMessage("operation missing after commit")
      return yield* sendOperation(requested, pending, reason)
    })

  const capturePayment = Effect.fn("PaymentService.capturePayment")(function*(request: CapturePaymentRequest) {
    return yield* paymentLock.withPayment(
      request.paymentId,
      (payment) => Effect.gen(function*() {
        const amount = request.amount === undefined
          ? undefined
          : yield* Money.fromInput(request.amount, payment.amount.currency).pipe(
            Effect.mapError((e) => new ValidationError({ path: "amount", message: e.message })),
            Effect.flatMap((asked) => Payment.checkAmount(payment, asked))
          )
        const pending = payment.pendingOperation
        if (pending !== undefined) {
          // an earlier capture's answer was lost: resend exactly it; anything else must wait
          if (pending.operation !== "capture" || (amount !== undefined && !Money.equals(amount, pending.amount))) {
            return yield* new OperationPending({ paymentId: payment.id, operation: pending.operation, amount: pending.amount })
          }
          return yield* sendOperation(payment, pending, "")
        }
        return yield* startOperation(payment, "capture", amount ?? payment.authorizedAmount, "")
      })
    )
  }, OperationLog.traced("capture", { paymentIdOf: (request: CapturePaymentRequest) => request.paymentId, subjectOf: OperationLog.ofPayment }))

  /** A void has no amount to exceed: that error cannot happen on this path. */
  const voidCannotExceed = <A, E, R>(self: Effect.Effect<A, E | CaptureExceedsAuthorized, R>) =>
    Effect.catchIf(
      self,
      (e): e is CaptureExceedsAuthorized => e instanceof CaptureExceedsAuthorized,
      () => Effect.dieMessage("a void cannot exceed the authorization")
    )

  /** Starts (or resends) the void of an authorization. */
  const voidAuthorization = (payment: Payment.Payment, reason: string) => {
    const pending = payment.pendingOperation
    if (pending !== undefined) {
      if (pending.operation !== "void") {
        return Effect.fail(new OperationPending({ paymentId: payment.id, operation: pending.operation, amount: pending.amount }))
      }
      return sendOperation(payment, pending, reason).pipe(voidCannotExceed)
    }
    return startOperation(payment, "void", payment.authorizedAmount, reason).pipe(voidCannotExceed)
  }

  /**
   * Cancels the checkout of a payment waiting for its customer: the provider's cancel (or, when
   * the gateway has none, its status) decides; see `PaymentService.cancelPayment`.
   */
  const cancelWaiting = (payment: Payment.Payment, reason: string) =>
    Effect.gen(function*() {
      const attempt = payment.currentAttempt
      if (attempt === undefined) return yield* Effect.dieMessage(`payment ${payment.id} waits without an attempt`)
      const gateway = yield* registry.forTenant(payment.tenantId).get(attempt.gateway)
      const cancel = gateway.customerAction?.cancel
      const reference = attempt.reference
      const cancellable = cancel !== undefined && reference !== undefined
      // Asked even with the circuit open, like a status: it moves no money and ends the wait.
      const answer = cancellable
        ? yield* withRetry(reading(
          gateway,
          "cancel",
          cancel({ paymentId: payment.id, tenantId: payment.tenantId, idempotencyKey: attempt.idempotencyKey, reference })
        ))
        : yield* status(gateway, attempt.idempotencyKey, reference)
      const notCancelled = (why: string) =>
        new CheckoutNotCancelled({
          paymentId: payment.id,
          gateway: gateway.id,
          reason: why,
          ...(payment.actionExpiresAt === undefined ? {} : { expiresAt: payment.actionExpiresAt })
        })
      /** Commits the provider's answer (`PaymentReconciled`) and what follows from it, in one write. */
      const afterAnswer = (next: (current: Payment.Payment, at: DateTime.Utc) => ReturnType<typeof Payment.cancel>) =>
        commit(payment, (at) =>
          Either.flatMap(Payment.reconciled(payment, answer.status, at), (first) =>
            Payment.andThen(first, (current) => next(current, at))))
      switch (answer.status) {
        case "not_found":
          // after a cancel call the provider has nothing to charge; a status alone is not enough
          if (!cancellable) return yield* notCancelled("the provider does not know the checkout yet")
          return yield* afterAnswer((current, at) => Payment.cancel(current, reason, at))
        case "failed":
          return yield* afterAnswer((current, at) => Payment.cancel(current, reason, at))
        case "succeeded":
        case "authorized": {
          // the customer paid meanwhile: the charge is the payment's
          const settled = yield* afterAnswer((current, at) => core.settleWith(current, answer, at))
          if (settled.state === "AUTHORIZED") return yield* voidAuthorization(settled, reason)
          return yield* new InvalidTransition({ paymentId: settled.id, from: settled.state, to: "CANCELLED" })
        }
        case "action_required":
        case "pending":
          return yield* notCancelled(
            cancellable
              ? "the provider could not cancel the checkout now: retry later"
              : "this gateway cannot cancel a waiting checkout: the customer may pay until it expires"
          )
      }
    })

  const cancelPayment = Effect.fn("PaymentService.cancelPayment")(function*(request: CancelPaymentRequest) {
    return yield* paymentLock.withPayment(
      request.paymentId,
      (payment) => Effect.gen(function*() {
        const reason = request.reason ?? "cancelled by merchant"
        if (payment.state === "ACTION_REQUIRED") return yield* cancelWaiting(payment, reason)
        if (payment.state !== "AUTHORIZED") {
          // nothing held at a gateway: INITIATED / AUTHENTICATED cancel at once, others refuse
          return yield* commit(payment, (at) => Payment.cancel(payment, reason, at))
        }
        return yield* voidAuthorization(payment, reason)
      })
    )
  }, OperationLog.traced("cancel", { paymentIdOf: (request: CancelPaymentRequest) => request.paymentId, subjectOf: OperationLog.ofPayment }))

  const resumeOperation = Effect.fn("PaymentService.resumeOperation")(function*(paymentId: string) {
    return yield* paymentLock.withPayment(paymentId, (payment) => {
      const pending = payment.pendingOperation
      return pending === undefined
        ? Effect.succeed(payment)
        : sendOperation(payment, pending, pending.operation === "void" ? "void resumed after a lost answer" : "")
    })
  }, OperationLog.traced("resume", { paymentIdOf: (paymentId: string) => paymentId, subjectOf: OperationLog.ofPayment }))

  return { capturePayment, cancelPayment, resumeOperation }
}
