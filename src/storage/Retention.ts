/**
 * Retention of the PostgreSQL tables that would otherwise grow without bound.
 *
 * - **Delivered outbox rows** older than `outbox` (default 7 days). Pending and dead-lettered
 *   rows are never deleted: dead letters wait for an operator. The event log (`aegis_events`) is
 *   the record of every change and is never purged.
 * - **Lock rows** whose lease ended more than `locks` ago (default 1 hour). Released leases and
 *   leases of settled payments are rows no one holds; fencing tokens come from a sequence, so a
 *   deleted row never lets a token repeat, and every payment write is still version-checked.
 * - **Idempotency records** completed more than `idempotency` ago (default 24 hours), through
 *   `IdempotencyStore.purge`.
 *
 * Each purge deletes at most `batchSize` rows per statement and repeats while batches are full, so
 * no statement holds locks for long. `layer` runs them on a supervised schedule (an error is
 * logged with its cause and the job goes on).
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect, Layer, Option, Schedule } from "effect"
import * as Background from "../internal/Background.js"
import { IdempotencyStore } from "./IdempotencyStore.js"
import { StorageError } from "./StorageError.js"

/**
 * Retention settings. Every field is optional; `false` keeps that table's rows forever.
 *
 * @since 0.1.0
 */
export interface RetentionOptions {
  /** How long delivered outbox rows are kept; default 7 days. */
  readonly outbox?: Duration.DurationInput | false | undefined
  /** How long a lock row is kept after its lease ended; default 1 hour. */
  readonly locks?: Duration.DurationInput | false | undefined
  /** How long completed idempotency records are kept; default 24 hours. */
  readonly idempotency?: Duration.DurationInput | false | undefined
  /** How often the jobs run; default every hour. */
  readonly interval?: Duration.DurationInput | undefined
  /** Rows deleted per statement; default 5,000. */
  readonly batchSize?: number | undefined
}

/**
 * What one purge deleted.
 *
 * @since 0.1.0
 */
export interface PurgeReport {
  readonly outbox: number
  readonly locks: number
  readonly idempotency: number
}

const seconds = (input: Duration.DurationInput): number => Duration.toMillis(Duration.decode(input)) / 1000

const storageError = (operation: string) => (cause: unknown) =>
  new StorageError({ operation, reason: cause instanceof Error ? cause.message : String(cause) })

/**
 * Runs every purge once and reports how many rows each deleted.
 *
 * @since 0.1.0
 */
export const purgeOnce = (options: RetentionOptions = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const batchSize = Math.max(1, options.batchSize ?? 5_000)
    const repeatWhileFull = (statement: Effect.Effect<ReadonlyArray<unknown>, StorageError>) => {
      const go = (total: number): Effect.Effect<number, StorageError> =>
        Effect.flatMap(statement, (rows) => rows.length >= batchSize ? go(total + rows.length) : Effect.succeed(total + rows.length))
      return go(0)
    }
    const outboxRetention = options.outbox ?? "7 days"
    const outbox = outboxRetention === false ? 0 : yield* repeatWhileFull(
      sql`
        DELETE FROM aegis_outbox WHERE id IN (
          SELECT id FROM aegis_outbox
          WHERE status = 'delivered' AND delivered_at < clock_timestamp() - make_interval(secs => ${seconds(outboxRetention)})
          LIMIT ${batchSize}
        ) RETURNING id`.pipe(Effect.mapError(storageError("Retention.outbox")))
    )
    const lockRetention = options.locks ?? "1 hour"
    const locks = lockRetention === false ? 0 : yield* repeatWhileFull(
      sql`
        DELETE FROM aegis_locks WHERE key IN (
          SELECT key FROM aegis_locks
          WHERE locked_until < clock_timestamp() - make_interval(secs => ${seconds(lockRetention)})
          LIMIT ${batchSize}
        ) RETURNING key`.pipe(Effect.mapError(storageError("Retention.locks")))
    )
    const idempotencyRetention = options.idempotency ?? "24 hours"
    const store = yield* Effect.serviceOption(IdempotencyStore)
    const idempotency = idempotencyRetention === false || Option.isNone(store) ? 0 : yield* Effect.flatMap(
      Clock.currentTimeMillis,
      (now) => store.value.purge(now - Duration.toMillis(Duration.decode(idempotencyRetention)))
    )
    const report: PurgeReport = { outbox, locks, idempotency }
    if (outbox + locks + idempotency > 0) yield* Effect.logInfo("retention purge", report)
    return report
  })

/**
 * The retention jobs, run every `interval` for the lifetime of the layer, supervised.
 *
 * @since 0.1.0
 */
export const layer = (options: RetentionOptions = {}): Layer.Layer<never, never, SqlClient.SqlClient> =>
  Layer.scopedDiscard(
    Background.fork("aegispay retention", purgeOnce(options), {
      schedule: Schedule.spaced(options.interval ?? "1 hour"),
      interval: options.interval ?? "1 hour"
    })
  )
