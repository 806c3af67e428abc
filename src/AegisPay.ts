/**
 * Ready-made layer compositions.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Redacted } from "effect"
import * as Ids from "./domain/Ids.js"
import * as EventBus from "./events/EventBus.js"
import * as CardVault from "./gateway/CardVault.js"
import * as GatewayRegistry from "./gateway/GatewayRegistry.js"
import * as MockGateway from "./gateway/MockGateway.js"
import * as PaymentService from "./orchestration/PaymentService.js"
import * as LockManager from "./storage/LockManager.js"
import * as MemoryStorage from "./storage/MemoryStorage.js"
import type { EventStore } from "./storage/EventStore.js"
import type { PaymentRepository } from "./storage/PaymentRepository.js"

/**
 * Options of {@link layerMemory}.
 *
 * @since 0.1.0
 */
export interface MemoryOptions {
  /** The mock gateway's options (id, latency, capabilities). */
  readonly mockGateway?: MockGateway.Options
  /** Payment service settings (retries). */
  readonly service?: PaymentService.Config
  /** `"sequential"` ids (`pay_000001`) for readable, reproducible output; default random. */
  readonly ids?: "random" | "sequential"
  /** Key of card fingerprints; a fixed test key by default. */
  readonly fingerprintKey?: Redacted.Redacted<string>
}

/**
 * Every service of AegisPay on in-memory implementations with one {@link MockGateway}: what users
 * give their own tests. Fresh state per layer build.
 *
 * @since 0.1.0
 */
export const layerMemory = (
  options: MemoryOptions = {}
): Layer.Layer<
  | PaymentService.PaymentService
  | MockGateway.MockGateway
  | GatewayRegistry.GatewayRegistry
  | PaymentRepository
  | EventStore
  | EventBus.EventBus
  | LockManager.LockManager
  | CardVault.CardVault
  | Ids.Ids
> => {
  const vault = CardVault.layerMemory(options.fingerprintKey ?? Redacted.make("aegispay-test-fingerprint-key"))
  const mock = MockGateway.layer(options.mockGateway).pipe(Layer.provideMerge(vault))
  const registry = Layer.effect(
    GatewayRegistry.GatewayRegistry,
    Effect.flatMap(MockGateway.MockGateway, (m) => GatewayRegistry.make([m.gateway]))
  )
  const infrastructure = Layer.mergeAll(
    registry.pipe(Layer.provideMerge(mock)),
    MemoryStorage.layer,
    LockManager.layerMemory,
    EventBus.layer(),
    options.ids === "sequential" ? Ids.layerSequential : Ids.layer
  )
  return PaymentService.layer(options.service).pipe(Layer.provideMerge(infrastructure))
}
