/**
 * Tenants and their API keys (issue 14). A key row holds the keyed hash of its secret (HMAC-SHA256
 * under the server pepper, see `ApiKeyHash`), never the secret; `key_id` is the public part of the
 * key. A key's `tenant_id` need not name a row of `aegis_tenants` (keys can be made for tenants
 * the registry does not list); a tenant row with status `suspended` blocks its keys.
 *
 * @since 0.2.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE aegis_tenants (
      id text PRIMARY KEY,
      name text NOT NULL,
      status text NOT NULL CHECK (status IN ('active', 'suspended')),
      created_at timestamptz NOT NULL
    )`
  yield* sql`
    CREATE TABLE aegis_api_keys (
      key_id text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
      tenant_id text NOT NULL,
      name text,
      scopes text[] NOT NULL,
      hash bytea NOT NULL CHECK (length(hash) = 32),
      created_at timestamptz NOT NULL,
      last_used_at timestamptz,
      revoked_at timestamptz
    )`
  // list a tenant's keys, newest first
  yield* sql`CREATE INDEX aegis_api_keys_tenant ON aegis_api_keys (tenant_id, created_at DESC)`
})
