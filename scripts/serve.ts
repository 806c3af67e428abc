/**
 * `npm run serve`: the AegisPay HTTP service as is, for trying it out. Embedded PostgreSQL
 * (PGlite in `AEGISPAY_DATA_DIR`, default `./data`) or, with `DATABASE_URL`, a PostgreSQL server;
 * the mock gateway, the test vault and test keys of the test kit (never a production setup),
 * merchant webhooks with their delivery worker; a demo tenant
 * and a fresh demo API key (scope `admin`) printed at start. Port from `PORT` (default 3000).
 * The GraphQL API is at `/graphql`, with introspection on unless `AEGISPAY_GRAPHQL_INTROSPECTION=false`.
 * API keys are hashed with `AEGISPAY_API_KEY_PEPPER` (base64, ≥ 32 bytes); without it a public
 * demo pepper is used and a warning printed.
 */
import { createServer } from "node:http"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option, Redacted } from "effect"
import { ApiKeyHash, ApiKeys, Tenants } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayHttp } from "aegispay/http"
import { AegisPayPg, SqlApiKeys, SqlTenants } from "aegispay/pg"
import { AegisPayTest, TenancyTest } from "aegispay/testing"

const demoPepper = Redacted.make(new TextEncoder().encode("aegispay-demo-pepper-never-use-in-production!"))

const settings = Config.all({
  port: Config.integer("PORT").pipe(Config.withDefault(3000)),
  dataDir: Config.string("AEGISPAY_DATA_DIR").pipe(Config.withDefault("./data")),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  pepper: Config.option(ApiKeyHash.config),
  // on for trying things out (GraphiQL, codegen); the library's default is off
  introspection: Config.boolean("AEGISPAY_GRAPHQL_INTROSPECTION").pipe(Config.withDefault(true))
})

const main = Effect.gen(function*() {
  const { databaseUrl, dataDir, introspection, pepper, port } = yield* settings
  if (Option.isNone(pepper)) yield* Console.warn("AEGISPAY_API_KEY_PEPPER is not set: using the public demo pepper (demo only)")
  // merchant webhooks (`/v1/webhook-endpoints`), endpoint secrets sealed under the test kit's keys
  const merchantWebhooks = { keys: TenancyTest.layerKeyManagement }
  const core = Option.isSome(databaseUrl)
    ? AegisPayPg.layer({ ...AegisPayTest.parts(), url: databaseUrl.value, merchantWebhooks })
    : AegisPayEmbedded.layer({ ...AegisPayTest.parts(), dataDir, merchantWebhooks })
  const tenancy = Layer.mergeAll(SqlApiKeys.layer, SqlTenants.layer).pipe(
    Layer.provide(ApiKeyHash.layer(Option.getOrElse(pepper, () => demoPepper)))
  )
  const demo = Effect.gen(function*() {
    const tenants = yield* Tenants.Tenants
    yield* tenants.create({ id: "demo", name: "Demo tenant" }).pipe(Effect.catchTag("TenantExists", () => Effect.void))
    const key = yield* (yield* ApiKeys.ApiKeys).create({ tenantId: "demo", scopes: ["admin"], name: "demo key" })
    yield* Console.log([
      `AegisPay on http://127.0.0.1:${port} (${Option.isSome(databaseUrl) ? "PostgreSQL" : `embedded PostgreSQL in ${dataDir}`}, mock gateway)`,
      `demo tenant: demo   demo API key (shown once): ${Redacted.value(key.key)}`,
      `docs: http://127.0.0.1:${port}/docs   OpenAPI: http://127.0.0.1:${port}/openapi.json`,
      `GraphQL: http://127.0.0.1:${port}/graphql (introspection ${introspection ? "on" : "off"})`
    ].join("\n"))
  })
  const app = AegisPayHttp.serve({ graphql: { introspection } }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port })),
    Layer.provideMerge(Layer.effectDiscard(demo)),
    Layer.provideMerge(tenancy),
    Layer.provideMerge(core)
  )
  return yield* Layer.launch(app)
})

NodeRuntime.runMain(main)
