/**
 * Resilience: a gateway goes down, its circuit breaker opens, traffic fails over to the next
 * gateway, and once it is back the breaker lets a trial call through and closes again.
 *
 *   npx tsx examples/resilience.ts
 */
import { Console, Effect, Stream } from "effect"
import { CircuitBreaker, PaymentService } from "aegispay"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"

const order = (n: number) => ({
  idempotencyKey: `order-${n}`,
  amount: "25.00",
  currency: "EUR",
  paymentMethod: { type: "card" as const, number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "Ada" },
  customer: { id: "cus_ada", email: "ada@example.com" }
})

const program = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const mocks = yield* MockGateway.MockGateways
  const primary = mocks.get("primary")!
  const breakers = yield* CircuitBreaker.CircuitBreakers
  const changes = yield* breakers.changes
  yield* Effect.forkScoped(Stream.runForEach(changes, (c) => Console.log(`  breaker ${c.gateway}: ${c.from} -> ${c.to}`)))

  const pay = (n: number) =>
    Effect.flatMap(payments.createPayment(order(n)), (p) => payments.processPayment(p.id)).pipe(
      Effect.tap((p) =>
        Console.log(`order-${n}: ${p.state} via ${p.attempts.map((a) => `${a.gateway}(${a.status})`).join(" -> ")}`)
      )
    )

  yield* Console.log("primary is up:")
  yield* pay(1)
  yield* Console.log("primary goes down (charges fail with 503):")
  yield* primary.setAvailable(false, ["initiate", "process"])
  yield* pay(2) // the call and its retry fail: two failures open primary's circuit; failover to backup
  yield* pay(3) // straight to the backup: primary is not even called while its circuit is open
  yield* pay(4)
  yield* Console.log("primary comes back; after the reset timeout one trial call closes the circuit:")
  yield* primary.setAvailable(true)
  yield* Effect.sleep("1 second")
  yield* pay(5)
  const ledgers = yield* Effect.forEach([...mocks.values()], (m) =>
    Effect.map(m.ledger, (l) => `${m.gateway.id}: ${l.charges.length} charges`))
  yield* Console.log(`ledgers: ${ledgers.join(", ")} (one charge per order)`)
})

program.pipe(
  Effect.scoped,
  Effect.provide(AegisPayTest.layerMemory({
    ids: "sequential",
    mockGateways: [{ id: "primary" }, { id: "backup" }],
    service: { retry: { maxRetries: 1, initialDelayMs: 50, maxDelayMs: 50, backoffMultiplier: 1 } },
    breaker: { failureThreshold: 2, monitorWindow: "30 seconds", resetTimeout: "1 second", halfOpenMaxCalls: 1, successThreshold: 1 }
  })),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
