/**
 * One OS process of the multi-process test: creates and processes the same payments (same
 * idempotency keys) as its siblings, against one PostgreSQL database and one shared ledger.
 *
 *   DATABASE_URL=… node --import tsx test/multiprocess/worker.ts <count> <worker>
 *
 * (the tests start it from a bundle of it: test/support/Children.ts)
 */
import { Effect, Layer, Redacted } from "effect"
import { CircuitBreaker, EventBus, GatewayMetrics, GatewayRegistry, Hooks, Ids, KeyManagement, PaymentService, Router } from "aegispay"
import { AegisPayPg, SqlCardVault } from "aegispay/pg"
import { SqlLedgerGateway, TestCards } from "aegispay/testing"
import * as SqlLockManager from "../../src/storage/SqlLockManager.js"
import * as SqlStorage from "../../src/storage/SqlStorage.js"

const count = Number(process.argv[2] ?? "1000")
const worker = Number(process.argv[3] ?? "0")
const url = process.env.DATABASE_URL
if (url === undefined) throw new Error("DATABASE_URL is required")

// every process shares the encrypted SQL card vault, keyed alike, as a deployment's processes do
const keys = {
  current: { id: "mp-kek", key: Redacted.make<Uint8Array>(new Uint8Array(32).fill(3)) },
  fingerprintKey: Redacted.make<Uint8Array>(new Uint8Array(32).fill(5))
}
const base = Layer.mergeAll(SqlCardVault.layer.pipe(Layer.provide(KeyManagement.layer(keys))), Ids.layer).pipe(
  Layer.provideMerge(AegisPayPg.layerClient({ url: Redacted.make(url), maxConnections: 8 }))
)
const registry = Layer.effect(
  GatewayRegistry.GatewayRegistry,
  Effect.flatMap(SqlLedgerGateway.make(), (gateway) => GatewayRegistry.make([gateway]))
)
const layer = PaymentService.layer({ retry: { maxRetries: 5, initialDelayMs: 10, maxDelayMs: 100, backoffMultiplier: 2 } }).pipe(
  Layer.provideMerge(
    Layer.mergeAll(registry, SqlStorage.layer, SqlLockManager.layer(), EventBus.layer(), CircuitBreaker.layer(), GatewayMetrics.layer(), Router.layerRegistrationOrder, Hooks.layer())
  ),
  Layer.provideMerge(base)
)

// Each worker walks the payments in a different order, so they collide on every payment.
const order = Array.from({ length: count }, (_, i) => (i * (2 * worker + 1) + worker * 97) % count)

const program = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const errors: Record<string, number> = {}
  yield* Effect.forEach(order, (i) =>
    Effect.gen(function*() {
      const payment = yield* payments.createPayment({
        idempotencyKey: `mp-${i}`,
        amount: BigInt(100 + i),
        currency: "USD",
        paymentMethod: { type: "card", number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "M P" },
        customer: { id: `cus_${i % 50}`, email: "mp@example.com" }
      })
      yield* payments.processPayment(payment.id)
    }).pipe(Effect.catchAll((e) => Effect.sync(() => {
      errors[e._tag] = (errors[e._tag] ?? 0) + 1
    }))), { concurrency: 8, discard: true })
  process.stdout.write(`${JSON.stringify({ worker, errors })}\n`)
})

Effect.runPromise(program.pipe(Effect.provide(layer))).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
