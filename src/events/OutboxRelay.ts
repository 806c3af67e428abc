/**
 * Delivers the transactional outbox: events committed with their payment are published on the
 * {@link EventBus} (or any sink) at least once, in order per payment.
 *
 * - A relay claims a batch with `FOR UPDATE SKIP LOCKED` and a lease, so several relays (in one or
 *   many processes) share the work without blocking each other; a crashed relay's lease expires
 *   and its messages are claimed again.
 * - A payment is claimable when its earliest undelivered message is (due, not leased): a claim
 *   takes that message and the payment's later undelivered messages with it, and publishes them
 *   in sequence order. Another relay cannot claim the payment while the earliest message is
 *   leased, so per-payment order holds across relays, and a payment's events are drained in one
 *   round however many there are. Only an unbroken run of the payment's pending messages is
 *   published (a message it could not lock ends the run); the rest is released at once.
 * - It wakes when this process commits events (the {@link OutboxSignal} announced by the SQL
 *   storage layer in its context), on `pg_notify('aegis_outbox', …)` from other processes
 *   (PostgreSQL; on PGlite NOTIFY does not cross connections), and polls every `pollInterval`
 *   anyway: a wake-up is only a hint. While it runs, this process's SQL storage sends no NOTIFY
 *   (its commits are this relay's to deliver; see `SqlStorage`). After a wake-up it lingers
 *   (`linger`) so that one claim takes many messages; a round that handled `batchSize` messages
 *   or more is followed by the next at once.
 * - A message whose publication fails (or whose publisher dies) is retried after `retryDelay`,
 *   and the payment's later messages wait behind it (pushed back to the same time: a claim walks
 *   only due messages, so a publisher failing for every message does not make each claim walk
 *   every pending payment); after `maxAttempts` it goes to the `dead` state with its last error,
 *   and the payment's later messages continue.
 * - A publication is bounded by `publishTimeout` (at most half the lease) and only starts while
 *   it would end within half the batch's lease; otherwise the rest of the batch is renewed first
 *   in one statement and any message whose lease was lost is skipped (with the payment's later
 *   messages), never published.
 * - The relay's claims and records commit without waiting for their WAL flush (for their own
 *   transaction only): lost in a database crash, they only cause messages to be delivered again.
 * - Published messages are marked delivered in one statement per batch, also when the relay is
 *   interrupted. In {@link run} that statement is the next round's claim (one round trip for
 *   both: the claim leaves those messages out by id, since its snapshot still shows them
 *   pending), or a statement of its own when no round follows within `linger`, or after a
 *   failed round. Duplicates therefore happen only when a relay dies (or stalls longer than a
 *   lease), or the database keeps refusing that statement, between publishing and marking
 *   delivered; consumers dedupe by `eventId` (see `Inbox`).
 * - `OutboxSignal.flush` (a graceful shutdown's last step) wakes the relays of this process and
 *   waits until each has run a round that began after the call and left nothing due behind of
 *   what was committed before it (a claim that took nothing, or was not full and took only
 *   messages with ids above the highest id read after the call): those are then published and
 *   recorded delivered. Within a lease after a failed round a relay cannot vouch for that (its
 *   claimed messages may still be leased to it): the flush answers `false`.
 * - With a pool of 4 connections or more, a relay runs its own statements on one connection
 *   reserved while it runs (`reserveConnection`), so they never wait behind the application's.
 * - {@link run} never stops on an error: a failed round (or a failed LISTEN) is logged at Error
 *   with its cause and retried after a backoff that doubles from `backoff` up to 30 seconds.
 *
 * @since 0.1.0
 */
import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Cause, Clock, Duration, Effect, Either, Exit, Layer, Option, type ParseResult, Queue, Schedule, Schema, Stream } from "effect"
import type { Scope } from "effect"
import { Ids } from "../domain/Ids.js"
import * as Background from "../internal/Background.js"
import { PaymentEvent } from "../domain/PaymentEvent.js"
import * as Correlation from "../observability/Correlation.js"
import { channel, OutboxSignal, type RelayRegistration } from "../storage/OutboxSignal.js"
import { StorageError } from "../storage/StorageError.js"
import { EventBus } from "./EventBus.js"

