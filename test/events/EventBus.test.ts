import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import { EventBus, PaymentService } from "aegispay"
import { request, TestLayer } from "../helpers.js"

describe("EventBus", () => {
  it.scoped("delivers committed events, filtered by type, in sequence order", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.EventBus
      const all = yield* bus.subscribe()
      const succeeded = yield* bus.subscribe(["PaymentSucceeded"])
      const allFiber = yield* Effect.fork(Stream.runCollect(Stream.take(all, 4)))
      const someFiber = yield* Effect.fork(Stream.runCollect(Stream.take(succeeded, 1)))
      const payments = yield* PaymentService.PaymentService
      const payment = yield* payments.createPayment(request())
      yield* payments.processPayment(payment.id)
      const everything = Chunk.toArray(yield* Fiber.join(allFiber))
      expect(everything.map((e) => [e._tag, e.seq])).toEqual([
        ["PaymentInitiated", 1],
        ["PaymentAuthenticated", 2],
        ["PaymentProcessing", 3],
        ["PaymentSucceeded", 4]
      ])
      const only = Chunk.toArray(yield* Fiber.join(someFiber))
      expect(only.map((e) => e._tag)).toEqual(["PaymentSucceeded"])
      expect(only[0]!.eventId).toBe(`evt_${payment.id}_4`)
    }).pipe(Effect.provide(TestLayer)))
})
