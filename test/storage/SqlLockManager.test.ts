/**
 * The lease-based lock manager on PostgreSQL and on PGlite. Two managers stand for two processes
 * (each has its own owner id; on PostgreSQL each also has its own connection pool).
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, DateTime, Deferred, Effect, Either, Exit, Fiber, Layer, Option, Redacted, Ref } from "effect"
import type { Scope } from "effect"
import { Ids, LockManager, Payment, Tenant } from "aegispay"
import { AegisPayPg, Migrations, OutboxSignal, SqlLockManager, SqlStorage } from "aegispay/pg"
import { initiated } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { useSharedPglite } from "../support/SharedPglite.js"
import { awaitInterruptionTaken, awaitLockWaiter, holdRowLock } from "../support/Interruption.js"

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
  // one embedded database shared by both managers, as two fibers of one process would (and by the
  // tests, as PostgreSQL's database below: they lock keys of their own)
  const client = useSharedPglite()
  contract("pglite", () => Effect.sync(() => managerOn(client())))
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

/**
 * Lease edge cases on real PostgreSQL: renewal racing a release, and interruption while the
 * acquiring statement runs (that needs lock waits between connections, which PGlite lacks).
 */
describe.skipIf(databaseUrl === undefined)("SqlLockManager: postgres lease lifecycle", () => {
  const databaseUrlOf = useTestDatabase("leases")

  /** A migrated database and a pool of 4 connections on it. */
  const client = () =>
    Layer.provideMerge(Migrations.layer, PgClient.layer({ url: Redacted.make(databaseUrlOf()), maxConnections: 4 }))

  /** One lock manager (one owner, as one process) over `pool`. */
  const makeOn = (pool: Context.Context<SqlClient.SqlClient>, options?: SqlLockManager.Options) =>
    SqlLockManager.make(options).pipe(Effect.provide(Layer.merge(Layer.succeedContext(pool), Ids.layer)))

  const isHeld = (sql: SqlClient.SqlClient, key: string) =>
    Effect.map(
      sql<{ held: boolean }>`SELECT locked_until > clock_timestamp() AS held FROM aegis_locks WHERE key = ${key}`,
      (rows) => rows[0]?.held === true
    )

  const newPayment = initiated

  it.live("a renewal after the holder's last write released the lease does not revive it", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* Layer.build(client())
      const sql = Context.get(pool, SqlClient.SqlClient)
      const { repository } = yield* Effect.provide(SqlStorage.make, Layer.merge(Layer.succeedContext(pool), OutboxSignal.layer))
      const holder = yield* makeOn(pool)
      const other = yield* makeOn(pool, { waitTimeout: "200 millis" })
      yield* repository.insert(newPayment("pay_renewed", "t"))
      // the payment lock hands over payments of the current tenant only
      yield* holder.paymentLock.withPayment("pay_renewed", (payment) =>
        Effect.gen(function*() {
          const next = Either.getOrThrow(Payment.authenticate(payment, "mock", DateTime.unsafeMake(1)))
          // the last write releases the lease in its own statement ...
          yield* repository.update(next, payment.version, { lastWrite: true })
          expect(yield* isHeld(sql, "pay_renewed")).toBe(false)
          // ... and the renewal fiber runs before `use` has ended
          yield* holder.renew
        })).pipe(Tenant.with("t"))
      expect(yield* isHeld(sql, "pay_renewed")).toBe(false)
      expect(yield* other.lockManager.withLock("pay_renewed", Effect.succeed("free"))).toBe("free")
    })), 60_000)

  it.live("a renewal that reaches the database after the release does not revive the lease", () =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* Layer.build(client())
      const sql = Context.get(pool, SqlClient.SqlClient)
      const holder = yield* makeOn(pool)
      yield* holder.lockManager.withLock("k-race", Effect.gen(function*() {
        const lease = Option.getOrThrow(yield* LockManager.CurrentLease)
        // a lease that merely expired (renewal late) and that nobody took is extended again ...
        yield* sql`UPDATE aegis_locks SET locked_until = clock_timestamp() - interval '1 second' WHERE key = 'k-race'`
        yield* holder.renew
        expect(yield* isHeld(sql, "k-race")).toBe(true)
        // ... but not a released one: the holder's release commits while a renewal that still
        // counts the lease is in flight
        yield* sql`UPDATE aegis_locks SET locked_until = '-infinity' WHERE key = 'k-race' AND token = ${lease.token.toString()}`
        yield* holder.renew
        expect(yield* isHeld(sql, "k-race")).toBe(false)
      }))
      expect(yield* isHeld(sql, "k-race")).toBe(false)
    })), 60_000)

  /**
   * Interrupts `acquire` (which takes the lease of `key` on a one-connection pool) while its
   * statement waits for a row lock, then lets the statement commit; afterwards another owner
   * must find the lease free.
   */
  const interruptedWhileAcquiring = (
    key: string,
    acquire: (manager: Effect.Effect.Success<ReturnType<typeof SqlLockManager.make>>) => Effect.Effect<unknown, unknown>,
    payment = false
  ) =>
    Effect.scoped(Effect.gen(function*() {
      const pool = yield* Layer.build(client())
      const sql = Context.get(pool, SqlClient.SqlClient)
      // a payment lock takes a lease only for an existing payment of the current tenant
      if (payment) yield* (yield* Effect.provide(SqlStorage.make, Layer.merge(Layer.succeedContext(pool), OutboxSignal.layer))).repository.insert(newPayment(key, Tenant.defaultId))
      const single = yield* Layer.build(PgClient.layer({ url: Redacted.make(databaseUrlOf()), maxConnections: 1 }))
      const acquirer = yield* makeOn(single)
      const other = yield* makeOn(pool, { waitTimeout: "200 millis" })
      // a free (expired) lease row, row-locked by the test: the acquiring statement waits for it
      yield* sql`INSERT INTO aegis_locks (key, owner, token, locked_until)
                 VALUES (${key}, 'owner_old', nextval('aegis_lock_tokens'), '-infinity')`
      const letGo = yield* holdRowLock(sql, sql`SELECT 1 FROM aegis_locks WHERE key = ${key} FOR UPDATE`)
      const fiber = yield* Effect.fork(acquire(acquirer))
      yield* awaitLockWaiter(sql)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* awaitInterruptionTaken(fiber)
      yield* letGo
      const exit = yield* Fiber.join(interrupting)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* other.lockManager.withLock(key, Effect.succeed("free"))).toBe("free")
    }))

  it.live("LockManager: an acquisition interrupted while its statement runs leaves no lease held", () =>
    interruptedWhileAcquiring("k-interrupted", (m) => m.lockManager.withLock("k-interrupted", Effect.never)), 60_000)

  it.live("PaymentLock: an acquisition interrupted while its statement runs leaves no lease held", () =>
    interruptedWhileAcquiring("pay_interrupted", (m) => m.paymentLock.withPayment("pay_interrupted", () => Effect.never), true), 60_000)
})
