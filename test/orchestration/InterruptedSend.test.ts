/**
 * Issue 12, defect 1: a send interrupted mid-call (client disconnect, caller timeout, SIGTERM, a
 * dead process) may still be applied by its gateway. When the payment then fails over (here: the
 * resend meets an open circuit), the interrupted attempt must be checked with its gateway later,
 * so that a late charge is found and returned. Two mock gateways, "alpha" first, under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import { CircuitBreaker, Compensation, EventBus, type Gateway, GatewayMetrics, GatewayRegistry, Hooks, Ids, PaymentLock, PaymentService, Recovery, Router } from "aegispay"
import { MemoryCardVault, MemoryStorage, MockGateway } from "aegispay/testing"
import { request } from "../helpers.js"

class Gateways extends Context.Tag("test/InterruptedSend/Gateways")<Gateways, {
  readonly alpha: MockGateway.MockGateway["Type"]
  readonly beta: MockGateway.MockGateway["Type"]
  /** While set, alpha's `process` signals it and then hangs (the request is on the wire). */
  readonly hang: { current: Deferred.Deferred<Gateway.ProcessRequest> | undefined }
}>() {}

const noRetry = { retry: { maxRetries: 0, initialDelayMs: 0, maxDelayMs: 0, backoffMultiplier: 1 } }
const breaker: CircuitBreaker.Config = {
  failureThreshold: 1,
  monitorWindow: "60 seconds",
  resetTimeout: "30 seconds",
  halfOpenMaxCalls: 1,
  successThreshold: 1
}

const layer = () => {
  const base = Layer.mergeAll(MemoryCardVault.layer(Redacted.make("k")), Ids.layerSequential)
  const gateways = Layer.effect(
    Gateways,
    Effect.all({ alpha: MockGateway.make({ id: "alpha" }), beta: MockGateway.make({ id: "beta" }) }).pipe(
      Effect.map(({ alpha, beta }) => ({ alpha, beta, hang: { current: undefined } }))
    )
  )
  const registry = Layer.effect(
    GatewayRegistry.GatewayRegistry,
    Effect.flatMap(Gateways, ({ alpha, beta, hang }) => {
      const wrapped: Gateway.Gateway = {
        ...alpha.gateway,
        process: (r) => {
          const sent = hang.current
          return sent === undefined ? alpha.gateway.process(r) : Effect.zipRight(Deferred.succeed(sent, r), Effect.never)
        }
      }
      return GatewayRegistry.make([wrapped, beta.gateway])
    })
  )
  return Recovery.layer({ stuckAfter: "1 minute" }).pipe(
    Layer.provideMerge(Layer.mergeAll(PaymentService.layer(noRetry), Compensation.layer(noRetry))),
    Layer.provideMerge(Layer.mergeAll(
      registry,
      PaymentLock.layerMemory.pipe(Layer.provideMerge(MemoryStorage.layer)),
      CircuitBreaker.layer(breaker),
      GatewayMetrics.layer(),
      Router.layerRegistrationOrder,
      Hooks.layer()
    )),
    Layer.provideMerge(Layer.mergeAll(gateways, EventBus.layer())),
    Layer.provideMerge(base)
  )
}

describe("an interrupted send", () => {
  it.effect("interrupted mid-call, then an open circuit: the failover marks it for a status check and its late charge is refunded", () =>
    Effect.gen(function*() {
      const { alpha, beta, hang } = yield* Gateways
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())

      // the charge leaves for alpha, then the caller goes away (client disconnect, caller timeout)
      const sent = yield* Deferred.make<Gateway.ProcessRequest>()
      hang.current = sent
      const fiber = yield* Effect.fork(payments.processPayment(p.id))
      const onTheWire = yield* Deferred.await(sent)
      yield* Fiber.interrupt(fiber)
      hang.current = undefined
      expect((yield* payments.getPayment(p.id)).state).toBe("PROCESSING")

      // alpha fails another payment: its circuit opens
      yield* alpha.setAvailable(false, ["initiate", "process"])
      const other = yield* payments.createPayment(request({ idempotencyKey: "other" }))
      expect((yield* payments.processPayment(other.id)).gateway).toBe("beta")
      yield* alpha.setAvailable(true)
      expect(yield* (yield* (yield* CircuitBreaker.CircuitBreakers).get("alpha")).state).toBe("OPEN")

      // the next call asks alpha (not_found: it has not recorded the request yet), the resend
      // meets the open circuit, the payment fails over to beta
      const done = yield* payments.processPayment(p.id)
      expect(done.state).toBe("SUCCESS")
      expect(done.attempts.map((a) => [a.gateway, a.status])).toEqual([["alpha", "failed"], ["beta", "succeeded"]])
      const interrupted = done.attempts[0]!
      expect(interrupted.idempotencyKey).toBe(onTheWire.idempotencyKey)
      expect(interrupted.needsStatusCheck).toBe(true)

      // the request that was on the wire reaches alpha late: alpha charges
      yield* alpha.gateway.process(onTheWire)
      expect((yield* alpha.ledger).charges.map((c) => c.idempotencyKey)).toEqual([interrupted.idempotencyKey])

      // the recovery worker asks alpha about the failed-over attempt and returns the charge
      yield* TestClock.adjust("2 minutes")
      const report = yield* Effect.flatMap(Recovery.Recovery, (r) => r.runOnce)
      expect(report.failed).toEqual([])
      const after = yield* payments.getPayment(p.id)
      expect(after.state).toBe("SUCCESS")
      expect(after.compensations.map((c) => [c.attemptId, c.state])).toEqual([[interrupted.id, "REFUNDED"]])
      const ledger = yield* alpha.ledger
      expect(ledger.refunds.map((r) => r.amount.minor)).toEqual([p.amount.minor])
      expect((yield* beta.ledger).charges.length).toBe(2)
    }).pipe(Effect.provide(layer())))

  it.effect("an explicit unknown outcome still never fails over, even when the circuit opens", () =>
    Effect.gen(function*() {
      const { alpha, beta, hang } = yield* Gateways
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      // our own call timeout: an unknown outcome
      const sent = yield* Deferred.make<Gateway.ProcessRequest>()
      hang.current = sent
      const fiber = yield* Effect.fork(payments.processPayment(p.id))
      yield* Deferred.await(sent)
      yield* TestClock.adjust("31 seconds")
      const unknown = yield* Fiber.join(fiber)
      hang.current = undefined
      expect([unknown.state, unknown.requiresReconciliation]).toEqual(["PROCESSING", true])
      yield* alpha.setAvailable(false, ["initiate", "process"])
      const other = yield* payments.createPayment(request({ idempotencyKey: "other" }))
      yield* payments.processPayment(other.id)
      yield* alpha.setAvailable(true)
      const again = yield* payments.processPayment(p.id)
      expect(again.state).toBe("PROCESSING")
      expect(again.attempts.map((a) => a.gateway)).toEqual(["alpha"])
      expect((yield* beta.ledger).charges.map((c) => c.paymentId)).toEqual([other.id])
    }).pipe(Effect.provide(layer())))
})
