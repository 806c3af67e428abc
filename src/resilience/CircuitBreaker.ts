/**
 * A circuit breaker per gateway: CLOSED → OPEN → HALF_OPEN → CLOSED, on Effect's `Clock` so
 * TestClock drives it exactly (its state changes in single effect steps, atomic like a `Ref`).
 *
 * - **CLOSED**: calls pass. Failures are counted in a time-bucketed monitor window (10 buckets,
 *   O(1) per call). The circuit opens when the window holds `failureThreshold` failures, or when
 *   it holds at least `minimumVolume` calls and the failure rate reaches `failureRateThreshold`.
 * - **OPEN**: calls fail fast with {@link CircuitOpen}, never reaching the gateway.
 * - After `resetTimeout`, **HALF_OPEN**: at most `halfOpenMaxCalls` trial calls at a time pass;
 *   `successThreshold` successes close the circuit; any failure reopens it.
 *
 * Only failures of the gateway count (`isFailure`): a decline is the customer's card, not the
 * gateway's health, and counts as a healthy answer. An interrupted call counts as nothing.
 * Every state change is published on `changes`.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Exit, Layer, PubSub, Schema, Stream } from "effect"
import type { Scope } from "effect"

/**
 * Breaker settings. Every field is optional; the defaults are {@link defaults} (the seed's).
 *
 * @since 0.1.0
 */
export interface Options {
  /** Failures within `monitorWindow` that open the circuit; default 5. */
  readonly failureThreshold?: number | undefined
  /** How far back failures count; default 60 s. */
  readonly monitorWindow?: Duration.DurationInput | undefined
  /** Failure share (0–1) that opens the circuit once `minimumVolume` calls are in the window; default none. */
  readonly failureRateThreshold?: number | undefined
  /** Calls needed in the window before the failure rate counts; default 20. */
  readonly minimumVolume?: number | undefined
  /** How long the circuit stays OPEN before trial calls; default 60 s. */
  readonly resetTimeout?: Duration.DurationInput | undefined
  /** Trial calls allowed at a time in HALF_OPEN; default 1. */
  readonly halfOpenMaxCalls?: number | undefined
  /** Successful trial calls that close the circuit; default 2. */
  readonly successThreshold?: number | undefined
}

/**
 * The former name of {@link Options}.
 *
 * @since 0.1.0
 * @deprecated use {@link Options}
 */
export type Config = Options

/**
 * The seed's settings: 5 failures in 60 s open the circuit; 60 s later one trial call at a time;
 * 2 successes close it; no failure-rate rule.
 *
 * @since 0.1.0
 */
export const defaults = {
  failureThreshold: 5,
  monitorWindow: "60 seconds",
  minimumVolume: 20,
  resetTimeout: "60 seconds",
  halfOpenMaxCalls: 1,
  successThreshold: 2
} as const satisfies Options

const resolve = (options: Options) => ({
  failureThreshold: options.failureThreshold ?? defaults.failureThreshold,
  monitorWindow: options.monitorWindow ?? defaults.monitorWindow,
  failureRateThreshold: options.failureRateThreshold,
  minimumVolume: options.minimumVolume ?? defaults.minimumVolume,
  resetTimeout: options.resetTimeout ?? defaults.resetTimeout,
  halfOpenMaxCalls: options.halfOpenMaxCalls ?? defaults.halfOpenMaxCalls,
  successThreshold: options.successThreshold ?? defaults.successThreshold
})

/**
 * The call was not made: the gateway's circuit is open.
 *
 * @since 0.1.0
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  gateway: Schema.String,
  retryAfterMillis: Schema.Number
}) {
  override get message(): string {
    return `circuit of ${this.gateway} is open; retry after ${this.retryAfterMillis} ms`
  }
}

/**
 * @since 0.1.0
 */
export type State = "CLOSED" | "OPEN" | "HALF_OPEN"

/**
 * A state change.
 *
 * @since 0.1.0
 */
export interface StateChange {
  readonly gateway: string
  readonly from: State
  readonly to: State
  readonly at: number
}

const BUCKETS = 10

interface Internal {
  readonly state: State
  /** CLOSED: per-bucket counts of the monitor window. */
  readonly failures: ReadonlyArray<number>
  readonly calls: ReadonlyArray<number>
  readonly epochs: ReadonlyArray<number>
  /** OPEN: when it opened. */
  readonly openedAt: number
  /** HALF_OPEN: calls in flight and successes so far. */
  readonly inFlight: number
  readonly successes: number
}

const closed = (): Internal => ({
  state: "CLOSED",
  failures: Array(BUCKETS).fill(0),
  calls: Array(BUCKETS).fill(0),
  epochs: Array(BUCKETS).fill(-1),
  openedAt: 0,
  inFlight: 0,
  successes: 0
})

