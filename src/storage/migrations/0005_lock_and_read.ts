/**
 * Takes a payment's lease and reads the payment in one round trip (see `SqlLockManager`).
 *
 * The function is VOLATILE plpgsql: each statement in it takes a fresh snapshot, so the read
 * runs after the lease is held and sees every write the previous holder committed before it
 * released the lease. It returns no row when the lease is held by someone else, and a row with a
 * null snapshot when the payment does not exist.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE FUNCTION aegis_lock_and_read(p_key text, p_owner text, p_ttl interval)
    RETURNS TABLE (token bigint, snapshot jsonb) LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      v_token bigint;
    BEGIN
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