/**
 * Relay settings.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * Payments claimed per round (each with its earliest undelivered message), plus at most as
   * many of their later messages; default 100.
   */
  readonly batchSize?: number
  /** How long a claim lasts before another relay may take it; default 30 s. */
  readonly lease?: Duration.DurationInput
  /** Poll interval when no notification arrives; default 1 s. */
  readonly pollInterval?: Duration.DurationInput
  /** Delay before a failed message is tried again; default 1 s. */
  readonly retryDelay?: Duration.DurationInput
  /** Failed attempts before a message is dead-lettered; default 10. */
  readonly maxAttempts?: number
  /** Longest wait for one publication before it counts as failed; default 10 s, at most half the lease. */
  readonly publishTimeout?: Duration.DurationInput
  /** Whether to LISTEN for notifications (PostgreSQL); default true. */
  readonly listen?: boolean
  /**
   * After a wake-up, how long to let messages gather before claiming them; default 5 ms. Under
   * load this turns one claim per commit into one claim per interval (each claim scans the
   * pending messages' index); a full batch is followed by the next one at once. It adds to the
   * delivery lag of a commit that finds the relay idle.
   */
  readonly linger?: Duration.DurationInput
  /**
   * Whether a publication can wait (default true): then each one is bounded by `publishTimeout`.
   * `false` for a publisher that never waits, like the {@link EventBus} (a sliding PubSub), where
   * a timer per message would be pure cost; `layer` sets it.
   */
  readonly publishMayWait?: boolean
  /**
   * The wait after a failed round (or a failed LISTEN) before the next attempt; it doubles with
   * each further failure, up to 30 seconds (or `backoff` when larger), and resets after a
   * success. Default 100 ms.
   */
  readonly backoff?: Duration.DurationInput
  /**
   * Whether the relay's own statements run on one connection reserved from the pool while it
   * runs, so that they never queue behind the application's statements for a pooled connection
   * (publications still run without it). Default: when the `PgClient` in context has a pool of
   * 4 connections or more (not the embedded PGlite's single connection). After a failed round
   * the connection is given back and another one reserved.
   */
  readonly reserveConnection?: boolean
}

