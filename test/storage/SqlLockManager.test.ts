/**
 * The PostgreSQL lock manager: two managers stand for two processes (each has its own owner id
 * and its own connection pool).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Redacted, Ref } from "effect"
import { AegisPay, Ids, LockManager, Migrations } from "aegispay"
import * as SqlLockManager from "../../src/storage/SqlLockManager.js"
import { createTestDatabase, databaseUrl } from "../support/Backends.js"

describe.skipIf(databaseUrl === undefined)("SqlLockManager (PostgreSQL)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined
  beforeAll(async () => {
    database = await createTestDatabase("locks")
  })
  afterAll(async () => {
    await database?.drop()
  })

  const manager = (options: SqlLockManager.Options = {}) =>
    Effect.gen(function*() {
      const ctx = yield* Layer.build(
        SqlLockManager.layer(options).pipe(
          Layer.provide(Ids.layer),
          Layer.provide(Migrations.layer),
          Layer.provideMerge(AegisPay.layerPgClient({ url: Redacted.make(database!.url), maxConnections: 4 }))
        )
      )
      return yield* Effect.provide(LockManager.LockManager, ctx)
    })

  it.live("excludes holders across managers, and releases on failure and interruption", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* manager()
      const b = yield* manager()
      const inside = yield* Ref.make(0)
      const maxInside = yield* Ref.make(0)
      const critical = Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(inside, (x) => x + 1)
        yield* Ref.update(maxInside, (m) => Math.max(m, n))
        yield* Effect.sleep("5 millis")
        yield* Ref.update(inside, (x) => x - 1)
      })
      yield* Effect.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).withLock("k1", critical)),
        { concurrency: "unbounded" }
      )
      expect(yield* Ref.get(maxInside)).toBe(1)

      yield* Effect.exit(a.withLock("k2", Effect.fail("boom")))
      expect(yield* b.withLock("k2", Effect.succeed("free after failure"))).toBe("free after failure")

      const started = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(a.withLock("k3", Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(holder)
      expect(yield* b.withLock("k3", Effect.succeed("free after interruption"))).toBe("free after interruption")
    })))

  it.live("a waiter gives up with LockUnavailable; an expired lease is taken over with a newer fencing token", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* manager({ ttl: "300 millis" })
      const b = yield* manager({ waitTimeout: "100 millis" })
      const started = yield* Deferred.make<bigint>()
      const holder = yield* Effect.fork(a.withLock(
        "k4",
        Effect.flatMap(LockManager.CurrentLease, (lease) =>
          Effect.zipRight(Deferred.succeed(started, Option.getOrThrow(lease).token), Effect.never))
      ))
      const firstToken = yield* Deferred.await(started)
      const waited = yield* Effect.flip(b.withLock("k4", Effect.void))
      expect(waited._tag).toBe("LockUnavailable")
      // while renewed, the lease outlives its ttl
      yield* Effect.sleep("700 millis")
      expect((yield* Effect.flip(b.withLock("k4", Effect.void)))._tag).toBe("LockUnavailable")
      yield* Fiber.interrupt(holder)
      const c = yield* manager()
      const token = yield* c.withLock("k4", Effect.map(LockManager.CurrentLease, (l) => Option.getOrThrow(l).token))
      expect(token > firstToken).toBe(true)
    })))
})
