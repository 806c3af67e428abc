/**
 * What the PostgreSQL and the embedded compositions share: the SQL storage, the migrations, the
 * idempotency store, the card vault default and the workers, on the `SqlClient` in context.
 *
 * @internal
 */
import { Layer } from "effect"
import type { ConfigError } from "effect"
import * as AegisPay from "../AegisPay.js"
import * as MerchantWebhooks from "../events/MerchantWebhooks.js"
import * as OutboxBacklog from "../observability/OutboxBacklog.js"
import * as OutboxRelay from "../events/OutboxRelay.js"
import type * as CardVault from "../gateway/CardVault.js"
import * as KeyManagement from "../security/KeyManagement.js"
import * as SqlCardVault from "../security/SqlCardVault.js"
import type { SqlClient } from "@effect/sql"
import type * as Ids from "../domain/Ids.js"
import type { StorageError } from "../storage/StorageError.js"
import * as IdempotencyStore from "../storage/IdempotencyStore.js"
import type * as LockManager from "../storage/LockManager.js"
import * as Migrations from "../storage/Migrations.js"
import type * as PaymentLock from "../storage/PaymentLock.js"
import * as Retention from "../storage/Retention.js"
import * as SqlStorage from "../storage/SqlStorage.js"
import * as Workers from "../observability/Workers.js"
import type * as SharedEvidence from "../routing/SharedEvidence.js"
import * as SqlRoutingEvidence from "../routing/SqlRoutingEvidence.js"

/**
 * Settings of a SQL composition. Every field but `gateways` is optional.
 *
 * @internal
 */
export interface Options<GOut, EG, RG, EV, RV, W extends MerchantWebhooksSetting = undefined> extends AegisPay.Options {
  /** Your gateways: `GatewayRegistry.layerFrom([...])`, in routing and failover order. */
  readonly gateways: AegisPay.Gateways<GOut, EG, RG>
  /**
   * The card vault; default: `SqlCardVault.layerConfig` (card numbers encrypted in the database;
   * keys `AEGISPAY_KEK`, `AEGISPAY_KEK_ID`, `AEGISPAY_FINGERPRINT_KEY` from `Config`, required).
   */
  readonly vault?: Layer.Layer<CardVault.CardVault, EV, RV> | undefined
  /** The outbox relay of this process, or `false` for none; default on. */
  readonly relay?: OutboxRelay.Options | false | undefined
  /** The retention jobs of this process, or `false` for none; default on. */
  readonly retention?: Retention.RetentionOptions | false | undefined
  /**
   * Webhooks to merchants (`MerchantWebhooks`): `true` or its options to add the service and
   * this process's delivery worker (`worker: false` for the service alone); default off. Endpoint
   * secrets are sealed under `KeyManagement.layerConfig` (the card vault's keys from `Config`)
   * unless `keys` is given.
   */
  readonly merchantWebhooks?: W
  /**
   * Learning of `ADAPTIVE` routing shared with the other processes on the database
   * (`SqlRoutingEvidence`): `true` or its options to share, `false` not to. Default: on with
   * `ADAPTIVE` in `AegisPayPg.layer`, off in `AegisPayEmbedded.layer` (one process; on, a restart
   * starts from the evidence of the last `retention`). Nothing without `ADAPTIVE`.
   */
  readonly routingEvidence?: SqlRoutingEvidence.Options | boolean | undefined
}

/**
 * Settings of merchant webhooks in a SQL composition: `MerchantWebhooks.Options` and the keys
 * sealing endpoint secrets.
 *
 * @internal
 */
export interface MerchantWebhooksOptions extends MerchantWebhooks.Options {
  /** The key management sealing endpoint secrets; default `KeyManagement.layerConfig`. */
  readonly keys?: Layer.Layer<KeyManagement.KeyManagement, ConfigError.ConfigError> | undefined
}

/**
 * The `merchantWebhooks` option of a SQL composition.
 *
 * @internal
 */
export type MerchantWebhooksSetting = boolean | MerchantWebhooksOptions | undefined

/**
 * What a composition with the `merchantWebhooks` option `W` provides besides the rest:
 * `MerchantWebhooks` when `W` is `true` or options, nothing otherwise.
 *
 * @internal
 */
