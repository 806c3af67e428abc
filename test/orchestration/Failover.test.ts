/**
 * Orchestration under failure: retries, circuit breakers, failover, timeouts, with two mock
 * gateways ("alpha" registered first, "beta" second) under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import { CircuitBreaker, EventBus, EventStore, Gateway, GatewayMetrics, GatewayRegistry, Health, Hooks, Ids, PaymentLock, PaymentService, Router } from "aegispay"
import { MemoryCardVault, MemoryStorage, MockGateway, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"

class Pair extends Context.Tag("test/Pair")<Pair, {
  readonly alpha: MockGateway.MockGateway["Type"]
  readonly beta: MockGateway.MockGateway["Type"]
}>() {}

const layer = (
  service: PaymentService.Config = {},
  breaker: CircuitBreaker.Options = CircuitBreaker.defaults,
  alpha: MockGateway.Options = {}
) => {
  const base = Layer.mergeAll(MemoryCardVault.layer(Redacted.make("k")), Ids.layerSequential)
  const pair = Layer.effect(
    Pair,
    Effect.all({ alpha: MockGateway.make({ id: "alpha", ...alpha }), beta: MockGateway.make({ id: "beta" }) })
  )
  const registry = Layer.effect(
    GatewayRegistry.GatewayRegistry,
    Effect.flatMap(Pair, ({ alpha, beta }) => GatewayRegistry.make([alpha.gateway, beta.gateway]))
  )
  return PaymentService.layer(service).pipe(
    Layer.provideMerge(Layer.mergeAll(
      registry,
      PaymentLock.layerMemory.pipe(Layer.provideMerge(MemoryStorage.layer)),
      CircuitBreaker.layer(breaker),
      GatewayMetrics.layer(),
      Router.layerRegistrationOrder,
      Hooks.layer()
    )),
    Layer.provideMerge(Layer.mergeAll(pair, EventBus.layer())),
    Layer.provideMerge(base)
  )
}

const tags = (paymentId: string) =>
  Effect.flatMap(EventStore.EventStore, (s) => s.read(paymentId))

describe("failover", () => {
  it.effect("a transient failure that outlives its retries fails over: new attempt, new key, one charge", () =>
    Effect.gen(function*() {
      const { alpha, beta } = yield* Pair
      const payments = yield* PaymentService.PaymentService
      yield* alpha.setAvailable(false, ["initiate", "process"])
      const p = yield* payments.createPayment(request())
      const fiber = yield* Effect.fork(payments.processPayment(p.id))
      yield* TestClock.adjust("1 second") // the retry delays on alpha: 100 ms, 200 ms
      const done = yield* Fiber.join(fiber)
      expect(done.state).toBe("SUCCESS")
      expect(done.attempts.map((a) => [a.gateway, a.status])).toEqual([["alpha", "failed"], ["beta", "succeeded"]])
      expect(done.attempts[0]!.idempotencyKey).not.toBe(done.attempts[1]!.idempotencyKey)
      expect(done.attempts[0]!.id).not.toBe(done.attempts[1]!.id)
      expect((yield* alpha.calls).initiate).toBe(3) // first call + 2 retries, same key; process never reached
      expect((yield* alpha.ledger).charges.length).toBe(0)
      expect((yield* beta.ledger).charges.map((c) => c.idempotencyKey)).toEqual([done.attempts[1]!.idempotencyKey])
      const failover = (yield* tags(p.id)).find((e) => e._tag === "PaymentRetryAttempted" && e.failover === true)
      expect(failover).toMatchObject({ attemptId: done.attempts[0]!.id, nextGateway: "beta" })
    }).pipe(Effect.provide(layer())))

  it.effect("an open circuit sends new payments straight to the next gateway and recovers after the timeout", () =>
    Effect.gen(function*() {
      const { alpha, beta } = yield* Pair
      const payments = yield* PaymentService.PaymentService
      const breakers = yield* CircuitBreaker.CircuitBreakers
      yield* alpha.setAvailable(false, ["initiate", "process"])
      for (const key of ["1", "2"]) {
        const p = yield* payments.createPayment(request({ idempotencyKey: key }))
        const done = yield* payments.processPayment(p.id)
        expect(done.attempts.map((a) => a.gateway)).toEqual(["alpha", "beta"]) // failed over
      }
      expect(yield* (yield* breakers.get("alpha")).state).toBe("OPEN") // two failures
      const before = yield* alpha.calls
      const second = yield* payments.createPayment(request({ idempotencyKey: "3" }))
      const done = yield* payments.processPayment(second.id)
      expect(done.attempts.map((a) => a.gateway)).toEqual(["beta"])
      expect(yield* alpha.calls).toEqual(before) // alpha was not called at all
      // alpha recovers; after the reset timeout a trial call goes through and closes the circuit
      yield* alpha.setAvailable(true)
      yield* TestClock.adjust("30 seconds")
      const third = yield* payments.createPayment(request({ idempotencyKey: "4" }))
      expect((yield* payments.processPayment(third.id)).attempts.map((a) => a.gateway)).toEqual(["alpha"])
      expect(yield* (yield* breakers.get("alpha")).state).toBe("CLOSED")
      expect((yield* beta.ledger).charges.length).toBe(3)
      expect((yield* alpha.ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(layer(
      { retry: { maxRetries: 0, initialDelayMs: 0, maxDelayMs: 0, backoffMultiplier: 1 } },
      { failureThreshold: 2, monitorWindow: "60 seconds", resetTimeout: "30 seconds", halfOpenMaxCalls: 1, successThreshold: 1 }
    ))))

  it.effect("an unknown outcome never reaches a second gateway; the next call reconciles with the first", () =>
    Effect.gen(function*() {
      const { alpha, beta } = yield* Pair
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.timeoutAfterCharge) }))
      const unknown = yield* payments.processPayment(p.id)
      expect(unknown.state).toBe("PROCESSING")
      expect(unknown.requiresReconciliation).toBe(true)
      const resolved = yield* payments.processPayment(p.id)
      expect(resolved.state).toBe("SUCCESS")
      expect(resolved.attempts.map((a) => a.gateway)).toEqual(["alpha"])
      expect((yield* beta.calls).process ?? 0).toBe(0)
      expect((yield* alpha.ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(layer())))

  it.effect("a money-moving call that times out is an unknown outcome, not a failover", () =>
    Effect.gen(function*() {
      const { beta } = yield* Pair
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      const fiber = yield* Effect.fork(payments.processPayment(p.id))
      yield* TestClock.adjust("3 seconds") // authenticate (1 s), then initiate + process (2 s) time out at 1.5 s
      const result = yield* Fiber.join(fiber)
      expect(result.state).toBe("PROCESSING")
      expect(result.requiresReconciliation).toBe(true)
      expect((yield* beta.calls).process ?? 0).toBe(0)
    }).pipe(Effect.provide(layer({ callTimeout: "1500 millis" }, CircuitBreaker.defaults, { latency: "1 second" }))))

  it.effect("declines end the payment; configured decline codes fail over", () =>
    Effect.gen(function*() {
      const { beta } = yield* Pair
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.insufficientFunds) }))
      const declined = yield* payments.processPayment(p.id)
      expect(declined.state).toBe("FAILURE")
      expect(declined.attempts.map((a) => a.gateway)).toEqual(["alpha"])
      expect((yield* beta.calls).process ?? 0).toBe(0)
    }).pipe(Effect.provide(layer())))

  it.effect("a decline code configured for failover tries the next gateway", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.declined) }))
      const done = yield* payments.processPayment(p.id)
      expect(done.state).toBe("FAILURE") // the card is declined everywhere
      expect(done.declineCode).toBe("card_declined")
      expect(done.attempts.map((a) => a.gateway)).toEqual(["alpha", "beta"])
    }).pipe(Effect.provide(layer({ failoverDeclineCodes: ["card_declined"] }))))

  it.effect("a requested gateway is honoured, and never swapped for another", () =>
    Effect.gen(function*() {
      const { alpha, beta } = yield* Pair
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ gateway: "beta" }))
      expect((yield* payments.processPayment(p.id)).attempts.map((a) => a.gateway)).toEqual(["beta"])
      yield* beta.setAvailable(false, ["initiate", "process"])
      const q = yield* payments.createPayment(request({ idempotencyKey: "q", gateway: "beta" }))
      const fiber = yield* Effect.fork(payments.processPayment(q.id))
      yield* TestClock.adjust("1 second")
      const failed = yield* Fiber.join(fiber)
      expect(failed.state).toBe("FAILURE")
      expect(failed.attempts.map((a) => a.gateway)).toEqual(["beta"])
      // fully down: it cannot even authenticate; the payment waits in INITIATED (the 5th failure,
      // during these retries, opens beta's circuit: the last answer is CircuitOpen)
      yield* beta.setAvailable(false)
      const r = yield* payments.createPayment(request({ idempotencyKey: "r", gateway: "beta" }))
      const waiting = yield* Effect.fork(Effect.flip(payments.processPayment(r.id)))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(waiting))._tag).toBe("CircuitOpen")
      expect((yield* payments.getPayment(r.id)).state).toBe("INITIATED")
      expect(yield* alpha.calls).toEqual({})
    }).pipe(Effect.provide(layer())))

  it.effect("an attempt whose outcome was ever unknown never fails over, even when its gateway's circuit opens", () =>
    Effect.gen(function*() {
      const { alpha, beta } = yield* Pair
      const payments = yield* PaymentService.PaymentService
      const registry = yield* GatewayRegistry.GatewayRegistry
      // alpha queues the charge, the caller times out; alpha applies it later
      const queued: Array<Parameters<MockGateway.MockGateway["Type"]["gateway"]["process"]>[0]> = []
      yield* registry.register({
        ...alpha.gateway,
        process: (req) =>
          Effect.zipRight(
            Effect.sync(() => queued.push(req)),
            Effect.fail(new Gateway.GatewayUnknownOutcome({ gateway: "alpha", operation: "process", reason: "timed out" }))
          )
      })
      const p = yield* payments.createPayment(request())
      expect((yield* payments.processPayment(p.id)).state).toBe("PROCESSING")
      // reconcile: alpha says not_found (still queued); resending hits its open circuit
      const again = yield* payments.processPayment(p.id)
      expect(again.state).toBe("PROCESSING")
      expect(again.requiresReconciliation).toBe(true)
      expect(again.attempts.map((a) => a.gateway)).toEqual(["alpha"])
      for (const req of queued) yield* Effect.either(alpha.gateway.process(req))
      expect((yield* alpha.ledger).charges.length).toBe(1)
      expect((yield* beta.calls).process ?? 0).toBe(0)
      // once alpha answers for the key, the payment settles on alpha's truth
      yield* TestClock.adjust("2 seconds")
      yield* registry.register(alpha.gateway)
      expect((yield* payments.processPayment(p.id)).state).toBe("SUCCESS")
      expect((yield* alpha.ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(layer(
      {},
      { failureThreshold: 1, monitorWindow: "60 seconds", resetTimeout: "1 second", halfOpenMaxCalls: 1, successThreshold: 1 }
    ))))

  it.effect("every gateway call is recorded in its gateway's sliding-window metrics", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const metrics = yield* GatewayMetrics.GatewayMetrics
      const { alpha } = yield* Pair
      const p = yield* payments.createPayment(request())
      const fiber = yield* Effect.fork(payments.processPayment(p.id))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber)).state).toBe("SUCCESS")
      // authenticate (50 ms) and initiate + process (100 ms)
      expect(yield* metrics.get("alpha")).toEqual({ requests: 2, successRate: 1, p50: 50, p95: 100, p99: 100 })
      yield* alpha.setAvailable(false, ["process"])
      const q = yield* payments.createPayment(request({ idempotencyKey: "q", paymentMethod: card(TestCards.declined) }))
      const second = yield* Effect.fork(payments.processPayment(q.id))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(second)
      const summary = yield* metrics.get("alpha")
      expect(summary.requests).toBe(6) // + authenticate and three failed process calls
      expect(summary.successRate).toBeCloseTo(3 / 6)
      expect((yield* metrics.get("beta")).successRate).toBe(0) // the card is declined there too
    }).pipe(Effect.provide(layer({}, CircuitBreaker.defaults, { latency: "50 millis" }))))
})

describe("health", () => {
  it.effect("scores each gateway from its approval rate, latency and circuit", () =>
    Effect.gen(function*() {
      const { alpha } = yield* Pair
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      yield* payments.processPayment(p.id)
      const healthy = yield* Health.getHealthSummary
      expect(healthy.map((h) => [h.gateway, h.circuit, h.score])).toEqual([["alpha", "CLOSED", 1 / (1 + 1 / 1000)], ["beta", "CLOSED", 1]])
      yield* alpha.setAvailable(false)
      const q = yield* payments.createPayment(request({ idempotencyKey: "q" }))
      const fiber = yield* Effect.fork(Effect.either(payments.processPayment(q.id)))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const alphaHealth = yield* Health.getGatewayMetrics("alpha")
      expect(alphaHealth.circuit).toBe("OPEN")
      expect(alphaHealth.score).toBe(0)
      expect(Health.score({ requests: 10, successRate: 0.8, p50: 100, p95: 1000, p99: 1000 }, "HALF_OPEN")).toBeCloseTo(0.2)
    }).pipe(Effect.provide(layer({}, { ...CircuitBreaker.defaults, failureThreshold: 2 }))))
})
