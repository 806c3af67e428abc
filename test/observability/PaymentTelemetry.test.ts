/**
 * Payment-level telemetry (`PaymentTelemetry`, the circuit transitions of `AegisPayMetrics`):
 * each metric moves by exactly what the payments did, read as deltas of the process-wide
 * registry; and no exported label ever carries an id.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric, MetricState, TestClock } from "effect"
import { Prometheus, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"

/** The value of one series now: a counter's count or a histogram's count (0 when absent). */
const value = (name: string, tags: Record<string, string> = {}) =>
  Effect.map(Metric.snapshot, (pairs) => {
    for (const pair of pairs) {
      if (pair.metricKey.name !== name) continue
      const own = Object.fromEntries([...pair.metricKey.tags].map((t) => [t.key, t.value]))
      if (Object.keys(own).length !== Object.keys(tags).length) continue
      if (!Object.entries(tags).every(([k, v]) => own[k] === v)) continue
      const state = pair.metricState
      if (MetricState.isCounterState(state)) return Number(state.count)
      if (MetricState.isHistogramState(state)) return state.count
      if (MetricState.isGaugeState(state)) return Number(state.value)
    }
    return 0
  })

/** Runs `body` and answers how much each series moved. */
const deltas = <A, E, R>(
  series: Record<string, readonly [string, Record<string, string>?]>,
  body: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const before: Record<string, number> = {}
    for (const [key, [name, tags]] of Object.entries(series)) before[key] = yield* value(name, tags)
    yield* body
    const moved: Record<string, number> = {}
    for (const [key, [name, tags]] of Object.entries(series)) moved[key] = (yield* value(name, tags)) - before[key]!
    return moved
  })

const two = AegisPayTest.layerMemory({
  ids: "sequential",
  mockGateways: [{ id: "alpha" }, { id: "beta" }],
  service: {
    failoverDeclineCodes: ["card_declined"],
    retry: { maxRetries: 1, initialDelayMs: 10, maxDelayMs: 10, backoffMultiplier: 1 }
  },
  breaker: { failureThreshold: 1, resetTimeout: "1 hour" }
})

