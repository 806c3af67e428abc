/**
 * The card vault (`SqlCardVault`): one envelope-encrypted record per (tenant, vault token).
 * Only ciphertext, the wrapped data key and its key id, and display fields (brand, last four,
 * expiry) are stored; the card number and holder name only inside `ciphertext`, the CVV never.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE aegis_card_vault (
      tenant_id text NOT NULL,
      vault_token text NOT NULL,
      fingerprint text NOT NULL,
      brand text NOT NULL,
      last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
      expiry_month smallint NOT NULL,
      expiry_year smallint NOT NULL,
      envelope_version smallint NOT NULL,
      key_id text NOT NULL,
      wrapped_key bytea NOT NULL,
      nonce bytea NOT NULL,
      ciphertext bytea NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, vault_token)
    )`
  // rotation finds the records still under a retired key
  yield* sql`CREATE INDEX aegis_card_vault_key_id ON aegis_card_vault (key_id)`
})
