/**
 * The background workers of this process (outbox relay, recovery, retention, merchant webhook
 * deliveries) and how they are doing: what a readiness probe asks (`/ready` of the HTTP service).
 *
 * Every supervised loop of AegisPay registers here when it starts, where the composition provides
 * `Workers` (the SQL, embedded and memory compositions do), and reports each successful and each
 * failed iteration and its end. Reading the statuses is a map lookup: no I/O.
 *
 * Guarantees:
 * - A worker whose fiber ended (its scope closed, or it was interrupted) is `stopped`.
 * - A worker is `failing` from its `failingAfter`-th consecutive failed iteration (default 3)
 *   until its next success; one failure in between successes is `running`.
 * - Several workers of the same name (two relays) are reported apart (`name#2`).
 *
 * @since 0.2.0
 */
import { Clock, Context, Duration, Effect, Layer } from "effect"

/**
 * One worker as it is now.
 *
 * @since 0.2.0
 */
export interface WorkerStatus {
  /** The worker's name, `#n` appended for the n-th of the same name. */
  readonly name: string
  readonly state: "running" | "failing" | "stopped"
  readonly consecutiveFailures: number
  /** Epoch milliseconds (Effect `Clock`) of its start, last success and last failure. */
  readonly startedAt: number
  readonly lastSuccessAt: number | undefined
  readonly lastFailureAt: number | undefined
  /**
   * How often it succeeds when healthy, in milliseconds (its poll interval or schedule), when it
   * runs in iterations; `undefined` for a long-lived worker (a LISTEN), which is never stale.
   */
  readonly intervalMillis: number | undefined
}

/**
 * Registration settings of a worker.
 *
 * @since 0.2.0
 */
export interface RegisterOptions {
  /** How often the worker succeeds when healthy (see {@link WorkerStatus.intervalMillis}). */
  readonly interval?: Duration.DurationInput | undefined
}

/**
 * What a running worker reports.
 *
 * @since 0.2.0
 */
export interface WorkerHandle {
  readonly succeeded: Effect.Effect<void>
  readonly failed: Effect.Effect<void>
  readonly stopped: Effect.Effect<void>
}

/**
 * @since 0.2.0
 */
export class Workers extends Context.Tag("aegispay/Workers")<Workers, {
  /** Registers a worker that starts now. */
  readonly register: (name: string, options?: RegisterOptions) => Effect.Effect<WorkerHandle>
  /** Every worker registered in this process, in registration order. */
  readonly statuses: Effect.Effect<ReadonlyArray<WorkerStatus>>
}>() {}

/**
 * Options of {@link make}.
 *
 * @since 0.2.0
 */
export interface Options {
  /** Consecutive failed iterations from which a worker is `failing`; default 3. */
  readonly failingAfter?: number | undefined
}

interface Entry {
  readonly name: string
  readonly startedAt: number
  stopped: boolean
  consecutiveFailures: number
  lastSuccessAt: number | undefined
  lastFailureAt: number | undefined
  readonly intervalMillis: number | undefined
}

/**
 * A registry in memory (one per composition).
 *
 * @since 0.2.0
 */
export const make = (options: Options = {}): Effect.Effect<Workers["Type"]> =>
  Effect.sync(() => {
    const failingAfter = Math.max(1, options.failingAfter ?? 3)
    const entries: Array<Entry> = []
    const counts = new Map<string, number>()
    const register = (name: string, registerOptions: RegisterOptions = {}) =>
      Effect.map(Clock.currentTimeMillis, (now): WorkerHandle => {
        const n = (counts.get(name) ?? 0) + 1
        counts.set(name, n)
        const entry: Entry = {
          name: n === 1 ? name : `${name}#${n}`,
          startedAt: now,
          stopped: false,
          consecutiveFailures: 0,
          lastSuccessAt: undefined,
          lastFailureAt: undefined,
          intervalMillis: registerOptions.interval === undefined ? undefined : Duration.toMillis(Duration.decode(registerOptions.interval))
        }
        entries.push(entry)
        return {
          succeeded: Effect.map(Clock.currentTimeMillis, (at) => {
            entry.consecutiveFailures = 0
            entry.lastSuccessAt = at
          }),
          failed: Effect.map(Clock.currentTimeMillis, (at) => {
            entry.consecutiveFailures = entry.consecutiveFailures + 1
            entry.lastFailureAt = at
          }),
          stopped: Effect.sync(() => {
            entry.stopped = true
          })
        }
      })
    const statuses = Effect.sync(() =>
      entries.map((e): WorkerStatus => ({
        name: e.name,
        state: e.stopped ? "stopped" : e.consecutiveFailures >= failingAfter ? "failing" : "running",
        consecutiveFailures: e.consecutiveFailures,
        startedAt: e.startedAt,
        lastSuccessAt: e.lastSuccessAt,
        lastFailureAt: e.lastFailureAt,
        intervalMillis: e.intervalMillis
      }))
    )
    return Workers.of({ register, statuses })
  })

/**
 * The registry as a layer (the compositions provide it; one value, so one registry per build).
 *
 * @since 0.2.0
 */
export const layer: Layer.Layer<Workers> = Layer.effect(Workers, make())

/**
 * Registers a worker named `name` in the `Workers` of the context, if there is one, and gives
 * its handle (a handle that reports nowhere otherwise).
 *
 * @since 0.2.0
 */
export const register = (name: string, options: RegisterOptions = {}): Effect.Effect<WorkerHandle> =>
  Effect.flatMap(Effect.serviceOption(Workers), (workers) =>
    workers._tag === "Some" ? workers.value.register(name, options) : Effect.succeed(unreported))

const unreported: WorkerHandle = { succeeded: Effect.void, failed: Effect.void, stopped: Effect.void }
