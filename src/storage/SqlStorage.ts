/**
 * {@link PaymentRepository} and {@link EventStore} on `@effect/sql` (PostgreSQL or PGlite).
 *
 * - Every write is one statement (data-modifying CTEs, hence atomic): the payment row, its events
 *   and their outbox rows commit together or not at all. Events are inserted only when the
 *   payment row was written.
 * - Updates are `… WHERE id = $1 AND version = $2`; when no row matches, nothing is written and
 *   the call fails with {@link VersionConflict}.
 * - Inserts are unique per (tenant, idempotency key) (`ON CONFLICT DO NOTHING`).
 * - A CHECK keeps `refunded_minor ≤ captured_minor ≤ amount_minor` in the database itself.
 * - No transaction is ever held across a gateway call: the repository is only called between them.
 * - An event committed under a correlation id (`Correlation.withId`) is stored with it (the
 *   `correlationId` key of its payload, in `aegis_events` and the outbox row).
 * - After a write that committed events, the {@link OutboxSignal} is announced, so an outbox relay
 *   in this process wakes at once. While none runs here, relays in other processes are woken by a
 *   NOTIFY sent after the commit, on its own, at most every 10 ms (PostgreSQL; see {@link layer}).
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, DateTime, Effect, Either, FiberRef, Layer, Option, Queue, Schema } from "effect"
import * as Payment from "../domain/Payment.js"
import { isStorable } from "../domain/Sanitize.js"
import { VersionConflict } from "../domain/PaymentError.js"
import { PaymentEvent } from "../domain/PaymentEvent.js"
import * as Correlation from "../observability/Correlation.js"
import * as PaymentSnapshot from "./PaymentSnapshot.js"
import { EventStore } from "./EventStore.js"
import { CurrentDeferredLease, CurrentLease, type DeferredLease, type Lease, LockUnavailable } from "./LockManager.js"
import * as OutboxSignal from "./OutboxSignal.js"
import { takeLease, TokenRow } from "./SqlLockManager.js"
import { decodeCursor, DuplicateIdempotencyKey, encodeCursor, PaymentRepository } from "./PaymentRepository.js"
import { StorageError } from "./StorageError.js"

const decodeSnapshot = Schema.decodeUnknownEither(Schema.Struct({ snapshot: Payment.Payment }))
const encodeEvent = Schema.encodeSync(PaymentEvent)
const decodeEvents = Schema.decodeUnknown(Schema.Array(PaymentEvent))

const VersionRow = Schema.Struct({ version: Schema.Number })
const decodeToken = Schema.decodeUnknownEither(TokenRow)
const PayloadRow = Schema.Struct({ payload: Schema.Unknown })

const storageError = (operation: string) => (error: SqlError.SqlError | { readonly message: string }) =>
  new StorageError({ operation, reason: error.message })


/**
 * Builds both services over the `SqlClient` in context; writes that commit events announce them
 * on the {@link OutboxSignal.OutboxSignal} in context.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const signal = yield* OutboxSignal.OutboxSignal

  /**
   * Payment writes must commit for real: inside a caller's transaction they would only be
   * savepoints, and the commit that must precede a gateway call would not be durable (a rollback
   * after the charge would lose the attempt and allow a second one). Refuse that.
   */
  const standalone = <A, E, R>(operation: string, write: Effect.Effect<A, E, R>): Effect.Effect<A, E | StorageError, R> =>
    Effect.flatMap(
      Effect.serviceOption(SqlClient.TransactionConnection),
      (enclosing): Effect.Effect<A, E | StorageError, R> =>
        Option.isSome(enclosing)
          ? Effect.fail(
            new StorageError({
              operation,
              reason: "payment writes cannot run inside an enclosing SQL transaction: they must commit on their own"
            })
          )
          : write
    )

  const paymentRow = (p: Payment.Payment) => ({
    state: p.state,
    gateway_transaction_id: p.gatewayTransactionId ?? null,
    captured_minor: p.capturedAmount.minor.toString(),
    refunded_minor: p.refundedAmount.minor.toString(),
    version: p.version,
    open_work: Payment.hasOpenWork(p),
    needs_review: Payment.needsReview(p),
    snapshot: JSON.stringify(PaymentSnapshot.encode(p)),
    updated_at: DateTime.toDateUtc(p.updatedAt)
  })

  /**
   * The events of `decision` and their outbox rows, as the tail of a `WITH` statement whose CTE
   * named `written` returns the payment row only when the write matched: the events are
   * inserted only then (one JSON parameter for every event, one statement for the whole write).
   */
  const eventsOf = (decision: Payment.Decision, correlationId: string | undefined) => {
    if (decision.events.length === 0) return sql``
    const events = JSON.stringify(decision.events.map((event) => ({
      event_id: event.eventId,
      payment_id: event.paymentId,
      seq: event.seq,
      type: event._tag,
      // the caller's correlation id (Correlation) travels with the stored event to the outbox and webhooks
      payload: Correlation.storedWith(encodeEvent(event), correlationId),
      occurred_at: DateTime.formatIso(event.occurredAt)
    })))
    return sql`, events AS (
        INSERT INTO aegis_events (event_id, payment_id, seq, type, payload, occurred_at)
        SELECT e.event_id, e.payment_id, e.seq, e.type, e.payload, e.occurred_at
        FROM jsonb_to_recordset(${events}::jsonb)
          AS e(event_id text, payment_id text, seq integer, type text, payload jsonb, occurred_at timestamptz)
        WHERE EXISTS (SELECT 1 FROM written)
        RETURNING event_id, payment_id, seq, type, payload, occurred_at
      ), outbox AS (
        -- a message is not due before its payment's pending ones (one waiting for a retry after a
        -- failed publication): claims walk only due messages, and this one could not be taken before.
        -- Otherwise it is due at once by the database's clock (claims compare with it): an
        -- application clock ahead of the database's must not make a committed message wait
        INSERT INTO aegis_outbox (event_id, payment_id, seq, type, payload, available_at, created_at)
        SELECT e.event_id, e.payment_id, e.seq, e.type, e.payload,
          GREATEST(LEAST(e.occurred_at, clock_timestamp()), (
            SELECT max(p.available_at) FROM aegis_outbox p WHERE p.payment_id = e.payment_id AND p.status = 'pending'
          )),
          e.occurred_at
        FROM events e
      )`
  }

  // what this process wrote and saw committed: read back unchanged, it needs no decoding
  const written = PaymentSnapshot.writtenFor(sql)

  // Synchronous decoding: rows are plain data, no effects needed.
  const decodeRows = (operation: string) => (rows: ReadonlyArray<unknown>) =>
    Effect.forEach(rows, (row) => {
      const known = written.recall(row)
      return known !== undefined ? Effect.succeed(known) : Either.match(decodeSnapshot(row), {
        onLeft: (e) => Effect.fail(storageError(operation)(e)),
        onRight: (r) => Effect.succeed(r.snapshot)
      })
    })

  const decodeRow = (operation: string) => (rows: ReadonlyArray<unknown>) =>
    Effect.map(decodeRows(operation)(rows.slice(0, 1)), (payments) => Option.fromNullable(payments[0]))

  // Text PostgreSQL cannot hold (NUL, an unpaired surrogate) is in no row, since every write is
  // validated: a lookup by it finds nothing, as on the memory layer, instead of a StorageError.
  const none = Effect.succeed(Option.none<Payment.Payment>())

  /** The version stored for `paymentId` now (0: no such payment; -1: unreadable). */
  const storedVersion = (paymentId: string) =>
    Effect.flatMap(sql`SELECT version FROM aegis_payments WHERE id = ${paymentId}`, (rows) =>
      rows[0] === undefined
        ? Effect.succeed(0)
        : Schema.decodeUnknown(VersionRow)(rows[0]).pipe(
          Effect.map((row) => row.version),
          Effect.orElseSucceed(() => -1)
        ))

  /**
   * The caller's lease on `paymentId`: held (`CurrentLease`), or deferred and not taken yet
   * (`CurrentDeferredLease`: its first write takes it; once taken, it is the held lease).
   */
  const leaseOf = (paymentId: string): Effect.Effect<Lease | DeferredLease | undefined> =>
    Effect.map(
      Effect.zip(FiberRef.get(CurrentLease), FiberRef.get(CurrentDeferredLease)),
      ([held, deferred]) => {
        if (Option.isSome(held) && held.value.key === paymentId) return held.value
        if (Option.isNone(deferred) || deferred.value.key !== paymentId) return undefined
        return deferred.value.acquired ?? deferred.value
      }
    )

  /** After a write of `decision` committed: remembered, and its events announced. */
  const committed = (decision: Payment.Decision) =>
    Effect.suspend(() => {
      written.remember(decision.payment)
      return decision.events.length > 0 ? signal.committed : Effect.void
    })

  /**
   * The first write under a deferred lease (`LockManager.DeferredLease`): takes the payment's lease and
   * writes in one statement, only if the stored version is still `expectedVersion` (the row is
   * locked first, so the check and the write see the same row) and the lease is free or expired.
   * On the holder's last write the lease is taken released (`-infinity`): the write was made under
   * it, and nothing follows. Otherwise nothing is written, no lease is taken, and the lease is
   * marked lost: the lock manager runs the operation again under the lock.
   *
   * The statement runs uninterruptibly: interrupted in flight it could still commit on the server,
   * and a lease whose token this process never learnt would stay held for a whole ttl.
   */
  const leaseAndUpdate = (
    decision: Payment.Decision,
    expectedVersion: number,
    deferred: DeferredLease,
    lastWrite: boolean
  ) =>
    Effect.gen(function*() {
      const p = decision.payment
      deferred.sent = true
      const until = lastWrite ? sql`'-infinity'::timestamptz` : sql`clock_timestamp() + ${deferred.ttl}::interval`
      yield* sql`
        WITH current_row AS (
          SELECT id FROM aegis_payments WHERE id = ${p.id} AND version = ${expectedVersion} FOR UPDATE
        ), lease AS (
          ${takeLease(sql, sql`SELECT id, ${deferred.owner}, nextval('aegis_lock_tokens'), ${until} FROM current_row`)}
        ), written AS (
          UPDATE aegis_payments SET ${sql.update(paymentRow(p))}
          WHERE id = ${p.id} AND version = ${expectedVersion} AND EXISTS (SELECT 1 FROM lease)
          RETURNING id
        ) ${eventsOf(decision, yield* Correlation.current)}
        SELECT token FROM lease WHERE EXISTS (SELECT 1 FROM written)`.pipe(
        // the token is recorded in the same uninterruptible region: the lock manager releases it
        Effect.flatMap((rows): Effect.Effect<void, LockUnavailable | StorageError> => {
          if (rows[0] === undefined) {
            deferred.lost = true
            return Effect.fail(
              new LockUnavailable({ key: p.id, reason: "the payment changed or is locked by another holder: retried under the lock" })
            )
          }
          return Either.match(decodeToken(rows[0]), {
            onLeft: (e) => Effect.fail(new StorageError({ operation: "update", reason: e.message })),
            onRight: ({ token }) => {
              deferred.acquired = { key: p.id, token, releasedByWrite: lastWrite }
              return Effect.void
            }
          })
        }),
        Effect.uninterruptible
      )
      yield* committed(decision)
    })

  const repository = PaymentRepository.of({
    insert: (decision) => {
      const p = decision.payment
      // one statement: the payment, its events and their outbox rows commit together or not at all
      return standalone("insert", Effect.gen(function*() {
        const inserted = yield* sql`
          WITH written AS (
            INSERT INTO aegis_payments ${
          sql.insert({
            id: p.id,
            tenant_id: p.tenantId,
            idempotency_key: p.idempotencyKey,
            customer_id: p.customer.id,
            currency: p.amount.currency,
            amount_minor: p.amount.minor.toString(),
            created_at: DateTime.toDateUtc(p.createdAt),
            ...paymentRow(p)
          })
        }
            ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
            RETURNING id
          ) ${eventsOf(decision, yield* Correlation.current)}
          SELECT id FROM written`
        if (inserted.length === 0) {
          return yield* new DuplicateIdempotencyKey({ tenantId: p.tenantId, idempotencyKey: p.idempotencyKey })
        }
        yield* committed(decision)
      })).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storageError("insert")(e))))
    },
    update: (decision, expectedVersion, options) => {
      const p = decision.payment
      const lastWrite = options?.lastWrite === true
      // one statement: the payment row, its events, their outbox rows and (on the holder's last
      // write) the release of its lease commit together or not at all
      return standalone("update", Effect.gen(function*() {
        const lease = yield* leaseOf(p.id)
        if (lease !== undefined && "lost" in lease) {
          // the holder's first write takes its deferred lease; after a lost one, nothing is written
          return yield* lease.lost
            ? new LockUnavailable({ key: p.id, reason: "lease lost: retried under the lock" })
            : leaseAndUpdate(decision, expectedVersion, lease, lastWrite)
        }
        const fence = lease !== undefined
          ? sql`AND NOT EXISTS (SELECT 1 FROM aegis_locks WHERE key = ${p.id} AND token > ${lease.token.toString()})`
          : sql``
        const release = lease !== undefined && lastWrite
          ? sql`, released AS (
                  UPDATE aegis_locks SET locked_until = '-infinity'
                  WHERE key = ${p.id} AND token = ${lease.token.toString()} AND EXISTS (SELECT 1 FROM written)
                )`
          : sql``
        const updated = yield* sql`
          WITH written AS (
            UPDATE aegis_payments SET ${sql.update(paymentRow(p))}
            WHERE id = ${p.id} AND version = ${expectedVersion} ${fence}
            RETURNING id
          ) ${release} ${eventsOf(decision, yield* Correlation.current)}
          SELECT id FROM written`
        if (updated.length === 0) {
          const actual = yield* storedVersion(p.id)
          if (actual === expectedVersion && lease !== undefined) {
            return yield* new LockUnavailable({ key: p.id, reason: "lease lost: a newer holder took the lock" })
          }
          return yield* new VersionConflict({ paymentId: p.id, expectedVersion, actualVersion: actual })
        }
        if (lease !== undefined && lastWrite) lease.releasedByWrite = true
        yield* committed(decision)
      })).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storageError("update")(e))))
    },
    findById: (id) =>
      !isStorable(id) ? none : sql`SELECT snapshot FROM aegis_payments WHERE id = ${id}`.pipe(
        Effect.mapError(storageError("findById")),
        Effect.flatMap(decodeRow("findById"))
      ),
    findByIdempotencyKey: (tenantId, key) =>
      !isStorable(tenantId) || !isStorable(key) ? none : sql`SELECT snapshot FROM aegis_payments WHERE tenant_id = ${tenantId} AND idempotency_key = ${key}`.pipe(
        Effect.mapError(storageError("findByIdempotencyKey")),
        Effect.flatMap(decodeRow("findByIdempotencyKey"))
      ),
    findByGatewayTransactionId: (transactionId) =>
      !isStorable(transactionId) ? none : sql`SELECT snapshot FROM aegis_payments WHERE gateway_transaction_id = ${transactionId} LIMIT 1`.pipe(
        Effect.mapError(storageError("findByGatewayTransactionId")),
        Effect.flatMap(decodeRow("findByGatewayTransactionId"))
      ),
    findByCustomer: (tenantId, customerId, page) => {
      if (!isStorable(tenantId) || !isStorable(customerId) || (page.cursor !== undefined && !isStorable(page.cursor))) {
        return Effect.succeed({ items: [], nextCursor: undefined })
      }
      const limit = Math.max(1, Math.min(100, Math.floor(page.limit)))
      const after = page.cursor === undefined
        ? sql``
        : sql`AND (created_at, id) < (SELECT created_at, id FROM aegis_payments WHERE id = ${decodeCursor(page.cursor)})`
      return sql`
        SELECT snapshot FROM aegis_payments
        WHERE tenant_id = ${tenantId} AND customer_id = ${customerId} ${after}
        ORDER BY created_at DESC, id DESC
        LIMIT ${limit + 1}`.pipe(
        Effect.mapError(storageError("findByCustomer")),
        Effect.flatMap(decodeRows("findByCustomer")),
        Effect.map((rows) => {
          const items = rows.slice(0, limit)
          const last = items[items.length - 1]
          return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : undefined }
        })
      )
    },
    findOpen: (before, limit) =>
      // GREATEST ignores NULL (never examined); the expression matches the partial index of 0010
      sql`SELECT snapshot FROM aegis_payments
          WHERE open_work AND GREATEST(updated_at, recovery_examined_at) < ${DateTime.toDateUtc(before)}
          ORDER BY GREATEST(updated_at, recovery_examined_at) LIMIT ${limit}`.pipe(
        Effect.mapError(storageError("findOpen")),
        Effect.flatMap(decodeRows("findOpen"))
      ),
    markExamined: (paymentIds, at) =>
      paymentIds.length === 0
        ? Effect.void
        : sql`UPDATE aegis_payments SET recovery_examined_at = ${DateTime.toDateUtc(at)}
              WHERE id IN ${sql.in(paymentIds)} AND open_work`.pipe(
          Effect.asVoid,
          Effect.mapError(storageError("markExamined"))
        ),
    findByState: (state, limit, updatedBefore) =>
      sql`SELECT snapshot FROM aegis_payments WHERE state = ${state} ${
        updatedBefore === undefined ? sql`` : sql`AND updated_at < ${DateTime.toDateUtc(updatedBefore)}`
      } ORDER BY updated_at LIMIT ${limit}`.pipe(
        Effect.mapError(storageError("findByState")),
        Effect.flatMap(decodeRows("findByState"))
      ),
    findNeedingReview: (tenantId, page) => {
      const limit = Math.max(1, Math.min(100, Math.floor(page.limit)))
      const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor)
      return sql`SELECT snapshot FROM aegis_payments WHERE needs_review ${
        tenantId === undefined ? sql`` : sql`AND tenant_id = ${tenantId}`
      } ${after === undefined ? sql`` : sql`AND id > ${after}`} ORDER BY id LIMIT ${limit + 1}`.pipe(
        Effect.mapError(storageError("findNeedingReview")),
        Effect.flatMap(decodeRows("findNeedingReview")),
        Effect.map((rows) => {
          const items = rows.slice(0, limit)
          const last = items[items.length - 1]
          return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : undefined }
        })
      )
    }
  })

  const read = (paymentId: string) =>
    sql`SELECT payload FROM aegis_events WHERE payment_id = ${paymentId} ORDER BY seq`.pipe(
      Effect.mapError(storageError("read")),
      Effect.flatMap((rows) =>
        Effect.forEach(rows, (row) => Effect.map(Schema.decodeUnknown(PayloadRow)(row), (r) => r.payload)).pipe(
          Effect.flatMap(decodeEvents),
          Effect.mapError(storageError("read"))
        )
      )
    )

  const eventStore = EventStore.of({
    read,
    rebuild: (paymentId) => Effect.flatMap(read(paymentId), (events) => Payment.fold(events))
  })

  return { repository, eventStore }
})

