/**
 * The optimistic path of the PostgreSQL payment lock (`PaymentLock.WithPaymentOptions`): for a
 * payment this process wrote last, `use` runs before the lease is taken and its first write takes
 * the lease in the same statement. Two pools with their own lock managers and storages stand for
 * two processes (each has its own owner id and its own cache of the payments it wrote).
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, DateTime, Deferred, Effect, Either, Exit, Fiber, Layer, Redacted, Ref } from "effect"
import { Ids, Payment, Tenant } from "aegispay"
import { Migrations, OutboxSignal, SqlLockManager, SqlStorage } from "aegispay/pg"
import { initiated } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { awaitInterruptionTaken, awaitLockWaiter, holdRowLock } from "../support/Interruption.js"

describe.skipIf(databaseUrl === undefined)("PaymentLock on PostgreSQL: the optimistic path", () => {
  const databaseUrlOf = useTestDatabase("optimistic")
  const optimistic = { optimistic: () => true }

  /** One process: a pool of its own (`connections`), its storage and its lock manager. */
  const process = (connections = 4, options: SqlLockManager.Options = {}) =>
    Effect.gen(function*() {
      const pool = yield* Layer.build(
        Layer.provideMerge(Migrations.layer, PgClient.layer({ url: Redacted.make(databaseUrlOf()), maxConnections: connections }))
      )
      const sql = Context.get(pool, SqlClient.SqlClient)
      const { repository } = yield* Effect.provide(SqlStorage.make, Layer.merge(Layer.succeedContext(pool), OutboxSignal.layer))
      const locks = yield* SqlLockManager.make(options).pipe(Effect.provide(Layer.merge(Layer.succeedContext(pool), Ids.layer)))
      return { sql, repository, ...locks }
    })

  const isHeld = (sql: SqlClient.SqlClient, key: string) =>
    Effect.map(
      sql<{ held: boolean }>`SELECT locked_until > clock_timestamp() AS held FROM aegis_locks WHERE key = ${key}`,
      (rows) => rows[0]?.held === true
    )

  const eventSeqs = (sql: SqlClient.SqlClient, paymentId: string) =>
    Effect.map(
      sql<{ seq: number }>`SELECT seq FROM aegis_events WHERE payment_id = ${paymentId} ORDER BY seq`,
      (rows) => rows.map((row) => Number(row.seq))
    )

  const newPayment = initiated

  /** The next decision for a payment: INITIATED → AUTHENTICATED, AUTHENTICATED → FAILURE. */
  const next = (payment: Payment.Payment) =>
    Either.getOrThrow(
      payment.state === "INITIATED"
        ? Payment.authenticate(payment, "mock", DateTime.unsafeMake(payment.version))
        : Payment.fail(payment, "test", undefined, DateTime.unsafeMake(payment.version))
    )

  it.live("the lease is taken by the first write, in its statement, and excludes others from then on", () =>
    Effect.scoped(Effect.gen(function*() {
      const mine = yield* process()
      const theirs = yield* process(2, { waitTimeout: "100 millis" })
      yield* mine.repository.insert(newPayment("pay_first_write"))
      const outcome = yield* mine.paymentLock.withPayment("pay_first_write", (payment) =>
        Effect.gen(function*() {
          // no lock-and-read ran: the lease is not held while `use` decides
          const before = yield* isHeld(mine.sql, "pay_first_write")
          yield* mine.repository.update(next(payment), payment.version)
          const after = yield* isHeld(mine.sql, "pay_first_write")
          const other = yield* Effect.either(theirs.lockManager.withLock("pay_first_write", Effect.void))
          return { before, after, otherLocked: Either.isLeft(other) && other.left._tag === "LockUnavailable" }
        }), optimistic)
      expect(outcome).toEqual({ before: false, after: true, otherLocked: true })
      expect(yield* isHeld(mine.sql, "pay_first_write")).toBe(false)
      // without the option (or for a payment it did not write) the lease is held before `use` runs
      expect(yield* mine.paymentLock.withPayment("pay_first_write", () => isHeld(mine.sql, "pay_first_write"))).toBe(true)
      expect(yield* theirs.paymentLock.withPayment("pay_first_write", () => isHeld(mine.sql, "pay_first_write"), optimistic))
        .toBe(true)
      expect(yield* eventSeqs(mine.sql, "pay_first_write")).toEqual([1, 2])
    })), 60_000)

  it.live("a payment locked by another holder: nothing is written, and use runs again under the lock after it", () =>
    Effect.scoped(Effect.gen(function*() {
      const mine = yield* process()
      const theirs = yield* process()
      yield* mine.repository.insert(newPayment("pay_locked"))
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const other = yield* Effect.fork(theirs.paymentLock.withPayment("pay_locked", (payment) =>
        Effect.zipRight(
          Effect.zipRight(Deferred.succeed(holding, undefined), Deferred.await(release)),
          theirs.repository.update(next(payment), payment.version, { lastWrite: true })
        )))
      yield* Deferred.await(holding)
      const runs = yield* Ref.make<ReadonlyArray<number>>([])
      const firstLost = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(mine.paymentLock.withPayment("pay_locked", (payment) =>
        Effect.gen(function*() {
          yield* Ref.update(runs, (r) => [...r, payment.version])
          yield* mine.repository.update(next(payment), payment.version).pipe(
            Effect.tapError(() => Deferred.succeed(firstLost, undefined))
          )
          return payment.state
        }), optimistic))
      yield* Deferred.await(firstLost)
      // the lost write wrote nothing: the payment and its events are as the other holder left them
      expect(yield* eventSeqs(mine.sql, "pay_locked")).toEqual([1])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(other)
      expect(yield* Fiber.join(fiber)).toBe("AUTHENTICATED")
      expect(yield* Ref.get(runs)).toEqual([1, 2])
      expect(yield* eventSeqs(mine.sql, "pay_locked")).toEqual([1, 2, 3])
      expect(yield* isHeld(mine.sql, "pay_locked")).toBe(false)
    })), 60_000)

  it.live("a payment another process changed since this one wrote it: use runs again with the stored payment", () =>
    Effect.scoped(Effect.gen(function*() {
      const mine = yield* process()
      const theirs = yield* process()
      yield* mine.repository.insert(newPayment("pay_changed"))
      yield* theirs.paymentLock.withPayment("pay_changed", (payment) => theirs.repository.update(next(payment), payment.version))
      const runs: Array<number> = []
      const state = yield* mine.paymentLock.withPayment("pay_changed", (payment) =>
        Effect.gen(function*() {
          runs.push(payment.version)
          yield* mine.repository.update(next(payment), payment.version, { lastWrite: true })
          return payment.state
        }), optimistic)
      expect(state).toBe("AUTHENTICATED")
      expect(runs).toEqual([1, 2])
      expect(yield* eventSeqs(mine.sql, "pay_changed")).toEqual([1, 2, 3])
      expect(yield* isHeld(mine.sql, "pay_changed")).toBe(false)
    })), 60_000)

  it.live("use that writes nothing: its result stands if the payment did not change, else it runs again under the lock", () =>
    Effect.scoped(Effect.gen(function*() {
      const mine = yield* process()
      const theirs = yield* process()
      yield* mine.repository.insert(newPayment("pay_unchanged"))
      const unchanged = yield* mine.paymentLock.withPayment("pay_unchanged", (payment) =>
        Effect.map(isHeld(mine.sql, "pay_unchanged"), (held) => ({ version: payment.version, held })), optimistic)
      expect(unchanged).toEqual({ version: 1, held: false })

      yield* mine.repository.insert(newPayment("pay_moved"))
      const runs: Array<{ readonly version: number; readonly held: boolean }> = []
      yield* mine.paymentLock.withPayment("pay_moved", (payment) =>
        Effect.gen(function*() {
          runs.push({ version: payment.version, held: yield* isHeld(mine.sql, "pay_moved") })
          // meanwhile another process writes the payment
          if (runs.length === 1) {
            yield* theirs.paymentLock.withPayment("pay_moved", (p) => theirs.repository.update(next(p), p.version))
          }
        }), optimistic)
      expect(runs).toEqual([{ version: 1, held: false }, { version: 2, held: true }])
    })), 60_000)

  it.live("a first write that is also the last takes the lease released", () =>
    Effect.scoped(Effect.gen(function*() {
      const mine = yield* process()
      const theirs = yield* process(2, { waitTimeout: "100 millis" })
      yield* mine.repository.insert(newPayment("pay_last"))
      const free = yield* mine.paymentLock.withPayment("pay_last", (payment) =>
        Effect.gen(function*() {
          yield* mine.repository.update(next(payment), payment.version, { lastWrite: true })
          // nothing more is written under it: another holder may take it at once
          return yield* theirs.lockManager.withLock("pay_last", Effect.succeed("free"))
        }), optimistic)
      expect(free).toBe("free")
      expect(yield* eventSeqs(mine.sql, "pay_last")).toEqual([1, 2])
    })), 60_000)

  it.live("interrupted while its first write runs: the write commits and no lease is left held", () =>
    Effect.scoped(Effect.gen(function*() {
      // one connection: the driver's cancel cannot overtake the statement (see Interruption.ts)
      const mine = yield* process(1)
      const theirs = yield* process(2, { waitTimeout: "200 millis" })
      yield* mine.repository.insert(newPayment("pay_interrupted_write"))
      // the payment row, row-locked by the test: the first write waits for it
      const letGo = yield* holdRowLock(theirs.sql, theirs.sql`SELECT 1 FROM aegis_payments WHERE id = 'pay_interrupted_write' FOR UPDATE`)
      const fiber = yield* Effect.fork(mine.paymentLock.withPayment("pay_interrupted_write", (payment) =>
        Effect.zipRight(mine.repository.update(next(payment), payment.version), Effect.never), optimistic))
      yield* awaitLockWaiter(theirs.sql)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* awaitInterruptionTaken(fiber)
      yield* letGo
      expect(Exit.isInterrupted(yield* Fiber.join(interrupting))).toBe(true)
      expect(yield* eventSeqs(theirs.sql, "pay_interrupted_write")).toEqual([1, 2])
      expect(yield* theirs.lockManager.withLock("pay_interrupted_write", Effect.succeed("free"))).toBe("free")
      const lease = yield* theirs.sql<{ n: string }>`SELECT count(*)::text AS n FROM aegis_locks WHERE key = 'pay_interrupted_write'`
      expect(lease[0]?.n).toBe("1")
    })), 60_000)

  it.live("a renewal keeps a lease taken by a first write", () =>
    Effect.scoped(Effect.gen(function*() {
      const mine = yield* process(4, { ttl: "1 minute" })
      yield* mine.repository.insert(newPayment("pay_renew"))
      const until = (sql: SqlClient.SqlClient) =>
        Effect.map(
          sql<{ us: string }>`SELECT (extract(epoch FROM locked_until) * 1000000)::bigint::text AS us FROM aegis_locks WHERE key = 'pay_renew'`,
          (rows) => BigInt(rows[0]?.us ?? "0")
        )
      const [first, renewed] = yield* mine.paymentLock.withPayment("pay_renew", (payment) =>
        Effect.gen(function*() {
          yield* mine.repository.update(next(payment), payment.version)
          const first = yield* until(mine.sql)
          yield* mine.renew
          return [first, yield* until(mine.sql)] as const
        }), optimistic)
      expect(renewed).toBeGreaterThan(first)
      expect(yield* isHeld(mine.sql, "pay_renew")).toBe(false)
    })), 60_000)

  it.live("another tenant's payment is not handed over, optimistically or not", () =>
    Effect.scoped(Effect.gen(function*() {
      const mine = yield* process()
      yield* mine.repository.insert(newPayment("pay_tenant"))
      const exit = yield* Effect.exit(
        mine.paymentLock.withPayment("pay_tenant", () => Effect.void, optimistic).pipe(Tenant.with("another"))
      )
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause).includes("PaymentNotFound")).toBe(true)
      expect(yield* isHeld(mine.sql, "pay_tenant")).toBe(false)
    })), 60_000)
})
