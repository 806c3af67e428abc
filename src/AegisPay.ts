/**
 * Ready-made layer compositions.
 *
 * @since 0.1.0
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer, Redacted } from "effect"
import * as Ids from "./domain/Ids.js"
import * as EventBus from "./events/EventBus.js"
import * as OutboxRelay from "./events/OutboxRelay.js"
import * as CardVault from "./gateway/CardVault.js"
import * as GatewayRegistry from "./gateway/GatewayRegistry.js"
import * as MockGateway from "./gateway/MockGateway.js"
import * as Hooks from "./orchestration/Hooks.js"
import * as PaymentService from "./orchestration/PaymentService.js"
import * as Compensation from "./orchestration/Compensation.js"
import * as ManualReview from "./orchestration/ManualReview.js"
import * as Notifications from "./orchestration/Notifications.js"
import * as GatewayMetrics from "./observability/GatewayMetrics.js"
import * as CircuitBreaker from "./resilience/CircuitBreaker.js"
import * as Router from "./routing/Router.js"
import type * as LockManager from "./storage/LockManager.js"
import * as PaymentLock from "./storage/PaymentLock.js"
import * as Embedded from "./storage/Embedded.js"
import * as MemoryStorage from "./storage/MemoryStorage.js"
import * as Migrations from "./storage/Migrations.js"
import * as SqlLockManager from "./storage/SqlLockManager.js"
import * as SqlStorage from "./storage/SqlStorage.js"
import type { EventStore } from "./storage/EventStore.js"
import type { PaymentRepository } from "./storage/PaymentRepository.js"

/**
 * Options shared by every composition.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The mock gateway's options (id, latency, capabilities). */
  readonly mockGateway?: MockGateway.Options
  /**
   * Several mock gateways instead of one, registered in this order (routing and failover follow
   * it); reach them through `MockGateway.MockGateways`. Overrides `mockGateway`.
   */
  readonly mockGateways?: ReadonlyArray<MockGateway.Options>
  /** Payment service settings (retries, call timeout, failover). */
  readonly service?: PaymentService.Config
  /** Circuit breaker settings, the same for every gateway. */
  readonly breaker?: CircuitBreaker.Config
  /** Routing strategy; default: registration order. */
  readonly routing?: Router.Config
  /** Merchant hooks (validation, fraud checks, routing, after processing). */
  readonly hooks?: Hooks.Config
  /** `"sequential"` ids (`pay_000001`) for readable, reproducible output; default random. */
  readonly ids?: "random" | "sequential"
  /** Key of card fingerprints; a fixed test key by default. */
  readonly fingerprintKey?: Redacted.Redacted<string>
}

/**
 * @since 0.1.0
 */
export type MemoryOptions = Options

/**
 * Everything a composition provides.
 *
 * @since 0.1.0
 */
export type Services =
  | PaymentService.PaymentService
  | Compensation.Compensation
  | Notifications.Notifications
  | ManualReview.ManualReview
  | CircuitBreaker.CircuitBreakers
  | GatewayMetrics.GatewayMetrics
  | Router.Router
  | Hooks.Hooks
  | MockGateway.MockGateway
  | MockGateway.MockGateways
  | GatewayRegistry.GatewayRegistry
  | PaymentRepository
  | EventStore
  | EventBus.EventBus
  | LockManager.LockManager
  | PaymentLock.PaymentLock
  | CardVault.CardVault
  | Ids.Ids

/**
 * Every service of AegisPay over the given storage (a layer of {@link PaymentRepository} and
 * {@link EventStore}), with one {@link MockGateway}.
 *
 * @since 0.1.0
 */
