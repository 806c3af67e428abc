/**
 * Test compositions: every AegisPay service on memory layers with ledger-backed mock gateways
 * and a memory card vault with a fixed test key. Fresh state per layer build; no background
 * workers (run `Recovery.runOnce` yourself, under `TestClock`).
 *
 * For tests against PostgreSQL, pass the same parts to the production composition:
 * `AegisPayPg.layer({ gateways: MockGateway.layerRegistry(), vault: AegisPayTest.layerVault })`.
 *
 * @since 0.1.0
 */
import type { Layer} from "effect";
import { Redacted } from "effect"
import * as AegisPay from "../AegisPay.js"
import type * as CardVault from "../gateway/CardVault.js"
import * as MemoryCardVault from "./MemoryCardVault.js"
import * as MemoryStorage from "../storage/MemoryStorage.js"
import type { EventStore } from "../storage/EventStore.js"
import * as PaymentLock from "../storage/PaymentLock.js"
import type { PaymentRepository } from "../storage/PaymentRepository.js"
import * as MockGateway from "./MockGateway.js"

/**
 * The fingerprint key of the test vault: public, for tests only.
 *
 * @since 0.1.0
 */
export const testFingerprintKey: Redacted.Redacted<string> = Redacted.make("aegispay-test-fingerprint-key")

/**
 * A memory card vault keyed by {@link testFingerprintKey}.
 *
 * @since 0.1.0
 */
export const layerVault: Layer.Layer<CardVault.CardVault> = MemoryCardVault.layer(testFingerprintKey)

/**
 * Settings of the test compositions: the shared `AegisPay.Options` and the mock gateways.
 *
 * @since 0.1.0
 */
export interface Options extends AegisPay.Options {
  /** The mock gateway's options (id, latency, capabilities). */
  readonly mockGateway?: MockGateway.Options | undefined
  /**
   * Several mock gateways instead of one, registered in this order (routing and failover follow
   * it); reach them through `MockGateway.MockGateways`. Overrides `mockGateway`.
   */
  readonly mockGateways?: ReadonlyArray<MockGateway.Options> | undefined
  /** Key of card fingerprints; {@link testFingerprintKey} by default. */
  readonly fingerprintKey?: Redacted.Redacted<string> | undefined
}

/**
 * The mock gateways of `options` as a registry layer.
 *
 * @since 0.1.0
 */
export const layerGateways = (options: Options = {}) =>
  MockGateway.layerRegistry(options.mockGateways ?? [options.mockGateway ?? {}])

/**
 * The card vault of `options`.
 *
 * @since 0.1.0
 */
export const vaultOf = (options: Options = {}): Layer.Layer<CardVault.CardVault> =>
  options.fingerprintKey === undefined ? layerVault : MemoryCardVault.layer(options.fingerprintKey)

/**
 * The test parts: mock gateways (with their ledgers) and the test vault.
 *
 * @since 0.1.0
 */
export interface PartsOf {
  readonly gateways: ReturnType<typeof layerGateways>
  readonly vault: Layer.Layer<CardVault.CardVault>
}

/**
 * The test parts of `options` to pass to a production composition:
 * `AegisPayPg.layer({ ...AegisPayTest.parts(), url })` runs on PostgreSQL with mock gateways and
 * the test vault.
 *
 * @since 0.1.0
 */
export const parts = (options: Options = {}): PartsOf => ({
  gateways: layerGateways(options),
  vault: vaultOf(options)
})

/**
 * Every service on memory layers over any storage: the parts of {@link layerMemory} with the
 * storage of your choice (e.g. your own implementation under test). For other locks, use
 * `AegisPay.layerWith({ ...parts(options), storage, locks })`.
 *
 * @since 0.1.0
 */
export const layerWith = <ES, RS>(storage: Layer.Layer<PaymentRepository | EventStore, ES, RS>, options: Options = {}) =>
  AegisPay.layerWith({
    gateways: layerGateways(options),
    storage,
    locks: PaymentLock.layerMemory,
    vault: vaultOf(options)
  }, { ...options, recovery: options.recovery ?? false })

/**
 * Every service of AegisPay on in-memory implementations with mock gateways: what users give
 * their own tests. Fresh state per layer build.
 *
 * @since 0.1.0
 */
export const layerMemory = (options: Options = {}) => layerWith(MemoryStorage.layer, options)
