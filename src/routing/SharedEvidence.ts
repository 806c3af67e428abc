/**
 * Learning shared across processes: the outcome counts of the `ADAPTIVE` router of every process
 * of a deployment, exchanged through a {@link Store} (PostgreSQL in production:
 * `SqlRoutingEvidence`), so that every process routes from the same evidence within seconds and a
 * process that starts late starts informed.
 *
 * **How.** The router of this process records each outcome it observes twice: in its own learner
 * (`AdaptiveRouting.observe`, at once) and here, in a map of this process's increments not yet
 * shared, per (gateway, payment context) — bounded: contexts are finite sets. Every `interval`
 * (one {@link exchange}):
 *
 * 1. the increments are appended to the store as one batch, tagged with this process's number
 *    (one row per (gateway, context) touched since the last exchange);
 * 2. the rows appended since the last exchange (`seq` above this process's watermark) are read,
 *    those of other processes applied to the learner with `AdaptiveRouting.observeCounts`, and
 *    the watermark moved past them;
 * 3. once per `pruneInterval`, rows older than `retention` are deleted.
 *
 * **Exactly once.** Every increment of this process is appended once (a failed append keeps it
 * for the next exchange) and never applied here again (rows of this process are skipped); every
 * other process's row is applied once, since the store hands out rows by a watermark that never
 * skips one (`Store.since`). Exception: an append whose answer is lost after the store committed
 * it (a connection cut at that instant) is appended again with the next batch: at least once then.
 * A reader that falls more than `retention` behind loses the rows pruned meanwhile.
 *
 * **Forgetting.** Remote counts are applied when read, as fresh evidence: they advance the
 * learner's clock by their total, so with sharing `memory`, `probeInterval` and `changeMemory`
 * count the observations of every process, not of this one.
 *
 * **Late start.** When the router attaches (when the composition is built, before its first
 * decision), the newest rows of the other processes are loaded, up to `startObservations`
 * outcomes (default 4 × the learner's longest memory, all when it is infinite; beyond it evidence weighs under e⁻⁴ in a running
 * process) and no older than `retention`, oldest first; the watermark starts at the store's
 * newest row.
 *
 * **Consistency window.** An outcome observed here reaches every other process within two
 * intervals plus two statements (one to flush it, one for the other's next read).
 *
 * The loop is supervised (a failed exchange is logged with its cause, retried with backoff, and
 * reported to `Workers` as `aegispay routing evidence`); when the layer's scope closes, the
 * increments not yet shared are flushed once.
 *
 * @since 0.3.0
 */
import { Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import type { Scope } from "effect"
import type { Payment } from "../domain/Payment.js"
import * as Background from "../internal/Background.js"
import type { Outcome } from "../observability/GatewayMetrics.js"
import type { StorageError } from "../storage/StorageError.js"
import * as Adaptive from "./Adaptive.js"

/**
 * Outcome counts of one gateway in one payment context (see `AdaptiveRouting.Context`).
 *
 * @since 0.3.0
 */
export interface Increment {
  readonly gateway: string
  readonly currency: string
  readonly method: string
  readonly brand: string
  readonly band: number
  readonly successes: number
  readonly failures: number
}

/**
 * An increment as stored: with its position `seq` (increasing in the order rows become visible)
 * and the number of the process that appended it.
 *
 * @since 0.3.0
 */
export interface Entry extends Increment {
  readonly seq: number
  readonly process: number
}

/**
 * Rows read from a store and the watermark to read from next.
 *
 * @since 0.3.0
 */
export interface Batch {
  readonly entries: ReadonlyArray<Entry>
  readonly watermark: number
}

/**
 * Where the processes exchange their increments.
 *
 * @since 0.3.0
 */
export interface Store {
  /** A process number no other user of the store was given. */
  readonly register: Effect.Effect<number, StorageError>
  /** Appends the increments of `process`, all or none. */
  readonly append: (process: number, increments: ReadonlyArray<Increment>) => Effect.Effect<void, StorageError>
  /**
   * At most `limit` rows with `seq` above `after`, ascending, and the watermark to read from next
   * (the last row's `seq`, or `after`). Guarantee: no row with `seq` at or below a watermark
   * returned here becomes visible later.
   */
  readonly since: (after: number, limit: number) => Effect.Effect<Batch, StorageError>
  /**
   * The newest rows appended within `window`: each row whose newer rows hold fewer than
   * `observations` outcomes (`Infinity`: all), ascending; the watermark is the newest `seq` in
   * the store.
   */
  readonly recent: (observations: number, window: Duration.Duration) => Effect.Effect<Batch, StorageError>
  /** Deletes rows appended more than `olderThan` ago, at most `batchSize` per statement; returns how many. */
  readonly prune: (olderThan: Duration.Duration, batchSize: number) => Effect.Effect<number, StorageError>
}

/**
 * Settings of the exchange. Every field is optional.
 *
 * @since 0.3.0
 */
export interface Options {
  /** How often this process flushes its increments and reads the others'; default 1 second. */
  readonly interval?: Duration.DurationInput | undefined
  /** How long rows are kept, and the oldest a late starter loads; default 15 minutes. */
  readonly retention?: Duration.DurationInput | undefined
  /** Outcomes a late starter loads at most; default 4 × the learner's longest memory (all within `retention` if infinite). */
  readonly startObservations?: number | undefined
  /** How often this process deletes expired rows; default every minute. */
  readonly pruneInterval?: Duration.DurationInput | undefined
  /** Rows per read and per delete statement; default 5,000. */
  readonly batchSize?: number | undefined
}

/**
 * What one {@link exchange} did.
 *
 * @since 0.3.0
 */
export interface Report {
  /** Rows appended (one per gateway and context) and the outcomes they hold. */
  readonly flushedRows: number
  readonly flushedObservations: number
  /** Rows of other processes applied and the outcomes they hold. */
  readonly appliedRows: number
  readonly appliedObservations: number
  /** Rows deleted by the retention purge. */
  readonly pruned: number
}

/**
 * Records one outcome observed by this process (called by the router's `observe`). Synchronous,
 * O(1).
 *
 * @since 0.3.0
 */
export type Recorder = (payment: Payment, gateway: string, outcome: Outcome) => void

/**
 * The exchange of this process. A router built where this service is in context (the SQL
 * compositions provide it with `ADAPTIVE`) attaches its learner to it.
 *
 * @since 0.3.0
 */
export class SharedEvidence extends Context.Tag("aegispay/SharedEvidence")<SharedEvidence, {
  /** This process's number in the store. */
  readonly process: number
  /**
   * Attaches a learner: the newest evidence of the other processes is loaded into it now (a
   * failure is logged and the load retried by the next exchange), the others' later evidence is
   * applied to it from then on, and the returned recorder shares what it observes.
   */
  readonly attach: (state: Adaptive.State) => Effect.Effect<Recorder>
  /** One exchange now (what the loop runs every `interval`). */
  readonly exchange: Effect.Effect<Report, StorageError>
}>() {}

const keyOf = (gateway: string, c: Adaptive.Context): string => `${gateway}|${c.currency}|${c.method}|${c.brand}|${c.band}`

const sum = (increments: ReadonlyArray<Increment>): number =>
  increments.reduce((n, i) => n + i.successes + i.failures, 0)

/**
 * The exchange of one process over `store` (registered in it now). Run {@link SharedEvidence}'s
 * `exchange` yourself, or use {@link layer} for the supervised loop.
 *
 * @since 0.3.0
 */
export const make = (store: Store, options: Options = {}): Effect.Effect<SharedEvidence["Type"], StorageError> =>
  Effect.gen(function*() {
    const self = yield* store.register
    const lock = yield* Effect.makeSemaphore(1)
    const retention = Duration.decode(options.retention ?? "15 minutes")
    const pruneEvery = Duration.toMillis(Duration.decode(options.pruneInterval ?? "1 minute"))
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? 5_000))
    const learners: Array<Adaptive.State> = []
    let pending = new Map<string, { -readonly [K in keyof Increment]: Increment[K] }>()
    let watermark: number | undefined = undefined
    let prunedAt = -Infinity

    const record: Recorder = (payment, gateway, outcome) => {
      const context = Adaptive.contextOf(payment)
      const key = keyOf(gateway, context)
      let entry = pending.get(key)
      if (entry === undefined) {
        entry = { gateway, ...context, successes: 0, failures: 0 }
        pending.set(key, entry)
      }
      if (outcome === "approved") entry.successes++
      else entry.failures++
    }
    const restore = (increments: ReadonlyArray<Increment>) =>
      Effect.sync(() => {
        for (const i of increments) {
          const key = keyOf(i.gateway, i)
          const entry = pending.get(key)
          if (entry === undefined) pending.set(key, { ...i })
          else {
            entry.successes += i.successes
            entry.failures += i.failures
          }
        }
      })
    // applies the rows of the other processes; returns the rows and outcomes applied
    const apply = (entries: ReadonlyArray<Entry>) =>
      Effect.sync(() => {
        let rows = 0
        let observations = 0
        for (const e of entries) {
          if (e.process === self) continue
          const context: Adaptive.Context = { currency: e.currency, method: e.method, brand: e.brand, band: e.band }
          for (const state of learners) Adaptive.observeCounts(state, e.gateway, context, e.successes, e.failures)
          rows++
          observations += e.successes + e.failures
        }
        return { rows, observations }
      })
    const startObservations = () =>
      options.startObservations ?? Math.max(0, ...learners.map((s) => 4 * (s.memories[s.memories.length - 1] ?? Infinity)))

    const flush = Effect.suspend(() => {
      if (pending.size === 0) return Effect.succeed({ rows: 0, observations: 0 })
      const increments = [...pending.values()]
      pending = new Map()
      return store.append(self, increments).pipe(
        Effect.onExit((exit) => exit._tag === "Failure" ? restore(increments) : Effect.void),
        Effect.as({ rows: increments.length, observations: sum(increments) })
      )
    })

    const exchange: Effect.Effect<Report, StorageError> = lock.withPermits(1)(Effect.gen(function*() {
      if (learners.length === 0) return { flushedRows: 0, flushedObservations: 0, appliedRows: 0, appliedObservations: 0, pruned: 0 }
      let appliedRows = 0
      let appliedObservations = 0
      let mark: number
      if (watermark === undefined) {
        // the first exchange of this process: the others' newest evidence (nothing of its own yet)
        const loaded = yield* store.recent(startObservations(), retention)
        const applied = yield* apply(loaded.entries)
        appliedRows += applied.rows
        appliedObservations += applied.observations
        watermark = mark = loaded.watermark
      } else {
        mark = watermark
      }
      const flushed = yield* flush
      // read until caught up (at most 10 batches per exchange)
      for (let page = 0; page < 10; page++) {
        const batch: Batch = yield* store.since(mark, batchSize)
        const applied = yield* apply(batch.entries)
        appliedRows += applied.rows
        appliedObservations += applied.observations
        watermark = mark = batch.watermark
        if (batch.entries.length < batchSize) break
      }
      let pruned = 0
      const now = yield* Clock.currentTimeMillis
      if (now - prunedAt >= pruneEvery) {
        pruned = yield* store.prune(retention, batchSize)
        prunedAt = now
      }
      return { flushedRows: flushed.rows, flushedObservations: flushed.observations, appliedRows, appliedObservations, pruned }
    }))

    const attach = (state: Adaptive.State): Effect.Effect<Recorder> =>
      Effect.sync(() => learners.push(state)).pipe(
        Effect.zipRight(exchange),
        Effect.timeout("10 seconds"),
        Effect.catchAllCause((cause) =>
          Effect.logWarning("routing evidence: the first load failed; the next exchange retries it", cause)
        ),
        Effect.as(record)
      )

    return SharedEvidence.of({ process: self, attach, exchange })
  })

