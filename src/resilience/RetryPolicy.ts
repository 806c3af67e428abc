/**
 * Retry policies for gateway calls, as Effect `Schedule`s built from plain settings.
 *
 * Only {@link GatewayTransientError}s are retried, always with the same idempotency key, so a
 * retry can never charge twice. Declines, unknown outcomes and misconfigurations are never
 * retried.
 *
 * @since 0.1.0
 */
import { Duration, Schedule } from "effect"
import type { GatewayError } from "../gateway/Gateway.js"

/**
 * Retry settings. Delays grow from `initialDelayMs` by `backoffMultiplier` per retry, are
 * spread by ±`jitterFactor` (0–1, from Effect's `Random`, so a seed reproduces them) and capped
 * at `maxDelayMs`; at most `maxRetries` retries follow the first call.
 *
 * @since 0.1.0
 */
export interface RetrySettings {
  readonly maxRetries: number
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  readonly backoffMultiplier: number
  readonly jitterFactor?: number | undefined
}

/**
 * Two retries, 100 ms then 200 ms, capped at 2 s.
 *
 * @since 0.1.0
 */
export const defaults: RetrySettings = {
  maxRetries: 2,
  initialDelayMs: 100,
  maxDelayMs: 2_000,
  backoffMultiplier: 2
}

/**
 * Whether an error may be retried with the same idempotency key.
 *
 * @since 0.1.0
 */
export const isRetryable = (error: { readonly _tag: string }): boolean => error._tag === "GatewayTransientError"

/**
 * The schedule of `settings`: exponential, capped, limited to `maxRetries`, continuing only on
 * transient errors. Its output is the delay before the next retry.
 *
 * @since 0.1.0
 */
export const schedule = <E extends { readonly _tag: string } = GatewayError>(
  settings: RetrySettings
): Schedule.Schedule<Duration.Duration, E> => {
  const cap = Duration.millis(settings.maxDelayMs)
  const jitter = Math.max(0, Math.min(1, settings.jitterFactor ?? 0))
  const base = Schedule.exponential(Duration.millis(settings.initialDelayMs), settings.backoffMultiplier)
  const spread = jitter > 0 ? Schedule.jitteredWith(base, { min: 1 - jitter, max: 1 + jitter }) : base
  return spread.pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap)),
    Schedule.intersect(Schedule.recurs(Math.max(0, Math.floor(settings.maxRetries)))),
    Schedule.map(([delay]) => Duration.min(delay, cap)),
    Schedule.whileInput((error: E) => isRetryable(error))
  )
}

/**
 * The delays (ms) `settings` waits before each retry, without jitter: for documentation and tests.
 *
 * @since 0.1.0
 */
export const delays = (settings: RetrySettings): ReadonlyArray<number> =>
  Array.from(
    { length: Math.max(0, Math.floor(settings.maxRetries)) },
    (_, i) => Math.min(settings.maxDelayMs, settings.initialDelayMs * settings.backoffMultiplier ** i)
  )
