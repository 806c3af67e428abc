import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import { GatewayMetrics, type Payment, PaymentService, Router, RoutingRules } from "aegispay"
import { AegisPayTest, MockGateway } from "aegispay/testing"
import { request, stubGateway } from "../helpers.js"
import { routingPayment } from "../support/RoutingPayments.js"

const gateway = stubGateway
const [a, b, c] = [gateway("a"), gateway("b"), gateway("c")]
const all = [a, b, c]

const payment = routingPayment

const ranked = (config: Router.Config, p: Payment.Payment = payment(), setup: Effect.Effect<void, never, GatewayMetrics.GatewayMetrics> = Effect.void) =>
  Effect.gen(function*() {
    yield* setup
    const router = yield* Router.Router
    return (yield* router.rank(p, all)).map((g) => g.id)
  }).pipe(Effect.provide(Router.layer(config).pipe(Layer.provideMerge(GatewayMetrics.layer()))))

const record = (id: string, approved: number, declined: number, latency: number) =>
  Effect.flatMap(GatewayMetrics.GatewayMetrics, (m) =>
    Effect.all([
      ...Array.from({ length: approved }, () => m.record(id, "process", "approved", latency)),
      ...Array.from({ length: declined }, () => m.record(id, "process", "declined", latency))
    ], { discard: true }))

describe("Router strategies", () => {
  it.effect("ROUND_ROBIN rotates", () =>
    Effect.gen(function*() {
      const router = yield* Router.Router
      const orders: Array<string> = []
      for (let i = 0; i < 4; i++) orders.push((yield* router.rank(payment(), all))[0]!.id)
      expect(orders).toEqual(["a", "b", "c", "a"])
    }).pipe(Effect.provide(Router.layer({ strategy: "ROUND_ROBIN" }).pipe(Layer.provideMerge(GatewayMetrics.layer())))))

  it.effect("LEAST_LATENCY and HIGHEST_SUCCESS_RATE follow the recorded metrics", () =>
    Effect.gen(function*() {
      const metrics = Effect.all([record("a", 9, 1, 300), record("b", 5, 5, 20), record("c", 10, 0, 100)], { discard: true })
      expect(yield* ranked({ strategy: "LEAST_LATENCY" }, payment(), metrics)).toEqual(["b", "c", "a"])
      expect(yield* ranked({ strategy: "HIGHEST_SUCCESS_RATE" }, payment(), metrics)).toEqual(["c", "a", "b"])
    }))

  it.effect("COST_OPTIMIZED computes fees exactly in minor units", () =>
    Effect.gen(function*() {
      const fees = {
        a: { fixedMinor: 30n, basisPoints: 290 }, // 0.30 + 2.9%
        b: { fixedMinor: 49n, basisPoints: 249 }, // 0.49 + 2.49%
        c: { fixedMinor: 0n, basisPoints: 350 } // 3.5%
      }
      const small = payment({ amount: "10.00" }) // a: 30+29=59, b: 49+25=74 (24.9 up), c: 35
      expect(Router.fee(fees, "b", small)).toBe(74n)
      expect(yield* ranked({ strategy: "COST_OPTIMIZED", fees }, small)).toEqual(["c", "a", "b"])
      const large = payment({ amount: "1000.00" }) // a: 2930, b: 2539, c: 3500
      expect(yield* ranked({ strategy: "COST_OPTIMIZED", fees }, large)).toEqual(["b", "a", "c"])
    }))

  it.effect("INTELLIGENT weighs success rate, latency and cost", () =>
    Effect.gen(function*() {
      const metrics = Effect.all([record("a", 5, 5, 50), record("b", 10, 0, 50), record("c", 10, 0, 500)], { discard: true })
      expect((yield* ranked({ strategy: "INTELLIGENT" }, payment(), metrics))[0]).toBe("b")
    }))
})

