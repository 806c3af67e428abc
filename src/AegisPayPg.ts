/**
 * The production composition on a PostgreSQL server: your gateways, the SQL storage (migrated
 * when built), leases with fencing tokens across processes, the card vault, and the background
 * workers (outbox relay, recovery, retention), each supervised and each optional per process.
 *
 * ```ts
 * import { AegisPayPg } from "aegispay/pg"
 *
 * const AegisPayLive = AegisPayPg.layer({ gateways: GatewayRegistry.layerFrom([MyGateway.make]) })
 * // reads DATABASE_URL (and AEGISPAY_PG_POOL_SIZE) from the Config provider
 * ```
 *
 * Nothing from the test kit is in here: the only gateways are the ones you pass.
 *
 * @since 0.1.0
 */
import { PgClient } from "@effect/sql-pg"
import { Config, ConfigError, Either, Layer, Redacted } from "effect"
import * as SqlComposition from "./internal/SqlComposition.js"
import * as Migrations from "./storage/Migrations.js"
import * as SqlLockManager from "./storage/SqlLockManager.js"

/**
 * PostgreSQL connection settings. Every field is optional.
 *
 * @since 0.1.0
 */
export interface ClientOptions {
  /** The connection URL; default: `DATABASE_URL` from the `Config` provider (required then). */
  readonly url?: Redacted.Redacted<string> | undefined
  /** Pool size; default `AEGISPAY_PG_POOL_SIZE` from the `Config` provider, else 10. */
  readonly maxConnections?: number | undefined
  /**
   * The PostgreSQL schema of every AegisPay table, created by the migrations when missing;
   * default `AEGISPAY_PG_SCHEMA` from the `Config` provider, else `aegispay`. Lower-case letters,
   * digits and `_` (see `Migrations.isSchemaName`); anything else is a `ConfigError` when the
   * layer is built. Compositions with different schemas share one database without seeing each
   * other's payments. A database made before this option (its tables in `public`) has them
   * moved into the schema by the first start (see `Migrations.prepare`); `"public"` keeps them
   * where they are.
   */
  readonly schema?: string | undefined
}

/**
 * `url` with `options=-c search_path=<schema>,public` (or `<schema>` alone for `public`): every
 * connection opened with it, the pool's and the LISTEN connection's, starts with AegisPay's
 * schema first, so unqualified table names resolve there and new tables are created there; the
 * application's own tables in `public` stay reachable through the same client. An `options`
 * parameter already in `url` is kept, with the `search_path` setting after it (the later one
 * wins). Assumes a valid schema name (`Migrations.isSchemaName`).
 *
 * @since 0.1.0
 */
export const withSchema = (url: string, schema: string): string => {
  const setting = `-c search_path=${schema === "public" ? "public" : `${schema},public`}`
  const hash = url.indexOf("#")
  const base = hash === -1 ? url : url.slice(0, hash)
  const fragment = hash === -1 ? "" : url.slice(hash)
  const existing = /([?&])options=([^&]*)/.exec(base)
  if (existing === null) {
    return `${base}${base.includes("?") ? "&" : "?"}options=${encodeURIComponent(setting)}${fragment}`
  }
  // the value stays as it was encoded; the setting follows it, separated by an encoded space
  const end = existing.index + existing[0].length
  return `${base.slice(0, end)}${encodeURIComponent(` ${setting}`)}${base.slice(end)}${fragment}`
}

/** The schema of `options`, else `AEGISPAY_PG_SCHEMA`, else `aegispay`; checked. */
const schemaConfig = (options: ClientOptions): Config.Config<string> =>
  (options.schema !== undefined
    ? Config.succeed(options.schema)
    : Config.string("AEGISPAY_PG_SCHEMA").pipe(Config.withDefault(Migrations.defaultSchema))).pipe(
      Config.mapOrFail((schema) =>
        Migrations.isSchemaName(schema)
          ? Either.right(schema)
          : Either.left(
            ConfigError.InvalidData(
              ["AEGISPAY_PG_SCHEMA"],
              `not a schema name AegisPay accepts: ${JSON.stringify(schema)} (lower-case letters, digits, _; at most 63; not pg_…)`
            )
          )
      )
    )

/**
 * The settings of {@link layer}: the shared `AegisPay.Options`, your gateways, the card vault
 * (default `SqlCardVault.layerConfig`: encrypted in the database, keys from `Config`), the outbox relay and retention jobs (default on, `false`
 * for none), the recovery worker (default on), the connection and the lease settings. Every
 * field but `gateways` is optional.
 *
 * @since 0.1.0
 */
export interface Options<
  GOut = never,
  EG = never,
  RG = never,
  EV = never,
  RV = never,
  W extends SqlComposition.MerchantWebhooksSetting = undefined
> extends SqlComposition.Options<GOut, EG, RG, EV, RV, W>, ClientOptions
{
  /** Lease settings of the lock manager. */
  readonly locks?: SqlLockManager.Options | undefined
}

/**
 * A `PgClient` (and `SqlClient`) from options or `Config`, whose connections start in AegisPay's
 * schema (`search_path`, see {@link withSchema}). An invalid schema name is a `ConfigError`.
 *
 * @since 0.1.0
 */
export const layerClient = (options: ClientOptions = {}) =>
  PgClient.layerConfig({
    url: Config.all([
      options.url !== undefined ? Config.succeed(options.url) : Config.redacted("DATABASE_URL"),
      schemaConfig(options)
    ]).pipe(Config.map(([url, schema]) => Redacted.make(withSchema(Redacted.value(url), schema)))),
    maxConnections: options.maxConnections !== undefined
      ? Config.succeed(options.maxConnections)
      : Config.integer("AEGISPAY_PG_POOL_SIZE").pipe(Config.withDefault(10))
  })

/**
 * The SQL storage on the `SqlClient` in context, migrated when built, with an `OutboxRelay`
 * delivering committed events to the `EventBus` (pass `false` to run relays elsewhere, e.g. in
 * dedicated worker processes).
 *
 * @since 0.1.0
 */
export const layerStorage = SqlComposition.layerStorage

/**
 * Every service of AegisPay on PostgreSQL with your gateways, plus the `IdempotencyStore`, with
 * the outbox relay, the recovery worker and the retention jobs running (each optional). With
 * `routing: { strategy: "ADAPTIVE" }`, the router learns from the outcomes of every process on
 * the database (`SqlRoutingEvidence`, exchanged every `AEGISPAY_ROUTING_SHARE_INTERVAL`, default
 * 1 second; `routingEvidence: false` to learn alone; docs/ROUTING.md, "Shared learning").
 *
 * @since 0.1.0
 */
export const layer = <
  GOut = never,
  EG = never,
  RG = never,
  EV = never,
  RV = never,
  W extends SqlComposition.MerchantWebhooksSetting = undefined
>(
  options: Options<GOut, EG, RG, EV, RV, W>
) => SqlComposition.layer(options, SqlLockManager.layer(options.locks), true).pipe(Layer.provideMerge(layerClient(options)))
