/**
 * Tenancy parts for tests: a fixed API key pepper and memory layers of `ApiKeys`. The pepper is
 * public (it is in this file): never use it outside tests.
 *
 * @since 0.2.0
 */
import { Layer, Redacted } from "effect"
import * as ApiKeyHash from "../security/ApiKeyHash.js"
import * as ApiKeys from "../tenancy/ApiKeys.js"

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
