/**
 * Issue 12, defect 5: recovery starvation. A batch's worth of payments whose recovery fails, or
 * leaves them open without writing anything (a gateway outage), must not stop the recovery of
 * the others: recovery records that it examined them, and the scan serves the least recently
 * touched (updated or examined) first, so the open set is walked round-robin.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import { Gateway, GatewayRegistry, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MockGateway } from "aegispay/testing"
import { crashedAfterAttemptCommit, request } from "../helpers.js"

const base = AegisPayTest.layerMemory({ ids: "sequential" })
const withRecovery = Recovery.layer({ stuckAfter: "1 minute", batchSize: 2 }).pipe(Layer.provideMerge(base))
const runOnce = Effect.flatMap(Recovery.Recovery, (r) => r.runOnce)
/** A run whose status checks may be retried on the clock (the retry delays pass). */
const runWithRetries = Effect.gen(function*() {
  const fiber = yield* Effect.fork(runOnce)
  yield* TestClock.adjust("5 seconds")
  return yield* Fiber.join(fiber)
})

/** A process that crashed right after committing the attempt: PROCESSING, gateway never called. */
describe("recovery starvation", () => {
  it.effect("payments whose recovery keeps failing without a write never starve the others", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      // two payments whose status cannot be learned (their gateway's status endpoint is down for them)
      const down = [yield* crashedAfterAttemptCommit("down-1"), yield* crashedAfterAttemptCommit("down-2")]
      const downKeys = new Set(down.map((p) => p.attempts[0]!.idempotencyKey))
      yield* registry.register({
        ...mock.gateway,
        getStatus: (req) =>
          downKeys.has(req.idempotencyKey)
            ? Effect.fail(new Gateway.GatewayTransientError({ gateway: "mock", operation: "getStatus", reason: "503" }))
            : mock.gateway.getStatus(req)
      })
      yield* TestClock.adjust("10 seconds")
      const later = yield* crashedAfterAttemptCommit("later")
      yield* TestClock.adjust("2 minutes")
      // batch of 2: the two oldest are examined and fail (nothing written)
      const first = yield* runWithRetries
      expect(first.failed.map((f) => f.paymentId).sort()).toEqual(down.map((p) => p.id).sort())
      // the next run serves the payment not yet examined
      yield* TestClock.adjust("30 seconds")
      const second = yield* runWithRetries
      expect(second.examined).toBe(1)
      expect(second.resolved).toBe(1)
      expect((yield* payments.getPayment(later.id)).state).toBe("SUCCESS")
      // once examined, the failing ones come back after stuckAfter, and are resolved when the gateway answers
      yield* TestClock.adjust("1 minute")
      downKeys.clear()
      expect(yield* runWithRetries).toEqual({ examined: 2, resolved: 2, stillOpen: 0, failed: [] })
    }).pipe(Effect.provide(withRecovery)))

  it.effect("a refund left PENDING by an outage (open, nothing written) is walked past, round-robin", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      let refundsDown = true
      yield* registry.register({
        ...mock.gateway,
        refund: (req) =>
          refundsDown
            ? Effect.fail(new Gateway.GatewayUnknownOutcome({ gateway: "mock", operation: "refund", reason: "timed out" }))
            : mock.gateway.refund(req)
      })
      const refunded: Array<string> = []
      for (const key of ["r-1", "r-2"]) {
        const p = yield* payments.processPayment((yield* payments.createPayment(request({ idempotencyKey: key }))).id)
        expect((yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: key })).state).toBe("PENDING")
        refunded.push(p.id)
      }
      yield* TestClock.adjust("10 seconds")
      const later = yield* crashedAfterAttemptCommit("later")
      yield* TestClock.adjust("2 minutes")
      const first = yield* runOnce
      expect([first.examined, first.stillOpen]).toEqual([2, 2]) // still PENDING, nothing written
      yield* TestClock.adjust("30 seconds")
      expect((yield* runOnce).resolved).toBe(1)
      expect((yield* payments.getPayment(later.id)).state).toBe("SUCCESS")
      refundsDown = false
      yield* TestClock.adjust("1 minute")
      expect((yield* runOnce).resolved).toBe(2)
      for (const id of refunded) expect((yield* payments.getPayment(id)).refunds.map((r) => r.state)).toEqual(["SUCCEEDED"])
    }).pipe(Effect.provide(withRecovery)))
})