describe("routing rules", () => {
  const rule = (id: string, priority: number, conditions: RoutingRules.Rule["conditions"], target: RoutingRules.Rule["target"], enabled = true): RoutingRules.Rule => ({ id, priority, enabled, conditions, target })

  it("operators over every field, amounts compared exactly", () => {
    const p = payment({ amount: "1000.01", country: "DE", bin: "411111", metadata: { channel: "web", risk: 7 } })
    const m = (field: string, operator: RoutingRules.Operator, value: RoutingRules.Condition["value"]) =>
      RoutingRules.matches(p, { field, operator, value })
    expect(m("amount", "greaterThan", "1000")).toBe(true)
    expect(m("amount", "greaterThan", "1000.01")).toBe(false)
    expect(m("amount", "lessThan", 1000.02)).toBe(true)
    expect(m("amount", "between", ["1000", "1000.01"])).toBe(true)
    expect(m("amount", "equals", "1000.010")).toBe(true)
    expect(m("amount", "equals", "1000.001")).toBe(false) // not a USD amount: never rounded into a match
    expect(m("currency", "in", ["USD", "EUR"])).toBe(true)
    expect(m("currency", "notIn", ["USD"])).toBe(false)
    expect(m("cardBrand", "equals", "visa")).toBe(true)
    expect(m("bin", "startsWith", "4111")).toBe(true)
    expect(m("customerCountry", "notEquals", "FR")).toBe(true)
    expect(m("tenant", "equals", "acme")).toBe(true)
    expect(m("paymentMethod", "equals", "card")).toBe(true)
    expect(m("metadata.channel", "equals", "web")).toBe(true)
    expect(m("metadata.risk", "between", [5, 10])).toBe(true)
    expect(m("metadata.missing", "equals", "x")).toBe(false)
    expect(m("metadata.missing", "notIn", ["x"])).toBe(true)
  })

  it.effect("the enabled matching rule with the highest priority wins; splits are stable per payment", () =>
    Effect.gen(function*() {
      const rules = [
        rule("eu", 5, [{ field: "customerCountry", operator: "equals", value: "DE" }], "c"),
        rule("big", 10, [{ field: "amount", operator: "greaterThan", value: "500" }], "b"),
        rule("off", 100, [], "a", false)
      ]
      expect(yield* ranked({ strategy: "RULE_BASED", rules }, payment({ amount: "1000.00", country: "DE" }))).toEqual(["b", "a", "c"])
      expect(yield* ranked({ strategy: "RULE_BASED", rules }, payment({ amount: "10.00", country: "DE" }))).toEqual(["c", "a", "b"])
      expect(yield* ranked({ strategy: "RULE_BASED", rules }, payment({ amount: "10.00", country: "FR" }))).toEqual(["a", "b", "c"])
      const split = [rule("split", 1, [], [{ gateway: "b", weight: 30 }, { gateway: "c", weight: 70 }])]
      const firsts: Record<string, number> = {}
      for (let i = 0; i < 1000; i++) {
        const first = (yield* ranked({ strategy: "RULE_BASED", rules: split }, payment({ id: `pay_${i}` })))[0]!
        firsts[first] = (firsts[first] ?? 0) + 1
      }
      expect(firsts.b! + firsts.c!).toBe(1000)
      expect(firsts.b).toBeGreaterThan(230)
      expect(firsts.b).toBeLessThan(370)
      const again = yield* ranked({ strategy: "RULE_BASED", rules: split }, payment({ id: "pay_42" }))
      expect(yield* ranked({ strategy: "RULE_BASED", rules: split }, payment({ id: "pay_42" }))).toEqual(again)
    }))
})

describe("routing in PaymentService", () => {
  it.effect("payments go to the gateway the strategy ranks first, and fail over down its ranking", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mocks = yield* MockGateway.MockGateways
      const p = yield* payments.createPayment(request())
      expect((yield* payments.processPayment(p.id)).attempts.map((x) => x.gateway)).toEqual(["cheap"])
      yield* mocks.get("cheap")!.setAvailable(false, ["process"])
      const q = yield* payments.createPayment(request({ idempotencyKey: "q" }))
      const fiber = yield* Effect.fork(payments.processPayment(q.id))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber)).attempts.map((x) => x.gateway)).toEqual(["cheap", "middle"])
    }).pipe(Effect.provide(AegisPayTest.layerMemory({
      ids: "sequential",
      mockGateways: [{ id: "dear" }, { id: "cheap" }, { id: "middle" }],
      routing: {
        strategy: "COST_OPTIMIZED",
        fees: {
          dear: { fixedMinor: 100n, basisPoints: 300 },
          cheap: { fixedMinor: 10n, basisPoints: 100 },
          middle: { fixedMinor: 30n, basisPoints: 200 }
        }
      }
    }))))
})