/**
 * At most one NOTIFY per this interval: commits in between are covered by the next one.
 */
const notifyInterval = "10 millis"

/** The pause after a failed NOTIFY. */
const notifyBackoff = "1 second"

/**
 * Wakes outbox relays in other processes after this process's commits, while no relay runs in
 * this one (`OutboxSignal.subscribeWithoutRelay`): one `pg_notify('aegis_outbox', 'inserted')`
 * (`OutboxSignal.channel`) after a commit that wrote events, then at most one per
 * {@link notifyInterval} while commits go on. On PostgreSQL only (NOTIFY does not cross PGlite's
 * connections).
 *
 * The NOTIFY is a statement of its own, after the payment's commit and never inside it: a
 * transaction that notifies holds a database-wide lock from the start of its commit to its end, so
 * committing writers that notify take turns, each waiting for the others' flushes (measured with
 * the bench's raw floor at concurrency 32: 230–285 → 418–465 payments/s without it). It commits
 * without waiting for its own flush: a NOTIFY lost in a database crash only leaves relays to their
 * poll. It is only a hint, so a failed NOTIFY is logged at Error with its cause and the loop goes
 * on after a second (commits meanwhile are covered by the next NOTIFY); it is not a readiness
 * worker: it runs only after commits, so a failure would never be cleared on a pod that readiness
 * takes out of traffic.
 */
