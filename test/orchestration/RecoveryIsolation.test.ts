/**
 * Issue 12, defect 6: a defect (a bug in a gateway adapter or a merchant hook) during the recovery
 * of one payment never interrupts the recovery of the others, possibly in the middle of a gateway
 * call, and never stops the worker: it is logged at Error with its cause and the schedule goes on.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, Logger, LogLevel, Schedule, TestClock } from "effect"
import { EventStore, GatewayRegistry, PaymentRepository, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MemoryStorage, MockGateway } from "aegispay/testing"
import { crashedAfterAttemptCommit } from "../helpers.js"

const base = AegisPayTest.layerMemory({ ids: "sequential" })
const withRecovery = Recovery.layer({ stuckAfter: "1 minute" }).pipe(Layer.provideMerge(base))

/** A process that crashed right after committing the attempt: PROCESSING, gateway never called. */
describe("recovery isolation", () => {
  it.effect("a defect in one payment's recovery never interrupts another's gateway call; it is reported as a Defect", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      const broken = yield* crashedAfterAttemptCommit("broken")
      const healthy = yield* crashedAfterAttemptCommit("healthy")
      const inCall = yield* Deferred.make<void>()
      const died = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      let interrupted = false
      yield* registry.register({
        ...mock.gateway,
        getStatus: (req) =>
          req.idempotencyKey === broken.attempts[0]!.idempotencyKey
            // an adapter bug, once the healthy payment's call is on its way
            ? Effect.zipRight(Deferred.await(inCall), Effect.zipRight(Deferred.succeed(died, undefined), Effect.dieMessage("adapter bug")))
            : Effect.zipRight(
              Effect.zipRight(Deferred.succeed(inCall, undefined), Deferred.await(release)),
              mock.gateway.getStatus(req)
            ).pipe(Effect.onInterrupt(() => Effect.sync(() => { interrupted = true })))
      })
      yield* TestClock.adjust("2 minutes")
      const run = yield* Effect.fork(Effect.flatMap(Recovery.Recovery, (r) => r.runOnce))
      yield* Deferred.await(died)
      yield* Effect.yieldNow()
      yield* Deferred.succeed(release, undefined)
      const report = yield* Fiber.join(run)
      expect(interrupted).toBe(false)
      expect(report).toEqual({ examined: 2, resolved: 1, stillOpen: 0, failed: [{ paymentId: broken.id, error: "Defect" }] })
      expect((yield* payments.getPayment(healthy.id)).state).toBe("SUCCESS")
      expect((yield* payments.getPayment(broken.id)).state).toBe("PROCESSING") // tried again next run
      expect((yield* mock.ledger).charges.map((c) => c.idempotencyKey)).toEqual([healthy.attempts[0]!.idempotencyKey])
    }).pipe(Effect.provide(withRecovery)))

  it.effect("the worker is supervised: a run that dies is logged at Error with its cause and the schedule goes on", () => {
    const logs: Array<{ readonly level: string; readonly message: unknown; readonly cause: string }> = []
    const logger = Logger.make(({ cause, logLevel, message }) => {
      logs.push({ level: logLevel.label, message, cause: String(cause) })
    })
    class Faults extends Context.Tag("test/RecoveryIsolation/Faults")<Faults, { scanDies: boolean }>() {}
    const faults = { scanDies: true }
    /** Memory storage whose recovery scan dies while `scanDies` (a storage bug). */
    const storage = Layer.effectContext(Effect.map(MemoryStorage.make, ({ eventStore, repository }) =>
      Context.make(PaymentRepository.PaymentRepository, {
        ...repository,
        findOpen: (before, limit) => faults.scanDies ? Effect.dieMessage("scan bug") : repository.findOpen(before, limit)
      }).pipe(Context.add(EventStore.EventStore, eventStore), Context.add(Faults, faults))
    ))
    return Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const stuck = yield* crashedAfterAttemptCommit("worker")
      yield* TestClock.adjust("90 seconds") // runs at 0, 30, 60, 90 s: each dies
      expect((yield* payments.getPayment(stuck.id)).state).toBe("PROCESSING")
      const errors = logs.filter((l) => l.level === "ERROR")
      expect(errors.length).toBeGreaterThan(0)
      expect(errors[0]!.cause).toContain("scan bug")
      faults.scanDies = false
      yield* TestClock.adjust("30 seconds")
      expect((yield* payments.getPayment(stuck.id)).state).toBe("SUCCESS")
    }).pipe(Effect.provide(
      Recovery.layerWorker({ stuckAfter: "1 minute", schedule: Schedule.spaced("30 seconds") }).pipe(
        Layer.provideMerge(AegisPayTest.layerWith(storage, { ids: "sequential" })),
        Layer.provide(Logger.replace(Logger.defaultLogger, logger)),
        Layer.provide(Logger.minimumLogLevel(LogLevel.All))
      )
    ))
  })
})
