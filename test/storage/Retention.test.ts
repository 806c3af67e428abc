/**
 * Retention jobs on real PostgreSQL: what each purge deletes and keeps, and a retention worker
 * that keeps running when the database connection breaks under it.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import type { LogLevel} from "effect";
import { Effect, Layer, Logger, Queue, Redacted } from "effect"
import { IdempotencyStore, Ids } from "aegispay"
import { AegisPayPg, Migrations, Retention } from "aegispay/pg"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"

const clientOn = (url: string) => AegisPayPg.layerClient({ url: Redacted.make(url), maxConnections: 2 })
const storeOn = (url: string) =>
  Layer.mergeAll(IdempotencyStore.layerSql, Migrations.layer).pipe(Layer.provideMerge(Ids.layer), Layer.provideMerge(clientOn(url)))

const seed = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`TRUNCATE aegis_outbox, aegis_locks, aegis_idempotency`
  const row = (eventId: string, status: string, deliveredAgo: string | null) =>
    sql`INSERT INTO aegis_outbox (event_id, payment_id, seq, type, payload, status, available_at, created_at, delivered_at)
        VALUES (${eventId}, 'pay_1', 1, 'X', '{}'::jsonb, ${status}, now(), now(),
                ${deliveredAgo === null ? null : sql.literal(`now() - interval '${deliveredAgo}'`)})`
  yield* row("old-delivered", "delivered", "8 days")
  yield* row("new-delivered", "delivered", "1 hour")
  yield* row("old-pending", "pending", null)
  yield* row("old-dead", "dead", "30 days")
  yield* sql`INSERT INTO aegis_locks (key, owner, token, locked_until) VALUES
    ('released', 'p1', 1, '-infinity'), ('expired-long-ago', 'p1', 2, now() - interval '2 hours'),
    ('held', 'p2', 3, now() + interval '1 minute')`
  yield* sql`INSERT INTO aegis_idempotency (tenant_id, idempotency_key, fingerprint, status, created_at, completed_at) VALUES
    ('t', 'old', 'f', 'completed', now() - interval '2 days', now() - interval '2 days'),
    ('t', 'fresh', 'f', 'completed', now(), now()),
    ('t', 'running-old', 'f', 'running', now() - interval '2 days', null)`
})

const remaining = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const outbox = yield* sql<{ event_id: string }>`SELECT event_id FROM aegis_outbox ORDER BY event_id`
  const locks = yield* sql<{ key: string }>`SELECT key FROM aegis_locks ORDER BY key`
  const idempotency = yield* sql<{ idempotency_key: string }>`SELECT idempotency_key FROM aegis_idempotency ORDER BY idempotency_key`
  return {
    outbox: outbox.map((r) => r.event_id),
    locks: locks.map((r) => r.key),
    idempotency: idempotency.map((r) => r.idempotency_key)
  }
})

describe.skipIf(databaseUrl === undefined)("Retention on PostgreSQL", () => {
  const urlOf = useTestDatabase("retention")

  it.live("purges delivered outbox rows, ended leases and completed idempotency records past retention; keeps the rest", () =>
    Effect.gen(function*() {
      yield* seed
      const report = yield* Retention.purgeOnce({ batchSize: 1 }) // batches of one: the repeat-while-full path
      expect(report).toEqual({ outbox: 1, locks: 2, idempotency: 1 })
      expect(yield* remaining).toEqual({
        outbox: ["new-delivered", "old-dead", "old-pending"],
        locks: ["held"],
        idempotency: ["fresh", "running-old"]
      })
      // `false` keeps a table's rows; nothing left past the defaults
      yield* seed
      const kept = yield* Retention.purgeOnce({ outbox: false, locks: false, idempotency: false })
      expect(kept).toEqual({ outbox: 0, locks: 0, idempotency: 0 })
    }).pipe(Effect.provide(storeOn(urlOf()))))

  it.live("the retention worker logs a broken connection at Error and resumes when the database is back", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = urlOf()
      const name = new URL(url).pathname.slice(1)
      const logs = yield* Queue.unbounded<{ readonly level: LogLevel.LogLevel; readonly message: string }>()
      const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
        Queue.unsafeOffer(logs, { level: logLevel, message: String(Array.isArray(message) ? message[0] : message) })
      })
      const admin = yield* Layer.build(clientOn(databaseUrl!))
      const asAdmin = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.provide(effect, admin)
      const block = asAdmin(Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.zipRight(
          sql.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`),
          sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name}`
        )))
      const unblock = asAdmin(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)))
      yield* Effect.addFinalizer(() => Effect.ignore(unblock))

      const store = yield* Layer.build(storeOn(url))
      yield* Layer.build(
        Retention.layer({ interval: "20 millis" }).pipe(
          Layer.provide(Logger.replace(Logger.defaultLogger, logger)),
          Layer.provide(Layer.succeedContext(store))
        )
      )
      yield* block
      // an iteration fails on the broken connection: logged at Error, and the worker goes on
      let failure = yield* Queue.take(logs)
      while (failure.level._tag !== "Error") failure = yield* Queue.take(logs)
      expect(failure.message).toContain("aegispay retention failed")
      yield* unblock
      // back: a delivered row past retention is purged by a later iteration of the same worker
      // (the test writes through a fresh pool: the worker's pool may still hold a cut connection,
      // which is the worker's to survive, not the test's)
      const fresh = yield* Layer.build(clientOn(url))
      yield* Effect.provide(seed, fresh)
      let purged = yield* Queue.take(logs)
      while (purged.message !== "retention purge") purged = yield* Queue.take(logs)
      expect((yield* Effect.provide(remaining, fresh)).outbox).not.toContain("old-delivered")
    })), 30_000)
})
