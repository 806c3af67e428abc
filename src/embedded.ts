/**
 * The embedded entry of AegisPay: the composition on PGlite, a real PostgreSQL inside the
 * process (no server). Needs `@effect/sql-pg` and `@electric-sql/pglite`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AegisPayEmbedded from "./AegisPayEmbedded.js"
/** @since 0.1.0 */
export * as Embedded from "./storage/Embedded.js"
