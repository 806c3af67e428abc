/**
 * A {@link LockManager} for several processes on one PostgreSQL database: per-key leases with
 * fencing tokens.
 *
 * - Acquire: one conditional upsert takes the lease when it is free or expired, with a fresh
 *   fencing token from a sequence (tokens only grow, also across a server crash). Expiry is
 *   judged by the database clock, so processes with skewed clocks agree. The lease table is
 *   UNLOGGED: acquiring and releasing cost no WAL flush; a server crash frees all leases.
 * - While held, a background fiber renews the lease every `ttl / 3`.
 * - Release: when the effect ends (success, failure or interruption) the lease is expired at once.
 * - The token is published in {@link CurrentLease}; `SqlStorage` refuses a payment write when a
 *   newer token exists for that payment, so a holder that stalled past its lease cannot write.
 * - A caller waits, polling every `retryInterval`, at most `waitTimeout`; then {@link LockUnavailable}.
 * - No transaction is held open while the lock is held.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Fiber, Layer, Option, Schedule, Schema } from "effect"
import { Ids } from "../domain/Ids.js"
import { CurrentLease, LockManager, LockUnavailable } from "./LockManager.js"

/**
 * Lease settings.
 *
 * @since 0.1.0
 */
export interface Options {
  /** How long a lease lives without renewal; default 30 s. */
  readonly ttl?: Duration.DurationInput
  /** How long to wait for a held lock; default 10 s. */
  readonly waitTimeout?: Duration.DurationInput
  /** Poll interval while waiting; default 25 ms. */
  readonly retryInterval?: Duration.DurationInput
}

const TokenRow = Schema.Struct({ token: Schema.Union(Schema.BigInt, Schema.BigIntFromNumber) })

/**
 * Builds the lock manager over the `SqlClient` in context.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const owner = yield* (yield* Ids).next("owner")
    const ttlMillis = Duration.toMillis(Duration.decode(options.ttl ?? "30 seconds"))
    const waitTimeout = Duration.decode(options.waitTimeout ?? "10 seconds")
    const retryInterval = Duration.decode(options.retryInterval ?? "25 millis")
    const interval = `${Math.max(1, Math.round(ttlMillis))} milliseconds`

    const unavailable = (key: string, reason: string) => new LockUnavailable({ key, reason })

    const tryAcquire = (key: string) =>
      sql`
        INSERT INTO aegis_locks (key, owner, token, locked_until)
        VALUES (${key}, ${owner}, nextval('aegis_lock_tokens'), clock_timestamp() + ${interval}::interval)
        ON CONFLICT (key) DO UPDATE
          SET owner = excluded.owner, token = excluded.token, locked_until = excluded.locked_until
          WHERE aegis_locks.locked_until < clock_timestamp()
        RETURNING token`.pipe(
        Effect.mapError((e) => unavailable(key, e.message)),
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.fail(unavailable(key, "held by another owner"))
            : Schema.decodeUnknown(TokenRow)(rows[0]).pipe(
              Effect.map((row) => row.token),
              Effect.mapError((e) => unavailable(key, e.message))
            )
        )
      )

    const acquire = (key: string) =>
      tryAcquire(key).pipe(
        Effect.retry(Schedule.spaced(retryInterval).pipe(Schedule.upTo(waitTimeout))),
        Effect.mapError((e) => unavailable(key, `not acquired within ${Duration.format(waitTimeout)}: ${e.reason}`))
      )

    const renew = (key: string, token: bigint) =>
      sql`
        UPDATE aegis_locks SET locked_until = clock_timestamp() + ${interval}::interval
        WHERE key = ${key} AND owner = ${owner} AND token = ${token.toString()}`.pipe(
        Effect.ignore,
        Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, ttlMillis / 3)))),
        Effect.delay(Duration.millis(Math.max(1, ttlMillis / 3)))
      )

    const release = (key: string, token: bigint) =>
      sql`
        UPDATE aegis_locks SET locked_until = '-infinity'
        WHERE key = ${key} AND owner = ${owner} AND token = ${token.toString()}`.pipe(Effect.ignore)

    return LockManager.of({
      withLock: (key, effect) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
            // Waiting is interruptible; once acquired, release is guaranteed.
            const token = yield* restore(acquire(key))
            const renewal = yield* Effect.forkDaemon(Effect.interruptible(renew(key, token)))
            return yield* restore(Effect.locally(effect, CurrentLease, Option.some({ key, token }))).pipe(
              Effect.ensuring(Effect.zipRight(Fiber.interrupt(renewal), release(key, token)))
            )
          })
        )
    })
  })

/**
 * The PostgreSQL lock manager layer.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<LockManager, never, SqlClient.SqlClient | Ids> =>
  Layer.effect(LockManager, make(options))