/**
 * Flushes the increments not yet shared, once (the end of a process): failures are logged.
 */
const finalFlush = (evidence: SharedEvidence["Type"]) =>
  evidence.exchange.pipe(
    Effect.timeout("5 seconds"),
    Effect.catchAllCause((cause) => Effect.logWarning("routing evidence: the last flush failed", cause))
  )

/**
 * The exchange over the store `store` builds, with its supervised loop running every `interval`
 * for the lifetime of the layer (`Workers` name `aegispay routing evidence`) and a last flush
 * when it ends.
 *
 * @since 0.3.0
 */
export const layer = <E, R>(
  store: Effect.Effect<Store, E, R>,
  options: Options = {}
): Layer.Layer<SharedEvidence, E | StorageError, Exclude<R, Scope.Scope>> =>
  Layer.scoped(
    SharedEvidence,
    Effect.gen(function*() {
      const evidence = yield* make(yield* store, options)
      // added before the loop is forked: it runs after the loop is interrupted
      yield* Effect.addFinalizer(() => finalFlush(evidence))
      yield* Background.fork("aegispay routing evidence", evidence.exchange, {
        schedule: Schedule.spaced(options.interval ?? "1 second"),
        maxBackoff: "30 seconds"
      })
      return evidence
    })
  )

/**
 * A store in memory, for several exchanges in one process (tests, simulations): what one
 * appends, the others read. Rows are dated by Effect's `Clock` of the caller.
 *
 * @since 0.3.0
 */
export const makeMemoryStore: Effect.Effect<Store> = Effect.sync(() => {
  const rows: Array<Entry & { readonly at: number }> = []
  let processes = 0
  let seq = 0
  const now = Clock.currentTimeMillis
  return {
    register: Effect.sync(() => ++processes),
    append: (process, increments) =>
      Effect.map(now, (at) => {
        for (const i of increments) rows.push({ ...i, seq: ++seq, process, at })
      }),
    since: (after, limit) =>
      Effect.sync(() => {
        const entries = rows.filter((r) => r.seq > after).slice(0, Math.max(0, limit))
        return { entries, watermark: entries.length === 0 ? after : entries[entries.length - 1]!.seq }
      }),
    recent: (observations, window) =>
      Effect.map(now, (at) => {
        const entries: Array<Entry> = []
        let total = 0
        for (let i = rows.length - 1; i >= 0; i--) {
          const r = rows[i]!
          if (r.at <= at - Duration.toMillis(window) || total >= observations) break
          total += r.successes + r.failures
          entries.push(r)
        }
        return { entries: entries.reverse(), watermark: seq }
      }),
    prune: (olderThan, _batchSize) =>
      Effect.map(now, (at) => {
        const cutoff = at - Duration.toMillis(olderThan)
        const before = rows.length
        const kept = rows.filter((r) => r.at >= cutoff)
        rows.length = 0
        rows.push(...kept)
        return before - kept.length
      })
  }
})
