/**
 * Tenants: every operation runs for the current tenant (set per request, as an HTTP service does
 * from the caller's API key). Another tenant's payment is `PaymentNotFound`, exactly like a
 * missing one, and a tenant can bring its own gateway (built from its own credentials).
 *
 *   npx tsx examples/tenants.ts
 */
import { Console, Effect } from "effect"
import { GatewayRegistry, PaymentService, Tenant } from "aegispay"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"

const order = (key: string) => ({
  idempotencyKey: key,
  amount: "25.00",
  currency: "USD",
  paymentMethod: { type: "card" as const, number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "T" },
  customer: { id: "cus_t", email: "t@example.com" }
})

const program = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const registry = yield* GatewayRegistry.GatewayRegistry

  // acme brings its own account at the provider: same gateway id, acme's instance
  const acmeGateway = yield* MockGateway.make({ id: "mock" })
  yield* registry.register(acmeGateway.gateway, { tenantId: "acme" })

  const acme = yield* Effect.flatMap(payments.createPayment(order("order-1")), (p) => payments.processPayment(p.id))
    .pipe(Tenant.with("acme"))
  const globex = yield* Effect.flatMap(payments.createPayment(order("order-1")), (p) => payments.processPayment(p.id))
    .pipe(Tenant.with("globex"))
  yield* Console.log(`acme   ${acme.id}: ${acme.state} (tenant ${acme.tenantId})`)
  yield* Console.log(`globex ${globex.id}: ${globex.state} (same key, another tenant: another payment)`)

  // globex cannot see, capture or refund acme's payment: it does not exist for globex
  const refused = yield* Effect.flip(payments.refundPayment({ paymentId: acme.id, idempotencyKey: "steal" }))
    .pipe(Tenant.with("globex"))
  const missing = yield* Effect.flip(payments.getPayment("pay_nope")).pipe(Tenant.with("globex"))
  yield* Console.log(`globex refunding acme's payment: ${refused.message}`)
  yield* Console.log(`globex reading a missing payment: ${missing.message}`)

  const ledgers = {
    acme: (yield* acmeGateway.ledger).charges.length,
    shared: (yield* (yield* MockGateway.MockGateway).ledger).charges.length
  }
  yield* Console.log(`charges: acme's own gateway ${ledgers.acme}, the shared gateway ${ledgers.shared}`)
})

program.pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" })), Effect.runPromise).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
