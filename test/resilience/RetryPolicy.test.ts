import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Random, Ref, TestClock } from "effect"
import { Gateway, RetryPolicy } from "aegispay"

const transient = new Gateway.GatewayTransientError({ gateway: "g", operation: "process", reason: "503" })
const declined = new Gateway.GatewayDeclined({ gateway: "g", code: "card_declined", reason: "no" })

/** Runs a call that always fails with `error` under the policy; returns the times (ms) of each call. */
const callTimes = (settings: RetryPolicy.RetrySettings, error: Gateway.GatewayError, advance: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const call = Effect.flatMap(TestClock.currentTimeMillis, (now) => Ref.update(times, (t) => [...t, now])).pipe(
      Effect.zipRight(Effect.fail(error))
    )
    const fiber = yield* Effect.fork(Effect.retry(call, RetryPolicy.schedule(settings)))
    for (const ms of advance) yield* TestClock.adjust(ms)
    const exit = yield* Fiber.await(fiber)
    return { times: yield* Ref.get(times), done: exit._tag }
  })

describe("RetryPolicy", () => {
  const settings = { maxRetries: 3, initialDelayMs: 100, maxDelayMs: 250, backoffMultiplier: 2 }

  it.effect("retries transient errors with exponential, capped delays, exactly as configured", () =>
    Effect.gen(function*() {
      expect(RetryPolicy.delays(settings)).toEqual([100, 200, 250])
      const { done, times } = yield* callTimes(settings, transient, [100, 200, 250, 1000])
      expect(times).toEqual([0, 100, 300, 550])
      expect(done).toBe("Failure")
    }))

  it.effect("waits exactly the delay: not a millisecond less", () =>
    Effect.gen(function*() {
      const times = yield* Ref.make(0)
      const call = Effect.zipRight(Ref.update(times, (n) => n + 1), Effect.fail(transient))
      const fiber = yield* Effect.fork(Effect.retry(call, RetryPolicy.schedule(settings)))
      yield* TestClock.adjust(99)
      expect(yield* Ref.get(times)).toBe(1)
      yield* TestClock.adjust(1)
      expect(yield* Ref.get(times)).toBe(2)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("never retries a decline", () =>
    Effect.gen(function*() {
      const { times } = yield* callTimes(settings, declined, [10_000])
      expect(times).toEqual([0])
    }))

  it.effect("jitter stays within ±jitterFactor and is reproducible from the Random seed", () =>
    Effect.gen(function*() {
      const jittered = { ...settings, maxDelayMs: 10_000, jitterFactor: 0.5 }
      const gapsOf = (seed: string) =>
        Effect.withRandom(
          Effect.map(callTimes(jittered, transient, Array(220).fill(5)), ({ times }) =>
            times.slice(1).map((t, i) => Math.round((t - times[i]!) * 1000) / 1000)),
          Random.make(seed)
        )
      const a = yield* gapsOf("seed-1")
      expect(yield* gapsOf("seed-1")).toEqual(a)
      expect(yield* gapsOf("seed-2")).not.toEqual(a)
      const nominal = [100, 200, 400]
      expect(a.length).toBe(3)
      a.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(nominal[i]! * 0.5)
        expect(gap).toBeLessThanOrEqual(nominal[i]! * 1.5 + 5)
      })
      expect(Option.some(a)).not.toEqual(Option.some(nominal))
    }))
})
