/**
 * A {@link LockManager} for several processes on one PostgreSQL database: per-key leases with
 * fencing tokens.
 *
 * - Acquire: one conditional upsert takes the lease when it is free or expired, with a fresh
 *   fencing token from a sequence (tokens only grow, also across a server crash). Expiry is
 *   judged by the database clock, so processes with skewed clocks agree. The lease table is
 *   UNLOGGED: acquiring and releasing cost no WAL flush; a server crash frees all leases.
 * - A caller interrupted while acquiring never leaves a lease held: the acquiring statement runs
 *   uninterruptibly (an interruption waits for it, one round trip) and a lease it took is
 *   released at once; the pauses between attempts are interruptible.
 * - While held, the lease is renewed every `ttl / 3` by one background fiber per lock manager,
 *   which renews every lease it holds in one statement (no fiber, no timer per lock). Renewal
 *   extends only a lease still held with the holder's token and never a released one (also one
 *   released by the holder's last payment write, or whose release commits while a renewal is
 *   under way). A lease that merely expired (renewal was late) and that nobody took meanwhile is
 *   extended again: its holder still has the newest token, so nothing was lost.
 * - Release: when the effect ends (success, failure or interruption) the lease is expired at once,
 *   unless the holder's last payment write already released it in its own transaction.
 * - The token is published in {@link CurrentLease}; `SqlStorage` refuses a payment write when a
 *   newer token exists for that payment, so a holder that stalled past its lease cannot write.
 * - A caller waits, polling every `retryInterval`, at most `waitTimeout`; then {@link LockUnavailable}.
 * - No transaction is held open while the lock is held.
 * - Its {@link PaymentLock} takes a payment's lease and reads the payment in one round trip
 *   (the `aegis_lock_and_read_tenant` function of migration 0011), for a payment of the current
 *   `Tenant` only: another tenant's payment fails with the `PaymentNotFound` of a missing id and
 *   no lease is taken.
 *
 * @since 0.1.0
 */
import { SqlClient, type Statement } from "@effect/sql"
import { Cause, Context, Duration, Effect, Exit, Layer, Option, Schedule, Schema, type Scope } from "effect"
import { Ids } from "../domain/Ids.js"
import * as Payment from "../domain/Payment.js"
import { PaymentNotFound } from "../domain/PaymentError.js"
import { isStorable } from "../domain/Sanitize.js"
import { Tenant } from "../domain/Tenant.js"
import { CurrentDeferredLease, CurrentLease, type DeferredLease, type Lease, LockManager, LockUnavailable } from "./LockManager.js"
import { PaymentLock, orNotFound } from "./PaymentLock.js"
import * as PaymentSnapshot from "./PaymentSnapshot.js"
import { StorageError } from "./StorageError.js"

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

/**
 * The statement (or CTE body) that takes a lease: inserts `row` (key, owner, a fresh token from
 * `aegis_lock_tokens`, locked_until) into `aegis_locks`, over a lease only when it is free or
 * expired by the database clock, and returns the new `token` (no row: held by another owner).
 * `SqlStorage` takes a deferred lease with it inside its first write's statement.
 *
 * @internal
 */
export const takeLease = (sql: SqlClient.SqlClient, row: Statement.Fragment) =>
  sql`
    INSERT INTO aegis_locks AS l (key, owner, token, locked_until) ${row}
    ON CONFLICT (key) DO UPDATE
      SET owner = excluded.owner, token = excluded.token, locked_until = excluded.locked_until
      WHERE l.locked_until < clock_timestamp()
    RETURNING l.token`

/**
 * The row {@link takeLease} returns.
 *
 * @internal
 */
export const TokenRow = Schema.Struct({ token: Schema.Union(Schema.BigInt, Schema.BigIntFromNumber) })
const LockAndReadRow = Schema.Struct({
  /** Null: no payment of the tenant has this id; no lease was taken. */
  token: Schema.NullOr(Schema.Union(Schema.BigInt, Schema.BigIntFromNumber)),
  snapshot: Schema.NullOr(Payment.Payment)
})
/** {@link LockAndReadRow} when the snapshot is one this process wrote (`PaymentSnapshot.Written`). */
const LockAndReadToken = Schema.Struct({ token: LockAndReadRow.fields.token })

