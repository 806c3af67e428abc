/**
 * The PostgreSQL entry of AegisPay: the production composition on a server and the SQL layers
 * it is made of. Needs `@effect/sql-pg` (and `@effect/platform-node` for the migrator).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AegisPayPg from "./AegisPayPg.js"
/** @since 0.1.0 */
export * as Migrations from "./storage/Migrations.js"
/** @since 0.1.0 */
export * as OutboxRelay from "./events/OutboxRelay.js"
/** @since 0.1.0 */
export * as OutboxSignal from "./storage/OutboxSignal.js"
/** @since 0.1.0 */
export * as Retention from "./storage/Retention.js"
/** @since 0.1.0 */
export * as SqlLockManager from "./storage/SqlLockManager.js"
/** @since 0.1.0 */
export * as SqlStorage from "./storage/SqlStorage.js"
/** @since 0.3.0 */
export * as SqlRoutingEvidence from "./routing/SqlRoutingEvidence.js"
/** @since 0.1.0 */
export * as SqlCardVault from "./security/SqlCardVault.js"
/** @since 0.2.0 */
export * as SqlApiKeys from "./tenancy/SqlApiKeys.js"
/** @since 0.2.0 */
export * as SqlTenants from "./tenancy/SqlTenants.js"
/** @since 0.2.0 */
export * as SqlTenantCredentials from "./tenancy/SqlTenantCredentials.js"