/**
 * One gateway's breaker.
 *
 * @since 0.1.0
 */
export interface CircuitBreaker {
  readonly gateway: string
  readonly state: Effect.Effect<State>
  /**
   * Whether a call would be let through now: CLOSED, HALF_OPEN with a free trial slot, or OPEN
   * with its reset timeout elapsed (the call would be the first trial).
   */
  readonly permits: Effect.Effect<boolean>
  /**
   * Runs `effect` if the circuit lets it through, recording its outcome; `isFailure` tells which
   * errors are the gateway's fault.
   */
  readonly protect: <A, E, R>(
    effect: Effect.Effect<A, E, R>,
    isFailure: (error: E) => boolean
  ) => Effect.Effect<A, E | CircuitOpen, R>
}

/**
 * Creates a breaker for `gateway`; state changes go to `publish`.
 *
 * @since 0.1.0
 */
export const make = (
  gateway: string,
  options: Options = {},
  publish: (change: StateChange) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<CircuitBreaker> =>
  Effect.sync(() => {
    const config = resolve(options)
    // the breaker's state, read and replaced only inside single effect steps (JavaScript runs one at
    // a time): each admission and each outcome is one atomic step, as a `Ref.modify` would be
    let current = closed()
    const windowMillis = Math.max(BUCKETS, Duration.toMillis(Duration.decode(config.monitorWindow)))
    const bucketMillis = windowMillis / BUCKETS
    const resetMillis = Duration.toMillis(Duration.decode(config.resetTimeout))
    const minimumVolume = config.minimumVolume

    const announce = (from: State, to: State, at: number) =>
      from === to ? Effect.void : publish({ gateway, from, to, at })

    /** Adds a call to the CLOSED window, lazily clearing buckets older than the window. */
    const count = (s: Internal, now: number, failed: boolean): Internal => {
      const epoch = Math.floor(now / bucketMillis)
      const i = epoch % BUCKETS
      const stale = s.epochs[i] !== epoch
      const failures = s.failures.slice()
      const calls = s.calls.slice()
      const epochs = s.epochs.slice()
      if (stale) {
        failures[i] = 0
        calls[i] = 0
        epochs[i] = epoch
      }
      failures[i]! += failed ? 1 : 0
      calls[i]! += 1
      return { ...s, failures, calls, epochs }
    }

    const inWindow = (s: Internal, now: number) => {
      const epoch = Math.floor(now / bucketMillis)
      let failures = 0
      let calls = 0
      for (let b = 0; b < BUCKETS; b++) {
        if (s.epochs[b]! > epoch - BUCKETS) {
          failures += s.failures[b]!
          calls += s.calls[b]!
        }
      }
      return { failures, calls }
    }

    const shouldOpen = (s: Internal, now: number) => {
      const { calls, failures } = inWindow(s, now)
      return failures >= config.failureThreshold ||
        (config.failureRateThreshold !== undefined && calls >= minimumVolume &&
          failures / calls >= config.failureRateThreshold)
    }

    const open = (now: number): Internal => ({ ...closed(), state: "OPEN", openedAt: now })

    /** Replaces the state by `f`'s, answering `f`'s answer (synchronous: call it inside an effect step). */
    const modify = <B>(f: (s: Internal) => readonly [B, Internal]): B => {
      const [answer, next] = f(current)
      current = next
      return answer
    }

    /** Asks for permission: Right(state when admitted) or Left(retry-after millis). */
    const admit = (now: number) =>
      modify((s): readonly [{ readonly admitted: boolean; readonly from: State; readonly to: State; readonly retryAfter: number }, Internal] => {
        if (s.state === "CLOSED") return [{ admitted: true, from: s.state, to: s.state, retryAfter: 0 }, s]
        if (s.state === "OPEN") {
          const elapsed = now - s.openedAt
          if (elapsed < resetMillis) {
            return [{ admitted: false, from: s.state, to: s.state, retryAfter: resetMillis - elapsed }, s]
          }
          const half: Internal = { ...closed(), state: "HALF_OPEN", inFlight: 1 }
          return [{ admitted: true, from: "OPEN", to: "HALF_OPEN", retryAfter: 0 }, half]
        }
        if (s.inFlight >= config.halfOpenMaxCalls) {
          return [{ admitted: false, from: s.state, to: s.state, retryAfter: 0 }, s]
        }
        return [{ admitted: true, from: s.state, to: s.state, retryAfter: 0 }, { ...s, inFlight: s.inFlight + 1 }]
      })

    /** Records an outcome; `admittedIn` is the state the call was admitted in. */
    const settle = (admittedIn: State, outcome: "success" | "failure" | "interrupted", now: number) =>
      modify((s): readonly [readonly [State, State], Internal] => {
        if (admittedIn === "HALF_OPEN") {
          // a trial call; another trial may already have decided the state
          if (s.state !== "HALF_OPEN") return [[s.state, s.state], s]
          const inFlight = Math.max(0, s.inFlight - 1)
          if (outcome === "interrupted") return [[s.state, s.state], { ...s, inFlight }]
          if (outcome === "failure") return [["HALF_OPEN", "OPEN"], open(now)]
          const successes = s.successes + 1
          return successes >= config.successThreshold
            ? [["HALF_OPEN", "CLOSED"], closed()]
            : [["HALF_OPEN", "HALF_OPEN"], { ...s, inFlight, successes }]
        }
        // admitted while CLOSED: counts only if still CLOSED (a late answer does not move OPEN/HALF_OPEN)
        if (s.state !== "CLOSED" || outcome === "interrupted") return [[s.state, s.state], s]
        const next = count(s, now, outcome === "failure")
        return outcome === "failure" && shouldOpen(next, now)
          ? [["CLOSED", "OPEN"], open(now)]
          : [["CLOSED", "CLOSED"], next]
      })

    return {
      gateway,
      state: Effect.sync(() => current.state),
      permits: Effect.clockWith((clock) =>
        Effect.sync(() => {
          const s = current
          return s.state === "CLOSED" ||
            (s.state === "HALF_OPEN" && s.inFlight < config.halfOpenMaxCalls) ||
            (s.state === "OPEN" && clock.unsafeCurrentTimeMillis() - s.openedAt >= resetMillis)
        })
      ),
      // admission and outcome are each taken in one step with the clock read in place (a call
      // through a closed circuit adds three steps around the call)
      protect: <A, E, R>(effect: Effect.Effect<A, E, R>, isFailure: (error: E) => boolean) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.clockWith((clock) => {
            const now = clock.unsafeCurrentTimeMillis()
            const permit = admit(now)
            const run: Effect.Effect<A, E | CircuitOpen, R> = permit.admitted
              ? Effect.flatMap(Effect.exit(restore(effect)), (exit) => {
                const end = clock.unsafeCurrentTimeMillis()
                const outcome = Exit.isSuccess(exit)
                  ? "success"
                  : Exit.isInterrupted(exit)
                  ? "interrupted"
                  : exit.cause._tag === "Fail" && !isFailure(exit.cause.error)
                  ? "success" // the gateway answered (e.g. declined): it is healthy
                  : "failure"
                const [from, to] = settle(permit.to, outcome, end)
                return from === to ? exit : Effect.zipRight(announce(from, to, end), exit)
              })
              : new CircuitOpen({ gateway, retryAfterMillis: permit.retryAfter })
            return permit.from === permit.to ? run : Effect.zipRight(announce(permit.from, permit.to, now), run)
          })
        )
    }
  })

