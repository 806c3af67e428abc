/**
 * The lease-based lock manager on PostgreSQL and on PGlite. Two managers stand for two processes
 * (each has its own owner id; on PostgreSQL each also has its own connection pool).
 */
import { describe, expect, it } from "@effect/vitest"
import type { SqlClient } from "@effect/sql"
import { Deferred, Effect, Fiber, Layer, Option, Redacted, Ref } from "effect"
import type { Scope } from "effect"
import { Ids, LockManager } from "aegispay"
import { Embedded } from "aegispay/embedded"
import { AegisPayPg, Migrations, SqlLockManager } from "aegispay/pg"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"

type Manager = (options?: SqlLockManager.Options) => Effect.Effect<LockManager.LockManager["Type"], unknown, Scope.Scope>

const managerOn = (client: Layer.Layer<SqlClient.SqlClient, unknown>): Manager => (options = {}) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(SqlLockManager.layer(options).pipe(Layer.provide(Ids.layer), Layer.provide(client)))
    return yield* Effect.provide(LockManager.LockManager, ctx)
  })

const contract = (name: string, setup: () => Effect.Effect<Manager, never, Scope.Scope>) =>
  describe(`SqlLockManager: ${name}`, () => {
    it.live("excludes holders across managers, and releases on failure and interruption", () =>
      Effect.scoped(Effect.gen(function*() {
        const manager = yield* setup()
        const a = yield* manager()
        const b = yield* manager()
        const inside = yield* Ref.make(0)
        const maxInside = yield* Ref.make(0)
        const critical = Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(inside, (x) => x + 1)
          yield* Ref.update(maxInside, (m) => Math.max(m, n))
          yield* Effect.sleep("5 millis") // widen the window in which a second holder would show
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
      })), 60_000)

    it.live("a waiter gives up with LockUnavailable; a renewed lease outlives its ttl; tokens grow", () =>
      Effect.scoped(Effect.gen(function*() {
        const manager = yield* setup()
        const a = yield* manager({ ttl: "300 millis" })
        const b = yield* manager({ waitTimeout: "100 millis" })
        const started = yield* Deferred.make<bigint>()
        const holder = yield* Effect.fork(a.withLock(
          "k4",
          Effect.flatMap(LockManager.CurrentLease, (lease) =>
            Effect.zipRight(Deferred.succeed(started, Option.getOrThrow(lease).token), Effect.never))
        ))
        const firstToken = yield* Deferred.await(started)
        expect((yield* Effect.flip(b.withLock("k4", Effect.void)))._tag).toBe("LockUnavailable")
        yield* Effect.sleep("700 millis") // more than twice the ttl: only renewal keeps the lease
        expect((yield* Effect.flip(b.withLock("k4", Effect.void)))._tag).toBe("LockUnavailable")
        yield* Fiber.interrupt(holder)
        const token = yield* b.withLock("k4", Effect.map(LockManager.CurrentLease, (l) => Option.getOrThrow(l).token))
        expect(token > firstToken).toBe(true)
      })), 60_000)
  })

describe("pglite", () => {
  // one embedded database shared by both managers, as two fibers of one process would
  const client = Layer.provideMerge(Migrations.layer, Embedded.layerClient())
  contract("pglite", () => Effect.map(Layer.memoize(client), managerOn))
})

describe.skipIf(databaseUrl === undefined)("postgres", () => {
  const databaseUrlOf = useTestDatabase("locks")
  // each manager builds its own pool, as a separate process would
  contract("postgres", () =>
    Effect.succeed(managerOn(Layer.provideMerge(
      Migrations.layer,
      AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 4 })
    ))))
})
