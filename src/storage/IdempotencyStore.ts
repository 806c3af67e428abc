/**
 * Idempotency records with Stripe's semantics, for any operation.
 *
 * Per (tenant, key) the store keeps a fingerprint of the whole request (canonical: keys sorted,
 * nested fields included) and, once the operation has finished, its result:
 * - a repeat with the same request replays the stored result without running the operation;
 * - a repeat with a different request fails with `IdempotencyKeyReused`;
 * - a repeat while the first is still running fails with {@link IdempotencyKeyInUse};
 * - a record whose owner crashed (its lease expired) can be taken over and run again;
 * - records are kept at least `retention` (default 24 h); `purge` deletes older completed ones.
 *
 * Only successes are stored: a failed or interrupted operation releases its record, so the
 * caller may retry (an interrupted operation may have done its work: see {@link run}).
 * While the operation runs its lease is renewed every third of the lease, so only an owner that
 * stalls (or dies) longer than a lease can be taken over.
 * Request fingerprints are {@link fingerprint}s.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Clock, Context, Duration, Effect, Layer, Schedule, Schema } from "effect"
import { Ids } from "../domain/Ids.js"
import { fingerprint } from "./Fingerprint.js"
import { IdempotencyKeyReused, type ValidationError } from "../domain/PaymentError.js"
import { decode, IdempotencyKey, TenantId } from "../domain/PaymentRequest.js"
import { StorageError } from "./StorageError.js"

/**
 * An operation with this key is still running (or its owner crashed less than a lease ago).
 * Retry after a moment.
 *
 * @since 0.1.0
 */
export class IdempotencyKeyInUse extends Schema.TaggedError<IdempotencyKeyInUse>()("IdempotencyKeyInUse", {
  tenantId: Schema.String,
  idempotencyKey: Schema.String
}) {
  override get message(): string {
    return `a request with idempotency key ${JSON.stringify(this.idempotencyKey)} is still in progress`
  }
}

/**
 * What `begin` found.
 *
 * @since 0.1.0
 */
export type Begin =
  | { readonly _tag: "Started"; readonly owner: string }
  | { readonly _tag: "Completed"; readonly response: unknown }

/**
 * @since 0.1.0
 */
export class IdempotencyStore extends Context.Tag("aegispay/IdempotencyStore")<IdempotencyStore, {
  /** Starts (or takes over an expired) record, or finds the completed one. */
  readonly begin: (
    tenantId: string,
    key: string,
    fingerprint: string,
    lease: Duration.DurationInput
  ) => Effect.Effect<Begin, IdempotencyKeyReused | IdempotencyKeyInUse | StorageError>
  /** Stores the result of a started record; `false` when `owner` no longer holds it. */
  readonly complete: (
    tenantId: string,
    key: string,
    owner: string,
    response: unknown
  ) => Effect.Effect<boolean, StorageError>
  /** Extends a running record's lease; `false` when `owner` no longer holds it. */
  readonly renew: (
    tenantId: string,
    key: string,
    owner: string,
    lease: Duration.DurationInput
  ) => Effect.Effect<boolean, StorageError>
  /** Forgets a started record after a failure or an interruption, so the key can be used again. */
  readonly release: (tenantId: string, key: string, owner: string) => Effect.Effect<void, StorageError>
  /** Deletes completed records created before `before` (epoch ms); returns how many. */
  readonly purge: (before: number) => Effect.Effect<number, StorageError>
}>() {}

const Keys = Schema.Struct({ tenantId: TenantId, key: IdempotencyKey })

/**
 * Runs `effect` at most once per (tenant, key): a repeat with the same `request` replays the
 * stored result (encoded with `success`); see the module documentation for the other cases.
 *
 * A run that fails or is interrupted releases its record, so the caller may retry at once (an
 * interruption that arrives while the record is being taken waits for that statement, one round
 * trip, then releases the record).
 * After an interruption nothing says how far `effect` got: it may have done its work (moved
 * money, written rows) and been interrupted just before its result was stored, and a retry then
 * runs it again. Operations under `run` must therefore be safe to repeat on their own (stable
 * idempotency keys towards gateways, unique keys in their writes), or must not be interrupted.
 * The release is best effort: if the store cannot be reached, the record is freed when its lease
 * expires.
 *
 * Keys are compared exactly, as those of `createPayment`: a `key` or `tenantId` that is empty,
 * too long (255 / 64), has control characters or whitespace at either end is a `ValidationError`
 * (path `key` or `tenantId`) and `effect` does not run.
 *
 * @since 0.1.0
 */
