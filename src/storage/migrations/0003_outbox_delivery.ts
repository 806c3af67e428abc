/**
 * Outbox delivery: a wake-up notification on every outbox insert, an index to find each
 * payment's next pending message, and the inbox of consumers that dedupe by event id.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX aegis_outbox_pending_by_payment ON aegis_outbox (payment_id, seq) WHERE status = 'pending'`
  // A notification is only a hint: relays also poll. One NOTIFY per statement, not per row.
  yield* sql`
    CREATE FUNCTION aegis_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('aegis_outbox', '');
      RETURN NULL;
    END $$`
  yield* sql`
    CREATE TRIGGER aegis_outbox_notify AFTER INSERT ON aegis_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION aegis_outbox_notify()`
  yield* sql`
    CREATE TABLE aegis_inbox (
      consumer text NOT NULL,
      event_id text NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (consumer, event_id)
    )`
})
