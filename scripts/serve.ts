/**
 * `npm run serve`: the AegisPay HTTP service as is, for trying it out. Embedded PostgreSQL
 * (PGlite in `AEGISPAY_DATA_DIR`, default `./data`) or, with `DATABASE_URL`, a PostgreSQL server;
 * a test gateway as every tenant's default (the mock, or with `AEGISPAY_MOCK_LEDGER=postgres` the
 * test ledger in PostgreSQL that several processes share), the test vault of the test kit unless
 * `AEGISPAY_KEK` is set (then the encrypted card vault in the database) — never a production
 * setup (scripts/composition.ts) —, merchant webhooks; a demo tenant and a fresh demo API key
 * (scope `admin`) printed at start. Port from `PORT` (default 3000).
 *
 * Workers: the outbox relay, recovery, retention and merchant webhook deliveries run in this
 * process unless `AEGISPAY_WORKERS=false`; then run them in `npm run worker` processes (the split
 * deployment of ops/k8s and ops/compose, docs/OPERATIONS.md).
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
 * filters them (`Logging.layerConfig`): one line per payment operation and gateway request
 * (`OperationLog`), with the request's `correlationId`. Traces and metrics go to OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`Otel.layerConfig`).
 */
import { createServer } from "node:http"
import { FetchHttpClient } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import { ApiKeyHash, ApiKeys, Logging, TenantGateways, Tenants } from "aegispay"
import { Pagadito, PayPal, Razorpay, Stripe } from "aegispay/gateways"
import { AegisPayHttp } from "aegispay/http"
import { Otel } from "aegispay/otel"
import { SqlApiKeys, SqlTenantCredentials, SqlTenants } from "aegispay/pg"
import * as Composition from "./composition.js"

const demoPepper = Redacted.make(new TextEncoder().encode("aegispay-demo-pepper-never-use-in-production!"))

const settings = Config.all({
  port: Config.integer("PORT").pipe(Config.withDefault(3000)),
  core: Composition.settings,
  workers: Config.boolean("AEGISPAY_WORKERS").pipe(Config.withDefault(true)),
  pepper: Config.option(ApiKeyHash.config),
  // on for trying things out (GraphiQL, codegen); the library's default is off
  introspection: Config.boolean("AEGISPAY_GRAPHQL_INTROSPECTION").pipe(Config.withDefault(true))
})

const banner = (lines: ReadonlyArray<string>) => {
  const width = Math.max(...lines.map((l) => l.length))
  const rule = "!".repeat(width + 4)
  return [rule, ...lines.map((l) => `! ${l.padEnd(width)} !`), rule].join("\n")
}

const main = Effect.gen(function*() {
  const { core: coreSettings, introspection, pepper, port, workers } = yield* settings
  if (Option.isNone(pepper)) yield* Console.warn("AEGISPAY_API_KEY_PEPPER is not set: using the public demo pepper (demo only)")
  if (Option.isNone(coreSettings.kek)) {
    yield* Console.warn(banner([
      "DEMO ONLY: AEGISPAY_KEK is not set, so provider credentials saved through",
      "/v1/providers/credentials are encrypted under the test kit's PUBLIC keys",
      "(TenancyTest.testKeys): anyone can decrypt them. Never store live keys here."
    ]))
  }
  const keys = Composition.keysOf(coreSettings)
  const core = Composition.layer(coreSettings, workers ? "all" : "none")
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
      `AegisPay on http://127.0.0.1:${port} (${Composition.describe(coreSettings)}; ${workers ? "workers in this process" : "no workers: AEGISPAY_WORKERS=false"})`,
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
