import { describe, expect, it } from "@effect/vitest"
import { Effect, Random, TestClock } from "effect"
import { Gateway, GatewayRegistry, PaymentService } from "aegispay"
import { AegisPayTest, Chaos, MockGateway } from "aegispay/testing"
import { request } from "../helpers.js"

/** Runs `n` payments through a chaos-wrapped mock; returns final states and charges per payment. */
const run = (n: number, options: Chaos.Options) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const mock = yield* MockGateway.MockGateway
    const registry = yield* GatewayRegistry.GatewayRegistry
    yield* registry.register(Chaos.wrap(mock.gateway, options))
    const states: Array<string> = []
    for (let i = 0; i < n; i++) {
      const p = yield* payments.createPayment(request({ idempotencyKey: `c${i}` }))
      let state = "INITIATED"
      // keep processing until settled: reconciliation resolves unknown outcomes
      for (let round = 0; round < 20 && (state === "INITIATED" || state === "PROCESSING"); round++) {
        const fiber = yield* Effect.fork(Effect.either(payments.processPayment(p.id)))
        yield* TestClock.adjust("10 seconds")
        yield* fiber.await
        state = (yield* payments.getPayment(p.id)).state
      }
      states.push(state)
    }
    const charges = new Map<string, number>()
    for (const c of (yield* mock.ledger).charges) charges.set(c.paymentId, (charges.get(c.paymentId) ?? 0) + 1)
    const all = yield* Effect.forEach(states, (_, i) => payments.getPayment(`pay_${String(i + 1).padStart(6, "0")}`))
    return { states, all, charges }
  })

describe("Chaos", () => {
  it.effect("under errors and timeouts after the charge, every payment settles with at most one charge", () =>
    Effect.gen(function*() {
      const { all, charges, states } = yield* run(40, { errorRate: 0.2, timeoutBeforeRate: 0.1, timeoutAfterRate: 0.2 })
      expect(states.filter((s) => s === "PROCESSING" || s === "INITIATED")).toEqual([])
      for (const p of all) {
        const n = charges.get(p.id) ?? 0
        expect(n).toBeLessThanOrEqual(1)
        expect(n).toBe(p.state === "SUCCESS" ? 1 : 0)
      }
      expect(states.filter((s) => s === "SUCCESS").length).toBeGreaterThan(20)
    }).pipe(Effect.withRandom(Random.make("chaos-1")), Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))))

  it.effect("the same seed replays the same run", () =>
    Effect.gen(function*() {
      const once = (seed: string) =>
        run(15, { errorRate: 0.3, timeoutAfterRate: 0.2 }).pipe(
          Effect.map((r) => r.states.join(",")),
          Effect.withRandom(Random.make(seed)),
          Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))
        )
      expect(yield* once("s")).toBe(yield* once("s"))
    }))

  it.effect("an outage window fails calls transiently while it lasts", () =>
    Effect.gen(function*() {
      const mock = yield* MockGateway.MockGateway
      const chaotic = Chaos.wrap(mock.gateway, { outages: [{ from: 1_000, to: 2_000 }] })
      expect((yield* chaotic.getStatus({ idempotencyKey: "k" })).status).toBe("not_found")
      yield* TestClock.adjust(1_500)
      const down = yield* Effect.flip(chaotic.getStatus({ idempotencyKey: "k" }))
      expect(down).toBeInstanceOf(Gateway.GatewayTransientError)
      yield* TestClock.adjust(1_000)
      expect((yield* chaotic.getStatus({ idempotencyKey: "k" })).status).toBe("not_found")
    }).pipe(Effect.provide(AegisPayTest.layerMemory())))
})
