import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Ref, Stream, TestClock } from "effect"
import { CircuitBreaker } from "aegispay"

const config: CircuitBreaker.Options = {
  failureThreshold: 3,
  monitorWindow: "10 seconds",
  resetTimeout: "30 seconds",
  halfOpenMaxCalls: 1,
  successThreshold: 2
}

type Outcome = "ok" | "down" | "declined"
const setup = (overrides: Partial<CircuitBreaker.Options> = {}) =>
  Effect.gen(function*() {
    const changes = yield* Ref.make<ReadonlyArray<string>>([])
    const calls = yield* Ref.make(0)
    const breaker = yield* CircuitBreaker.make("gw", { ...config, ...overrides }, (c) =>
      Ref.update(changes, (all) => [...all, `${c.from}->${c.to}@${c.at}`]))
    const call = (outcome: Outcome) =>
      breaker.protect(
        Effect.zipRight(Ref.update(calls, (n) => n + 1), outcome === "ok" ? Effect.succeed("ok") : Effect.fail(outcome)),
        (e) => e === "down"
      ).pipe(Effect.either)
    return { breaker, call, calls, changes }
  })

describe("CircuitBreaker", () => {
  it.effect("opens after the threshold, fails fast while open, half-opens after the timeout, closes after the successes", () =>
    Effect.gen(function*() {
      const { breaker, call, calls, changes } = yield* setup()
      yield* call("down")
      yield* call("down")
      expect(yield* breaker.state).toBe("CLOSED")
      yield* call("down")
      expect(yield* breaker.state).toBe("OPEN")
      expect(yield* Ref.get(calls)).toBe(3)

      const fast = yield* call("ok")
      expect(fast._tag === "Left" && fast.left).toMatchObject({ _tag: "CircuitOpen", retryAfterMillis: 30_000 })
      expect(yield* Ref.get(calls)).toBe(3) // the gateway was not called
      yield* TestClock.adjust("29999 millis")
      const stillOpen = yield* call("ok")
      expect(stillOpen._tag === "Left" && stillOpen.left).toMatchObject({ _tag: "CircuitOpen", retryAfterMillis: 1 })

      yield* TestClock.adjust("1 millis")
      expect((yield* call("ok"))._tag).toBe("Right") // first trial call
      expect(yield* breaker.state).toBe("HALF_OPEN")
      expect((yield* call("ok"))._tag).toBe("Right")
      expect(yield* breaker.state).toBe("CLOSED")
      expect(yield* Ref.get(changes)).toEqual(["CLOSED->OPEN@0", "OPEN->HALF_OPEN@30000", "HALF_OPEN->CLOSED@30000"])
    }))

  it.effect("a failed trial call reopens the circuit for another full timeout", () =>
    Effect.gen(function*() {
      const { breaker, call } = yield* setup()
      for (let i = 0; i < 3; i++) yield* call("down")
      yield* TestClock.adjust("30 seconds")
      yield* call("down")
      expect(yield* breaker.state).toBe("OPEN")
      yield* TestClock.adjust("29 seconds")
      expect((yield* call("ok"))._tag).toBe("Left")
      yield* TestClock.adjust("1 seconds")
      expect((yield* call("ok"))._tag).toBe("Right")
    }))

  it.effect("lets only halfOpenMaxCalls trial calls through at a time", () =>
    Effect.gen(function*() {
      const { breaker } = yield* setup()
      for (let i = 0; i < 3; i++) yield* Effect.either(breaker.protect(Effect.fail("down"), () => true))
      yield* TestClock.adjust("30 seconds")
      const started = yield* Deferred.make<void>()
      const finish = yield* Deferred.make<void>()
      const trial = yield* Effect.fork(breaker.protect(Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(finish)), () => true))
      yield* Deferred.await(started)
      const second = yield* Effect.either(breaker.protect(Effect.void, () => true))
      expect(second._tag === "Left" && second.left._tag).toBe("CircuitOpen")
      yield* Deferred.succeed(finish, undefined)
      yield* Fiber.join(trial)
      expect(yield* breaker.state).toBe("HALF_OPEN")
    }))

  it.effect("declines are not gateway failures; failures older than the monitor window do not count", () =>
    Effect.gen(function*() {
      const { breaker, call } = yield* setup()
      for (let i = 0; i < 10; i++) yield* call("declined")
      expect(yield* breaker.state).toBe("CLOSED")
      yield* call("down")
      yield* call("down")
      yield* TestClock.adjust("11 seconds")
      yield* call("down")
      expect(yield* breaker.state).toBe("CLOSED")
      yield* call("down")
      yield* call("down")
      expect(yield* breaker.state).toBe("OPEN")
    }))

  it.effect("opens on the failure rate once the minimum volume is reached", () =>
    Effect.gen(function*() {
      const { breaker, call } = yield* setup({ failureThreshold: 1000, failureRateThreshold: 0.5, minimumVolume: 10 })
      for (let i = 0; i < 4; i++) yield* call("ok")
      for (let i = 0; i < 4; i++) yield* call("down")
      expect(yield* breaker.state).toBe("CLOSED") // 8 calls: below the minimum volume
      yield* call("ok")
      yield* call("down")
      expect(yield* breaker.state).toBe("OPEN") // 10 calls, 50% failed
    }))

  it.scoped("the registry gives one breaker per gateway and streams state changes", () =>
    Effect.gen(function*() {
      const breakers = yield* CircuitBreaker.CircuitBreakers
      const changes = yield* breakers.changes
      const a = yield* breakers.get("a")
      expect(yield* breakers.get("a")).toBe(a)
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(changes, 1)))
      for (let i = 0; i < 3; i++) yield* Effect.either(a.protect(Effect.fail("down"), () => true))
      const [change] = Chunk.toArray(yield* Fiber.join(collected))
      expect(change).toMatchObject({ gateway: "a", from: "CLOSED", to: "OPEN" })
      expect(yield* (yield* breakers.get("b")).state).toBe("CLOSED")
    }).pipe(Effect.provide(CircuitBreaker.layer(config))))
})
