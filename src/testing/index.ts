/**
 * The public test kit: memory layers with a ledger-backed mock gateway and its test cards.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export { layerMemory } from "../AegisPay.js"
/** @since 0.1.0 */
export { type Ledger, type LedgerCharge, type LedgerRefund, MockGateway, TestCards } from "../gateway/MockGateway.js"
/** @since 0.1.0 */
export * as SqlLedgerGateway from "./SqlLedgerGateway.js"
/** @since 0.1.0 */
export * as Simulation from "./Simulation.js"
