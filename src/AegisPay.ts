/**
 * The composition of every AegisPay service from its parts: the storage, the locks, the card
 * vault and **your gateways**.
 *
 * Nothing from the test kit is in here: production compositions (`AegisPayPg.layer` in
 * `aegispay/pg`, `AegisPayEmbedded.layer` in `aegispay/embedded`) pass the SQL parts, and the
 * test kit (`aegispay/testing`) passes memory parts and mock gateways. This module loads no
 * database driver.
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import type { Schedule } from "effect"
import * as Ids from "./domain/Ids.js"
import * as Sanitize from "./domain/Sanitize.js"
import * as EventBus from "./events/EventBus.js"
import type * as CardVault from "./gateway/CardVault.js"
import type * as GatewayRegistry from "./gateway/GatewayRegistry.js"
import * as AegisPayMetrics from "./observability/AegisPayMetrics.js"
import * as PaymentTelemetry from "./observability/PaymentTelemetry.js"
import * as GatewayMetrics from "./observability/GatewayMetrics.js"
import * as Compensation from "./orchestration/Compensation.js"
import * as Hooks from "./orchestration/Hooks.js"
import * as ManualReview from "./orchestration/ManualReview.js"
import * as Notifications from "./orchestration/Notifications.js"
import * as PaymentService from "./orchestration/PaymentService.js"
import * as Recovery from "./orchestration/Recovery.js"
import * as Workers from "./observability/Workers.js"
import * as Shutdown from "./orchestration/Shutdown.js"
import * as CircuitBreaker from "./resilience/CircuitBreaker.js"
import * as Router from "./routing/Router.js"
import type { EventStore } from "./storage/EventStore.js"
import type * as LockManager from "./storage/LockManager.js"
import type * as PaymentLock from "./storage/PaymentLock.js"
import type { PaymentRepository } from "./storage/PaymentRepository.js"

/**
 * Settings of the recovery worker: {@link Recovery.Options} plus its schedule (default: every 30
 * seconds).
 *
 * @since 0.1.0
 */
export interface RecoveryOptions extends Recovery.Options {
  readonly schedule?: Schedule.Schedule<unknown> | undefined
}

/**
 * Settings shared by every composition. Every field is optional.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Payment service settings (retries, call timeout, failover); see `PaymentService.Options`. */
  readonly service?: PaymentService.Options | undefined
  /** Circuit breaker settings, the same for every gateway; see `CircuitBreaker.defaults`. */
  readonly breaker?: CircuitBreaker.Options | undefined
  /** Routing strategy; default: registration order of the gateways. */
  readonly routing?: Router.Options | undefined
  /** Merchant hooks (validation, fraud checks, routing, after processing); default none. */
  readonly hooks?: Hooks.Options | undefined
  /** `"sequential"` ids (`pay_000001`) for readable, reproducible output; default `"random"`. */
  readonly ids?: "random" | "sequential" | undefined
  /**
   * The recovery worker of this process, or `false` for none (e.g. run it in worker processes
   * only). Production compositions run it by default; the test kit does not (call
   * `Recovery.runOnce` yourself).
   */
  readonly recovery?: RecoveryOptions | false | undefined
  /**
   * Graceful shutdown: how long operations in flight may take to finish; default 30 seconds.
   * `false`: operations run in their caller's fiber, so interrupting the caller interrupts the
   * operation wherever it is (the model of a process dying; the simulation uses it).
   */
  readonly shutdown?: Shutdown.ShutdownOptions | false | undefined
  /**
   * AegisPay's metrics from the committed events and circuit changes (`AegisPayMetrics`:
   * payments by state, events by type, outbox lag, circuit states and transitions) and from each
   * committed decision (`PaymentTelemetry`: payments created and finished by gateway, currency and
   * method, end-to-end latency, retries, failovers, compensations, reviews); default on, `false`
   * for none.
   */
  readonly metrics?: boolean | undefined
}

/**
 * The gateways of a composition: a layer providing the {@link GatewayRegistry.GatewayRegistry}
 * (and, optionally, services of its own, such as the test kit's `MockGateways`). Build it from
 * your gateways with `GatewayRegistry.layerFrom([StripeLike, MyGateway.make])`: each entry is a
 * gateway or an effect building one (reading its own `Config`, using an `HttpClient`), registered
 * in this order. The layer may require the {@link CardVault.CardVault} and {@link Ids.Ids} of the
 * composition.
 *
 * @since 0.1.0
 */
