import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Ref } from "effect"
import { LockManager } from "aegispay"

describe("LockManager (memory)", () => {
  it.effect("excludes callers with the same key and not with different keys", () =>
    Effect.gen(function*() {
      const locks = yield* LockManager.LockManager
      const inside = yield* Ref.make(0)
      const maxInside = yield* Ref.make(0)
      const critical = Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(inside, (x) => x + 1)
        yield* Ref.update(maxInside, (m) => Math.max(m, n))
        yield* Effect.yieldNow()
        yield* Ref.update(inside, (x) => x - 1)
      })
      yield* Effect.all(Array.from({ length: 50 }, () => locks.withLock("a", critical)), { concurrency: "unbounded" })
      expect(yield* Ref.get(maxInside)).toBe(1)

      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(locks.withLock("b", Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(release)))))
      yield* Deferred.await(started)
      // a different key is not blocked by "b"
      expect(yield* locks.withLock("c", Effect.succeed("ran"))).toBe("ran")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
    }).pipe(Effect.provide(LockManager.layerMemory)))

  it.effect("releases on failure and on interruption, also of a waiter", () =>
    Effect.gen(function*() {
      const locks = yield* LockManager.LockManager
      const failed = yield* Effect.exit(locks.withLock("k", Effect.fail("boom")))
      expect(Exit.isFailure(failed)).toBe(true)

      const started = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(locks.withLock("k", Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never))))
      yield* Deferred.await(started)
      const waiter = yield* Effect.fork(locks.withLock("k", Effect.succeed("never")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      expect(yield* locks.withLock("k", Effect.succeed("free"))).toBe("free")
    }).pipe(Effect.provide(LockManager.layerMemory)))
})
