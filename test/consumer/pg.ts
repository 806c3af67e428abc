/**
 * Consumer check 2: the production composition on PostgreSQL with the merchant's own gateway,
 * settings from the environment (DATABASE_URL, the vault's AEGISPAY_KEK, AEGISPAY_KEK_ID and
 * AEGISPAY_FINGERPRINT_KEY), workers running, card numbers only encrypted in the database.
 */
import { Effect } from "effect"
import { GatewayRegistry } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import * as MyGateway from "./MyGateway.js"
import { program } from "./program.js"

const layer = AegisPayPg.layer({ gateways: GatewayRegistry.layerFrom([MyGateway.make]) })

const done = await Effect.runPromise(Effect.scoped(program(`pg-${process.pid}`).pipe(Effect.provide(layer))))
console.log(`consumer pg: ${done.id} ${done.state} via ${done.gateway ?? "?"}`)