export const layerWith = <E, R, E2 = never, R2 = never>(
  storage: Layer.Layer<PaymentRepository | EventStore, E, R>,
  options: Options = {},
  locks: Layer.Layer<LockManager.LockManager | PaymentLock.PaymentLock, E2, R2 | Ids.Ids | PaymentRepository> =
    PaymentLock.layerMemory
) => {
  const vault = CardVault.layerMemory(options.fingerprintKey ?? Redacted.make("aegispay-test-fingerprint-key"))
  const ids = options.ids === "sequential" ? Ids.layerSequential : Ids.layer
  const base = Layer.merge(vault, ids)
  const mock = MockGateway.layerMany(options.mockGateways ?? [options.mockGateway ?? {}]).pipe(
    Layer.provideMerge(base)
  )
  const registry = Layer.effect(
    GatewayRegistry.GatewayRegistry,
    Effect.flatMap(MockGateway.MockGateways, (all) => GatewayRegistry.make([...all.values()].map((m) => m.gateway)))
  )
  const infrastructure = Layer.mergeAll(registry.pipe(Layer.provideMerge(mock)), locks).pipe(
    Layer.provideMerge(storage),
    Layer.provideMerge(Layer.mergeAll(
      EventBus.layer(),
      CircuitBreaker.layer(options.breaker),
      Hooks.layer(options.hooks),
      (options.routing === undefined ? Router.layerRegistrationOrder : Router.layer(options.routing)).pipe(
        Layer.provideMerge(GatewayMetrics.layer())
      ),
      base
    ))
  )
  const core = Layer.mergeAll(PaymentService.layer(options.service), Compensation.layer(options.service)).pipe(
    Layer.provideMerge(infrastructure)
  )
  return Layer.mergeAll(Notifications.layer, ManualReview.layer).pipe(Layer.provideMerge(core))
}

/**
 * Every service of AegisPay on in-memory implementations with one {@link MockGateway}: what users
 * give their own tests. Fresh state per layer build.
 *
 * @since 0.1.0
 */
export const layerMemory = (options: Options = {}): Layer.Layer<Services> => layerWith(MemoryStorage.layer, options)

/**
 * SQL storage on the `SqlClient` in context, migrated when built, with an {@link OutboxRelay}
 * delivering committed events to the {@link EventBus.EventBus} (pass `false` to run relays
 * elsewhere, e.g. in dedicated worker processes).
 *
 * @since 0.1.0
 */
export const layerSqlStorage = (relay: OutboxRelay.Options | false = {}) =>
  (relay === false ? SqlStorage.layer : OutboxRelay.layer(relay).pipe(Layer.provideMerge(SqlStorage.layer))).pipe(
    Layer.provideMerge(Migrations.layer)
  )

/**
 * PostgreSQL connection settings. Without `url`, `DATABASE_URL` is read from the `Config`
 * provider; the pool size defaults to `AEGISPAY_PG_POOL_SIZE` or 10.
 *
 * @since 0.1.0
 */
export interface PgOptions extends Options {
  readonly url?: Redacted.Redacted<string> | undefined
  readonly maxConnections?: number | undefined
  /** Outbox relay settings, or `false` to run no relay in this process. */
  readonly relay?: OutboxRelay.Options | false | undefined
}

/**
 * A `PgClient` from options or `Config`.
 *
 * @since 0.1.0
 */
export const layerPgClient = (options: PgOptions = {}) =>
  options.url !== undefined
    ? PgClient.layer({ url: options.url, maxConnections: options.maxConnections ?? 10 })
    : PgClient.layerConfig({
      url: Config.redacted("DATABASE_URL"),
      maxConnections: options.maxConnections !== undefined
        ? Config.succeed(options.maxConnections)
        : Config.integer("AEGISPAY_PG_POOL_SIZE").pipe(Config.withDefault(10))
    })

/**
 * Every service of AegisPay on PostgreSQL (migrated when built), with one {@link MockGateway}.
 *
 * @since 0.1.0
 */
export const layerPg = (options: PgOptions = {}) =>
  layerWith(layerSqlStorage(options.relay), options, SqlLockManager.layer()).pipe(
    Layer.provideMerge(layerPgClient(options))
  )

/**
 * Every service of AegisPay on the embedded PostgreSQL (PGlite), in memory or in `dataDir` so
 * that data survives a restart. No server needed.
 *
 * @since 0.1.0
 */
export const layerEmbedded = (
  options: Options & Embedded.Options & { readonly relay?: OutboxRelay.Options | false | undefined } = {}
) => layerWith(layerSqlStorage(options.relay), options).pipe(Layer.provideMerge(Embedded.layerClient(options)))
