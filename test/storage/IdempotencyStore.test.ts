/**
 * IdempotencyStore contract: memory (under TestClock) and PostgreSQL.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Redacted, Ref, Schedule, Schema, TestClock } from "effect"
import { Fingerprint, IdempotencyStore, Ids } from "aegispay"
import { AegisPayPg, Migrations } from "aegispay/pg"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { useSharedPglite } from "../support/SharedPglite.js"
import { awaitInterruptionTaken, awaitLockWaiter, holdRowLock } from "../support/Interruption.js"

const Result = Schema.Struct({ id: Schema.String, amount: Schema.BigInt })

const contract = (name: string, layer: () => Layer.Layer<IdempotencyStore.IdempotencyStore, unknown>, live: boolean) => {
  const test = live ? it.live : it.effect
  describe(`IdempotencyStore: ${name}`, () => {
    test("a long operation keeps its record: the lease is renewed while it runs", () =>
      Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const options = { tenantId: "t", key: `long-${name}`, request: { a: 1 }, success: Result, lease: "300 millis" as const }
        const first = yield* Effect.fork(IdempotencyStore.run(
          options,
          Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(release)).pipe(Effect.as({ id: "x", amount: 1n }))
        ))
        yield* Deferred.await(started)
        // three leases later the record is still held (renewed), not taken over
        yield* live ? Effect.sleep("900 millis") : TestClock.adjust("900 millis")
        const busy = yield* Effect.flip(IdempotencyStore.run(options, Effect.succeed({ id: "y", amount: 2n })))
        expect(busy._tag).toBe("IdempotencyKeyInUse")
        yield* Deferred.succeed(release, undefined)
        expect(yield* Fiber.join(first)).toEqual({ id: "x", amount: 1n })
      }).pipe(Effect.provide(layer())))

    test("runs once, replays the stored result, refuses another request under the same key", () =>
      Effect.gen(function*() {
        const runs = yield* Ref.make(0)
        const op = Effect.as(Ref.update(runs, (n) => n + 1), { id: "pay_1", amount: 1050n })
        const call = (request: unknown) =>
          IdempotencyStore.run({ tenantId: "t", key: `k-${name}`, request, success: Result }, op)
        const first = yield* call({ amount: "10.50", nested: { a: 1, b: [1, 2] } })
        const replay = yield* call({ nested: { b: [1, 2], a: 1 }, amount: "10.50" }) // key order does not matter
        expect(replay).toEqual(first)
        expect(yield* Ref.get(runs)).toBe(1)
        const reused = yield* Effect.flip(call({ amount: "10.50", nested: { a: 2, b: [1, 2] } }))
        expect(reused._tag).toBe("IdempotencyKeyReused")
        const otherTenant = yield* IdempotencyStore.run(
          { tenantId: "u", key: `k-${name}`, request: {}, success: Result },
          op
        )
        expect(otherTenant).toEqual(first)
        expect(yield* Ref.get(runs)).toBe(2)
      }).pipe(Effect.provide(layer())))

    test("while the first call runs, a repeat fails with IdempotencyKeyInUse; a failure releases the key", () =>
      Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const slow = Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(release)).pipe(
          Effect.as({ id: "x", amount: 1n })
        )
        const options = { tenantId: "t", key: `busy-${name}`, request: { a: 1 }, success: Result }
        const first = yield* Effect.fork(IdempotencyStore.run(options, slow))
        yield* Deferred.await(started)
        const busy = yield* Effect.flip(IdempotencyStore.run(options, Effect.succeed({ id: "y", amount: 2n })))
        expect(busy._tag).toBe("IdempotencyKeyInUse")
        yield* Deferred.succeed(release, undefined)
        expect(yield* Fiber.join(first)).toEqual({ id: "x", amount: 1n })

        const failing = { ...options, key: `fail-${name}` }
        const failed = yield* Effect.flip(IdempotencyStore.run(failing, Effect.fail("boom" as const)))
        expect(failed).toBe("boom")
        expect(yield* IdempotencyStore.run(failing, Effect.succeed({ id: "z", amount: 3n }))).toEqual({ id: "z", amount: 3n })
      }).pipe(Effect.provide(layer())))

    test("an interrupted run releases its record: a retry runs at once", () =>
      Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const options = { tenantId: "t", key: `interrupted-${name}`, request: { a: 1 }, success: Result }
        const first = yield* Effect.fork(IdempotencyStore.run(
          options,
          Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
        ))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(first)
        expect(yield* IdempotencyStore.run(options, Effect.succeed({ id: "y", amount: 2n }))).toEqual({ id: "y", amount: 2n })
      }).pipe(Effect.provide(layer())))

    test("a record whose owner crashed is taken over after its lease; purge removes old completed records", () =>
      Effect.gen(function*() {
        const store = yield* IdempotencyStore.IdempotencyStore
        const fp = Fingerprint.fingerprint({ a: 1 })
        // live: a lease long enough that the repeat below lands inside it even on a loaded machine
        const crashed = yield* store.begin("t", `crash-${name}`, fp, "1 second")
        expect(crashed._tag).toBe("Started") // ... and its owner never completes
        const soon = yield* Effect.flip(store.begin("t", `crash-${name}`, fp, "1 second"))
        expect(soon._tag).toBe("IdempotencyKeyInUse")
        const takeOver = store.begin("t", `crash-${name}`, fp, "1 second")
        const taken = live
          // lease expiry is judged by the database clock: observe it, bounded
          ? yield* takeOver.pipe(Effect.retry({
            while: (e) => e._tag === "IdempotencyKeyInUse",
            schedule: Schedule.spaced("20 millis").pipe(Schedule.upTo("10 seconds"))
          }))
          : yield* Effect.zipRight(TestClock.adjust("2 seconds"), takeOver)
        expect(taken._tag).toBe("Started")
        if (taken._tag === "Started") {
          // the crashed owner can no longer store a result; the new one can
          if (crashed._tag === "Started") expect(yield* store.complete("t", `crash-${name}`, crashed.owner, { ok: 0 })).toBe(false)
          expect(yield* store.complete("t", `crash-${name}`, taken.owner, { ok: true })).toBe(true)
        }
        const purged = yield* store.purge(Date.UTC(3000, 0, 1))
        expect(purged).toBeGreaterThanOrEqual(1)
        const again = yield* store.begin("t", `crash-${name}`, fp, "1 second")
        expect(again._tag).toBe("Started")
      }).pipe(Effect.provide(layer())))
  })
}

/** The SQL store, migrated, on `client`. */
const sqlStore = <E>(client: Layer.Layer<SqlClient.SqlClient, E>) =>
  IdempotencyStore.layerSql.pipe(Layer.provide(Ids.layer), Layer.provide(Migrations.layer), Layer.provide(client))

