/**
 * Leases for the PostgreSQL LockManager, and the shared ledger of the SQL test gateway.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Leases are ephemeral: UNLOGGED keeps their writes out of the WAL (no fsync per acquire or
  // release); a server crash empties the table, which frees every lease, as it should since every
  // connection is gone. Fencing tokens come from a logged sequence, so they only ever grow, even
  // across a crash.
  yield* sql`CREATE SEQUENCE aegis_lock_tokens`
  yield* sql`
    CREATE UNLOGGED TABLE aegis_locks (
      key text PRIMARY KEY,
      owner text NOT NULL,
      token bigint NOT NULL,
      locked_until timestamptz NOT NULL
    )`
  yield* sql`
    CREATE TABLE aegis_test_ledger (
      idempotency_key text PRIMARY KEY,
      gateway text NOT NULL,
      transaction_id text NOT NULL UNIQUE,
      payment_id text NOT NULL,
      currency text NOT NULL,
      amount_minor bigint NOT NULL,
      outcome text NOT NULL,
      decline_code text,
      status text NOT NULL,
      captured_minor bigint NOT NULL DEFAULT 0,
      refunded_minor bigint NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CHECK (refunded_minor <= captured_minor)
    )`
  yield* sql`
    CREATE TABLE aegis_test_ledger_ops (
      idempotency_key text PRIMARY KEY,
      transaction_id text NOT NULL,
      kind text NOT NULL,
      amount_minor bigint NOT NULL,
      result_id text NOT NULL
    )`
})
