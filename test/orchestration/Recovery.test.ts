/**
 * The recovery worker, under TestClock: payments left unfinished are driven to the gateway's
 * truth, once, and only after they have been stuck for `stuckAfter`.
 */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Either, Layer, Schedule, TestClock } from "effect"
import { Gateway, GatewayRegistry, Payment, PaymentRepository, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"
import { card, crashedAfterAttemptCommit, expectFoldEqualsSnapshot, request } from "../helpers.js"

const base = AegisPayTest.layerMemory({ ids: "sequential" })
const withRecovery = Recovery.layer({ stuckAfter: "1 minute" }).pipe(Layer.provideMerge(base))
const ledger = Effect.flatMap(MockGateway.MockGateway, (m) => m.ledger)
const runOnce = Effect.flatMap(Recovery.Recovery, (r) => r.runOnce)

/** A process that crashed right after committing the attempt: PROCESSING, gateway never called. */
describe("Recovery", () => {
  it.effect("a charge whose answer was lost is settled from the gateway's status after stuckAfter, without a second charge", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.timeoutAfterCharge) }))
      expect((yield* payments.processPayment(p.id)).state).toBe("PROCESSING")
      expect(yield* runOnce).toEqual({ examined: 0, resolved: 0, stillOpen: 0, failed: [] }) // not stuck yet
      yield* TestClock.adjust("61 seconds")
      expect(yield* runOnce).toEqual({ examined: 1, resolved: 1, stillOpen: 0, failed: [] })
      const after = yield* payments.getPayment(p.id)
      expect(after.state).toBe("SUCCESS")
      expect(after.requiresReconciliation).toBe(false)
      expect((yield* ledger).charges.length).toBe(1)
      expect(yield* runOnce).toEqual({ examined: 0, resolved: 0, stillOpen: 0, failed: [] })
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(p.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(withRecovery)))

  it.effect("a crash after the attempt commit: the gateway never saw it, so the same attempt is sent once, same key", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const stuck = yield* crashedAfterAttemptCommit("crash")
      yield* TestClock.adjust("2 minutes")
      expect((yield* runOnce).resolved).toBe(1)
      const after = yield* payments.getPayment(stuck.id)
      expect(after.state).toBe("SUCCESS")
      expect(after.attempts.map((a) => a.idempotencyKey)).toEqual([stuck.attempts[0]!.idempotencyKey])
      expect((yield* ledger).charges.map((c) => c.idempotencyKey)).toEqual([stuck.attempts[0]!.idempotencyKey])
    }).pipe(Effect.provide(withRecovery)))

  it.effect("a payment stuck in AUTHENTICATED is processed on", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const repository = yield* PaymentRepository.PaymentRepository
      const p = yield* payments.createPayment(request())
      const decision = Either.getOrThrow(Payment.authenticate(p, "mock", DateTime.unsafeMake(0)))
      yield* repository.update(decision, p.version)
      yield* TestClock.adjust("2 minutes")
      expect((yield* runOnce).resolved).toBe(1)
      expect((yield* payments.getPayment(p.id)).state).toBe("SUCCESS")
      expect((yield* ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(withRecovery)))

  it.effect("a refund whose answer was lost is resumed with its own key: one refund at the gateway", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      let lose = true
      yield* registry.register({
        ...mock.gateway,
        refund: (req) =>
          lose
            ? Effect.zipRight(
              mock.gateway.refund(req),
              Effect.fail(new Gateway.GatewayUnknownOutcome({ gateway: "mock", operation: "refund", reason: "timeout" }))
            )
            : mock.gateway.refund(req)
      })
      const p = yield* payments.createPayment(request())
      yield* payments.processPayment(p.id)
      expect((yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "40.00" })).state).toBe("PENDING")
      lose = false
      yield* TestClock.adjust("2 minutes")
      expect(yield* runOnce).toEqual({ examined: 1, resolved: 1, stillOpen: 0, failed: [] })
      const after = yield* payments.getPayment(p.id)
      expect(after.refunds.map((r) => r.state)).toEqual(["SUCCEEDED"])
      expect(after.refundedAmount.minor).toBe(4000n)
      expect((yield* mock.ledger).refunds.length).toBe(1) // the resend carried the same key
      expect(Payment.hasOpenWork(after)).toBe(false)
    }).pipe(Effect.provide(withRecovery)))

  it.effect("two workers at once handle each payment once: one charge per payment", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const stuck = yield* Effect.forEach(["a", "b", "c", "d", "e"], crashedAfterAttemptCommit)
      yield* TestClock.adjust("2 minutes")
      const workers = yield* Effect.all([Recovery.make(), Recovery.make()])
      const reports = yield* Effect.all(workers.map((w) => w.runOnce), { concurrency: "unbounded" })
      // whoever scans first marks the five examined, so the other finds them later in line (or,
      // had both scans raced, the lock serialises them and the second finds them settled)
      expect(reports.reduce((n, r) => n + r.resolved, 0)).toBe(5)
      expect(reports.flatMap((r) => r.failed)).toEqual([])
      for (const p of stuck) expect((yield* payments.getPayment(p.id)).state).toBe("SUCCESS")
      expect((yield* ledger).charges.length).toBe(5)
    }).pipe(Effect.provide(base)))

  it.effect("the worker layer runs on its schedule for the lifetime of its scope", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const stuck = yield* crashedAfterAttemptCommit("worker")
      // a run every 30 s; the payment counts as stuck once unchanged for 60 s: the run at 90 s settles it
      yield* TestClock.adjust("90 seconds")
      expect((yield* payments.getPayment(stuck.id)).state).toBe("SUCCESS")
      expect((yield* ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(
      Recovery.layerWorker({ stuckAfter: "1 minute", schedule: Schedule.spaced("30 seconds") }).pipe(Layer.provideMerge(base))
    )))
})
