/**
 * Tenant scoping of the payment lock: `aegis_lock_and_read_tenant(key, tenant, owner, ttl)` is
 * `aegis_lock_and_read` (migration 0005) for a payment of one tenant. When no payment with this id
 * belongs to `tenant` (missing, or another tenant's) it takes no lease and returns one row with a
 * null token, so an operation of another tenant never waits on, blocks or leaves a lock row for a
 * payment it may not see. Otherwise: no row when the lease is held by someone else, else the new
 * token and the snapshot read after the lease is held.
 *
 * The tenant of a payment never changes, so checking it before taking the lease is final.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE FUNCTION aegis_lock_and_read_tenant(p_key text, p_tenant text, p_owner text, p_ttl interval)
    RETURNS TABLE (token bigint, snapshot jsonb) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      v_token bigint;
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM aegis_payments p WHERE p.id = p_key AND p.tenant_id = p_tenant) THEN
        RETURN QUERY SELECT NULL::bigint, NULL::jsonb;
        RETURN;
      END IF;
      INSERT INTO aegis_locks AS l (key, owner, token, locked_until)
      VALUES (p_key, p_owner, nextval('aegis_lock_tokens'), clock_timestamp() + p_ttl)
      ON CONFLICT (key) DO UPDATE
        SET owner = excluded.owner, token = excluded.token, locked_until = excluded.locked_until
        WHERE l.locked_until < clock_timestamp()
      RETURNING l.token INTO v_token;
      IF v_token IS NULL THEN
        RETURN;
      END IF;
      RETURN QUERY SELECT v_token, (SELECT p.snapshot FROM aegis_payments p WHERE p.id = p_key);
    END $$`
})
