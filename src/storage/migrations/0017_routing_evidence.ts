/**
 * Shared learning of ADAPTIVE routing (`SqlRoutingEvidence`): every process appends its outcome
 * counts per (gateway, payment context) to `aegis_routing_evidence` and reads the others' rows
 * by `seq`.
 *
 * - `aegis_routing_processes`: a sequence handing each sharing process its number.
 * - `aegis_routing_evidence_append(process, rows jsonb)`: one statement per flush; it takes a
 *   transaction-level advisory lock before inserting, so appends commit in `seq` order and a
 *   reader that has seen `seq` n has seen every row below n that will ever exist (a watermark
 *   never skips a row committed late).
 * - Index on `created_at`: the retention purge and what a late starter loads.
 *
 * @since 0.3.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE SEQUENCE aegis_routing_processes`
  yield* sql`
    CREATE TABLE aegis_routing_evidence (
      seq bigserial PRIMARY KEY,
      process bigint NOT NULL,
      gateway text NOT NULL,
      currency text NOT NULL,
      method text NOT NULL,
      brand text NOT NULL,
      band smallint NOT NULL,
      successes integer NOT NULL,
      failures integer NOT NULL,
      created_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX aegis_routing_evidence_created ON aegis_routing_evidence (created_at)`
  yield* sql`
    CREATE FUNCTION aegis_routing_evidence_append(p_process bigint, p_rows jsonb) RETURNS integer
    LANGUAGE plpgsql AS $$
    DECLARE
      written integer;
    BEGIN
      -- held until the statement's transaction commits: appends take seq values in commit order
      PERFORM pg_advisory_xact_lock(hashtext('aegis_routing_evidence:' || current_schema()));
      INSERT INTO aegis_routing_evidence (process, gateway, currency, method, brand, band, successes, failures, created_at)
      SELECT p_process, r.gateway, r.currency, r.method, r.brand, r.band, r.successes, r.failures, clock_timestamp()
      FROM jsonb_to_recordset(p_rows) AS r(gateway text, currency text, method text, brand text, band smallint, successes integer, failures integer);
      GET DIAGNOSTICS written = ROW_COUNT;
      RETURN written;
    END $$`
})
