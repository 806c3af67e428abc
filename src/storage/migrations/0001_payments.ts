/**
 * Payments, their events and the transactional outbox.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE aegis_payments (
      id text PRIMARY KEY,
      tenant_id text NOT NULL,
      idempotency_key text NOT NULL,
      customer_id text NOT NULL,
      state text NOT NULL,
      gateway_transaction_id text,
      currency text NOT NULL,
      amount_minor bigint NOT NULL CHECK (amount_minor > 0),
      captured_minor bigint NOT NULL CHECK (captured_minor >= 0),
      refunded_minor bigint NOT NULL CHECK (refunded_minor >= 0),
      version integer NOT NULL,
      snapshot jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      CONSTRAINT aegis_payments_idempotency UNIQUE (tenant_id, idempotency_key),
      CONSTRAINT aegis_payments_refunded_le_captured CHECK (refunded_minor <= captured_minor),
      CONSTRAINT aegis_payments_captured_le_amount CHECK (captured_minor <= amount_minor)
    )`
  yield* sql`CREATE INDEX aegis_payments_gateway_transaction ON aegis_payments (gateway_transaction_id)
    WHERE gateway_transaction_id IS NOT NULL`
  yield* sql`CREATE INDEX aegis_payments_customer ON aegis_payments (tenant_id, customer_id, created_at DESC, id DESC)`
  yield* sql`CREATE INDEX aegis_payments_recovery ON aegis_payments (state, updated_at)`
  yield* sql`
    CREATE TABLE aegis_events (
      position bigserial PRIMARY KEY,
      event_id text NOT NULL UNIQUE,
      payment_id text NOT NULL REFERENCES aegis_payments (id),
      seq integer NOT NULL CHECK (seq > 0),
      type text NOT NULL,
      payload jsonb NOT NULL,
      occurred_at timestamptz NOT NULL,
      CONSTRAINT aegis_events_payment_seq UNIQUE (payment_id, seq)
    )`
  yield* sql`
    CREATE TABLE aegis_outbox (
      id bigserial PRIMARY KEY,
      event_id text NOT NULL UNIQUE,
      payment_id text NOT NULL,
      seq integer NOT NULL,
      type text NOT NULL,
      payload jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
      attempts integer NOT NULL DEFAULT 0,
      available_at timestamptz NOT NULL,
      lease_owner text,
      leased_until timestamptz,
      last_error text,
      created_at timestamptz NOT NULL,
      delivered_at timestamptz
    )`
  yield* sql`CREATE INDEX aegis_outbox_pending ON aegis_outbox (available_at, id) WHERE status = 'pending'`
})
