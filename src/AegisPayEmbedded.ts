/**
 * The composition on the embedded PostgreSQL (PGlite, in the process): the same SQL storage and
 * migrations as on a server, no server needed. In memory, or in `dataDir` so that data survives
 * a restart. One process only: PGlite is a single backend, so locks are in-process.
 *
 * ```ts
 * import { AegisPayEmbedded } from "aegispay/embedded"
 *
 * const AegisPayLive = AegisPayEmbedded.layer({
 *   gateways: GatewayRegistry.layerFrom([MyGateway.make]),
 *   dataDir: "./data"
 * })
 * ```
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import * as SqlComposition from "./internal/SqlComposition.js"
import * as Embedded from "./storage/Embedded.js"
import * as PaymentLock from "./storage/PaymentLock.js"

/**
 * The settings of {@link layer}: the shared `AegisPay.Options`, your gateways, the card vault
 * (default `SqlCardVault.layerConfig`: encrypted in the database, keys from `Config`), the outbox relay and retention jobs (default on, `false`
 * for none), the recovery worker (default on) and `dataDir`. Every field but `gateways` is
 * optional.
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
> extends SqlComposition.Options<GOut, EG, RG, EV, RV, W>, Embedded.Options
{}

/**
 * Every service of AegisPay on the embedded PostgreSQL with your gateways, plus the
 * `IdempotencyStore`, with the outbox relay, the recovery worker and the retention jobs running
 * (each optional).
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
) => SqlComposition.layer(options, PaymentLock.layerMemory).pipe(Layer.provideMerge(Embedded.layerClient(options)))
