/**
 * Two index changes for the claims of the outbox relay and the webhook worker, both now walked
 * with plain index scans (which mark the entries of rows dead to everyone as they pass them, so
 * that later scans skip them: without a vacuum, a bitmap scan would visit every row settled since
 * the last one on every claim).
 *
 * - `aegis_webhook_deliveries.paused`: a pending delivery of a disabled endpoint is paused, and the
 *   due index (`aegis_webhook_deliveries_due`) holds only pending deliveries that are not, so a
 *   claim's walk never passes over the backlog of a disabled endpoint. The trigger
 *   `aegis_webhook_endpoint_paused` pauses an endpoint's pending deliveries when it is disabled and
 *   resumes them when it is enabled again; existing deliveries of disabled endpoints are paused
 *   here. A claim still checks that the endpoint is enabled: `paused` only keeps rows out of the
 *   walk, it never decides on its own that a delivery is sent.
 * - `aegis_outbox_pending (available_at, id)` is dropped: no statement reads it since the relay's
 *   claim walks `aegis_outbox_pending_by_payment` (the metrics' counts of pending messages use that
 *   index as well), and every outbox insert paid an entry in it.
 *
 * @since 0.4.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
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
      WHERE endpoint_id = NEW.id AND status = 'pending' AND paused = NEW.enabled;
      RETURN NULL;
    END $$`
  yield* sql`
    CREATE TRIGGER aegis_webhook_endpoint_paused AFTER UPDATE OF enabled ON aegis_webhook_endpoints
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled)
    EXECUTE FUNCTION aegis_webhook_endpoint_paused()`
  yield* sql`DROP INDEX IF EXISTS aegis_outbox_pending`
})
