/**
 * Refunds: `PaymentService.refundPayment`.
 *
 * @internal
 */
import { Effect, Either, Option } from "effect"
import * as Money from "../../domain/Money.js"
import * as Payment from "../../domain/Payment.js"
import * as Commit from "./commit.js"
import * as OperationLog from "../../observability/OperationLog.js"
import { IdempotencyKeyReused, ValidationError } from "../../domain/PaymentError.js"
import * as Request from "../../domain/PaymentRequest.js"
import type { Dependencies } from "./dependencies.js"
import { makeChargedAt } from "./settlement.js"

/**
 * `PaymentService.refundPayment`: a refund is reserved (committed PENDING) before the gateway is
 * asked, idempotently per (payment, idempotency key).
 */
export const refundPayment = (deps: Dependencies) => {
  const { paymentLock, ids } = deps
  const { moving, withRetry } = deps.calls
  const { commit } = Commit.committer(deps.repository)
  const chargedAt = makeChargedAt(deps)

  /**
   * Asks the gateway to refund. A first call settles the refund on success or a refusal (a
   * decline or misconfiguration); a transient error, an unknown outcome or an open circuit
   * leaves it PENDING, since a gateway may answer with an error after applying it. A
   * resumed call (the refund was already PENDING: an earlier answer was lost, so the gateway
   * may have applied it) settles it only on success; a decline sends it to MANUAL_REVIEW (it
   * may mean "already refunded"), anything else leaves it PENDING. Its reservation holds
   * until then, so no other refund can take the same money.
   */
  const sendRefund = (payment: Payment.Payment, refund: Payment.Refund, resumed: boolean) =>
    Effect.gen(function*() {
      const { gateway, transactionId } = yield* chargedAt(payment)
      const result = yield* Effect.either(withRetry(moving(gateway, "refund", gateway.refund({
        transactionId,
        idempotencyKey: refund.gatewayIdempotencyKey,
        amount: refund.amount
      }))))
      if (Either.isLeft(result)) {
        const error = result.left
        // Only a refusal is definite: a transient error may follow a refund the gateway applied
        // (a "500" after the work was done), and an open circuit may stop a retry of such a call.
        const definite = error._tag === "GatewayDeclined" || error._tag === "GatewayMisconfigured"
        if (!definite || (resumed && error._tag !== "GatewayDeclined")) {
          return refund // stays PENDING: asking again with the same key resolves it
        }
      }
      const updated = yield* commit(payment, (at) =>
        Either.right(
          Either.isRight(result)
            ? Payment.refundSucceeded(payment, refund.id, result.right.refundId, at)
            : resumed
            ? Payment.refundNeedsReview(payment, refund.id, `gateway declined a resumed refund: ${result.left.message}`, at)
            : Payment.refundFailed(payment, refund.id, result.left.message, at)
        ))
      const final = updated.refunds.find((r) => r.id === refund.id)
      return final ?? refund
    })

  return Effect.fn("PaymentService.refundPayment")(function*(raw: Request.RefundPaymentRequest) {
    const request = yield* Request.decode(Request.RefundPaymentRequest, raw)
    return yield* paymentLock.withPayment(
      request.paymentId,
      (payment) => Effect.gen(function*() {
        const amount = request.amount === undefined
          ? Option.none()
          : Option.some(
            yield* Money.fromInput(request.amount, payment.amount.currency).pipe(
              Effect.mapError((e) => new ValidationError({ path: "amount", message: e.message }))
            )
          )
        const existing = Payment.findRefundByKey(payment, request.idempotencyKey)
        if (Option.isSome(existing)) {
          const refund = existing.value
          if (Option.isSome(amount) && !Money.equals(amount.value, refund.amount)) {
            return yield* new IdempotencyKeyReused({
              tenantId: payment.tenantId,
              idempotencyKey: request.idempotencyKey,
              existingId: refund.id
            })
          }
          return refund.state === "PENDING" ? yield* sendRefund(payment, refund, true) : refund
        }
        const refundId = yield* ids.next("re")
        const updated = yield* commit(payment, (at) =>
          Payment.requestRefund(payment, {
            id: refundId,
            amount: Option.getOrUndefined(amount),
            idempotencyKey: request.idempotencyKey,
            gatewayIdempotencyKey: `${payment.id}_${refundId}`,
            reason: request.reason
          }, at))
        const refund = updated.refunds.find((r) => r.id === refundId)
        if (refund === undefined) return yield* Effect.dieMessage("refund missing after commit")
        return yield* sendRefund(updated, refund, false)
      })
    )
  }, OperationLog.traced("refund", {
    paymentIdOf: (raw: Request.RefundPaymentRequest) => typeof raw.paymentId === "string" ? raw.paymentId : undefined,
    subjectOf: (refund: Payment.Refund) => ({ paymentId: refund.paymentId, state: refund.state })
  }))
}