export const run = <A, I, E, R>(
  options: {
    readonly tenantId: string
    readonly key: string
    readonly request: unknown
    readonly success: Schema.Schema<A, I>
    /** How long a running record is protected before another caller may take it over; default 60 s. */
    readonly lease?: Duration.DurationInput
    /**
     * Keeps these records apart from those of other callers using the same keys (e.g. `"http:"`
     * for the HTTP API's `Idempotency-Key`s): prepended to `key` after `key` was validated.
     */
    readonly namespace?: string
  },
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | ValidationError | IdempotencyKeyReused | IdempotencyKeyInUse | StorageError, R | IdempotencyStore> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      yield* decode(Keys, { tenantId: options.tenantId, key: options.key })
      const store = yield* IdempotencyStore
      const key = `${options.namespace ?? ""}${options.key}`
      const lease = options.lease ?? "60 seconds"
      // `begin` runs uninterruptibly: interrupted in flight, its statement could still commit and
      // leave the record held by nobody for a whole lease; an interruption waits for it instead,
      // and the record it took is released below
      const begun = yield* store.begin(options.tenantId, key, fingerprint(options.request), lease)
      if (begun._tag === "Completed") {
        return yield* Schema.decodeUnknown(options.success)(begun.response).pipe(
          Effect.mapError((e) => new StorageError({ operation: "idempotency replay", reason: e.message }))
        )
      }
      const { owner } = begun
      const every = Duration.millis(Math.max(1, Duration.toMillis(Duration.decode(lease)) / 3))
      const renewal = store.renew(options.tenantId, key, owner, lease).pipe(
        Effect.ignore,
        Effect.repeat(Schedule.spaced(every)),
        Effect.delay(every)
      )
      // on failure and on interruption alike (`tapErrorCause` would skip interruption)
      const result = yield* restore(Effect.scoped(Effect.zipRight(Effect.forkScoped(renewal), effect))).pipe(
        Effect.onError(() => Effect.ignore(store.release(options.tenantId, key, owner)))
      )
      const encoded = yield* Schema.encode(options.success)(result).pipe(
        Effect.mapError((e) => new StorageError({ operation: "idempotency store", reason: e.message }))
      )
      const stored = yield* store.complete(options.tenantId, key, owner, encoded)
      if (!stored) {
        return yield* new StorageError({
          operation: "idempotency complete",
          reason: `the record of ${key} was taken over while this call ran; its result was not stored`
        })
      }
      return result
    })
  )

interface MemoryRecord {
  readonly fingerprint: string
  readonly createdAt: number
  status: "running" | "completed"
  owner: string | undefined
  lockedUntil: number
  response: unknown
}

/**
 * A memory store (time from `Clock`).
 *
 * @since 0.1.0
 */
export const makeMemory = Effect.gen(function*() {
  const ids = yield* Ids
  const records = new Map<string, MemoryRecord>()
  // an unambiguous composite: no (tenant, key) pair can spell another one
  const k = (tenantId: string, key: string) => JSON.stringify([tenantId, key])
  return IdempotencyStore.of({
    begin: (tenantId, key, fp, lease) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const owner = yield* ids.next("idem")
        const existing = records.get(k(tenantId, key))
        if (existing === undefined) {
          records.set(k(tenantId, key), {
            fingerprint: fp,
            createdAt: now,
            status: "running",
            owner,
            lockedUntil: now + Duration.toMillis(Duration.decode(lease)),
            response: undefined
          })
          return { _tag: "Started", owner } as const
        }
        if (existing.fingerprint !== fp) {
          return yield* new IdempotencyKeyReused({ tenantId, idempotencyKey: key, existingId: key })
        }
        if (existing.status === "completed") return { _tag: "Completed", response: existing.response } as const
        if (existing.lockedUntil > now) return yield* new IdempotencyKeyInUse({ tenantId, idempotencyKey: key })
        existing.owner = owner
        existing.lockedUntil = now + Duration.toMillis(Duration.decode(lease))
        return { _tag: "Started", owner } as const
      }),
    complete: (tenantId, key, owner, response) =>
      Effect.sync(() => {
        const record = records.get(k(tenantId, key))
        if (record === undefined || record.owner !== owner) return false
        record.status = "completed"
        record.response = response
        record.owner = undefined
        return true
      }),
    renew: (tenantId, key, owner, lease) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const record = records.get(k(tenantId, key))
        if (record === undefined || record.owner !== owner || record.status !== "running") return false
        record.lockedUntil = now + Duration.toMillis(Duration.decode(lease))
        return true
      }),
    release: (tenantId, key, owner) =>
      Effect.sync(() => {
        const record = records.get(k(tenantId, key))
        if (record !== undefined && record.owner === owner && record.status === "running") records.delete(k(tenantId, key))
      }),
    purge: (before) =>
      Effect.sync(() => {
        let n = 0
        for (const [key, record] of records) {
          if (record.status === "completed" && record.createdAt < before) {
            records.delete(key)
            n++
          }
        }
        return n
      })
  })
})

