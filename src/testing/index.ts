/**
 * The public test kit: memory layers, ledger-backed mock gateways and their test cards, chaos,
 * the SQL test ledger and the deterministic simulation. Nothing here belongs in production.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AegisPayTest from "./AegisPayTest.js"
/** @since 0.1.0 */
export { layerMemory } from "./AegisPayTest.js"
/** @since 0.1.0 */
export { type Ledger, type LedgerCharge, type LedgerRefund, TestCards, TestTokens } from "./MockGateway.js"
/** @since 0.1.0 */
export * as MockGateway from "./MockGateway.js"
/** @since 0.1.0 */
export * as Chaos from "./Chaos.js"
/** @since 0.1.0 */
export * as MemoryCardVault from "./MemoryCardVault.js"
/** @since 0.1.0 */
export * as MemoryStorage from "../storage/MemoryStorage.js"
/** @since 0.1.0 */
export * as SqlLedgerGateway from "./SqlLedgerGateway.js"
/** @since 0.1.0 */
export * as Simulation from "./Simulation.js"
/** @since 0.2.0 */
export * as TenancyTest from "./TenancyTest.js"
