/**
 * Fault injection around any {@link Gateway}, driven by Effect's `Random` (seed it to replay a
 * run) and `Clock` (TestClock drives latency and outage windows).
 *
 * For each call, in this order: during an outage window every call fails transiently; otherwise
 * with `errorRate` a transient error (nothing applied); with `timeoutBeforeRate` an unknown
 * outcome without applying the call; with `timeoutAfterRate` the call is applied and then an
 * unknown outcome is reported (the case that tempts a double charge); with `errorAfterRate` the
 * call is applied and then a transient error is reported (a gateway that answers "500" after
 * applying: retried with the same key it is harmless, but after a failover it leaves a stray
 * charge, returned by compensation once a notification or status check reveals it). `latency` is added to
 * every call (with ±`latencyJitter` share).
 *
 * Only money-moving operations (`process`, `capture`, `void`, `refund`) get the timeout faults;
 * reads only get errors, latency and outages.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Random } from "effect"
import type { Gateway } from "../gateway/Gateway.js"
import { GatewayTransientError, GatewayUnknownOutcome } from "../gateway/Gateway.js"

/**
 * @since 0.1.0
 */
export interface Options {
  readonly errorRate?: number
  readonly timeoutBeforeRate?: number
  readonly timeoutAfterRate?: number
  readonly errorAfterRate?: number
  readonly latency?: Duration.DurationInput
  readonly latencyJitter?: number
  /** Windows of epoch milliseconds (from `Clock`) in which the gateway is down. */
  readonly outages?: ReadonlyArray<{ readonly from: number; readonly to: number }>
}

/**
 * The `reason` of each injected error, so that observers (the simulation's fault counts) can
 * tell which fault a call met.
 *
 * @since 0.1.0
 */
export const reasons = {
  outage: "outage",
  error: "injected error",
  timeoutBefore: "injected timeout before the call was applied",
  timeoutAfter: "injected timeout after the call was applied",
  errorAfter: "injected error after the call was applied"
} as const

/**
 * Wraps `gateway` with the faults of `options`.
 *
 * @since 0.1.0
 */
export const wrap = (gateway: Gateway, options: Options): Gateway => {
  const baseLatency = Duration.toMillis(Duration.decode(options.latency ?? Duration.zero))
  const delay = Effect.gen(function*() {
    if (baseLatency <= 0) return
    const jitter = options.latencyJitter ?? 0
    const factor = jitter > 0 ? 1 + (2 * (yield* Random.next) - 1) * jitter : 1
    yield* Effect.sleep(Duration.millis(Math.max(0, baseLatency * factor)))
  })
  const transient = (operation: string, reason: string) =>
    new GatewayTransientError({ gateway: gateway.id, operation, reason })
  const unknown = (operation: string, reason: string) => new GatewayUnknownOutcome({ gateway: gateway.id, operation, reason })

  /** Faults common to every call: latency, outages, errors. */
  const enter = (operation: string) =>
    Effect.gen(function*() {
      yield* delay
      const now = yield* Clock.currentTimeMillis
      if ((options.outages ?? []).some((o) => now >= o.from && now < o.to)) {
        return yield* transient(operation, reasons.outage)
      }
      if ((yield* Random.next) < (options.errorRate ?? 0)) return yield* transient(operation, reasons.error)
    })

  const moving = <A, E>(operation: string, call: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      yield* enter(operation)
      const roll = yield* Random.next
      const before = options.timeoutBeforeRate ?? 0
      if (roll < before) return yield* unknown(operation, reasons.timeoutBefore)
      if (roll < before + (options.timeoutAfterRate ?? 0)) {
        yield* call
        return yield* unknown(operation, reasons.timeoutAfter)
      }
      if (roll < before + (options.timeoutAfterRate ?? 0) + (options.errorAfterRate ?? 0)) {
        yield* call
        return yield* transient(operation, reasons.errorAfter)
      }
      return yield* call
    })

  return {
    id: gateway.id,
    capabilities: gateway.capabilities,
    initiate: (request) => Effect.zipRight(enter("initiate"), gateway.initiate(request)),
    authenticate: (request) => Effect.zipRight(enter("authenticate"), gateway.authenticate(request)),
    process: (request) => moving("process", gateway.process(request)),
    capture: (request) => moving("capture", gateway.capture(request)),
    void: (request) => moving("void", gateway.void(request)),
    refund: (request) => moving("refund", gateway.refund(request)),
    getStatus: (request) => Effect.zipRight(enter("getStatus"), gateway.getStatus(request)),
    healthCheck: gateway.healthCheck
  }
}
