/**
 * Per-tenant gateway credentials (issue 14): one envelope-encrypted record per (tenant, provider),
 * sealed like the card vault's records (AES-256-GCM under a fresh data key wrapped by a KEK of
 * `KeyManagement`) with the tenant and provider as additional authenticated data. No field name
 * or value is stored in clear. `version` grows by one with every save.
 *
 * @since 0.2.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE aegis_tenant_credentials (
      tenant_id text NOT NULL,
      provider text NOT NULL,
      version bigint NOT NULL CHECK (version > 0),
      envelope_version smallint NOT NULL,
      key_id text NOT NULL,
      wrapped_key bytea NOT NULL,
      nonce bytea NOT NULL,
      ciphertext bytea NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, provider)
    )`
  // rotation finds the records still under a retired key
  yield* sql`CREATE INDEX aegis_tenant_credentials_key_id ON aegis_tenant_credentials (key_id)`
})
