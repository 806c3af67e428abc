/**
 * Delivers the transactional outbox: events committed with their payment are published on the
 * {@link EventBus} (or any sink) at least once, in order per payment.
 *
 * - A relay claims a batch with `FOR UPDATE SKIP LOCKED` and a lease, so several relays (in one or
 *   many processes) share the work without blocking each other; a crashed relay's lease expires
 *   and its messages are claimed again.
 * - Only the earliest undelivered message of each payment is claimable, so per-payment order
 *   holds across relays.
 * - It wakes on `pg_notify('aegis_outbox')` but also polls every `pollInterval`: a notification
 *   is only a hint. After a wake-up it lingers (`linger`) so that one claim takes many messages.
 * - A message whose publication fails is retried after `retryDelay`; after `maxAttempts` it goes
 *   to the `dead` state with its last error, and the payment's later messages continue.
 * - A publication is bounded by `publishTimeout` (at most half the lease) and only starts while
 *   it would end within half the batch's lease; otherwise the rest of the batch is renewed first
 *   in one statement and any message whose lease was lost is skipped, never published.
 * - Published messages are marked delivered in one statement per batch, also when the relay is
 *   interrupted. Duplicates therefore happen only when a relay dies (or stalls longer than a
 *   lease) between publishing and marking delivered; consumers dedupe by `eventId` (see `Inbox`).
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Clock, Duration, Effect, Layer, Option, Queue, Schedule, Schema, Stream } from "effect"
import { Ids } from "../domain/Ids.js"
import { PaymentEvent } from "../domain/PaymentEvent.js"
import { StorageError } from "../storage/StorageError.js"
import { EventBus } from "./EventBus.js"

/**
 * Relay settings.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Messages claimed per round; default 100. */
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
   * After a wake-up, how long to let messages gather before claiming them; default 20 ms. Under
   * load this turns one claim per commit into one claim per interval (each claim scans the
   * pending messages' index); a full batch is followed by the next one at once.
   */
  readonly linger?: Duration.DurationInput
  /**
   * Whether a publication can wait (default true): then each one is bounded by `publishTimeout`.
   * `false` for a publisher that never waits, like the {@link EventBus} (a sliding PubSub), where
   * a timer per message would be pure cost; `layer` sets it.
   */
  readonly publishMayWait?: boolean
}

const ClaimedRow = Schema.Struct({
  id: Schema.Union(Schema.String, Schema.Number),
  payload: Schema.Unknown
})

const decodeEvent = Schema.decodeUnknown(PaymentEvent)

/**
 * Claims and delivers one batch; returns how many messages it handled.
 *
 * @since 0.1.0
 */
