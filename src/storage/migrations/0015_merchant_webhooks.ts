/**
 * Merchant webhooks: endpoints (secrets sealed in envelopes), one delivery per (endpoint, event)
 * and the log of every attempt; deliveries are written by a trigger on the transactional outbox,
 * in the transaction that commits the events.
 *
 * - `aegis_webhook_fan_out` (statement-level, on the outbox rows the statement inserted): for each
 *   new event, a pending delivery to every enabled endpoint of the event's tenant whose
 *   `event_tags` hold the event's type; due when the event happened, or, behind a pending earlier
 *   event of the payment to that endpoint, no sooner than it. One `EXISTS` on the enabled
 *   endpoints when there are none.
 * - Indexes: due pending deliveries (the claim), pending ones by (endpoint, payment, seq) (order),
 *   deliveries by endpoint (lists, replays), delivered ones by `delivered_at` (retention).
 *
 * @since 0.2.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE aegis_webhook_endpoints (
      id text PRIMARY KEY,
      tenant_id text NOT NULL,
      url text NOT NULL,
      events text[] NOT NULL,
      event_tags text[] NOT NULL,
      description text,
      enabled boolean NOT NULL,
      secret_key_id text NOT NULL,
      secret_wrapped_key bytea NOT NULL,
      secret_nonce bytea NOT NULL,
      secret_ciphertext bytea NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX aegis_webhook_endpoints_tenant ON aegis_webhook_endpoints (tenant_id, created_at, id)`
  yield* sql`CREATE INDEX aegis_webhook_endpoints_enabled ON aegis_webhook_endpoints (tenant_id) WHERE enabled`
  yield* sql`
    CREATE TABLE aegis_webhook_deliveries (
      id bigserial PRIMARY KEY,
      endpoint_id text NOT NULL REFERENCES aegis_webhook_endpoints (id) ON DELETE CASCADE,
      tenant_id text NOT NULL,
      event_id text NOT NULL,
      payment_id text NOT NULL,
      seq integer NOT NULL,
      type text NOT NULL,
      payload jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
      attempts integer NOT NULL DEFAULT 0,
      retries_from integer NOT NULL DEFAULT 0,
      claims integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL,
      lease_owner text,
      leased_until timestamptz,
      last_status integer,
      last_error text,
      created_at timestamptz NOT NULL,
      delivered_at timestamptz,
      CONSTRAINT aegis_webhook_deliveries_event UNIQUE (endpoint_id, event_id)
    )`
  yield* sql`CREATE INDEX aegis_webhook_deliveries_due ON aegis_webhook_deliveries (next_attempt_at, id) WHERE status = 'pending'`
  yield* sql`CREATE INDEX aegis_webhook_deliveries_order ON aegis_webhook_deliveries (endpoint_id, payment_id, seq) WHERE status = 'pending'`
  yield* sql`CREATE INDEX aegis_webhook_deliveries_endpoint ON aegis_webhook_deliveries (endpoint_id, id)`
  yield* sql`CREATE INDEX aegis_webhook_deliveries_delivered ON aegis_webhook_deliveries (delivered_at) WHERE status = 'delivered'`
  yield* sql`
    CREATE TABLE aegis_webhook_attempts (
      delivery_id bigint NOT NULL REFERENCES aegis_webhook_deliveries (id) ON DELETE CASCADE,
      attempt integer NOT NULL,
      attempted_at timestamptz NOT NULL,
      worker text NOT NULL,
      http_status integer,
      latency_ms integer NOT NULL,
      error text,
      outcome text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead')),
      PRIMARY KEY (delivery_id, attempt)
    )`
  yield* sql`
    CREATE FUNCTION aegis_webhook_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM aegis_webhook_endpoints WHERE enabled) THEN
        RETURN NULL;
      END IF;
      INSERT INTO aegis_webhook_deliveries
        (endpoint_id, tenant_id, event_id, payment_id, seq, type, payload, next_attempt_at, created_at)
      SELECT e.id, e.tenant_id, n.event_id, n.payment_id, n.seq, n.type, n.payload,
        GREATEST(n.created_at, (
          SELECT max(d.next_attempt_at) FROM aegis_webhook_deliveries d
          WHERE d.endpoint_id = e.id AND d.payment_id = n.payment_id AND d.status = 'pending'
        )),
        n.created_at
      FROM aegis_webhook_new_events n
      JOIN aegis_webhook_endpoints e
        ON e.enabled AND e.tenant_id = n.payload->>'tenantId' AND n.type = ANY (e.event_tags)
      ORDER BY n.payment_id, n.seq
      ON CONFLICT (endpoint_id, event_id) DO NOTHING;
      RETURN NULL;
    END $$`
  yield* sql`
    CREATE TRIGGER aegis_webhook_fan_out AFTER INSERT ON aegis_outbox
    REFERENCING NEW TABLE AS aegis_webhook_new_events
    FOR EACH STATEMENT EXECUTE FUNCTION aegis_webhook_fan_out()`
})
