/**
 * GatewayCall's timeout, under TestClock: a bounded call that outlives it is an unknown outcome;
 * with `callTimeout: Duration.infinity` the call is never cut short.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, TestClock } from "effect"
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
})
