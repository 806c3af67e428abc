/**
 * What `npm run serve` (scripts/serve.ts) and `npm run worker` (scripts/worker.ts) share: the
 * AegisPay composition of the demo service, built the same way in both so that an API process and
 * a worker process on one database agree on the gateway, the card vault and the keys.
 *
 * Read from `Config` (the environment):
 * - `DATABASE_URL`: a PostgreSQL server; without it (serve only) embedded PostgreSQL (PGlite) in
 *   `AEGISPAY_DATA_DIR` (default `./data`), one process only.
 * - `AEGISPAY_KEK` (with `AEGISPAY_KEK_ID`, `AEGISPAY_FINGERPRINT_KEY`, optional
 *   `AEGISPAY_KEK_RETIRED`): when set, the production card vault (`SqlCardVault.layerConfig`:
 *   card numbers encrypted in the database, readable by every process holding the keys), and
 *   provider credentials and webhook endpoint secrets sealed under the same keys. When absent,
 *   the test kit's memory vault (cards live in this process only) and its PUBLIC keys: a demo.
 * - `AEGISPAY_MOCK_LEDGER`: `memory` (default: the test kit's `MockGateway`, id `mock`, its ledger
 *   in this process, every test card) or `postgres` (the test kit's `SqlLedgerGateway`, id
 *   `ledger`: its ledger in tables `aegis_test_ledger*` of the database, shared by every process
 *   like a real provider's; approves every card but the declined and insufficient-funds test
 *   cards). Several processes (API replicas, a worker running recovery) need `postgres`: a
 *   charge made by one must be visible to the others.
 *
 * Never a production composition: the gateways are test doubles. A production deployment builds
 * the same shape with its own gateways (`AegisPayPg.layer({ gateways })`, see README).
 */
import { Config, Option } from "effect"
import type { ConfigError, Layer } from "effect"
import type { SqlClient, SqlError } from "@effect/sql"
import { type CardVault, GatewayRegistry, type Ids, KeyManagement } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayPg, SqlCardVault } from "aegispay/pg"
import { AegisPayTest, SqlLedgerGateway, TenancyTest } from "aegispay/testing"

/**
 * The settings of {@link layer} (see the module header).
 */
export const settings = Config.all({
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  dataDir: Config.string("AEGISPAY_DATA_DIR").pipe(Config.withDefault("./data")),
  kek: Config.option(Config.redacted("AEGISPAY_KEK")),
  ledger: Config.literal("memory", "postgres")("AEGISPAY_MOCK_LEDGER").pipe(Config.withDefault("memory"))
})

/**
 * The settings of {@link layer}.
 */
export type Settings = Config.Config.Success<typeof settings>

/**
 * The background workers of a process: all of them (outbox relay, recovery, retention, merchant
 * webhook deliveries) or none (an API process next to dedicated worker processes).
 */
export type Workers = "all" | "none"

/** The key management of `settings` (provider credentials, webhook secrets). */
export const keysOf = (settings: Settings): Layer.Layer<KeyManagement.KeyManagement, ConfigError.ConfigError> =>
  Option.isSome(settings.kek) ? KeyManagement.layerConfig : TenancyTest.layerKeyManagement

/** The gateways of the demo: the memory mock or the ledger in PostgreSQL. */
const gatewaysOf = (
  ledger: Settings["ledger"]
): Layer.Layer<GatewayRegistry.GatewayRegistry, SqlError.SqlError, CardVault.CardVault | SqlClient.SqlClient | Ids.Ids> =>
  ledger === "postgres" ? GatewayRegistry.layerFrom([SqlLedgerGateway.make()]) : AegisPayTest.parts().gateways

/**
 * The composition of `settings` with `workers`: on PostgreSQL when `DATABASE_URL` is set, else
 * embedded; keys and vault as the module header says.
 */
export const layer = (settings: Settings, workers: Workers) => {
  const keys = keysOf(settings)
  const vault: Layer.Layer<CardVault.CardVault, ConfigError.ConfigError, SqlClient.SqlClient> = Option.isSome(settings.kek)
    ? SqlCardVault.layerConfig
    : AegisPayTest.parts().vault
  const gateways = gatewaysOf(settings.ledger)
  const off = workers === "none"
  const options = {
    gateways,
    vault,
    // merchant webhooks (`/v1/webhook-endpoints`), endpoint secrets sealed under the same keys
    merchantWebhooks: off ? { keys, worker: false, retention: false } as const : { keys },
    ...(off ? { relay: false, recovery: false, retention: false } as const : {})
  }
  return Option.isSome(settings.databaseUrl)
    ? AegisPayPg.layer({ ...options, url: settings.databaseUrl.value })
    : AegisPayEmbedded.layer({ ...options, dataDir: settings.dataDir })
}

/**
 * One line saying where the composition of `settings` runs.
 */
export const describe = (settings: Settings): string =>
  [
    Option.isSome(settings.databaseUrl) ? "PostgreSQL" : `embedded PostgreSQL in ${settings.dataDir}`,
    settings.ledger === "postgres" ? "test gateway with its ledger in PostgreSQL" : "mock gateway",
    Option.isSome(settings.kek) ? "card vault encrypted in the database" : "test vault in memory"
  ].join(", ")

/**
 * The paths the worker's HTTP server answers (scripts/worker.ts), and nothing else: liveness,
 * readiness, metrics. What the worker deployment's probes and scrapes may use.
 */
export const workerRoutes = ["/health", "/ready", "/metrics"] as const
