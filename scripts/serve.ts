/**
 * `npm run serve`: the AegisPay HTTP service as is, for trying it out. Embedded PostgreSQL
 * (PGlite in `AEGISPAY_DATA_DIR`, default `./data`) or, with `DATABASE_URL`, a PostgreSQL server;
 * the mock gateway as every tenant's default, the test vault of the test kit (never a production
 * setup), merchant webhooks with their delivery worker; a demo tenant and a fresh demo API key
 * (scope `admin`) printed at start. Port from `PORT` (default 3000).
 *
 * Per-tenant credentials: `POST /v1/providers/credentials` (and the seed's
 * `POST /api/v1/providers/credentials`) store a tenant's own Stripe, PayPal, Razorpay or Pagadito
 * keys, sealed under `KeyManagement` (`AEGISPAY_KEK`, `AEGISPAY_KEK_ID`, `AEGISPAY_FINGERPRINT_KEY`
 * when set; otherwise the test kit's public keys, with a warning), as merchant webhook endpoint
 * secrets are, and `TenantGateways` builds that tenant's gateway from them (it calls the real
 * provider: use test-mode keys).
 *
 * The GraphQL API is at `/graphql`, with introspection on unless `AEGISPAY_GRAPHQL_INTROSPECTION=false`.
 *
 * API keys are hashed with `AEGISPAY_API_KEY_PEPPER` (base64, ≥ 32 bytes); without it a public
 * demo pepper is used and a warning printed.
 *
 * Logs: one JSON object per line (`Logging.layerJson`: request id, tenant, API key id and payment
 * id on each access line, card numbers masked); `AEGISPAY_LOG_FORMAT=text` for Effect's default
 * logfmt lines (masked too); `AEGISPAY_LOG_LEVEL` (default `INFO`; `DEBUG`, `WARN`, `ERROR`, …)
 * filters them (`Logging.layerConfig`). Every payment operation and gateway request logs one line
 * (`OperationLog`), with the request's `correlationId`. Traces and metrics go to OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`Otel.layerConfig`).
 */
import { createServer } from "node:http"
import { FetchHttpClient } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import { ApiKeyHash, ApiKeys, KeyManagement, Logging, TenantGateways, Tenants } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { Pagadito, PayPal, Razorpay, Stripe } from "aegispay/gateways"
import { AegisPayHttp } from "aegispay/http"
import { Otel } from "aegispay/otel"
import { AegisPayPg, SqlApiKeys, SqlTenantCredentials, SqlTenants } from "aegispay/pg"
import { AegisPayTest, TenancyTest } from "aegispay/testing"

const demoPepper = Redacted.make(new TextEncoder().encode("aegispay-demo-pepper-never-use-in-production!"))

const settings = Config.all({
  port: Config.integer("PORT").pipe(Config.withDefault(3000)),
  dataDir: Config.string("AEGISPAY_DATA_DIR").pipe(Config.withDefault("./data")),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  pepper: Config.option(ApiKeyHash.config),
  kek: Config.option(Config.redacted("AEGISPAY_KEK")),
  // on for trying things out (GraphiQL, codegen); the library's default is off
  introspection: Config.boolean("AEGISPAY_GRAPHQL_INTROSPECTION").pipe(Config.withDefault(true))
})

const banner = (lines: ReadonlyArray<string>) => {
  const width = Math.max(...lines.map((l) => l.length))
  const rule = "!".repeat(width + 4)
  return [rule, ...lines.map((l) => `! ${l.padEnd(width)} !`), rule].join("\n")
}

const main = Effect.gen(function*() {
  const { databaseUrl, dataDir, introspection, kek, pepper, port } = yield* settings
  if (Option.isNone(pepper)) yield* Console.warn("AEGISPAY_API_KEY_PEPPER is not set: using the public demo pepper (demo only)")
  if (Option.isNone(kek)) {
    yield* Console.warn(banner([
      "DEMO ONLY: AEGISPAY_KEK is not set, so provider credentials saved through",
      "/v1/providers/credentials are encrypted under the test kit's PUBLIC keys",
      "(TenancyTest.testKeys): anyone can decrypt them. Never store live keys here."
    ]))
  }
  // merchant webhooks (`/v1/webhook-endpoints`), endpoint secrets sealed under the same keys
  const keys = Option.isSome(kek) ? KeyManagement.layerConfig : TenancyTest.layerKeyManagement
  const merchantWebhooks = { keys }
  const core = Option.isSome(databaseUrl)
    ? AegisPayPg.layer({ ...AegisPayTest.parts(), url: databaseUrl.value, merchantWebhooks })
    : AegisPayEmbedded.layer({ ...AegisPayTest.parts(), dataDir, merchantWebhooks })
  const tenancy = Layer.mergeAll(SqlApiKeys.layer, SqlTenants.layer).pipe(
    Layer.provide(ApiKeyHash.layer(Option.getOrElse(pepper, () => demoPepper)))
  )
  // a tenant's own gateways (the built-in providers) from its stored credentials; the mock
  // gateway of the core stays every tenant's default
  const credentials = SqlTenantCredentials.layer.pipe(
    Layer.provide(keys)
  )
  const tenantGateways = TenantGateways.layer({ providers: [Stripe.provider, PayPal.provider, Razorpay.provider, Pagadito.provider] }).pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provideMerge(credentials)
  )
  const demo = Effect.gen(function*() {
    const tenants = yield* Tenants.Tenants
    yield* tenants.create({ id: "demo", name: "Demo tenant" }).pipe(Effect.catchTag("TenantExists", () => Effect.void))
    const key = yield* (yield* ApiKeys.ApiKeys).create({ tenantId: "demo", scopes: ["admin"], name: "demo key" })
    yield* Console.log([
      `AegisPay on http://127.0.0.1:${port} (${Option.isSome(databaseUrl) ? "PostgreSQL" : `embedded PostgreSQL in ${dataDir}`}, mock gateway)`,
      `demo tenant: demo   demo API key (shown once): ${Redacted.value(key.key)}`,
      `docs: http://127.0.0.1:${port}/docs   OpenAPI: http://127.0.0.1:${port}/openapi.json`,
      `GraphQL: http://127.0.0.1:${port}/graphql (introspection ${introspection ? "on" : "off"})`,
      `per-tenant credentials: POST /v1/providers/credentials (stripe, paypal, razorpay, pagadito)`
    ].join("\n"))
  })
  const app = AegisPayHttp.serve({ graphql: { introspection } }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port })),
    Layer.provideMerge(Layer.effectDiscard(demo)),
    Layer.provideMerge(tenantGateways),
    Layer.provideMerge(tenancy),
    Layer.provideMerge(core),
    Layer.provide(Otel.layerConfig),
    Layer.provide(Logging.layerConfig)
  )
  return yield* Layer.launch(app)
})

// the composition masks card numbers in Effect's default logger; runMain's pretty logger would
// print every line a second time, unmasked
NodeRuntime.runMain(main, { disablePrettyLogger: true })
