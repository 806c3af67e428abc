/**
 * Idempotency records (Stripe semantics) for operations that have no natural unique key.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE aegis_idempotency (
      tenant_id text NOT NULL,
      idempotency_key text NOT NULL,
      fingerprint text NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'completed')),
      owner text,
      locked_until timestamptz,
      response jsonb,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      completed_at timestamptz,
      PRIMARY KEY (tenant_id, idempotency_key)
    )`
  yield* sql`CREATE INDEX aegis_idempotency_created ON aegis_idempotency (created_at)`
})
