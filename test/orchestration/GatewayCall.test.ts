/**
 * GatewayCall's timeout, under TestClock: a bounded call that outlives it is an unknown outcome;
 * with `callTimeout: Duration.infinity` the call is never cut short.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, TestClock } from "effect"
import { CircuitBreaker, type Gateway, GatewayCall, GatewayMetrics } from "aegispay"
import { stubGateway } from "../helpers.js"

const deps = Layer.mergeAll(CircuitBreaker.layer(), GatewayMetrics.layer())
const gateway: Gateway.Gateway = stubGateway("slow")
const slowCall = Effect.as(Effect.sleep("10 minutes"), "answered")

describe("GatewayCall", () => {
  it.effect("a money-moving call that outlives the call timeout is an unknown outcome", () =>
    Effect.gen(function*() {
      const calls = yield* GatewayCall.make({ callTimeout: "30 seconds" })
      const fiber = yield* Effect.fork(calls.moving(gateway, "process", slowCall))
      yield* TestClock.adjust("31 seconds")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : "none").toBe("GatewayUnknownOutcome")
    }).pipe(Effect.provide(deps)))

  it.effect("with an infinite call timeout a slow call is waited for, however long", () =>
    Effect.gen(function*() {
      const calls = yield* GatewayCall.make({ callTimeout: Duration.infinity })
      const fiber = yield* Effect.fork(calls.moving(gateway, "process", slowCall))
      yield* TestClock.adjust("9 minutes")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBe("answered")
    }).pipe(Effect.provide(deps)))

  it.effect("a call that answers in time gives its answer; interrupting the caller interrupts the call", () =>
    Effect.gen(function*() {
      const calls = yield* GatewayCall.make({ callTimeout: "30 seconds" })
      const quick = yield* Effect.fork(calls.moving(gateway, "process", Effect.as(Effect.sleep("29 seconds"), "answered")))
      yield* TestClock.adjust("29 seconds")
      expect(yield* Fiber.join(quick)).toBe("answered")
      yield* TestClock.adjust("1 minute") // the stopped timer never fires on anything
      let interrupted = false
      const started = yield* Deferred.make<void>()
      const slow = yield* Effect.fork(calls.moving(
        gateway,
        "process",
        Effect.zipRight(Deferred.succeed(started, undefined), slowCall).pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      ))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(slow)
      expect(interrupted).toBe(true)
    }).pipe(Effect.provide(deps)))
})
