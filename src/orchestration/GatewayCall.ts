/**
 * How the orchestration calls a gateway: every call goes through the gateway's circuit breaker,
 * is bounded by the call timeout and recorded in the gateway's metrics; transient failures are
 * retried with the configured `Schedule` (same request, same idempotency key).
 *
 * Shared by `PaymentService`, `Compensation` and `Notifications`, so every gateway call in the
 * library obeys the same rules:
 * - a **money-moving** call (`moving`) that times out is a {@link GatewayUnknownOutcome}: it may
 *   have been applied;
 * - a **read** (`reading`, `status`) that times out is a {@link GatewayTransientError};
 * - a decline is not a gateway failure: it never counts against the circuit;
 * - a call refused by an open circuit is not a call: it is not recorded in the metrics.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Duration, Effect, Exit, Option, Schedule } from "effect"
import {
  type Gateway,
  type GatewayReadError,
  GatewayTransientError,
  GatewayUnknownOutcome,
  type StatusResult
} from "../gateway/Gateway.js"
import { GatewayMetrics } from "../observability/GatewayMetrics.js"
import * as OperationLog from "../observability/OperationLog.js"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import * as RetryPolicy from "../resilience/RetryPolicy.js"

/**
 * Call settings (the `retry` and `callTimeout` of `PaymentService.Config`).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly retry?: RetryPolicy.RetrySettings | undefined
  /**
   * Longest wait for one gateway call; default 30 s. `Duration.infinity` sets no bound (and
   * forks no timer per call): for adapters that enforce their own timeout, and for simulations.
   */
  readonly callTimeout?: Duration.DurationInput | undefined
}

/**
 * The former name of {@link Options}.
 *
 * @since 0.1.0
 * @deprecated use {@link Options}
 */
export type Config = Options

/** A gateway's failures count for its circuit; its declines do not. */
const isGatewayFailure = (error: { readonly _tag: string }) => error._tag !== "GatewayDeclined"

/** The tag of a failed call's error (its `status` in the gateway request's log line). */
const errorTagOf = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>): string | undefined =>
  Exit.isSuccess(exit)
    ? undefined
    : Option.match(Cause.failureOption(exit.cause), { onNone: () => "defect", onSome: (error) => error._tag })

/** `call` with its gateway request log line (the calls outside the circuit: status reads). */
const logged = <A, E extends { readonly _tag: string }>(gateway: string, method: string, call: Effect.Effect<A, E>) =>
  Effect.flatMap(Clock.currentTimeMillis, (start) =>
    Effect.onExit(call, (exit) =>
      Effect.flatMap(Clock.currentTimeMillis, (end) =>
        OperationLog.gatewayRequest(gateway, method, Exit.isSuccess(exit) ? "approved" : "error", end - start, errorTagOf(exit)))))

/**
 * Builds the call wrappers.
 *
 * @since 0.1.0
 */
export const make = (config: Config = {}) =>
  Effect.gen(function*() {
    const breakers = yield* CircuitBreakers
    const metrics = yield* GatewayMetrics
    const retrySettings = config.retry ?? RetryPolicy.defaults
    const callTimeout = Duration.decode(config.callTimeout ?? "30 seconds")

    /** `call` bounded by the call timeout (unbounded, with no timer, when it is infinite). */
    const bounded = <A, E, T>(call: Effect.Effect<A, E>, onTimeout: () => T): Effect.Effect<A, E | T> =>
      Duration.isFinite(callTimeout) ? Effect.timeoutFail(call, { duration: callTimeout, onTimeout }) : call

    // built once: a Schedule is a description, each retry loop runs its own copy of its state
    const retrySchedule = RetryPolicy.schedule<{ readonly _tag: string }>(retrySettings)

    /**
     * Retries transient failures of `call` with the configured schedule (same request): exactly
     * `Effect.retry(call, retrySchedule)`, with the schedule's driver made only once a call failed
     * (a call that succeeds at once, the common case, costs nothing more).
     */
    const withRetry = <A, E extends { readonly _tag: string }, R>(call: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
      const retried = (error: E, driver: Schedule.ScheduleDriver<unknown, { readonly _tag: string }, never>): Effect.Effect<A, E, R> =>
        Effect.matchEffect(driver.next(error), {
          onFailure: () => Effect.fail(error),
          onSuccess: () => Effect.catchAll(call, (next) => retried(next, driver))
        })
      return Effect.catchAll(call, (error) => Effect.flatMap(Schedule.driver(retrySchedule), (driver) => retried(error, driver)))
    }

    const guarded = <A, E extends { readonly _tag: string }, T extends { readonly _tag: string }>(
      gateway: Gateway,
      operation: string,
      call: Effect.Effect<A, E>,
      onTimeout: () => T
    ) =>
      Effect.flatMap(breakers.get(gateway.id), (breaker) =>
        breaker.protect(
          Effect.clockWith((clock) => {
            const start = clock.unsafeCurrentTimeMillis()
            return Effect.flatMap(Effect.exit(bounded(call, onTimeout)), (exit) => {
              const latency = clock.unsafeCurrentTimeMillis() - start
              const outcome = exit._tag === "Success"
                ? "approved"
                : exit.cause._tag === "Fail" && exit.cause.error._tag === "GatewayDeclined"
                ? "declined"
                : "error"
              return Effect.zipRight(
                Effect.zipRight(metrics.record(gateway.id, operation, outcome, latency), OperationLog.gatewayRequest(gateway.id, operation, outcome, latency, errorTagOf(exit))),
                exit
              )
            })
          }),
          (error: E | T) => isGatewayFailure(error)
        ))

    /** A money-moving call: a timeout is an unknown outcome (it may have been applied). */
    const moving = <A, E extends { readonly _tag: string }>(gateway: Gateway, operation: string, call: Effect.Effect<A, E>) =>
      guarded(gateway, operation, call, () => new GatewayUnknownOutcome({ gateway: gateway.id, operation, reason: "timed out" }))

    /** A call that moves no money: a timeout is transient. */
    const reading = <A, E extends { readonly _tag: string }>(gateway: Gateway, operation: string, call: Effect.Effect<A, E>) =>
      guarded(gateway, operation, call, () => new GatewayTransientError({ gateway: gateway.id, operation, reason: "timed out" }))

    /**
     * The gateway's status of the request sent with `idempotencyKey` (found by the provider's
     * `reference` when the attempt has one), retried when transient. Asked even when the circuit
     * is open: reconciliation must be able to learn the truth.
     */
    const status = (
      gateway: Gateway,
      idempotencyKey: string,
      reference?: string | undefined
    ): Effect.Effect<StatusResult, GatewayReadError> =>
      withRetry(logged(gateway.id, "getStatus", bounded(
        gateway.getStatus(reference === undefined ? { idempotencyKey } : { idempotencyKey, reference }),
        () => new GatewayTransientError({ gateway: gateway.id, operation: "getStatus", reason: "timed out" })
      )))

    return { withRetry, moving, reading, status, callTimeout } as const
  })
