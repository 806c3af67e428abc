/**
 * Tenancy parts for tests: a fixed API key pepper, fixed key-encryption keys, memory layers of
 * `ApiKeys`, `Tenants` and `TenantCredentials`, and a `GatewayProvider` that builds mock
 * gateways. Every key here is public (it is in this file): never use them outside tests.
 *
 * @since 0.2.0
 */
import { Effect, Layer, Redacted, Ref } from "effect"
import type { Ids } from "../domain/Ids.js"
import type { CardVault } from "../gateway/CardVault.js"
import { GatewayMisconfigured, type GatewayProvider } from "../gateway/Gateway.js"
import * as ApiKeyHash from "../security/ApiKeyHash.js"
import * as KeyManagement from "../security/KeyManagement.js"
import * as ApiKeys from "../tenancy/ApiKeys.js"
import * as TenantCredentials from "../tenancy/TenantCredentials.js"
import * as Tenants from "../tenancy/Tenants.js"
import * as MockGateway from "./MockGateway.js"

/**
 * The test pepper: 32 fixed bytes, publicly known.
 *
 * @since 0.2.0
 */
export const testPepper: Redacted.Redacted<Uint8Array> = Redacted.make(
  new Uint8Array(Buffer.from("aegispay-test-api-key-pepper-32b", "utf8"))
)

/**
 * `ApiKeyPepper` with {@link testPepper}.
 *
 * @since 0.2.0
 */
export const layerPepper: Layer.Layer<ApiKeyHash.ApiKeyPepper> = ApiKeyHash.layer(testPepper)

/**
 * `ApiKeys` in memory with the test pepper.
 *
 * @since 0.2.0
 */
export const layerApiKeys: Layer.Layer<ApiKeys.ApiKeys> = ApiKeys.layerMemory.pipe(Layer.provide(layerPepper))

/**
 * Fixed, public key-encryption keys (KEK id `test-kek`) and fingerprint key.
 *
 * @since 0.2.0
 */
export const testKeys: KeyManagement.Keys = {
  current: { id: "test-kek", key: Redacted.make(new Uint8Array(Buffer.from("aegispay-test-key-encryption-key", "utf8"))) },
  fingerprintKey: Redacted.make(new Uint8Array(Buffer.from("aegispay-test-fingerprint-key-32", "utf8")))
}

/**
 * `KeyManagement` over {@link testKeys}.
 *
 * @since 0.2.0
 */
export const layerKeyManagement: Layer.Layer<KeyManagement.KeyManagement> = KeyManagement.layer(testKeys).pipe(Layer.orDie)

/**
 * `TenantCredentials` in memory, encrypted under {@link testKeys}.
 *
 * @since 0.2.0
 */
export const layerCredentials: Layer.Layer<TenantCredentials.TenantCredentials> = TenantCredentials.layerMemory.pipe(
  Layer.provide(layerKeyManagement)
)

/**
 * `Tenants`, `ApiKeys` (a suspended tenant's keys refused) and `TenantCredentials`, in memory,
 * with the test pepper and keys.
 *
 * @since 0.2.0
 */
export const layerMemory: Layer.Layer<Tenants.Tenants | ApiKeys.ApiKeys | TenantCredentials.TenantCredentials> =
  ApiKeys.layerMemory.pipe(
    Layer.provideMerge(Tenants.layerMemory),
    Layer.provide(layerPepper),
    Layer.merge(layerCredentials)
  )

/**
 * A build made by a {@link mockProvider}: the credentials it was given and the mock it made.
 *
 * @since 0.2.0
 */
export interface MockBuild {
  readonly credentials: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly mock: MockGateway.MockGateway["Type"]
}

/**
 * A `GatewayProvider` of mock gateways (id: `provider`, default `"mock"`), with the fields
 * `apiKey` (secret, required; refused unless it starts with `sk_`) and `account` (optional), and
 * the list of the builds it made (to count them and reach each mock's ledger).
 *
 * @since 0.2.0
 */
export const mockProvider = (options: { readonly provider?: string | undefined; readonly mock?: MockGateway.Options | undefined } = {}): Effect.Effect<{
  readonly provider: GatewayProvider<CardVault | Ids>
  readonly builds: Effect.Effect<ReadonlyArray<MockBuild>>
}> =>
  Effect.map(Ref.make<ReadonlyArray<MockBuild>>([]), (builds) => {
    const name = options.provider ?? "mock"
    const provider: GatewayProvider<CardVault | Ids> = {
      provider: name,
      fields: [{ name: "apiKey", secret: true }, { name: "account", secret: false, optional: true }],
      make: (credentials, { id }) =>
        Effect.gen(function*() {
          const apiKey = credentials.apiKey
          if (apiKey === undefined || !Redacted.value(apiKey).startsWith("sk_")) {
            return yield* new GatewayMisconfigured({ gateway: id, reason: "apiKey must start with sk_" })
          }
          const mock = yield* MockGateway.make({ ...options.mock, id })
          yield* Ref.update(builds, (all) => [...all, { credentials, mock }])
          return mock.gateway
        })
    }
    return { provider, builds: Ref.get(builds) }
  })
