/**
 * Supervised background loops: the one way AegisPay runs work in the background (recovery,
 * retention jobs, …).
 *
 * An iteration that fails or dies is logged at Error with its full cause and the loop goes on,
 * after an exponential backoff that resets on the next success; only interruption of the loop
 * (the end of its scope) stops it. Time comes from Effect's `Clock`, so `TestClock` drives it.
 *
 * @internal
 */
import { Duration, Effect, Schedule } from "effect"
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
}

/**
 * One iteration guarded: its failure or defect is logged at Error with the cause, then an
 * exponential backoff is waited. Succeeds with whether the iteration succeeded.
 *
 * @internal
 */
export const guard = <A, E, R>(name: string, iteration: Effect.Effect<A, E, R>, options: Options = {}) => {
  const base = Duration.toMillis(Duration.decode(options.backoff ?? "1 second"))
  const max = Duration.toMillis(Duration.decode(options.maxBackoff ?? "1 minute"))
  let failures = 0
  return iteration.pipe(
    Effect.as(true),
    Effect.tap(() => {
      failures = 0
    }),
    Effect.catchAllCause((cause) => {
      failures = failures + 1
      const delay = Math.min(max, base * 2 ** Math.min(failures - 1, 30))
      return Effect.logError(`${name} failed; retrying in ${delay} ms`, cause).pipe(
        Effect.annotateLogs({ worker: name, consecutiveFailures: failures }),
        Effect.zipRight(Effect.sleep(Duration.millis(delay))),
        Effect.as(false)
      )
    })
  )
}

/**
 * Runs `iteration` forever on `schedule`, supervised (see the module doc). Never fails.
 *
 * @internal
 */
export const loop = <A, E, R>(
  name: string,
  iteration: Effect.Effect<A, E, R>,
  options: Options = {}
): Effect.Effect<never, never, R> =>
  Effect.repeat(guard(name, iteration, options), options.schedule ?? Schedule.spaced("30 seconds")).pipe(
    Effect.zipRight(Effect.never),
    Effect.withLogSpan(name)
  )

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
