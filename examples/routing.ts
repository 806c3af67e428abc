/**
 * Routing: rules send high-value and German payments to chosen gateways; everything else goes
 * to the cheapest gateway, with fees computed exactly in minor units; ADAPTIVE learns which
 * gateway approves which currency best.
 *
 *   npx tsx examples/routing.ts
 */
import { Console, Effect, Random } from "effect"
import { GatewayRegistry, PaymentService, Router } from "aegispay"
import { AegisPayTest, TestCards } from "aegispay/testing"

const pay = (key: string, amount: string, country: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const p = yield* payments.createPayment({
      idempotencyKey: key,
      amount,
      currency: "EUR",
      paymentMethod: { type: "card", number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "R" },
      customer: { id: "cus_r", email: "r@example.com", country }
    })
    const done = yield* payments.processPayment(p.id)
    yield* Console.log(`${key.padEnd(10)} ${amount.padStart(8)} EUR from ${country} → ${done.attempts[0]!.gateway}`)
  })

const program = Effect.gen(function*() {
  yield* pay("small-fr", "12.00", "FR")
  yield* pay("big-fr", "4500.00", "FR")
  yield* pay("small-de", "12.00", "DE")
})

program.pipe(
  Effect.provide(AegisPayTest.layerMemory({
    ids: "sequential",
    mockGateways: [{ id: "stripe" }, { id: "adyen" }, { id: "local-de" }],
    routing: {
      strategy: "RULE_BASED",
      rules: [
        {
          id: "high-value",
          priority: 10,
          enabled: true,
          conditions: [{ field: "amount", operator: "greaterThan", value: "1000" }],
          target: "adyen"
        },
        {
          id: "germany",
          priority: 5,
          enabled: true,
          conditions: [{ field: "customerCountry", operator: "equals", value: "DE" }],
          target: "local-de"
        }
      ]
    }
  })),
  Effect.runPromise
).then(
  () =>
    // the same payments by cost: stripe 0.25 + 1.4%, adyen 0.11 + 1.8%, local-de 0.50 + 0.9%
    Effect.runPromise(
      Effect.gen(function*() {
        yield* Console.log("by cost:")
        yield* pay("small", "12.00", "FR")
        yield* pay("large", "4500.00", "FR")
      }).pipe(Effect.provide(AegisPayTest.layerMemory({
        ids: "sequential",
        mockGateways: [{ id: "stripe" }, { id: "adyen" }, { id: "local-de" }],
        routing: {
          strategy: "COST_OPTIMIZED",
          fees: {
            stripe: { fixedMinor: 25n, basisPoints: 140 },
            adyen: { fixedMinor: 11n, basisPoints: 180 },
            "local-de": { fixedMinor: 50n, basisPoints: 90 }
          }
        }
      })))
    )
).then(() =>
  // ADAPTIVE learns approval rates per gateway and per currency, payment method and card brand
  // from the outcomes fed to `Router.observe`. Here we feed a made-up history: stripe approves
  // 95% of USD but 70% of EUR, adyen the other way round. Randomness (exploration) is seeded.
  Effect.runPromise(
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const router = yield* Router.Router
      const gateways = yield* (yield* GatewayRegistry.GatewayRegistry).all
      const card = { type: "card", number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "R" } as const
      const customer = { id: "cus_r", email: "r@example.com" }
      const usd = yield* payments.createPayment({ idempotencyKey: "usd", amount: "20.00", currency: "USD", paymentMethod: card, customer })
      const eur = yield* payments.createPayment({ idempotencyKey: "eur", amount: "20.00", currency: "EUR", paymentMethod: card, customer })
      for (let i = 0; i < 100; i++) {
        yield* router.observe(usd, "stripe", i % 20 === 0 ? "declined" : "approved")
        yield* router.observe(eur, "stripe", i % 10 < 3 ? "declined" : "approved")
        yield* router.observe(usd, "adyen", i % 10 < 3 ? "declined" : "approved")
        yield* router.observe(eur, "adyen", i % 20 === 0 ? "declined" : "approved")
      }
      const order = (p: typeof usd) => Effect.map(router.rank(p, gateways), (ranked) => ranked.map((g) => g.id).join(" > "))
      yield* Console.log(`adaptive: USD → ${yield* order(usd)}, EUR → ${yield* order(eur)}`)
    }).pipe(
      Effect.withRandom(Random.make("routing-example")),
      Effect.provide(AegisPayTest.layerMemory({
        ids: "sequential",
        mockGateways: [{ id: "stripe" }, { id: "adyen" }],
        routing: { strategy: "ADAPTIVE", adaptive: { exploration: 1 } }
      }))
    )
  )
).catch((error) => {
  console.error(error)
  process.exit(1)
})
