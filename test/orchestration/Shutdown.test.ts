/**
 * Graceful shutdown: a caller that goes away does not cut a gateway call from its commit, and a
 * closing composition lets operations in flight finish up to its grace period.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Exit, Fiber, Layer, Scope, TestClock } from "effect"
import { PaymentService, Recovery, Shutdown } from "aegispay"
import { AegisPayTest, MockGateway } from "aegispay/testing"
import { request } from "../helpers.js"

const build = (gracePeriod: Duration.DurationInput) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const ctx = yield* Layer.buildWithScope(
      AegisPayTest.layerMemory({ ids: "sequential", mockGateway: { latency: "10 seconds" }, shutdown: { gracePeriod } }),
      scope
    )
    const payments = Effect.provide(PaymentService.PaymentService, ctx)
    const ledger = Effect.provide(Effect.flatMap(MockGateway.MockGateway, (m) => m.ledger), ctx)
    const inFlight = Effect.provide(Effect.flatMap(Shutdown.InFlight, (f) => f.size), ctx)
    /** Lets the operations in flight run to their end (no time passes). */
    const settle = Effect.gen(function*() {
      while ((yield* inFlight) > 0) yield* Effect.yieldNow()
    })
    const shutdown = (within: Duration.DurationInput) => Effect.provide(Effect.flatMap(Shutdown.InFlight, (f) => f.shutdown(within)), ctx)
    const recovery = Effect.provide(Effect.flatMap(Recovery.make({ stuckAfter: "1 minute" }), (r) => r.runOnce), ctx)
    return { scope, payments: yield* payments, ledger, inFlight, settle, shutdown, recovery }
  })

describe("graceful shutdown", () => {
  it.effect("an interrupted caller stops waiting; the charge goes on and its answer is committed", () =>
    Effect.gen(function*() {
      const { ledger, payments, settle } = yield* build("30 seconds")
      const created = yield* payments.createPayment(request())
      const caller = yield* Effect.fork(payments.processPayment(created.id))
      // every mock call takes 10 s: initiate, authenticate, then the charge from 20 s to 30 s
      yield* TestClock.adjust("25 seconds") // the charge is in flight
      expect((yield* payments.getPayment(created.id)).state).toBe("PROCESSING")
      const exit = yield* Fiber.interrupt(caller)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* TestClock.adjust("5 seconds")
      yield* settle
      const after = yield* payments.getPayment(created.id)
      expect(after.state).toBe("SUCCESS")
      expect((yield* ledger).charges.length).toBe(1)
    }))

  it.effect("closing waits for operations in flight within the grace period, and refuses new ones", () =>
    Effect.gen(function*() {
      const { inFlight, ledger, payments, scope } = yield* build("1 minute")
      const created = yield* payments.createPayment(request())
      const caller = yield* Effect.fork(payments.processPayment(created.id))
      yield* TestClock.adjust("25 seconds") // the charge is in flight
      expect(yield* inFlight).toBe(1)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      expect(closing.unsafePoll()).toBe(null) // still draining
      // a call after shutdown began does nothing
      const late = yield* payments.processPayment(created.id).pipe(Effect.exit)
      expect(Exit.isInterrupted(late)).toBe(true)
      yield* TestClock.adjust("4 seconds")
      yield* Fiber.join(closing)
      expect((yield* Fiber.join(caller)).state).toBe("SUCCESS")
      expect((yield* payments.getPayment(created.id)).state).toBe("SUCCESS")
      expect((yield* ledger).charges.length).toBe(1)
    }))

  it.effect("an operation still in flight at the deadline is interrupted and left PROCESSING for recovery", () =>
    Effect.gen(function*() {
      const { ledger, payments, scope } = yield* build("2 seconds")
      const created = yield* payments.createPayment(request())
      yield* Effect.fork(payments.processPayment(created.id))
      yield* TestClock.adjust("25 seconds") // the charge is in flight
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(closing)
      const after = yield* payments.getPayment(created.id)
      expect(after.state).toBe("PROCESSING") // never failed, never sent elsewhere
      expect((yield* ledger).charges.length).toBe(0)
    }))

  it.effect("InFlight.shutdown begins the shutdown before the scope closes: it waits within its bound, interrupts the rest; recovery then leaves the payment open, not failed", () =>
    Effect.gen(function*() {
      const { inFlight, ledger, payments, recovery, scope, shutdown } = yield* build("1 minute")
      const created = yield* payments.createPayment(request())
      yield* Effect.fork(payments.processPayment(created.id))
      yield* TestClock.adjust("25 seconds") // the charge is in flight
      const stopping = yield* Effect.fork(shutdown("2 seconds"))
      yield* TestClock.adjust("1 second")
      expect(stopping.unsafePoll()).toBe(null) // within its bound, still waiting
      expect(Exit.isInterrupted(yield* payments.processPayment(created.id).pipe(Effect.exit))).toBe(true)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(stopping)
      expect(yield* inFlight).toBe(0)
      expect((yield* payments.getPayment(created.id)).state).toBe("PROCESSING")
      expect((yield* ledger).charges.length).toBe(0)
      // a recovery pass during the rest of the shutdown starts nothing: the payment is still open
      yield* TestClock.adjust("2 minutes")
      expect(yield* recovery).toEqual({ examined: 1, resolved: 0, stillOpen: 1, failed: [] })
      // the scope's end finds nothing left to wait for
      yield* Scope.close(scope, Exit.void)
    }))
})
