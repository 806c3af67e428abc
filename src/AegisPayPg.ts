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
import { Config, Layer } from "effect"
import type { Redacted } from "effect"
import * as SqlComposition from "./internal/SqlComposition.js"
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
}

/**
 * The settings of {@link layer}: the shared `AegisPay.Options`, your gateways, the card vault
 * (default `SqlCardVault.layerConfig`: encrypted in the database, keys from `Config`), the outbox relay and retention jobs (default on, `false`
 * for none), the recovery worker (default on), the connection and the lease settings. Every
 * field but `gateways` is optional.
 *
 * @since 0.1.0
 */
export interface Options<GOut = never, EG = never, RG = never, EV = never, RV = never>
  extends SqlComposition.Options<GOut, EG, RG, EV, RV>, ClientOptions
{
  /** Lease settings of the lock manager. */
  readonly locks?: SqlLockManager.Options | undefined
}

/**
 * A `PgClient` (and `SqlClient`) from options or `Config`.
 *
 * @since 0.1.0
 */
export const layerClient = (options: ClientOptions = {}) =>
  options.url !== undefined
    ? PgClient.layer({ url: options.url, maxConnections: options.maxConnections ?? 10 })
    : PgClient.layerConfig({
      url: Config.redacted("DATABASE_URL"),
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
 * the outbox relay, the recovery worker and the retention jobs running (each optional).
 *
 * @since 0.1.0
 */
export const layer = <GOut = never, EG = never, RG = never, EV = never, RV = never>(
  options: Options<GOut, EG, RG, EV, RV>
) => SqlComposition.layer(options, SqlLockManager.layer(options.locks)).pipe(Layer.provideMerge(layerClient(options)))
