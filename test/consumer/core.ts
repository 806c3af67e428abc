/**
 * Consumer check 1: the core entry and the test kit, with the merchant's own gateway, on memory
 * storage. Run where `pg`, `@effect/sql-pg` and `@effect/platform-node` are NOT installed: the
 * import succeeding proves the core entry does not load them.
 */
import { Effect } from "effect"
import { AegisPay, GatewayRegistry, PaymentLock } from "aegispay"
import { AegisPayTest, MemoryStorage } from "aegispay/testing"
import * as MyGateway from "./MyGateway.js"
import { program } from "./program.js"

const layer = AegisPay.layerWith({
  gateways: GatewayRegistry.layerFrom([MyGateway.make]),
  storage: MemoryStorage.layer,
  locks: PaymentLock.layerMemory,
  vault: AegisPayTest.layerVault
})

const done = await Effect.runPromise(program("core").pipe(Effect.provide(layer)))
console.log(`consumer core: ${done.id} ${done.state} via ${done.gateway ?? "?"}`)
