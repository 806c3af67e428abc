/**
 * Chaos: 200 payments through a gateway that fails 15% of calls and times out after charging
 * 10% of the time (seeded, so every run is the same). Unknown outcomes are reconciled; the
 * ledger shows no customer charged twice.
 *
 *   npx tsx examples/chaos.ts
 */
import { Console, Effect, Random } from "effect"
import { GatewayRegistry, PaymentService } from "aegispay"
import { AegisPayTest, Chaos, MockGateway, TestCards } from "aegispay/testing"

const program = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const mock = yield* MockGateway.MockGateway
  yield* (yield* GatewayRegistry.GatewayRegistry).register(
    Chaos.wrap(mock.gateway, { errorRate: 0.15, timeoutAfterRate: 0.1 })
  )
  const states: Record<string, number> = {}
  let reconciled = 0
  for (let i = 0; i < 200; i++) {
    const p = yield* payments.createPayment({
      idempotencyKey: `chaos-${i}`,
      amount: "9.99",
      currency: "USD",
      paymentMethod: { type: "card", number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "C" },
      customer: { id: `cus_${i % 20}`, email: "chaos@example.com" }
    })
    yield* Effect.either(payments.processPayment(p.id))
    let state = (yield* payments.getPayment(p.id)).state
    while (state === "PROCESSING" || state === "INITIATED") {
      reconciled++
      yield* Effect.either(payments.processPayment(p.id))
      state = (yield* payments.getPayment(p.id)).state
    }
    states[state] = (states[state] ?? 0) + 1
  }
  const perPayment = new Map<string, number>()
  for (const c of (yield* mock.ledger).charges) perPayment.set(c.paymentId, (perPayment.get(c.paymentId) ?? 0) + 1)
  const doubles = [...perPayment.values()].filter((n) => n > 1).length
  yield* Console.log(`final states: ${JSON.stringify(states)}`)
  yield* Console.log(`extra processPayment calls to settle unknown outcomes: ${reconciled}`)
  yield* Console.log(`ledger: ${perPayment.size} charged payments, ${doubles} charged twice`)
  if (doubles > 0 || (states.SUCCESS ?? 0) !== perPayment.size) return yield* Effect.dieMessage("ledger and payments disagree")
})

program.pipe(
  Effect.withRandom(Random.make("aegispay-chaos-demo")),
  Effect.provide(AegisPayTest.layerMemory({
    ids: "sequential",
    breaker: { failureThreshold: 1000, monitorWindow: "60 seconds", resetTimeout: "1 second", halfOpenMaxCalls: 1, successThreshold: 1 },
    service: { retry: { maxRetries: 3, initialDelayMs: 1, maxDelayMs: 5, backoffMultiplier: 2 } }
  })),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