export const deliverBatch = <E, R>(
  owner: string,
  publish: (event: PaymentEvent) => Effect.Effect<void, E, R>,
  options: Options = {}
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const lease = `${Duration.toMillis(Duration.decode(options.lease ?? "30 seconds"))} milliseconds`
    const retry = `${Duration.toMillis(Duration.decode(options.retryDelay ?? "1 second"))} milliseconds`
    const maxAttempts = options.maxAttempts ?? 10
    const rows = yield* sql`
      WITH heads AS (
        SELECT DISTINCT ON (payment_id) id FROM aegis_outbox
        WHERE status = 'pending'
        ORDER BY payment_id, seq
      ), claimable AS (
        SELECT o.id FROM aegis_outbox o JOIN heads h ON h.id = o.id
        -- status is checked again here: FOR UPDATE re-evaluates this WHERE on the latest row version,
        -- so a head another relay delivered after our snapshot is skipped, never delivered twice
        WHERE o.status = 'pending' AND o.available_at <= clock_timestamp()
          AND (o.leased_until IS NULL OR o.leased_until < clock_timestamp())
        ORDER BY o.id
        LIMIT ${options.batchSize ?? 100}
        FOR UPDATE OF o SKIP LOCKED
      )
      UPDATE aegis_outbox SET lease_owner = ${owner}, leased_until = clock_timestamp() + ${lease}::interval
      WHERE id IN (SELECT id FROM claimable)
      RETURNING id, payload`
    const claimed = yield* Schema.decodeUnknown(Schema.Array(ClaimedRow))(rows)
    if (claimed.length === 0) return 0
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
    let leasedAt = yield* Clock.currentTimeMillis
    let owned = new Set(claimed.map((row) => String(row.id)))
    const renew = (ids: ReadonlyArray<string>) =>
      Effect.map(
        sql`
          UPDATE aegis_outbox SET leased_until = clock_timestamp() + ${lease}::interval
          WHERE id IN ${sql.in(ids)} AND lease_owner = ${owner} AND status = 'pending'
            AND leased_until > clock_timestamp()
          RETURNING id`,
        (kept) => new Set(kept.map((row) => String(row.id)))
      )
    const delivered: Array<string> = []
    // Published messages are recorded as delivered in one statement when the batch ends, also
    // when it is interrupted: a graceful shutdown never leaves a published message to be
    // delivered twice. Only a crash between publication and this record repeats a message.
    const recordDelivered = Effect.suspend(() =>
      delivered.length === 0 ? Effect.void : sql`
        UPDATE aegis_outbox SET status = 'delivered', delivered_at = clock_timestamp(), leased_until = NULL
        WHERE id IN ${sql.in(delivered)} AND lease_owner = ${owner}`.pipe(Effect.asVoid)
    )
    yield* Effect.gen(function*() {
      for (let i = 0; i < claimed.length; i++) {
        const row = claimed[i]!
        const id = String(row.id)
        if ((yield* Clock.currentTimeMillis) - leasedAt > budget) {
          const rest = claimed.slice(i).map((r) => String(r.id)).filter((r) => owned.has(r))
          leasedAt = yield* Clock.currentTimeMillis
          owned = rest.length === 0 ? new Set() : yield* renew(rest)
        }
        if (!owned.has(id)) continue
        const publication = decodeEvent(row.payload).pipe(
          Effect.mapError((e) => e.message),
          Effect.flatMap((event) => Effect.mapError(publish(event), (e) => String(e)))
        )
        const outcome = yield* Effect.either(
          options.publishMayWait === false ? publication : publication.pipe(Effect.timeoutFail({
            duration: publishTimeout,
            onTimeout: () => `publish timed out after ${Duration.format(publishTimeout)}`
          }))
        )
        if (outcome._tag === "Right") {
          delivered.push(id)
        } else {
          yield* sql`
            UPDATE aegis_outbox SET
              attempts = attempts + 1,
              last_error = ${outcome.left.slice(0, 2000)},
              status = CASE WHEN attempts + 1 >= ${maxAttempts} THEN 'dead' ELSE 'pending' END,
              available_at = clock_timestamp() + ${retry}::interval,
              leased_until = NULL
            WHERE id = ${id} AND lease_owner = ${owner}`
        }
      }
    }).pipe(Effect.ensuring(Effect.orDie(recordDelivered)))
    return claimed.length
  }).pipe(
    Effect.catchTags({
      SqlError: (e) => Effect.fail(new StorageError({ operation: "outbox", reason: e.message })),
      ParseError: (e) => Effect.fail(new StorageError({ operation: "outbox", reason: e.message }))
    })
  )

/**
 * Runs a relay until interrupted: delivers batches while there is work, then waits for a
 * notification or the poll interval. Storage errors are logged and retried on the next round.
 *
 * @since 0.1.0
 */
export const run = <E, R>(publish: (event: PaymentEvent) => Effect.Effect<void, E, R>, options: Options = {}) =>
  Effect.gen(function*() {
    const owner = yield* (yield* Ids).next("relay")
    const wake = yield* Queue.sliding<void>(1)
    if (options.listen ?? true) {
      const pg = yield* Effect.serviceOption(PgClient.PgClient)
      if (Option.isSome(pg)) {
        yield* pg.value.listen("aegis_outbox").pipe(
          Stream.runForEach(() => Queue.offer(wake, undefined)),
          Effect.retry(Schedule.spaced("1 second")),
          Effect.forkScoped
        )
      }
    }
    const batchSize = options.batchSize ?? 100
    const round: Effect.Effect<void, never, SqlClient.SqlClient | R> = deliverBatch(owner, publish, options).pipe(
      Effect.catchAll((error) => Effect.as(Effect.logWarning("outbox relay round failed", error), 0)),
      Effect.flatMap((handled) => handled >= batchSize ? round : Effect.void)
    )
    const idle = Effect.zipRight(
      Effect.raceFirst(Queue.take(wake), Effect.sleep(options.pollInterval ?? "1 second")),
      Effect.sleep(options.linger ?? "20 millis")
    )
    return yield* Effect.forever(Effect.zipRight(round, idle))
  })

/**
 * A relay that publishes on the {@link EventBus}, running for the lifetime of the layer.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}) =>
  Layer.scopedDiscard(
    Effect.flatMap(EventBus, (bus) =>
      // the EventBus never waits (sliding PubSub): no timer per message
      Effect.forkScoped(run((event) => bus.publish([event]), { publishMayWait: false, ...options })))
  )
