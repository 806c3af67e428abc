/**
 * The customer is back: `PaymentService.completePayment`.
 *
 * @internal
 */
import { Effect, Either } from "effect"
import * as Payment from "../../domain/Payment.js"
import { InvalidTransition } from "../../domain/PaymentError.js"
import * as Commit from "./commit.js"
import * as OperationLog from "../../observability/OperationLog.js"
import type { Gateway } from "../../gateway/Gateway.js"
import type { ChargeCore } from "./charge.js"
import type { Dependencies } from "./dependencies.js"

/**
 * `PaymentService.completePayment`: under the payment's lock, asks the gateway to finish the
 * payment the customer acted on (`customerAction.complete`, with the attempt's committed key and
 * reference and what the customer's return carried) and settles it from the answer.
 *
 * - The attempt and its key were committed before the first money-moving call, and `complete`
 *   resends that key, so a repeat, a concurrent caller or a crash between the call and the
 *   commit can only replay the provider's first answer.
 * - Charged → SUCCESS or AUTHORIZED; still waiting → ACTION_REQUIRED (its expiry unchanged
 *   unless the gateway gives one); pending at the provider → `providerPending` (settled later by
 *   status or webhook);
 *   declined → FAILURE; unknown outcome → stays ACTION_REQUIRED with `requiresReconciliation`
 *   (the next call or recovery asks the status first); a transient error (after retries with the
 *   same key), a misconfigured gateway or an open circuit change nothing and are the error.
 * - Past the payment's expiry, or with an earlier outcome unknown, or for a payment in
 *   PROCESSING, the gateway is asked first as `processPayment` would (status, or cancel past the
 *   expiry): a late charge settles, a cancelled checkout fails.
 * - A payment already settled (SUCCESS, AUTHORIZED, FAILURE, CANCELLED) is returned unchanged: a
 *   customer reloading the return page changes nothing. INITIATED or AUTHENTICATED:
 *   `InvalidTransition`.
 */
export const completePayment = (deps: Dependencies, core: ChargeCore) => {
  const { paymentLock, registry, calls } = deps
  const { commitLast } = Commit.committer(deps.repository)

  return Effect.fn("PaymentService.completePayment")(function*(
    paymentId: string,
    params: Readonly<Record<string, string>> = {}
  ) {
    return yield* paymentLock.withPayment(paymentId, (payment) =>
      Effect.gen(function*() {
        yield* Effect.annotateCurrentSpan("paymentId", paymentId)
        if (
          payment.state === "SUCCESS" || payment.state === "AUTHORIZED" || payment.state === "FAILURE" ||
          payment.state === "CANCELLED"
        ) return payment
        const attempt = payment.currentAttempt
        if (attempt === undefined || (payment.state !== "ACTION_REQUIRED" && payment.state !== "PROCESSING")) {
          return yield* new InvalidTransition({ paymentId, from: payment.state, to: "SUCCESS" })
        }
        const gateway = yield* registry.forTenant(payment.tenantId).get(attempt.gateway)
        const now = yield* Commit.now
        const expired = payment.actionExpiresAt !== undefined && payment.actionExpiresAt.epochMillis <= now.epochMillis
        const complete = gateway.customerAction?.complete
        // ask first (status, or cancel past the expiry) unless the payment plainly waits for this
        // call; a payment still waiting afterwards, and not expired, is completed below
        const current = payment.state !== "ACTION_REQUIRED" || payment.requiresReconciliation || payment.providerPending === true ||
            expired || complete === undefined
          ? yield* core.reconcile(payment, gateway, attempt)
          : payment
        const waiting = current.currentAttempt
        if (
          current.state !== "ACTION_REQUIRED" || current.requiresReconciliation || current.providerPending === true || expired ||
          waiting === undefined ||
          waiting.gateway !== gateway.id || waiting.reference === undefined || complete === undefined
        ) return current
        return yield* send(current, waiting, waiting.reference, complete, params)
      }))
  }, OperationLog.traced("complete", { paymentIdOf: (paymentId: string) => paymentId, subjectOf: OperationLog.ofPayment }))

  function send(
    payment: Payment.Payment,
    attempt: Payment.Attempt,
    reference: string,
    complete: NonNullable<Gateway["customerAction"]>["complete"],
    params: Readonly<Record<string, string>>
  ) {
    return Effect.gen(function*() {
      const gateway = yield* registry.forTenant(payment.tenantId).get(attempt.gateway)
      const result = yield* calls.withRetry(calls.moving(
        gateway,
        "complete",
        complete({
          paymentId: payment.id,
          tenantId: payment.tenantId,
          idempotencyKey: attempt.idempotencyKey,
          reference,
          amount: payment.amount,
          capture: payment.captureMethod === "automatic",
          params
        })
      )).pipe(Effect.either)
      if (Either.isRight(result)) {
        const answer = result.right
        return yield* commitLast(payment, (at) => core.settleWith(payment, answer, at))
      }
      const error = result.left
      switch (error._tag) {
        case "GatewayDeclined":
          return yield* commitLast(payment, (at) => Payment.fail(payment, error.reason, error.code, at))
        case "GatewayUnknownOutcome":
          // the provider may have charged: never failed on this, asked by the next call or recovery
          return yield* commitLast(payment, (at) => Payment.outcomeUnknown(payment, error.reason, at))
        default:
          // certainly not applied (transient), or not sent (open circuit, misconfigured): unchanged
          return yield* error
      }
    })
  }
}