export type MerchantWebhooksOut<W> = [Exclude<W, undefined>] extends [never] ? never
  : [Exclude<W, undefined>] extends [true | MerchantWebhooksOptions] ? MerchantWebhooks.MerchantWebhooks
  : never

type WebhooksLayer<ROut> = Layer.Layer<
  ROut,
  StorageError | ConfigError.ConfigError,
  SqlClient.SqlClient | Ids.Ids
>

/**
 * The `MerchantWebhooks` layer of `option` (`false`/absent: nothing), on the composition's
 * `SqlClient` and `Ids`.
 *
 * @internal
 */
export function layerMerchantWebhooks<W extends MerchantWebhooksSetting>(option: W): WebhooksLayer<MerchantWebhooksOut<W>>
export function layerMerchantWebhooks(option: MerchantWebhooksSetting): WebhooksLayer<MerchantWebhooks.MerchantWebhooks> | WebhooksLayer<never> {
  if (option === undefined || option === false) return Layer.empty
  const options: MerchantWebhooksOptions = option === true ? {} : option
  return MerchantWebhooks.layerSql(options).pipe(Layer.provide(options.keys ?? KeyManagement.layerConfig))
}

/**
 * The SQL storage on the `SqlClient` in context, migrated when built, with an
 * {@link OutboxRelay} unless `relay` is `false`.
 *
 * @internal
 */
export const layerStorage = (relay: OutboxRelay.Options | false = {}) =>
  // the relay gets the storage's output: its OutboxSignal wakes it after each local commit
  (relay === false ? SqlStorage.layer : OutboxRelay.layer(relay).pipe(Layer.provideMerge(SqlStorage.layer))).pipe(
    Layer.provideMerge(Layer.merge(Migrations.layer, OutboxBacklog.layerSql))
  )

/**
 * The exchange of routing evidence of `options` (see {@link Options.routingEvidence}): a
 * `SharedEvidence` when routing is `ADAPTIVE` and sharing is on (`byDefault` when not said),
 * nothing otherwise.
 *
 * @internal
 */
export const layerRoutingEvidence = (
  options: Pick<Options<never, never, never, never, never>, "routing" | "routingEvidence">,
  byDefault: boolean
): Layer.Layer<SharedEvidence.SharedEvidence, StorageError | ConfigError.ConfigError, SqlClient.SqlClient> | Layer.Layer<never> => {
  const setting = options.routingEvidence ?? byDefault
  if (options.routing?.strategy !== "ADAPTIVE" || setting === false) return Layer.empty
  return SqlRoutingEvidence.layer(setting === true ? {} : setting)
}

/**
 * Every service on the `SqlClient` in context with the given locks; recovery on by default;
 * routing evidence shared when `ADAPTIVE` unless `routingEvidence` says otherwise
 * (`shareRoutingByDefault`: the default of `routingEvidence`).
 *
 * @internal
 */
export const layer = <GOut, EG, RG, EV, RV, EL, RL, W extends MerchantWebhooksSetting = undefined>(
  options: Options<GOut, EG, RG, EV, RV, W>,
  locks: Layer.Layer<LockManager.LockManager | PaymentLock.PaymentLock, EL, RL>,
  shareRoutingByDefault = false
) => {
  // the vault queries nothing when built; its table is migrated with the storage, before any payment
  const vault: Layer.Layer<CardVault.CardVault, EV | ConfigError.ConfigError, RV | SqlClient.SqlClient> = options.vault ??
    SqlCardVault.layerConfig
  const services = AegisPay.layerWith({
    gateways: options.gateways,
    storage: layerStorage(options.relay ?? {}),
    locks,
    vault
  }, { ...options, recovery: options.recovery ?? {} }).pipe(
    // in the context of the router when it is built (it attaches to it), not among the outputs
    Layer.provide(layerRoutingEvidence(options, shareRoutingByDefault)),
    Layer.provideMerge(
      (options.retention === false ? Layer.empty : Retention.layer(options.retention)).pipe(
        Layer.provideMerge(IdempotencyStore.layerSql),
        // the same `Workers.layer` value as the composition's: one registry, the retention jobs in it
        Layer.provideMerge(Layer.mergeAll(AegisPay.layerIds(options), Migrations.layer, Workers.layer))
      )
    )
  )
  // on top: migrated tables, and this process's commits (OutboxSignal) wake its worker
  return layerMerchantWebhooks(options.merchantWebhooks).pipe(Layer.provideMerge(services))
}
