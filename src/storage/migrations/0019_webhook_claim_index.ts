/**
 * The merchant-webhook claim walks its due index with plain index scans (which mark the entries of
 * rows dead to every transaction as they pass them, so later scans skip them: a bitmap scan would
 * visit every delivery settled since the last vacuum on every claim). So that the walk does not
 * pass over the backlog of a disabled endpoint either, those deliveries are paused:
 *
 * - `aegis_webhook_deliveries.paused`, and the due index (`aegis_webhook_deliveries_due`) holds
 *   only pending deliveries that are not paused.
 * - The trigger `aegis_webhook_endpoint_paused` pauses an endpoint's pending deliveries when it is
 *   disabled and resumes them when it is enabled again (locking them in the order of a payment's
 *   events, as a settlement does); existing deliveries of disabled endpoints are paused here.
 * - The trigger `aegis_webhook_delivery_paused` keeps `paused` true only for pending deliveries of
 *   disabled endpoints whenever a delivery's status changes (a replay makes a delivery pending
 *   again: it reads its endpoint under a share lock, so an enable or disable committing meanwhile
 *   either waits for it or is seen by it; a settled delivery is never paused). Every writer of the
 *   status, whatever its release, goes through it. A replay takes that lock before the delivery's
 *   row (the store's replay statements do), or it can deadlock with an enable, disable or delete,
 *   which lock the endpoint and then its deliveries.
 * - The endpoints are locked (no change to them) while this migration runs, so none is enabled or
 *   disabled between the backfill and the trigger.
 *
 * A claim still checks that the endpoint is enabled and the delivery not paused: `paused` keeps
 * rows out of the walk, it never decides on its own that a delivery is sent. A delivery the
 * fan-out trigger inserts while its endpoint is being disabled is not paused: a claim that starts
 * after the disable committed does not take it (its endpoint is disabled), it is only passed by
 * the walk until the endpoint is enabled again.
 *
 * @since 0.4.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`LOCK TABLE aegis_webhook_endpoints IN SHARE ROW EXCLUSIVE MODE`
  yield* sql`ALTER TABLE aegis_webhook_deliveries ADD COLUMN paused boolean NOT NULL DEFAULT false`
  yield* sql`
    UPDATE aegis_webhook_deliveries d SET paused = true
    FROM aegis_webhook_endpoints e
    WHERE e.id = d.endpoint_id AND NOT e.enabled AND d.status = 'pending'`
  yield* sql`DROP INDEX aegis_webhook_deliveries_due`
  yield* sql`
    CREATE INDEX aegis_webhook_deliveries_due ON aegis_webhook_deliveries (next_attempt_at, id)
    WHERE status = 'pending' AND NOT paused`
  yield* sql`
    CREATE FUNCTION aegis_webhook_endpoint_paused() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE aegis_webhook_deliveries SET paused = NOT NEW.enabled
      WHERE id IN (
        SELECT id FROM aegis_webhook_deliveries
        WHERE endpoint_id = NEW.id AND status = 'pending' AND paused = NEW.enabled
        ORDER BY payment_id, seq
        FOR UPDATE
      );
      RETURN NULL;
    END $$`
  yield* sql`
    CREATE TRIGGER aegis_webhook_endpoint_paused AFTER UPDATE OF enabled ON aegis_webhook_endpoints
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled)
    EXECUTE FUNCTION aegis_webhook_endpoint_paused()`
  yield* sql`
    CREATE FUNCTION aegis_webhook_delivery_paused() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.status = 'pending' THEN
        -- a deleted endpoint (deleted meanwhile: its deliveries go with it) counts as disabled
        NEW.paused := COALESCE(
          (SELECT NOT e.enabled FROM aegis_webhook_endpoints e WHERE e.id = NEW.endpoint_id FOR SHARE),
          true
        );
      ELSE
        NEW.paused := false;
      END IF;
      RETURN NEW;
    END $$`
  yield* sql`
    CREATE TRIGGER aegis_webhook_delivery_paused BEFORE UPDATE OF status ON aegis_webhook_deliveries
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION aegis_webhook_delivery_paused()`
})