const notifyOtherProcesses = (sql: SqlClient.SqlClient, signal: OutboxSignal.OutboxSignal["Type"]) =>
  Effect.gen(function*() {
    // subscribed now, before the layer is built: no commit is missed; only commits made while no
    // relay runs here wake this loop
    const commits = yield* signal.subscribeWithoutRelay
    const notify = Effect.gen(function*() {
      yield* Queue.take(commits)
      // (a relay may have started since: a NOTIFY more is harmless)
      yield* sql`SELECT set_config('synchronous_commit', 'off', true), pg_notify(${OutboxSignal.channel}, 'inserted')`.pipe(
        Effect.zipRight(Effect.sleep(notifyInterval)),
        Effect.catchAllCause((cause) =>
          Effect.logError("outbox notify failed; relays in other processes deliver on their next poll", cause).pipe(
            Effect.zipRight(Effect.sleep(notifyBackoff))
          )
        )
      )
    })
    yield* Effect.forkScoped(Effect.forever(notify))
  })

/**
 * SQL {@link PaymentRepository} and {@link EventStore}, with the {@link OutboxSignal.OutboxSignal}
 * their writes announce (give the same layer's output to an `OutboxRelay` so that it wakes on
 * this process's commits). Needs a `SqlClient` whose database has been migrated (see
 * `Migrations.layer`). On PostgreSQL, while no outbox relay runs in this process, it wakes the
 * relays of other processes after its commits (a NOTIFY of its own, at most every 10 ms).
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  PaymentRepository | EventStore | OutboxSignal.OutboxSignal,
  never,
  SqlClient.SqlClient
> = Layer.scopedContext(
  Effect.gen(function*() {
    const { eventStore, repository } = yield* make
    if (Option.isSome(yield* Effect.serviceOption(PgClient.PgClient))) {
      yield* notifyOtherProcesses(yield* SqlClient.SqlClient, yield* OutboxSignal.OutboxSignal)
    }
    return Context.make(PaymentRepository, repository).pipe(Context.add(EventStore, eventStore))
  })
).pipe(Layer.provideMerge(OutboxSignal.layer))
