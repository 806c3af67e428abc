/**
 * Consumer check 3: `aegispay/http` and `aegispay/gateways` from a user's project.
 *
 * - Mounts the API on the user's own `@effect/platform` server (port 0) over the memory
 *   composition and the test kit's API keys, creates a key, and calls the API with the typed
 *   client derived from `AegisPayApi` (`HttpApiClient`): create + confirm a payment, read it
 *   back, and a typed 404.
 * - Builds gateways of `aegispay/gateways` the ways a user would (a Stripe gateway with test-mode
 *   keys, the four `GatewayProvider`s given to `TenantGateways`), type-checked against the
 *   consumer's strict settings, without calling any provider.
 */
import { createServer } from "node:http"
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Either, Layer, Logger, LogLevel, Redacted } from "effect"
import { ApiKeys, type Gateway, GatewayRegistry, IdempotencyStore, TenantGateways } from "aegispay"
import { Pagadito, PayPal, Razorpay, Stripe } from "aegispay/gateways"
import { AegisPayApi, AegisPayHttp, ApiError } from "aegispay/http"
import { AegisPayTest, TenancyTest } from "aegispay/testing"

// --- aegispay/gateways: type-checked construction, no network -------------------------------
const providers: ReadonlyArray<Gateway.GatewayProvider<HttpClient.HttpClient>> = [
  Stripe.provider,
  PayPal.provider,
  Razorpay.provider,
  Pagadito.provider
]
const stripe: Effect.Effect<Gateway.Gateway, never, HttpClient.HttpClient> = Stripe.make({
  id: "stripe-eu",
  secretKey: Redacted.make("sk_test_consumer_0000000000000000"),
  timeout: "10 seconds"
})
const gateways = GatewayRegistry.layerFrom([stripe]).pipe(Layer.provide(FetchHttpClient.layer))
const tenantGateways = TenantGateways.layer({ providers }).pipe(
  Layer.provide(FetchHttpClient.layer),
  Layer.provideMerge(TenancyTest.layerCredentials)
)

const built = await Effect.runPromise(
  Effect.gen(function*() {
    const registry = yield* GatewayRegistry.GatewayRegistry
    const all = yield* registry.all
    const service = yield* TenantGateways.TenantGateways
    return { ids: all.map((g) => g.id), providers: service.providers.map((p) => p.provider) }
  }).pipe(Effect.provide(Layer.merge(gateways, tenantGateways.pipe(Layer.provide(gateways)))))
)
if (built.ids.join() !== "stripe-eu" || built.providers.join() !== "stripe,paypal,razorpay,pagadito") {
  throw new Error(`unexpected gateways: ${JSON.stringify(built)}`)
}

// --- aegispay/http: mounted on the user's server, called with the derived client ------------
const app = AegisPayHttp.serve().pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(TenancyTest.layerApiKeys),
  Layer.provideMerge(IdempotencyStore.layerMemory),
  Layer.provideMerge(AegisPayTest.layerMemory()),
  Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
)

const program = Effect.gen(function*() {
  const address = (yield* HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  const key = yield* (yield* ApiKeys.ApiKeys).create({ tenantId: "consumer", scopes: ["payments:read", "payments:write"], name: "consumer" })
  const client = yield* HttpApiClient.make(AegisPayApi.AegisPayApi, {
    baseUrl: `http://127.0.0.1:${address.port}`,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(key.key)))
  })
  const created = yield* client.payments.create({
    headers: { "idempotency-key": "consumer-http-1" },
    payload: {
      amount: "12.34",
      currency: "EUR",
      paymentMethod: { type: "card", number: "4242424242424242", expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Consumer Test" },
      customer: { id: "cus_consumer", email: "consumer@example.com" }
    }
  })
  const confirmed = yield* client.payments.confirm({ path: { paymentId: created.id } })
  if (confirmed.state !== "SUCCESS" || confirmed.amount.amount !== "12.34") {
    return yield* Effect.dieMessage(`expected SUCCESS 12.34, got ${confirmed.state} ${confirmed.amount.amount}`)
  }
  const read = yield* client.payments.get({ path: { paymentId: created.id } })
  // a typed error: the client decodes the 404 body into the NotFound class
  const missing = yield* Effect.either(client.payments.get({ path: { paymentId: "pay_missing" } }))
  if (Either.isRight(missing) || !(missing.left instanceof ApiError.NotFound)) return yield* Effect.dieMessage("expected a NotFound")
  return { id: read.id, state: read.state, missing: missing.left.code }
})

const result = await Effect.runPromise(program.pipe(Effect.provide(FetchHttpClient.layer), Effect.provide(app), Effect.scoped))
console.log(`consumer http: ${result.id} ${result.state}, missing → ${result.missing}; gateways: ${built.ids.join()} + providers ${built.providers.join()}`)
