/**
 * Routing: rules send high-value and German payments to chosen gateways; everything else goes
 * to the cheapest gateway, with fees computed exactly in minor units.
 *
 *   npx tsx examples/routing.ts
 */
import { Console, Effect } from "effect"
import { AegisPay, PaymentService } from "aegispay"
import { TestCards } from "aegispay/testing"

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
  Effect.provide(AegisPay.layerMemory({
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
      }).pipe(Effect.provide(AegisPay.layerMemory({
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
).catch((error) => {
  console.error(error)
  process.exit(1)
})