/**
 * The breakers of all gateways, created on first use with the same settings, and the stream of
 * their state changes.
 *
 * @since 0.1.0
 */
export class CircuitBreakers extends Context.Tag("aegispay/CircuitBreakers")<CircuitBreakers, {
  readonly get: (gateway: string) => Effect.Effect<CircuitBreaker>
  /** State changes of every breaker, from subscription on. */
  readonly changes: Effect.Effect<Stream.Stream<StateChange>, never, Scope.Scope>
}>() {}

/**
 * @since 0.1.0
 */
export const layer = (config: Options = {}): Layer.Layer<CircuitBreakers> =>
  Layer.effect(
    CircuitBreakers,
    Effect.gen(function*() {
      const pubsub = yield* PubSub.sliding<StateChange>(1024)
      const breakers = new Map<string, CircuitBreaker>()
      const lock = yield* Effect.makeSemaphore(1)
      return CircuitBreakers.of({
        get: (gateway) =>
          Effect.suspend(() => {
            // fast path: an existing breaker, no lock
            const existing = breakers.get(gateway)
            if (existing !== undefined) return Effect.succeed(existing)
            return lock.withPermits(1)(Effect.suspend(() => {
              const raced = breakers.get(gateway)
              if (raced !== undefined) return Effect.succeed(raced)
              return Effect.tap(
                make(gateway, config, (change) =>
                  Effect.zipRight(
                    Effect.logInfo("circuit state changed").pipe(
                      Effect.annotateLogs({ gateway: change.gateway, from: change.from, to: change.to })
                    ),
                    PubSub.publish(pubsub, change)
                  )),
                (breaker) => Effect.sync(() => breakers.set(gateway, breaker))
              )
            }))
          }),
        changes: Effect.map(PubSub.subscribe(pubsub), (queue) => Stream.fromQueue(queue))
      })
    })
  )