/** Runs one of the relay's own statements (on its reserved connection, if it has one). */
type On = <A, E, R>(statement: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

const onPool: On = (statement) => statement

const ClaimedRow = Schema.Struct({
  id: Schema.Union(Schema.String, Schema.Number),
  payment_id: Schema.String,
  seq: Schema.Number,
  /** The payment's previous pending message when the claim was made; null for its earliest. */
  prev_seq: Schema.NullOr(Schema.Number),
  payload: Schema.Unknown
})

type ClaimedRow = typeof ClaimedRow.Type

const decodeClaimed = Schema.decodeUnknownEither(Schema.Array(ClaimedRow))

const decodeHighest = Schema.decodeUnknownEither(Schema.Tuple(Schema.Struct({ id: Schema.Union(Schema.String, Schema.Number) })))

/** What a claim took: how many messages, and (computed when asked) the lowest id among them. */
interface Claim {
  readonly handled: number
  readonly lowest: () => bigint | undefined
}

const nothingClaimed: Claim = { handled: 0, lowest: () => undefined }

const decodeEvent = Schema.decodeUnknownEither(PaymentEvent)

/**
 * A publication's outcome as the message's error (`undefined`: published). A publisher that fails
 * or dies fails its message (retried, then dead-lettered), not the relay; an interruption is not
 * an outcome and is passed on.
 */
const publicationError = <E>(exit: Exit.Exit<void, E>): Effect.Effect<string | undefined> => {
  if (Exit.isSuccess(exit)) return Effect.succeed(undefined)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return Effect.succeed(String(failure.value))
  if (Cause.isDie(exit.cause)) return Effect.succeed(`publisher died: ${Cause.pretty(exit.cause)}`)
  return Effect.failCause(Cause.map(exit.cause, () => undefined)).pipe(Effect.orDie)
}

const interval = (duration: Duration.DurationInput) => `${Duration.toMillis(Duration.decode(duration))} milliseconds`

const compareIds = (a: ClaimedRow, b: ClaimedRow) => {
  const x = BigInt(a.id)
  const y = BigInt(b.id)
  return x < y ? -1 : x > y ? 1 : 0
}

/**
 * The claimed messages in publication order: payments by their earliest claimed message, each
 * payment's messages by sequence, and of those only the unbroken run from the payment's earliest
 * pending message (`publish`); what follows a gap (a message another statement held, or one not
 * yet due) is handed back (`release`).
 */
const plan = (claimed: ReadonlyArray<ClaimedRow>) => {
  const byPayment = new Map<string, Array<ClaimedRow>>()
  for (const row of [...claimed].sort(compareIds)) {
    const rows = byPayment.get(row.payment_id)
    if (rows === undefined) byPayment.set(row.payment_id, [row])
    else rows.push(row)
  }
  const publish: Array<ClaimedRow> = []
  const release: Array<string> = []
  for (const rows of byPayment.values()) {
    rows.sort((a, b) => a.seq - b.seq)
    let previous: number | null = null
    let unbroken = true
    for (const row of rows) {
      unbroken = unbroken && row.prev_seq === previous
      if (unbroken) publish.push(row)
      else release.push(String(row.id))
      previous = row.seq
    }
  }
  return { publish, release }
}

/**
 * Claims and delivers one batch; returns how many messages it claimed. Fails only when the
 * database does (a failed publication is recorded on its message, not returned). Published
 * messages are recorded as delivered before it returns, also when it is interrupted or fails.
 *
 * @since 0.1.0
 */
export const deliverBatch = <E, R>(
  owner: string,
  publish: (event: PaymentEvent) => Effect.Effect<void, E, R>,
  options: Options = {}
): Effect.Effect<number, StorageError, SqlClient.SqlClient | R> =>
  Effect.flatMap(outsideTransaction, (relax) => Effect.map(deliverBatchOn(owner, publish, options, onPool, relax), (claim) => claim.handled))

/**
 * Whether the relay's statements run outside a transaction of the caller's (then they may commit
 * without waiting for their flush, see {@link relaxedCommit}); inside one, that setting would
 * relax the caller's whole transaction, so it is not used.
 */
const outsideTransaction = Effect.map(Effect.serviceOption(SqlClient.TransactionConnection), Option.isNone)

/**
 * Messages a relay published (`delivered`) or handed back (`release`) in earlier rounds and has
 * not recorded yet: {@link run} records them with its next claim, in the same statement.
 */
interface Carried {
  delivered: Array<string>
  release: Array<string>
}

const isEmpty = (carried: Carried) => carried.delivered.length === 0 && carried.release.length === 0

/**
 * The CTE `relaxed`, which makes the statement's transaction commit without waiting for its WAL
 * flush (`synchronous_commit = off`, for this transaction only); a statement's writes take effect
 * only after it is evaluated ({@link isRelaxed}). The relay's own bookkeeping (leases, delivered
 * marks) needs no flush: lost in a database crash, it only makes messages be delivered again
 * (at least once, in order per payment), and it then never delays a payment's commit, which
 * keeps waiting for its own flush. Inside a caller's transaction (`relax` false) the setting is
 * not touched: it would hold for the caller's whole transaction.
 */
const relaxedCommit = (sql: SqlClient.SqlClient, relax: boolean) =>
  relax
    ? sql`relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS setting)`
    : sql`relaxed AS (SELECT 'off'::text AS setting)`

/** The condition that evaluates `relaxed` before a row is written. */
const isRelaxed = (sql: SqlClient.SqlClient) => sql`(SELECT setting FROM relaxed) = 'off'`

/** Marks `delivered` delivered and hands `release` back, in one statement. */
const recordCarried = (owner: string, carried: Carried, on: On, relax: boolean) =>
  Effect.gen(function*() {
    if (isEmpty(carried)) return
    const sql = yield* SqlClient.SqlClient
    yield* on(sql`WITH ${relaxedCommit(sql, relax)}, ${recording(sql, owner, carried)} SELECT 1`).pipe(Effect.catchTag("SqlError", storageErrors.SqlError))
    carried.delivered = []
    carried.release = []
  })

/**
 * The CTEs (`recorded`, `released`) that record `carried` (not empty) within a statement that
 * has {@link relaxedCommit}.
 */
const recording = (sql: SqlClient.SqlClient, owner: string, carried: Carried) => {
  const delivered = carried.delivered.length === 0 ? ["-1"] : carried.delivered
  const release = carried.release.length === 0 ? ["-1"] : carried.release
  return sql`recorded AS (
      UPDATE aegis_outbox SET status = 'delivered', delivered_at = clock_timestamp(), leased_until = NULL
      WHERE id IN ${sql.in(delivered)} AND lease_owner = ${owner} AND ${isRelaxed(sql)}
      RETURNING id
    ), released AS (
      UPDATE aegis_outbox SET leased_until = NULL
      WHERE id IN ${sql.in(release)} AND lease_owner = ${owner} AND status = 'pending' AND ${isRelaxed(sql)}
      RETURNING id
    )`
}

const deliverBatchOn = <E, R>(
  owner: string,
  publish: (event: PaymentEvent) => Effect.Effect<void, E, R>,
  options: Options,
  on: On,
  relax: boolean,
  carried?: Carried
): Effect.Effect<Claim, StorageError, SqlClient.SqlClient | R> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // what earlier rounds published is recorded by this claim, in its statement; the claim reads
    // the snapshot from before that record, so those messages are left out of it by id
    const carry = carried !== undefined && !isEmpty(carried) ? carried : undefined
    const recorded = carry === undefined ? [] : carry.delivered
    // (only while still leased to this relay: one another relay took over stays a head)
    const notRecorded = (id: Statement.Fragment, leaseOwner: Statement.Fragment) =>
      recorded.length === 0 ? sql`` : sql`AND NOT (${id} IN ${sql.in(recorded)} AND ${leaseOwner} IS NOT DISTINCT FROM ${owner})`
    const lease = interval(options.lease ?? "30 seconds")
    const retry = interval(options.retryDelay ?? "1 second")
    const maxAttempts = options.maxAttempts ?? 10
    const batchSize = options.batchSize ?? 100
    // A payment is claimable when its earliest pending message is; its later pending messages
    // come with it (at most `batchSize` of them in all). `prev_seq` (from the statement's
    // snapshot) lets the relay publish only an unbroken run: a message skipped here because
    // another statement held it, or not yet due, ends the payment's run for this round.
    //
    // `due` walks the pending messages that are due, oldest first, one index entry at a time
    // (`ORDER BY available_at, id LIMIT 1` on `aegis_outbox_pending`, bounded by `statement_timestamp()`,
    // a stable value the index scan stops at); the claim locks each payment's earliest pending
    // message among them by its key and stops once `batchSize` are held. Messages waiting for a
    // retry are never walked: a failed message's later messages wait with it (see the failure's
    // statement; one committed afterwards is inserted waiting, by `SqlStorage`), so a publisher
    // that fails for every message (a broker outage) costs each claim the messages that came due
    // since, not every pending payment. Every read of the pending messages is a plain index scan:
    // it marks the entries of rows that are dead to everyone as dead as it passes them, so later
    // scans skip them; a bitmap scan does not, and with vacuum behind (or without one: PGlite has
    // no autovacuum) every claim would again visit every message delivered since the last vacuum.
    const rows = yield* on(sql`
      WITH RECURSIVE ${relaxedCommit(sql, relax)}, ${carry === undefined ? sql`` : sql`${recording(sql, owner, carry)},`} due AS (
        (SELECT id, payment_id, seq, available_at, leased_until FROM aegis_outbox
          WHERE status = 'pending' AND available_at <= statement_timestamp() ${notRecorded(sql`id`, sql`lease_owner`)}
          ORDER BY available_at, id LIMIT 1)
        UNION ALL
        SELECT n.id, n.payment_id, n.seq, n.available_at, n.leased_until FROM due d CROSS JOIN LATERAL (
          SELECT id, payment_id, seq, available_at, leased_until FROM aegis_outbox
          WHERE status = 'pending' AND available_at <= statement_timestamp() AND (available_at, id) > (d.available_at, d.id)
            ${notRecorded(sql`id`, sql`lease_owner`)}
          ORDER BY available_at, id LIMIT 1
        ) n
      ), claimable AS (
        -- the due heads (a payment's earliest pending message) in the walk's order, each locked by
        -- its key until batchSize are held: the walk stops there
        SELECT o.id, o.payment_id, o.seq FROM (
          SELECT d.id FROM due d
          WHERE (d.leased_until IS NULL OR d.leased_until < clock_timestamp())
            AND NOT EXISTS (
              SELECT 1 FROM aegis_outbox e
              WHERE e.payment_id = d.payment_id AND e.status = 'pending' AND e.seq < d.seq
                ${notRecorded(sql`e.id`, sql`e.lease_owner`)}
            )
        ) c CROSS JOIN LATERAL (
          -- status is checked again here: FOR UPDATE re-evaluates this WHERE on the latest row version,
          -- so a head another relay delivered after our snapshot is skipped, never delivered twice
          SELECT o.id, o.payment_id, o.seq FROM aegis_outbox o
          WHERE o.id = c.id AND o.status = 'pending' AND o.available_at <= clock_timestamp()
            AND (o.leased_until IS NULL OR o.leased_until < clock_timestamp())
          FOR UPDATE SKIP LOCKED
        ) o
        LIMIT ${batchSize}
      ), later AS (
        SELECT o.id FROM aegis_outbox o JOIN claimable c ON o.payment_id = c.payment_id AND o.seq > c.seq
        WHERE o.status = 'pending' AND o.available_at <= clock_timestamp()
          AND (o.leased_until IS NULL OR o.leased_until < clock_timestamp())
        ORDER BY o.payment_id, o.seq
        LIMIT ${batchSize}
        FOR UPDATE OF o SKIP LOCKED
      )
      UPDATE aegis_outbox u SET lease_owner = ${owner}, leased_until = clock_timestamp() + ${lease}::interval
      WHERE u.id IN (SELECT id FROM claimable UNION ALL SELECT id FROM later) AND ${isRelaxed(sql)}
      RETURNING u.id, u.payment_id, u.seq, u.payload, (
        SELECT max(p.seq) FROM aegis_outbox p
        WHERE p.payment_id = u.payment_id AND p.status = 'pending' AND p.seq < u.seq ${notRecorded(sql`p.id`, sql`p.lease_owner`)}
      ) AS prev_seq`)
    if (carry !== undefined) {
      carry.delivered = []
      carry.release = []
    }
    const claimed = yield* decodeClaimed(rows)
    if (claimed.length === 0) return nothingClaimed
    // the clock is read without an effect per message (the same clock, TestClock included)
    const clock = yield* Effect.clock
    const { publish: ordered, release } = plan(claimed)
    const leaseMillis = Duration.toMillis(Duration.decode(options.lease ?? "30 seconds"))
    // a publication must end well within the lease that covers it
    const publishTimeout = Duration.min(
      Duration.decode(options.publishTimeout ?? "10 seconds"),
      Duration.millis(leaseMillis / 2)
    )
    // The lease was taken by the database before its answer reached us, so time measured here
    // from the answer under-states its age by the answer's transit: a publication may only start
    // while it would end within half the lease by our clock; otherwise the rest of the batch is
    // renewed first (one statement), and what was lost meanwhile is dropped, never published.
    const budget = leaseMillis / 2 - Duration.toMillis(publishTimeout)
    let leasedAt = clock.unsafeCurrentTimeMillis()
    let owned = new Set(ordered.map((row) => String(row.id)))
    const renew = (ids: ReadonlyArray<string>) =>
      Effect.map(
        on(sql`
          UPDATE aegis_outbox SET leased_until = clock_timestamp() + ${lease}::interval
          WHERE id IN ${sql.in(ids)} AND lease_owner = ${owner} AND status = 'pending'
            AND leased_until > clock_timestamp()
          RETURNING id`),
        (kept) => new Set(kept.map((row) => String(row.id)))
      )
    // Published messages are recorded as delivered, and claimed ones left unpublished released, in
    // one statement when the batch ends, also when it is interrupted: a graceful shutdown never
    // leaves a published message to be delivered twice. Only a crash between publication and this
    // record (or a database that keeps refusing it) repeats a message.
    const round: Carried = { delivered: [], release }
    const record = recordCarried(owner, round, on, relax)
    /** In a run: what this round published and handed back is recorded with the next claim. */
    const carryOver = Effect.sync(() => {
      if (carried === undefined) return false
      carried.delivered.push(...round.delivered)
      carried.release.push(...round.release)
      round.delivered = []
      round.release = []
      return true
    })
    const publishAll = Effect.gen(function*() {
      // payments whose remaining messages must wait: one of theirs failed, or its lease was lost
      const blocked = new Set<string>()
      for (let i = 0; i < ordered.length; i++) {
        const row = ordered[i]!
        const id = String(row.id)
        if (blocked.has(row.payment_id)) {
          if (owned.has(id)) round.release.push(id)
          continue
        }
        if (clock.unsafeCurrentTimeMillis() - leasedAt > budget) {
          const rest = ordered.slice(i).map((r) => String(r.id)).filter((r) => owned.has(r))
          leasedAt = clock.unsafeCurrentTimeMillis()
          owned = rest.length === 0 ? new Set() : yield* renew(rest)
        }
        if (!owned.has(id)) {
          blocked.add(row.payment_id)
          continue
        }
        const event = decodeEvent(row.payload)
        let error: string | undefined
        if (Either.isLeft(event)) {
          error = event.left.message
        } else {
          const decoded = event.right
          // suspended: a publisher that throws instead of returning an effect fails this message
          // ("publisher died"), as one that dies does, not the whole round
          const publication = Effect.suspend(() => {
            // the stored correlation id stays with the event in this process (Correlation.ofEvent)
            const correlationId = Correlation.ofStored(row.payload)
            if (correlationId !== undefined) Correlation.rememberEvents([decoded], correlationId)
            return publish(decoded)
          })
          error = yield* Effect.flatMap(
            Effect.exit(
              options.publishMayWait === false ? publication : publication.pipe(Effect.timeoutFail({
                duration: publishTimeout,
                onTimeout: () => `publish timed out after ${Duration.format(publishTimeout)}`
              }))
            ),
            publicationError
          )
        }
        if (error === undefined) {
          round.delivered.push(id)
        } else {
          blocked.add(row.payment_id)
          // The payment's later pending messages wait with it (not before its retry): a claim walks
          // only due messages, so messages that cannot be taken before this one are never walked.
          yield* on(sql`
            WITH failed AS (
              UPDATE aegis_outbox SET
                attempts = attempts + 1,
                last_error = ${error.slice(0, 2000)},
                status = CASE WHEN attempts + 1 >= ${maxAttempts} THEN 'dead' ELSE 'pending' END,
                available_at = clock_timestamp() + ${retry}::interval,
                leased_until = NULL
              WHERE id = ${id} AND lease_owner = ${owner}
              RETURNING status, available_at
            )
            UPDATE aegis_outbox l SET available_at = f.available_at
            FROM failed f
            WHERE f.status = 'pending' AND l.payment_id = ${row.payment_id} AND l.seq > ${row.seq}
              AND l.status = 'pending' AND l.available_at < f.available_at`)
        }
      }
    })
    // Interrupted: record what was published (one attempt; on failure it is logged and those
    // messages are delivered again after their lease). Otherwise record after the batch whatever
    // its outcome (a failed record is retried twice), then fail with the batch's error if any.
    const outcome = yield* Effect.exit(publishAll.pipe(
      Effect.onInterrupt(() =>
        record.pipe(Effect.catchAllCause((cause) =>
          Effect.logError("outbox relay: recording deliveries on interruption failed", cause)
        ))
      )
    ))
    if (!(yield* carryOver)) yield* record.pipe(Effect.retry({ schedule: Schedule.exponential("50 millis"), times: 2 }))
    yield* outcome
    return {
      handled: claimed.length,
      lowest: () => BigInt(claimed.reduce((low, row) => compareIds(row, low) < 0 ? row : low).id)
    }
  }).pipe(Effect.catchTags(storageErrors))

