/**
 * Readiness under TestClock: a worker that runs in iterations is stale (and `/ready` fails naming
 * it) once it has not succeeded for `workerStaleFactor` × its interval; a success makes it ready
 * again; the outbox check fails when the oldest undelivered event is older than `maxOutboxLag`.
 */
import { it } from "@effect/vitest"
import { Effect, Layer, Option, Ref, TestClock } from "effect"
import { describe, expect } from "vitest"
import { OutboxBacklog, Workers } from "aegispay"
import { OpsHandlers } from "aegispay/http"
import { AegisPayTest } from "aegispay/testing"

const setup = (oldest: Ref.Ref<Option.Option<number>>) =>
  OpsHandlers.layerReadiness({ maxOutboxLag: "60 seconds", workerStaleFactor: 3, workerMinStale: "1 second" }).pipe(
    Layer.provideMerge(OutboxBacklog.layerFrom(Ref.get(oldest))),
    Layer.provideMerge(AegisPayTest.layerMemory())
  )

const results = Effect.flatMap(OpsHandlers.Readiness, (r) => Effect.map(r.run, (all) => Object.fromEntries(all)))

describe("readiness", () => {
  it.effect("a worker without a success for 3× its interval is stale; a success clears it", () =>
    Effect.gen(function*() {
      const oldest = yield* Ref.make(Option.none<number>())
      yield* Effect.gen(function*() {
        const worker = yield* Workers.register("test loop", { interval: "10 seconds" })
        yield* worker.succeeded
        expect((yield* results)["worker:test loop"]).toBe("ok")
        yield* TestClock.adjust("30 seconds")
        expect((yield* results)["worker:test loop"]).toBe("ok")
        yield* TestClock.adjust("1 second")
        expect((yield* results)["worker:test loop"]).toBe("stale (no successful iteration for 31 s, limit 30 s)")
        yield* worker.succeeded
        expect((yield* results)["worker:test loop"]).toBe("ok")
        // a long-lived worker (no interval) is never stale
        yield* Workers.register("listener")
        yield* TestClock.adjust("1 hour")
        expect((yield* results)["worker:listener"]).toBe("ok")
      }).pipe(Effect.provide(setup(oldest)))
    }))

  it.effect("the outbox check fails when the oldest undelivered event is older than the limit", () =>
    Effect.gen(function*() {
      const oldest = yield* Ref.make(Option.none<number>())
      yield* Effect.gen(function*() {
        expect((yield* results).outbox).toBe("ok")
        yield* TestClock.adjust("100 seconds")
        yield* Ref.set(oldest, Option.some(50_000))
        expect((yield* results).outbox).toBe("ok")
        yield* TestClock.adjust("11 seconds")
        expect((yield* results).outbox).toBe("lagging (oldest undelivered event 61 s old, limit 60 s)")
        expect((yield* results).storage).toBe("ok")
      }).pipe(Effect.provide(setup(oldest)))
    }))
})