contract("memory", () => IdempotencyStore.layerMemory.pipe(Layer.provide(Ids.layer)), false)
// one PGlite for the contract (as one PostgreSQL database below); each test builds its store on it
describe("pglite", () => {
  const client = useSharedPglite()
  contract("pglite", () => sqlStore(client()), true)
})

describe.skipIf(databaseUrl === undefined)("postgres", () => {
  const databaseUrlOf = useTestDatabase("idempotency")
  contract("postgres", () => sqlStore(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 4 })), true)
})

/**
 * Interruption while `begin`'s statement runs on the server (real PostgreSQL: needs lock waits
 * between connections). The store's pool has one connection, so the driver's cancel cannot
 * overtake the statement, which commits after the caller was interrupted.
 */
describe.skipIf(databaseUrl === undefined)("IdempotencyStore: postgres interruption", () => {
  const databaseUrlOf = useTestDatabase("idempotency_interrupt")

  it.live("a run interrupted while its begin statement runs leaves no record held", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* Layer.build(
        Layer.provideMerge(Migrations.layer, PgClient.layer({ url: Redacted.make(databaseUrlOf()), maxConnections: 4 }))
      )
      const sql = Context.get(pool, SqlClient.SqlClient)
      const store = yield* Layer.build(IdempotencyStore.layerSql.pipe(
        Layer.provide(Ids.layer),
        Layer.provide(PgClient.layer({ url: Redacted.make(databaseUrlOf()), maxConnections: 1 }))
      ))
      const options = { tenantId: "t", key: "begin-interrupted", request: { a: 1 }, success: Result }
      // a record whose owner crashed (lease expired), row-locked by the test: begin's takeover waits
      yield* sql`INSERT INTO aegis_idempotency (tenant_id, idempotency_key, fingerprint, status, owner, locked_until)
                 VALUES ('t', 'begin-interrupted', ${Fingerprint.fingerprint(options.request)}, 'running', 'idem_old', '-infinity')`
      const letGo = yield* holdRowLock(
        sql,
        sql`SELECT 1 FROM aegis_idempotency WHERE tenant_id = 't' AND idempotency_key = 'begin-interrupted' FOR UPDATE`
      )
      const fiber = yield* Effect.fork(
        IdempotencyStore.run(options, Effect.succeed({ id: "x", amount: 1n })).pipe(Effect.provide(store))
      )
      yield* awaitLockWaiter(sql)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* awaitInterruptionTaken(fiber)
      yield* letGo
      expect(Exit.isInterrupted(yield* Fiber.join(interrupting))).toBe(true)
      const retried = yield* IdempotencyStore.run(options, Effect.succeed({ id: "y", amount: 2n })).pipe(Effect.provide(store))
      expect(retried).toEqual({ id: "y", amount: 2n })
    })), 60_000)
})