/** The relay's statement and decoding failures, as `StorageError`s. */
const storageErrors = {
  SqlError: (e: SqlError.SqlError) =>
    Effect.fail(
      new StorageError({
        operation: "outbox",
        // the database's own message (e.g. the violated constraint) is in the cause
        reason: e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message
      })
    ),
  ParseError: (e: ParseResult.ParseError) => Effect.fail(new StorageError({ operation: "outbox", reason: e.message }))
}

/**
 * Runs a relay until interrupted: delivers batches while there is work, then waits for a wake-up
 * (a commit announced on the {@link OutboxSignal} in context, a NOTIFY on PostgreSQL) or the
 * poll interval. It never stops on an error: a failed round is logged at Error with its cause
 * and retried after a backoff; so is a failed LISTEN.
 *
 * @since 0.1.0
 */
export const run = <E, R>(
  publish: (event: PaymentEvent) => Effect.Effect<void, E, R>,
  options: Options = {}
): Effect.Effect<never, never, SqlClient.SqlClient | Ids | Scope.Scope | R> =>
  Effect.gen(function*() {
    const owner = yield* (yield* Ids).next("relay")
    // before the relay's own statements are given its reserved connection (as a TransactionConnection)
    const relax = yield* outsideTransaction
    const wake = yield* Queue.sliding<void>(1)
    const backoff: Background.Options = { backoff: options.backoff ?? "100 millis", maxBackoff: "30 seconds" }
    const signal = yield* Effect.serviceOption(OutboxSignal)
    if (Option.isSome(signal)) {
      const commits = yield* signal.value.subscribe
      yield* Queue.take(commits).pipe(
        Effect.zipRight(Queue.offer(wake, undefined)),
        Effect.forever,
        Effect.forkScoped
      )
    }
    const pg = yield* Effect.serviceOption(PgClient.PgClient)
    if (options.listen ?? true) {
      if (Option.isSome(pg)) {
        // (re)listening may have missed notifications: wake once then too
        const listening = Queue.offer(wake, undefined).pipe(
          Effect.zipRight(Stream.runForEach(pg.value.listen(channel), () => Queue.offer(wake, undefined))),
          Effect.zipRight(Effect.dieMessage("the LISTEN stream ended"))
        )
        yield* Effect.forkScoped(Background.supervise("outbox relay LISTEN", () => listening, backoff))
      }
    }
    const batchSize = options.batchSize ?? 100
    const pollInterval = options.pollInterval ?? "1 second"
    const linger = options.linger ?? "5 millis"
    const idle = Effect.raceFirst(Effect.as(Queue.take(wake), true), Effect.as(Effect.sleep(pollInterval), false)).pipe(
      Effect.flatMap((woken) => woken ? Effect.sleep(linger) : Effect.void)
    )
    const sql = yield* SqlClient.SqlClient
    const reserve = options.reserveConnection ??
      Option.match(pg, { onNone: () => false, onSome: (client) => (client.config.maxConnections ?? 10) >= 4 })
    // A failed round gives its reserved connection back (it may be the broken part) and the next
    // run of the loop reserves another one.
    // Published messages are recorded delivered by the next round's claim (one statement for
    // both); when no round follows within `linger`, on their own. After a failed round, what it
    // published is recorded on its own first; if that fails too, it is logged and left to its
    // lease (those messages are delivered again once it expires: at least once, never lost).
    const carried: Carried = { delivered: [], release: [] }
    const idleCarrying = (on: On) =>
      Effect.suspend(() =>
        isEmpty(carried)
          ? idle
          : Effect.raceFirst(Effect.as(Queue.take(wake), true), Effect.as(Effect.sleep(linger), false)).pipe(
            Effect.flatMap((woken) => woken ? Effect.sleep(linger) : Effect.zipRight(recordCarried(owner, carried, on, relax), idle))
          )
      )
    const recordOrLeave = (what: string, on: On) =>
      recordCarried(owner, carried, on, relax).pipe(
        Effect.catchAllCause((cause) => {
          carried.delivered = []
          carried.release = []
          return Effect.logError(`outbox relay: recording deliveries ${what} failed; they are delivered again after their lease`, cause)
        })
      )
    /** This relay's registration on the signal (set before the first round), and the last flush it answered. */
    let registration: RelayRegistration | undefined
    let flushedUpTo = 0
    // After a failed round, messages it claimed may stay leased to this relay, unpublished, until
    // their lease ends (a statement that failed, or whose answer was lost): no claim of this relay
    // sees them, so until then it answers flushes `false` rather than vouch for them.
    const leaseMillis = Duration.toMillis(Duration.decode(options.lease ?? "30 seconds"))
    let doubtfulUntil = Number.NEGATIVE_INFINITY
    /** The highest outbox id when the flush numbered `watermarkFor` was first seen by a round. */
    let watermark = 0n
    let watermarkFor = 0
    const highestId = (on: On) =>
      on(sql`SELECT COALESCE(max(id), 0) AS id FROM aegis_outbox`).pipe(
        Effect.flatMap((rows) => decodeHighest(rows)),
        Effect.map(([row]) => BigInt(row.id)),
        Effect.catchTags(storageErrors)
      )
    const rounds = (reset: Effect.Effect<void>) =>
      Effect.scoped(Effect.gen(function*() {
        let on = onPool
        if (reserve) {
          const connection = yield* sql.reserve
          // `SqlClient` runs a statement on the connection of `TransactionConnection` when there
          // is one; only the relay's own statements get it (no transaction is opened on it)
          on = (statement) => Effect.provideService(statement, SqlClient.TransactionConnection, [connection, 0])
        }
        yield* Effect.gen(function*() {
          yield* recordOrLeave("after a failed round", on)
          while (true) {
            // a wake-up pending when a round starts is covered by that round's claim: drop it first
            yield* Queue.takeAll(wake)
            // flush calls made before this claim are answered by a claim that leaves nothing behind
            // of what was committed before them: every message then has an id up to `watermark`
            // (the highest id, read after those calls)
            const requested = registration === undefined ? 0 : yield* registration.flushRequests
            /** The registration, while flush calls wait for this round's answer. */
            const flushing = registration !== undefined && requested > flushedUpTo ? registration : undefined
            if (flushing !== undefined && watermarkFor < requested) {
              watermark = yield* highestId(on)
              watermarkFor = requested
            }
            // messages this claim hands back are still leased in its own snapshot: not vouched for by it
            const releasing = carried.release.length > 0
            const { handled, lowest } = yield* deliverBatchOn(owner, publish, options, on, relax, carried)
            yield* reset
            if (flushing !== undefined) {
              // a claim that was not full took every due message it could: if none of them was
              // committed before the flush, none is left; it also recorded, in its statement, what
              // earlier rounds published (they are marked delivered)
              const low = lowest()
              const leftNothing = handled === 0 || (handled < batchSize && low !== undefined && low > watermark)
              if (!leftNothing || releasing) continue
              const now = yield* Clock.currentTimeMillis
              yield* flushing.flushed(requested, now >= doubtfulUntil)
              flushedUpTo = requested
            }
            if (handled < batchSize) yield* idleCarrying(on)
          }
        }).pipe(Effect.onInterrupt(() => recordOrLeave("on interruption", on)))
      }))
    // while the rounds run (until the relay is interrupted), this process's commits are delivered
    // here: its storage need not NOTIFY other processes; `OutboxSignal.flush` waits for them
    const doubtAfterFailure = (reset: Effect.Effect<void>) =>
      rounds(reset).pipe(Effect.tapErrorCause(() =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          doubtfulUntil = now + leaseMillis
        })
      ))
    return yield* Effect.scoped(Effect.gen(function*() {
      if (Option.isSome(signal)) {
        registration = yield* signal.value.relayRunning
        // flushes made before it registered are not this relay's to answer
        flushedUpTo = registration.since
      }
      return yield* Background.supervise("outbox relay round", doubtAfterFailure, { ...backoff, interval: pollInterval })
    }))
  })

/**
 * A relay that publishes on the {@link EventBus}, running for the lifetime of the layer. Give it
 * the output of the SQL storage layer (e.g. `Layer.provideMerge(SqlStorage.layer)`) so that it
 * wakes on this process's commits.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<never, never, EventBus | SqlClient.SqlClient | Ids> =>
  Layer.scopedDiscard(
    Effect.flatMap(EventBus, (bus) =>
      // the EventBus never waits (sliding PubSub): no timer per message
      Effect.forkScoped(run((event) => bus.publish([event]), { publishMayWait: false, ...options })))
  )

