/**
 * Processing a payment: `PaymentService.processPayment`.
 *
 * @internal
 */
import { Effect, Either, Metric } from "effect"
import * as Payment from "../../domain/Payment.js"
import * as Commit from "./commit.js"
import * as OperationLog from "../../observability/OperationLog.js"
import { InvalidTransition } from "../../domain/PaymentError.js"
import type { GatewayTransientError, GatewayMisconfigured } from "../../gateway/Gateway.js"
import type { CircuitOpen } from "../../resilience/CircuitBreaker.js"
import { FraudRejected } from "../../orchestration/Hooks.js"
import type { Dependencies } from "./dependencies.js"
import { labelSets } from "../../observability/internal/MetricLabels.js"
import type { ChargeCore } from "./charge.js"

const processedTotal = Metric.counter("aegispay_payments_processed_total", {
  description: "processPayment calls by the payment's state when the call returned"
})

/**
 * Payments whose processing may start before their lock is taken (`PaymentLock.WithPaymentOptions`).
 */
const optimistic = {
  optimistic: (payment: Payment.Payment) => payment.state === "INITIATED" || payment.state === "AUTHENTICATED"
}

/**
 * `PaymentService.processPayment`: the fraud check and authentication of an INITIATED payment,
 * then the charge core (`startAttempt`, or `reconcile` for a payment found PROCESSING or
 * ACTION_REQUIRED).
 */
export const processPayment = (deps: Dependencies, core: ChargeCore) => {
  const { paymentLock, registry, hooks } = deps
  const { reading, withRetry } = deps.calls
  const { commit } = Commit.committer(deps.repository)
  const { candidates, noGateway, selectGateway, reconcile, startAttempt } = core

  /** `aegispay_payments_processed_total{state}`: one label set per state (see MetricLabels). */
  const stateLabels = labelSets("state")

  return Effect.fn("PaymentService.processPayment")(function*(paymentId: string) {
    const processed = yield* paymentLock.withPayment(
      paymentId,
      (payment) => Effect.gen(function*() {
        yield* Effect.annotateCurrentSpan("paymentId", paymentId)
        if (payment.state === "INITIATED") {
          const fraud = yield* hooks.fraudCheck(payment)
          if (fraud !== undefined) {
            const reason = fraud.verdict.reason ?? "rejected by fraud check"
            yield* commit(payment, (at) => Payment.fail(payment, `fraud check ${fraud.hook}: ${reason}`, "fraud_rejected", at))
            return yield* new FraudRejected({ paymentId, hook: fraud.hook, score: fraud.verdict.score, reason })
          }
          // Authenticate with the first candidate that answers; nothing moves money yet, so a
          // gateway that is down is simply skipped. Its failures count for its circuit.
          const options = yield* candidates(payment)
          if (options.length === 0) return yield* noGateway(payment)
          let lastError: GatewayTransientError | GatewayMisconfigured | CircuitOpen | undefined
          for (const gateway of options) {
            const authenticated = yield* Effect.either(withRetry(reading(
              gateway,
              "authenticate",
              gateway.authenticate({ paymentId, tenantId: payment.tenantId, amount: payment.amount, paymentMethod: payment.paymentMethod })
            )))
            if (Either.isRight(authenticated)) {
              // AUTHENTICATED and the new attempt (PROCESSING) commit together, before any money moves.
              return yield* startAttempt(payment, gateway, (current, at) => Payment.authenticate(current, gateway.id, at))
            }
            const error = authenticated.left
            if (error._tag === "GatewayDeclined") {
              return yield* commit(payment, (at) =>
                Payment.fail(payment, `authentication failed: ${error.reason}`, error.code, at))
            }
            lastError = error
          }
          return yield* lastError ?? noGateway(payment)
        }
        if (payment.state === "AUTHENTICATED") {
          const gateway = yield* payment.gateway === undefined
            ? selectGateway(payment)
            : registry.forTenant(payment.tenantId).get(payment.gateway)
          return yield* startAttempt(payment, gateway, (current) => Either.right({ payment: current, events: [] }))
        }
        const attempt = payment.currentAttempt
        if ((payment.state === "PROCESSING" || payment.state === "ACTION_REQUIRED") && attempt !== undefined) {
          // Found in PROCESSING: a previous call crashed, timed out or is unresolved. Ask first.
          // Found waiting (ACTION_REQUIRED, provider-pending): the gateway is asked whether the
          // customer or the provider finished; past the expiry, it is asked to cancel (a late
          // charge settles the payment). Unchanged while the gateway still waits.
          return yield* reconcile(payment, yield* registry.forTenant(payment.tenantId).get(attempt.gateway), attempt)
        }
        return yield* new InvalidTransition({ paymentId, from: payment.state, to: "PROCESSING" })
      }),
      // before an INITIATED or AUTHENTICATED payment's first write (the attempt, or its failure)
      // only the fraud check, routing and authentication run: nothing irrevocable
      optimistic
    )
    processedTotal.unsafeUpdate(1, stateLabels(processed.state))
    // afterProcess hooks run from the committed terminal event (Hooks.runAfterProcess), never here
    return processed
  }, OperationLog.traced("process", { paymentIdOf: (paymentId: string) => paymentId, subjectOf: OperationLog.ofPayment }))
}