describe("PaymentTelemetry", () => {
  it.effect("created and finished by state, gateway, currency and method; latency from creation to the outcome", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const moved = yield* deltas({
        createdUsd: ["aegispay_payments_created_total", { currency: "USD", method: "card" }],
        createdEur: ["aegispay_payments_created_total", { currency: "EUR", method: "card" }],
        success: ["aegispay_payments_finished_total", { state: "SUCCESS", gateway: "alpha", currency: "USD", method: "card" }],
        authorized: ["aegispay_payments_finished_total", { state: "AUTHORIZED", gateway: "alpha", currency: "EUR", method: "card" }],
        failedOver: ["aegispay_payment_failovers_total", { from: "alpha", to: "beta" }],
        failure: ["aegispay_payments_finished_total", { state: "FAILURE", gateway: "beta", currency: "USD", method: "card" }],
        successLatency: ["aegispay_payment_duration_ms", { state: "SUCCESS", gateway: "alpha" }],
        authorizedLatency: ["aegispay_payment_duration_ms", { state: "AUTHORIZED", gateway: "alpha" }],
        captured: ["aegispay_payments_finished_total", { state: "SUCCESS", gateway: "alpha", currency: "EUR", method: "card" }]
      }, Effect.gen(function*() {
        for (const i of [1, 2, 3]) {
          const p = yield* payments.createPayment(request({ idempotencyKey: `ok-${i}` }))
          yield* TestClock.adjust("250 millis") // the payment's age when it is processed
          yield* payments.processPayment(p.id)
        }
        const manual = yield* payments.createPayment(request({ idempotencyKey: "manual", currency: "EUR", captureMethod: "manual" }))
        yield* payments.processPayment(manual.id)
        yield* payments.capturePayment({ paymentId: manual.id })
        // declined at alpha, failed over to beta, declined there: one FAILURE at beta
        const declined = yield* payments.createPayment(request({ idempotencyKey: "declined", paymentMethod: card(TestCards.declined) }))
        expect((yield* payments.processPayment(declined.id)).state).toBe("FAILURE")
      }))
      expect(moved).toEqual({
        createdUsd: 4,
        createdEur: 1,
        success: 3,
        authorized: 1,
        failedOver: 1,
        failure: 1,
        successLatency: 3,
        authorizedLatency: 1,
        // a capture is not a second outcome
        captured: 0
      })
      const text = yield* Prometheus.scrape
      // 3 payments 250 ms old when processed: all in the (200, 300] bucket and above, none at or below 200
      const bucket = (le: string) =>
        Number(new RegExp(`^aegispay_payment_duration_ms_bucket\\{gateway="alpha",state="SUCCESS",le="${le}"\\} (\\d+)$`, "m").exec(text)?.[1])
      expect(bucket("300") - bucket("200")).toBe(3)
    }).pipe(Effect.provide(two)))

  it.effect("a transient error resent with the same key is a retry at its gateway", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const moved = yield* deltas({
        retries: ["aegispay_payment_retries_total", { gateway: "mock" }],
        success: ["aegispay_payments_finished_total", { state: "SUCCESS", gateway: "mock", currency: "USD", method: "card" }]
      }, Effect.gen(function*() {
        const p = yield* payments.createPayment(request({ idempotencyKey: "retry", paymentMethod: card(TestCards.retryOnce) }))
        const fiber = yield* Effect.fork(payments.processPayment(p.id))
        yield* TestClock.adjust("1 second")
        expect((yield* Fiber.join(fiber)).state).toBe("SUCCESS")
      }))
      expect(moved).toEqual({ retries: 1, success: 1 })
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))))

  it.effect("idempotency replays and conflicts", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const moved = yield* deltas({
        replays: ["aegispay_idempotency_replays_total"],
        conflicts: ["aegispay_idempotency_conflicts_total"],
        created: ["aegispay_payments_created_total", { currency: "USD", method: "card" }]
      }, Effect.gen(function*() {
        yield* payments.createPayment(request({ idempotencyKey: "same" }))
        yield* payments.createPayment(request({ idempotencyKey: "same" }))
        yield* payments.createPayment(request({ idempotencyKey: "same" }))
        const conflict = yield* Effect.flip(payments.createPayment(request({ idempotencyKey: "same", amount: "5.00" })))
        expect(conflict._tag).toBe("IdempotencyKeyReused")
      }))
      expect(moved).toEqual({ replays: 2, conflicts: 1, created: 1 })
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))))

  it.effect("an unknown outcome, then recovery: the run, what it found and what it resolved", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const recovery = yield* Recovery.Recovery
      const moved = yield* deltas({
        unknown: ["aegispay_payment_outcome_unknown_total", { gateway: "mock" }],
        runs: ["aegispay_recovery_runs_total", { outcome: "ok" }],
        resolved: ["aegispay_recovery_payments_total", { outcome: "resolved" }],
        success: ["aegispay_payments_finished_total", { state: "SUCCESS", gateway: "mock", currency: "USD", method: "card" }]
      }, Effect.gen(function*() {
        const p = yield* payments.createPayment(request({ idempotencyKey: "unknown", paymentMethod: card(TestCards.timeoutAfterCharge) }))
        const fiber = yield* Effect.fork(Effect.either(payments.processPayment(p.id)))
        yield* TestClock.adjust("1 minute") // the gateway's timeout
        yield* Fiber.join(fiber)
        expect((yield* payments.getPayment(p.id)).state).toBe("PROCESSING")
        yield* TestClock.adjust("2 minutes")
        const report = yield* recovery.runOnce
        expect(report).toMatchObject({ examined: 1, resolved: 1 })
      }))
      expect(moved).toEqual({ unknown: 1, runs: 1, resolved: 1, success: 1 })
      expect(yield* value("aegispay_recovery_last_found")).toBe(1)
      expect(yield* value("aegispay_recovery_last_run_timestamp_seconds")).toBeGreaterThan(0)
    }).pipe(Effect.provide(Recovery.layer({ stuckAfter: "1 minute" }).pipe(Layer.provideMerge(AegisPayTest.layerMemory({ ids: "sequential" }))))))

  it.effect("circuit transitions are counted per gateway, from and to", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const gateways = yield* MockGateway.MockGateways
      const opened = ["aegispay_circuit_transitions_total", { gateway: "alpha", from: "CLOSED", to: "OPEN" }] as const
      const before = yield* value(...opened)
      yield* gateways.get("alpha")!.setAvailable(false, ["initiate", "authenticate"])
      const p = yield* payments.createPayment(request({ idempotencyKey: "circuit" }))
      const fiber = yield* Effect.fork(payments.processPayment(p.id))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber)).state).toBe("SUCCESS") // at beta
      // the transition reaches the metric through the breakers' change stream (another fiber)
      const after = yield* value(...opened).pipe(
        Effect.tap(() => Effect.yieldNow()),
        Effect.repeat({ until: (n) => n > before, times: 1_000 })
      )
      expect(after - before).toBe(1)
      expect(yield* value("aegispay_circuit_state", { gateway: "alpha" })).toBe(2)
    }).pipe(Effect.provide(two)))

  it.effect("no exported label carries an id; every label name is from a bounded set", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const ids: Array<string> = ["cus_1", "order-1"]
      for (const [i, number] of [TestCards.success, TestCards.declined, TestCards.actionRedirect].entries()) {
        const p = yield* payments.createPayment(request({ idempotencyKey: `labels-${i}`, paymentMethod: card(number) }))
        ids.push(p.id, p.tenantId, `labels-${i}`)
        const done = yield* payments.processPayment(p.id).pipe(Effect.either)
        if (done._tag === "Right") ids.push(...done.right.attempts.flatMap((a) => [a.id, a.idempotencyKey]))
      }
      const text = yield* Prometheus.scrape
      const allowed = new Set(["state", "gateway", "currency", "method", "operation", "outcome", "type", "from", "to", "action", "le", "quantile"])
      const labelSets = [...text.matchAll(/^aegispay_[a-z_]+\{([^}]*)\}/gm)].map((m) => m[1]!)
      expect(labelSets.length).toBeGreaterThan(20)
      for (const set of labelSets) {
        for (const [, key, val] of set.matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) {
          expect(allowed, `label ${key} in {${set}}`).toContain(key)
          for (const id of ids) expect(val, `{${set}}`).not.toContain(id)
          expect(val, `{${set}}`).not.toMatch(/^(pay|att|cus|evt|ref)_/)
        }
      }
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))))
})