/**
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<IdempotencyStore, never, Ids> = Layer.effect(IdempotencyStore, makeMemory)

const RecordRow = Schema.Struct({
  fingerprint: Schema.String,
  status: Schema.String,
  owner: Schema.NullOr(Schema.String),
  response: Schema.Unknown
})

/**
 * A PostgreSQL store (`aegis_idempotency`); lease expiry is judged by the database clock.
 *
 * @since 0.1.0
 */
export const makeSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const ids = yield* Ids
  const failed = (operation: string) => (e: { readonly message: string }) =>
    new StorageError({ operation, reason: e.message })
  return IdempotencyStore.of({
    begin: (tenantId, key, fp, lease) =>
      Effect.gen(function*() {
        const owner = yield* ids.next("idem")
        const interval = `${Duration.toMillis(Duration.decode(lease))} milliseconds`
        // Insert, or take over a running record whose lease expired (same fingerprint only).
        const taken = yield* sql`
          INSERT INTO aegis_idempotency (tenant_id, idempotency_key, fingerprint, status, owner, locked_until)
          VALUES (${tenantId}, ${key}, ${fp}, 'running', ${owner}, clock_timestamp() + ${interval}::interval)
          ON CONFLICT (tenant_id, idempotency_key) DO UPDATE
            SET owner = excluded.owner, locked_until = excluded.locked_until
            WHERE aegis_idempotency.status = 'running' AND aegis_idempotency.fingerprint = excluded.fingerprint
              AND aegis_idempotency.locked_until < clock_timestamp()
          RETURNING owner`
        if (taken.length > 0) return { _tag: "Started", owner } as const
        const rows = yield* sql`SELECT fingerprint, status, owner, response FROM aegis_idempotency
                                WHERE tenant_id = ${tenantId} AND idempotency_key = ${key}`
        if (rows[0] === undefined) return yield* new IdempotencyKeyInUse({ tenantId, idempotencyKey: key })
        const row = yield* Schema.decodeUnknown(RecordRow)(rows[0])
        if (row.fingerprint !== fp) {
          return yield* new IdempotencyKeyReused({ tenantId, idempotencyKey: key, existingId: key })
        }
        if (row.status === "completed") return { _tag: "Completed", response: row.response } as const
        return yield* new IdempotencyKeyInUse({ tenantId, idempotencyKey: key })
      }).pipe(Effect.catchTags({ SqlError: (e) => Effect.fail(failed("idempotency begin")(e)), ParseError: (e) => Effect.fail(failed("idempotency begin")(e)) })),
    complete: (tenantId, key, owner, response) =>
      sql`UPDATE aegis_idempotency
          SET status = 'completed', response = ${JSON.stringify(response ?? null)}::jsonb, owner = NULL,
              locked_until = NULL, completed_at = clock_timestamp()
          WHERE tenant_id = ${tenantId} AND idempotency_key = ${key} AND owner = ${owner}
          RETURNING 1`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failed("idempotency complete"))
      ),
    renew: (tenantId, key, owner, lease) =>
      sql`UPDATE aegis_idempotency
          SET locked_until = clock_timestamp() + ${`${Duration.toMillis(Duration.decode(lease))} milliseconds`}::interval
          WHERE tenant_id = ${tenantId} AND idempotency_key = ${key} AND owner = ${owner} AND status = 'running'
          RETURNING 1`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failed("idempotency renew"))
      ),
    release: (tenantId, key, owner) =>
      sql`DELETE FROM aegis_idempotency
          WHERE tenant_id = ${tenantId} AND idempotency_key = ${key} AND owner = ${owner} AND status = 'running'`.pipe(
        Effect.asVoid,
        Effect.mapError(failed("idempotency release"))
      ),
    purge: (before) =>
      sql`DELETE FROM aegis_idempotency WHERE status = 'completed' AND created_at < ${new Date(before)} RETURNING 1`.pipe(
        Effect.map((rows) => rows.length),
        Effect.mapError(failed("idempotency purge"))
      )
  })
})

/**
 * @since 0.1.0
 */
export const layerSql: Layer.Layer<IdempotencyStore, never, SqlClient.SqlClient | Ids> = Layer.effect(
  IdempotencyStore,
  makeSql
)

/**
 * A scoped background job purging completed records older than `retention` (default 24 h)
 * every `interval` (default 1 h).
 *
 * @since 0.1.0
 */
export const purgeJob = (options: { readonly retention?: Duration.DurationInput; readonly interval?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const store = yield* IdempotencyStore
    const retention = Duration.toMillis(Duration.decode(options.retention ?? "24 hours"))
    const purgeOnce = Effect.flatMap(Clock.currentTimeMillis, (now) => store.purge(now - retention)).pipe(
      Effect.catchAll((e) => Effect.as(Effect.logWarning("idempotency purge failed", e), 0))
    )
    return yield* Effect.forkScoped(Effect.repeat(purgeOnce, { schedule: Schedule.spaced(options.interval ?? "1 hour") }))
  })