export type Gateways<GOut = never, E = never, R = never> = Layer.Layer<GatewayRegistry.GatewayRegistry | GOut, E, R>

/**
 * Everything a composition provides.
 *
 * @since 0.1.0
 */
export type Services =
  | PaymentService.PaymentService
  | Shutdown.InFlight
  | Compensation.Compensation
  | Notifications.Notifications
  | ManualReview.ManualReview
  | Recovery.Recovery
  | CircuitBreaker.CircuitBreakers
  | GatewayMetrics.GatewayMetrics
  | Router.Router
  | Hooks.Hooks
  | GatewayRegistry.GatewayRegistry
  | PaymentRepository
  | EventStore
  | EventBus.EventBus
  | LockManager.LockManager
  | PaymentLock.PaymentLock
  | CardVault.CardVault
  | Ids.Ids

/**
 * The parts a composition is built from.
 *
 * @since 0.1.0
 */
export interface Parts<GOut, EG, RG, ES, RS, EL, RL, EV, RV> {
  /** Your gateways: `GatewayRegistry.layerFrom([...])` (see {@link Gateways}). */
  readonly gateways: Gateways<GOut, EG, RG>
  /** The payment repository and event store (memory, or SQL on a `SqlClient`). */
  readonly storage: Layer.Layer<PaymentRepository | EventStore, ES, RS>
  /** The lock manager and payment lock; they may use the storage and the ids. */
  readonly locks: Layer.Layer<LockManager.LockManager | PaymentLock.PaymentLock, EL, RL>
  /** The card vault. */
  readonly vault: Layer.Layer<CardVault.CardVault, EV, RV>
}

/**
 * The {@link Ids} of `options.ids` (the same layer value each time, so it is built once per
 * composition).
 *
 * @since 0.1.0
 */
export const layerIds = (options: Pick<Options, "ids">): Layer.Layer<Ids.Ids> =>
  options.ids === "sequential" ? Ids.layerSequential : Ids.layer

/**
 * Every service of AegisPay over the given parts. Internal services (event bus, breakers, router,
 * hooks, ids) are built here; the storage may use the event bus, the locks the repository and
 * ids, the gateways the vault and ids.
 *
 * @since 0.1.0
 */
export const layerWith = <GOut = never, EG = never, RG = never, ES = never, RS = never, EL = never, RL = never, EV = never, RV = never>(
  parts: Parts<GOut, EG, RG, ES, RS, EL, RL, EV, RV>,
  options: Options = {}
) => {
  // the registry of this composition's background workers (relay, recovery, …): what `/ready` reads
  const base = parts.vault.pipe(Layer.provideMerge(layerIds(options)), Layer.provideMerge(Workers.layer))
  const registry = parts.gateways.pipe(Layer.provideMerge(base))
  const infrastructure = Layer.mergeAll(registry, parts.locks).pipe(
    // payment telemetry counts each committed decision at the repository (`PaymentTelemetry`)
    Layer.provideMerge(options.metrics === false ? parts.storage : PaymentTelemetry.layerRepository.pipe(Layer.provideMerge(parts.storage))),
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
  // money-moving operations run in fibers owned by the composition: a caller that goes away does
  // not cut a gateway call from its commit, and shutdown drains them (see Shutdown)
  const service = options.shutdown === false
    ? Layer.merge(PaymentService.layer(options.service), Shutdown.layer())
    : Shutdown.layerPaymentService.pipe(
      Layer.provideMerge(Shutdown.layer(options.shutdown)),
      Layer.provideMerge(PaymentService.layer(options.service))
    )
  const core = Layer.mergeAll(service, Compensation.layer(options.service)).pipe(
    Layer.provideMerge(infrastructure)
  )
  const recovery = options.recovery === undefined || options.recovery === false
    ? Recovery.layer()
    : Recovery.layerWorker(options.recovery)
  const metrics = options.metrics === false ? Layer.empty : AegisPayMetrics.layer
  return Layer.mergeAll(Notifications.layer, ManualReview.layer, recovery, metrics).pipe(
    Layer.provideMerge(core),
    // Effect's default logger masks card numbers in every log line of the composition's fibers and,
    // where the composition is provided, of the program (a custom logger: wrap it with `Sanitize.maskLogger`)
    Layer.provideMerge(Sanitize.layerLogger)
  )
}
