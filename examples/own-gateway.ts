/**
 * A production-shaped composition with your own gateway: a gateway written against the public
 * `Gateway` contract, registered with `GatewayRegistry.layerFrom`, on the embedded PostgreSQL
 * with the encrypted SQL card vault (keys from `Config`), the outbox relay, the recovery worker
 * and the retention jobs running. No test double anywhere.
 *
 *   npx tsx examples/own-gateway.ts
 */
import { ConfigProvider, Console, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { Gateway, GatewayRegistry, PaymentService, PaymentView } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"

/** An in-house processor: honours idempotency keys (the same key moves money once). */
const InHouse = Effect.sync((): Gateway.Gateway => {
  const charges = new Map<string, string>()
  return {
    id: "inhouse",
    capabilities: { currencies: ["USD", "EUR"], manualCapture: false },
    initiate: ({ paymentId }) => Effect.succeed({ reference: `ref_${paymentId}` }),
    authenticate: () => Effect.void,
    process: ({ idempotencyKey }) =>
      Effect.sync(() => {
        const id = charges.get(idempotencyKey) ?? `tx_${charges.size + 1}`
        charges.set(idempotencyKey, id)
        return { transactionId: id, status: "succeeded" as const }
      }),
    capture: () => Effect.fail(new Gateway.GatewayMisconfigured({ gateway: "inhouse", reason: "no manual capture" })),
    void: () => Effect.fail(new Gateway.GatewayMisconfigured({ gateway: "inhouse", reason: "no manual capture" })),
    refund: ({ idempotencyKey }) => Effect.succeed({ refundId: `re_${idempotencyKey}` }),
    getStatus: ({ idempotencyKey }) =>
      Effect.sync((): Gateway.StatusResult => {
        const id = charges.get(idempotencyKey)
        return id === undefined ? { status: "not_found" } : { status: "succeeded", transactionId: id }
      }),
    healthCheck: Effect.succeed({ healthy: true, latencyMillis: 0 })
  }
})

const AegisPayLive = AegisPayEmbedded.layer({ gateways: GatewayRegistry.layerFrom([InHouse]) })

// In production these come from your secret store through the Config provider (environment
// variables by default). Here: fresh demo keys, so the example runs anywhere.
const demoKeys = ConfigProvider.fromMap(new Map([
  ["AEGISPAY_KEK", randomBytes(32).toString("base64")],
  ["AEGISPAY_KEK_ID", "demo-kek-1"],
  ["AEGISPAY_FINGERPRINT_KEY", randomBytes(32).toString("base64")]
]))

const program = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const created = yield* payments.createPayment({
    idempotencyKey: "own-gateway-1",
    amount: "25.00",
    currency: "EUR",
    paymentMethod: { type: "card", number: "4242424242424242", expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Ada" },
    customer: { id: "cus_ada", email: "ada@example.com" }
  })
  const done = yield* payments.processPayment(created.id)
  yield* Console.log(JSON.stringify(PaymentView.toJson(done), null, 2))
  // a currency the gateway does not take: a typed error, and no other gateway to fall back on
  const yen = yield* payments.createPayment({
    idempotencyKey: "own-gateway-2",
    amount: "1000",
    currency: "JPY",
    paymentMethod: { type: "card", number: "4242424242424242", expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Ada" },
    customer: { id: "cus_ada", email: "ada@example.com" }
  })
  const refused = yield* Effect.flip(payments.processPayment(yen.id))
  yield* Console.log(`JPY: ${refused._tag}`)
})

program.pipe(
  Effect.provide(AegisPayLive),
  Effect.provide(Layer.setConfigProvider(demoKeys)),
  Effect.scoped,
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
