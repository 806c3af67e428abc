/**
 * Supervised background loops: the one way AegisPay runs work in the background (recovery,
 * retention jobs, …).
 *
 * An iteration that fails or dies is logged at Error with its full cause and the loop goes on,
 * after an exponential backoff that resets on the next success (the outbox relay's rounds and
 * LISTEN use {@link supervise} directly); only interruption of the loop
 * (the end of its scope) stops it. Time comes from Effect's `Clock`, so `TestClock` drives it.
 * Each loop reports its iterations and its end to the `Workers` of the context, when there is one
 * (what the HTTP service's `/ready` reads).
 *
 * @internal
 */
import { Duration, Effect, Schedule } from "effect"
import * as Workers from "../observability/Workers.js"
import type { Scope } from "effect"

/**
 * Settings of a supervised loop.
 *
 * @internal
 */
export interface Options {
  /** When the next iteration starts after a successful one (default: every 30 s). */
  readonly schedule?: Schedule.Schedule<unknown> | undefined
  /** First extra delay after a failed iteration; doubles per consecutive failure (default 1 s). */
  readonly backoff?: Duration.DurationInput | undefined
  /** The longest backoff (default 1 minute). */
  readonly maxBackoff?: Duration.DurationInput | undefined
  /**
   * How often the loop succeeds when healthy (its poll interval, its schedule's spacing), for
   * readiness: a worker without a success for several intervals is stale (`Workers`). Absent:
   * never stale.
   */
  readonly interval?: Duration.DurationInput | undefined
}

/**
 * Runs `body` over and over, supervised: after a failure or a defect the cause is logged at Error
 * and the next run waits a backoff that doubles from `backoff` up to `maxBackoff`; a success, or
 * `body` running the `reset` it is given (for a body that lives long), resets it. Never fails.
 *
 * @internal
 */
export const supervise = <E, R>(
  name: string,
  body: (reset: Effect.Effect<void>) => Effect.Effect<unknown, E, R>,
  options: Pick<Options, "backoff" | "maxBackoff" | "interval"> = {}
): Effect.Effect<never, never, R> =>
  Effect.flatMap(Workers.register(name, { interval: options.interval }), (worker) => {
    const initial = Duration.decode(options.backoff ?? "1 second")
    const max = Duration.max(initial, Duration.decode(options.maxBackoff ?? "1 minute"))
    let delay = initial
    let failures = 0
    const reset = Effect.zipRight(
      Effect.sync(() => {
        delay = initial
        failures = 0
      }),
      worker.succeeded
    )
    return Effect.forever(Effect.matchCauseEffect(body(reset), {
      onFailure: (cause) =>
        Effect.suspend(() => {
          failures = failures + 1
          const wait = delay
          delay = Duration.min(Duration.times(delay, 2), max)
          return Effect.logError(`${name} failed; retrying in ${Duration.format(wait)}`, cause).pipe(
            Effect.annotateLogs({ worker: name, consecutiveFailures: failures }),
            Effect.zipRight(worker.failed),
            Effect.zipRight(Effect.sleep(wait))
          )
        }),
      onSuccess: () => reset
    })).pipe(Effect.ensuring(worker.stopped))
  })

/**
 * Runs `iteration` forever on `schedule`, supervised (see {@link supervise}): after a failed
 * iteration, the backoff and then the schedule's delay. Never fails.
 *
 * @internal
 */
export const loop = <A, E, R>(
  name: string,
  iteration: Effect.Effect<A, E, R>,
  options: Options = {}
): Effect.Effect<never, never, R> =>
  Effect.suspend(() => {
    let restarted = false
    const schedule = options.schedule ?? Schedule.spaced("30 seconds")
    // a schedule that ends leaves the loop idle, as `Effect.repeat` would
    const body = (reset: Effect.Effect<void>) =>
      Effect.gen(function*() {
        const driver = yield* Schedule.driver(schedule)
        const next = driver.next(undefined).pipe(Effect.catchAll(() => Effect.never))
        if (restarted) yield* next
        restarted = true
        while (true) {
          yield* iteration
          yield* reset
          yield* next
        }
      })
    return supervise(name, body, options)
  }).pipe(Effect.withLogSpan(name))

/**
 * {@link loop} forked into the current scope: it stops when the scope closes.
 *
 * @internal
 */
export const fork = <A, E, R>(
  name: string,
  iteration: Effect.Effect<A, E, R>,
  options: Options = {}
): Effect.Effect<void, never, R | Scope.Scope> => Effect.asVoid(Effect.forkScoped(loop(name, iteration, options)))