/**
 * Builds the lock manager and the payment lock over the `SqlClient` in context (one owner id,
 * one lease machinery). `renew` renews every lease held now, as the background fiber does every
 * `ttl / 3` (for tests and diagnostics; holders never need to call it).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<
  {
    readonly lockManager: LockManager["Type"]
    readonly paymentLock: PaymentLock["Type"]
    readonly renew: Effect.Effect<void>
  },
  never,
  SqlClient.SqlClient | Ids | Scope.Scope
> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const owner = yield* (yield* Ids).next("owner")
    const ttlMillis = Duration.toMillis(Duration.decode(options.ttl ?? "30 seconds"))
    const waitTimeout = Duration.decode(options.waitTimeout ?? "10 seconds")
    const retryInterval = Duration.decode(options.retryInterval ?? "25 millis")
    const interval = `${Math.max(1, Math.round(ttlMillis))} milliseconds`

    /** The leases this manager holds now, by key, renewed together. */
    const holding = new Map<string, Lease>()
    /** The deferred leases of optimistic holders now (renewed with the others once taken). */
    const deferredHolding = new Set<DeferredLease>()

    const unavailable = (key: string, reason: string) => new LockUnavailable({ key, reason })
    const held = (key: string) => unavailable(key, "held by another owner")

    /** Decodes the first row of an acquiring statement; no row: the lease is held elsewhere. */
    const firstRow = <A, I>(key: string, schema: Schema.Schema<A, I>) => (rows: ReadonlyArray<unknown>) =>
      rows[0] === undefined
        ? Effect.fail(held(key))
        : Schema.decodeUnknown(schema)(rows[0]).pipe(Effect.mapError((e) => unavailable(key, e.message)))

    /**
     * Holds the lease of `key` while `use` runs: `tryAcquire` takes it (or fails with
     * LockUnavailable), retried until `waitTimeout`; renewed every `ttl / 3`; released when `use`
     * ends. `use` sees the lease in {@link CurrentLease}.
     *
     * Only the pauses between attempts are interruptible. An attempt runs uninterruptibly: an
     * acquiring statement interrupted in flight could still commit on the server and leave a
     * lease held by nobody for a whole ttl. An interruption that arrives during an attempt waits
     * for it (one round trip); if the attempt took the lease, it is released like any other
     * (`use` is interrupted at once, the release runs).
     */
    const leased = <X, A, E, R, E2 = never>(
      key: string,
      tryAcquire: Effect.Effect<{ readonly token: bigint; readonly value: X }, LockUnavailable | E2>,
      use: (value: X) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | E2 | LockUnavailable, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const retries = yield* Schedule.driver(Schedule.spaced(retryInterval).pipe(Schedule.upTo(waitTimeout)))
          // only a held lease is waited for; any other failure (no such payment) ends at once
          const acquire: Effect.Effect<{ readonly token: bigint; readonly value: X }, LockUnavailable | E2> = Effect.catchIf(
            tryAcquire,
            (e): e is LockUnavailable => e instanceof LockUnavailable,
            (e) =>
              restore(retries.next(e)).pipe(
                Effect.mapError(() => unavailable(key, `not acquired within ${Duration.format(waitTimeout)}: ${e.reason}`)),
                Effect.zipRight(Effect.suspend(() => acquire))
              )
          )
          const { token, value } = yield* acquire
          const lease: Lease = { key, token, releasedByWrite: false }
          holding.set(key, lease)
          return yield* restore(Effect.locally(use(value), CurrentLease, Option.some(lease))).pipe(
            Effect.ensuring(Effect.suspend(() => {
              if (holding.get(key) === lease) holding.delete(key)
              return lease.releasedByWrite ? Effect.void : release(key, token)
            }))
          )
        })
      )

    const tryAcquire = (key: string) =>
      takeLease(sql, sql`VALUES (${key}, ${owner}, nextval('aegis_lock_tokens'), clock_timestamp() + ${interval}::interval)`).pipe(
        Effect.mapError((e) => unavailable(key, e.message)),
        Effect.flatMap(firstRow(key, TokenRow)),
        Effect.map((row) => ({ token: row.token, value: undefined }))
      )

    /**
     * Takes the lease of a payment of `tenantId` and reads the payment in one statement (migration
     * 0011); `PaymentNotFound`, without a lease, when no payment of that tenant has this id.
     */
    const written = PaymentSnapshot.writtenFor(sql)
    const tryAcquireAndRead = (paymentId: string, tenantId: string) =>
      sql`SELECT token, snapshot FROM aegis_lock_and_read_tenant(${paymentId}, ${tenantId}, ${owner}, ${interval}::interval)`
        .pipe(
          Effect.mapError((e) => unavailable(paymentId, e.message)),
          Effect.flatMap((rows) => {
            // the version this process wrote last, unchanged since: the payment object itself
            const known = written.recall(rows[0])
            return known === undefined
              ? firstRow(paymentId, LockAndReadRow)(rows)
              : Effect.map(firstRow(paymentId, LockAndReadToken)(rows), ({ token }) => ({ token, snapshot: known }))
          }),
          Effect.flatMap((row) =>
            row.token === null
              ? Effect.fail(new PaymentNotFound({ paymentId }))
              : Effect.succeed({ token: row.token, value: Option.fromNullable(row.snapshot) })
          )
        )

    /**
     * Renews every lease held now, in one statement. A lease lost to another owner (other token)
     * or released is left alone. Released means `locked_until = '-infinity'`, as both releases
     * write it (this manager's and the holder's last write in `SqlStorage`); a release that
     * commits while this statement is under way is seen too: the row lock orders the two and the
     * second re-checks its condition.
     */
    const renewAll = Effect.suspend(() => {
      const live: Array<{ readonly key: string; readonly token: string }> = []
      for (const lease of holding.values()) {
        if (!lease.releasedByWrite) live.push({ key: lease.key, token: lease.token.toString() })
      }
      for (const { acquired } of deferredHolding) {
        if (acquired !== undefined && !acquired.releasedByWrite) live.push({ key: acquired.key, token: acquired.token.toString() })
      }
      if (live.length === 0) return Effect.void
      return sql`
        UPDATE aegis_locks SET locked_until = clock_timestamp() + ${interval}::interval
        FROM jsonb_to_recordset(${JSON.stringify(live)}::jsonb) AS h(key text, token bigint)
        WHERE aegis_locks.key = h.key AND aegis_locks.token = h.token AND aegis_locks.owner = ${owner}
          AND aegis_locks.locked_until <> '-infinity'`.pipe(Effect.ignore)
    })
    yield* renewAll.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, ttlMillis / 3)))),
      Effect.delay(Duration.millis(Math.max(1, ttlMillis / 3))),
      Effect.interruptible,
      Effect.forkScoped
    )

    const release = (key: string, token: bigint) =>
      sql`
        UPDATE aegis_locks SET locked_until = '-infinity'
        WHERE key = ${key} AND owner = ${owner} AND token = ${token.toString()}`.pipe(Effect.ignore)

    const lockManager = LockManager.of({
      withLock: (key, effect) => leased(key, tryAcquire(key), () => effect)
    })
    /** Whether `paymentId` is stored at `version` now. */
    const stillAt = (paymentId: string, version: number) =>
      sql`SELECT 1 AS present FROM aegis_payments WHERE id = ${paymentId} AND version = ${version}`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError((e) => new StorageError({ operation: "withPayment", reason: e.message }))
      )

    /**
     * The optimistic path (`PaymentLock.WithPaymentOptions`): `use` runs with `known` (the
     * version this process wrote last) under a deferred lease that its first write takes
     * (`SqlStorage`, in the same statement). Then:
     * - taken: the lease is released as any other (unless that write or a later one released it);
     * - lost (the payment changed, or someone holds its lease): nothing was written; `locked`;
     * - no write was made: `use`'s result stands if the payment is still at `known`'s version,
     *   else `locked`;
     * - a write was sent and failed in flight: its failure stands, as any failed write's.
     * An interrupted `use` is never run again. While taken, the lease is renewed with the others.
     */
    const optimistically = <A, E, R>(
      known: Payment.Payment,
      use: (payment: Payment.Payment) => Effect.Effect<A, E, R>,
      locked: Effect.Effect<A, E | PaymentNotFound | LockUnavailable | StorageError, R>
    ): Effect.Effect<A, E | PaymentNotFound | LockUnavailable | StorageError, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const deferred: DeferredLease = { key: known.id, owner, ttl: interval, sent: false, acquired: undefined, lost: false }
          deferredHolding.add(deferred)
          const exit = yield* restore(Effect.locally(use(known), CurrentDeferredLease, Option.some(deferred))).pipe(
            Effect.exit,
            Effect.ensuring(Effect.sync(() => deferredHolding.delete(deferred)))
          )
          const lease = deferred.acquired
          if (lease !== undefined) {
            if (!lease.releasedByWrite) yield* release(lease.key, lease.token)
            return yield* exit
          }
          if (Exit.isFailure(exit) && Cause.isInterrupted(exit.cause)) return yield* exit
          if (deferred.lost) return yield* restore(locked)
          if (deferred.sent) return yield* exit
          return (yield* stillAt(known.id, known.version)) ? yield* exit : yield* restore(locked)
        })
      )

    const paymentLock = PaymentLock.of({
      withPayment: (paymentId, use, options) =>
        isStorable(paymentId)
          ? Effect.flatMap(Tenant, (tenant) => {
            const locked = leased(
              paymentId,
              tryAcquireAndRead(paymentId, tenant.id),
              (found) => Effect.flatMap(orNotFound(paymentId, found), use)
            )
            const optimistic = options?.optimistic
            const known = optimistic === undefined ? undefined : written.latest(paymentId)
            return known !== undefined && optimistic !== undefined && known.tenantId === tenant.id && optimistic(known)
              ? optimistically(known, use, locked)
              : locked
          })
          : Effect.fail(new PaymentNotFound({ paymentId })) // no row can have this id: nothing to lock
    })
    return { lockManager, paymentLock, renew: renewAll }
  })

/**
 * The PostgreSQL {@link LockManager} and {@link PaymentLock} (sharing one owner id).
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<LockManager | PaymentLock, never, SqlClient.SqlClient | Ids> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ lockManager, paymentLock }) =>
      Context.make(LockManager, lockManager).pipe(Context.add(PaymentLock, paymentLock)))
  )
