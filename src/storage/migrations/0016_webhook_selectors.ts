/**
 * Merchant webhooks: an endpoint's `event_tags` hold selectors (`MerchantEvent.selectorsFor`),
 * either an event tag (`PaymentSucceeded`) or a tag and the value of the event's `status` field
 * (`DisputeRecorded:opened`, for `dispute.opened`). The fan-out trigger of migration 0015 is
 * replaced by one that matches either form; nothing else changes (the endpoints' selectors are
 * re-derived when `MerchantWebhooks` starts).
 *
 * @since 0.2.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE OR REPLACE FUNCTION aegis_webhook_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
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
        ON e.enabled AND e.tenant_id = n.payload->>'tenantId'
        AND (n.type = ANY (e.event_tags) OR (n.type || ':' || (n.payload->>'status')) = ANY (e.event_tags))
      ORDER BY n.payment_id, n.seq
      ON CONFLICT (endpoint_id, event_id) DO NOTHING;
      RETURN NULL;
    END $$`
})
