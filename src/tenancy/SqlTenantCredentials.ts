/**
 * `TenantCredentials` on SQL (PostgreSQL or PGlite; table `aegis_tenant_credentials` of
 * migration `0014_tenant_credentials`): one envelope per (tenant, provider), nothing of the
 * credentials in clear (see `TenantCredentials` for the guarantees). A save is one
 * `INSERT … ON CONFLICT DO UPDATE` that increments the version, so concurrent saves from any
 * processes give distinct, increasing versions.
 *
 * Key rotation ({@link rotate}) re-wraps the data keys of records under retired KEKs, like
 * `SqlCardVault.rotate`: run both before removing a retired KEK.
 *
 * @since 0.2.0
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { type ConfigError, Effect, Layer, Option, Redacted, Schema } from "effect"
import * as Envelope from "../security/Envelope.js"
import * as KeyManagement from "../security/KeyManagement.js"
import type { DecryptionFailed, KeyManagementUnavailable, UnknownKeyId } from "../security/SecurityError.js"
import { StorageError } from "../storage/StorageError.js"
import * as TenantCredentials from "./TenantCredentials.js"

const Bytes = Schema.Uint8ArrayFromSelf
const Row = Schema.Struct({
  tenant_id: Schema.String,
  provider: Schema.String,
  version: Schema.NumberFromString,
  updated_at: Schema.DateFromSelf,
  envelope_version: Schema.Number,
  key_id: Schema.String,
  wrapped_key: Bytes,
  nonce: Bytes,
  ciphertext: Bytes
})
const decodeRows = Schema.decodeUnknown(Schema.Array(Row))
const VersionRow = Schema.Struct({ provider: Schema.String, version: Schema.NumberFromString })
const decodeVersions = Schema.decodeUnknown(Schema.Array(VersionRow))
const TenantRow = Schema.Struct({ tenant_id: Schema.String })
const decodeTenants = Schema.decodeUnknown(Schema.Array(TenantRow))
const KeyRow = Schema.Struct({ tenant_id: Schema.String, provider: Schema.String, key_id: Schema.String, wrapped_key: Bytes })
const decodeKeyRows = Schema.decodeUnknown(Schema.Array(KeyRow))
const UsageRow = Schema.Struct({ key_id: Schema.String, records: Schema.Number })
const decodeUsage = Schema.decodeUnknown(Schema.Array(UsageRow))

const toRecord = (row: typeof Row.Type): TenantCredentials.SealedRecord => ({
  tenantId: row.tenant_id,
  provider: row.provider,
  version: row.version,
  updatedAt: row.updated_at,
  envelopeVersion: row.envelope_version,
  envelope: { keyId: row.key_id, wrappedKey: row.wrapped_key, nonce: row.nonce, ciphertext: row.ciphertext }
})

const storage = (operation: string) => (e: SqlError.SqlError | { readonly message: string }) =>
  new StorageError({ operation, reason: e.message })

/**
 * The row store on the `SqlClient` in context.
 *
 * @since 0.2.0
 */
export const store: Effect.Effect<TenantCredentials.Store, never, SqlClient.SqlClient> = Effect.map(
  SqlClient.SqlClient,
  (sql): TenantCredentials.Store => ({
    upsert: (record) =>
      sql`
        INSERT INTO aegis_tenant_credentials AS c (tenant_id, provider, version, envelope_version, key_id, wrapped_key,
          nonce, ciphertext, created_at, updated_at)
        VALUES (${record.tenantId}, ${record.provider}, 1, ${record.envelopeVersion}, ${record.envelope.keyId},
          ${Buffer.from(record.envelope.wrappedKey)}, ${Buffer.from(record.envelope.nonce)},
          ${Buffer.from(record.envelope.ciphertext)}, ${record.updatedAt}, ${record.updatedAt})
        ON CONFLICT (tenant_id, provider) DO UPDATE SET
          version = c.version + 1, envelope_version = excluded.envelope_version, key_id = excluded.key_id,
          wrapped_key = excluded.wrapped_key, nonce = excluded.nonce, ciphertext = excluded.ciphertext,
          updated_at = excluded.updated_at
        RETURNING provider, version::text AS version`.pipe(
        Effect.flatMap(decodeVersions),
        Effect.flatMap((rows) =>
          rows[0] === undefined ? Effect.fail({ message: "the upsert returned no row" }) : Effect.succeed(rows[0].version)
        ),
        Effect.mapError(storage("tenantCredentials.save"))
      ),
    find: (tenantId, provider) =>
      sql`
        SELECT tenant_id, provider, version::text AS version, updated_at, envelope_version, key_id, wrapped_key, nonce, ciphertext
        FROM aegis_tenant_credentials WHERE tenant_id = ${tenantId} AND provider = ${provider}`.pipe(
        Effect.flatMap(decodeRows),
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRecord)),
        Effect.mapError(storage("tenantCredentials.get"))
      ),
    list: (tenantId) =>
      sql`
        SELECT tenant_id, provider, version::text AS version, updated_at, envelope_version, key_id, wrapped_key, nonce, ciphertext
        FROM aegis_tenant_credentials WHERE tenant_id = ${tenantId} ORDER BY provider COLLATE "C"`.pipe(
        Effect.flatMap(decodeRows),
        Effect.map((rows) => rows.map(toRecord)),
        Effect.mapError(storage("tenantCredentials.describe"))
      ),
    versions: (tenantId) =>
      sql`
        SELECT provider, version::text AS version FROM aegis_tenant_credentials
        WHERE tenant_id = ${tenantId} ORDER BY provider COLLATE "C"`.pipe(
        Effect.flatMap(decodeVersions),
        Effect.mapError(storage("tenantCredentials.versions"))
      ),
    tenants: sql`SELECT DISTINCT tenant_id COLLATE "C" AS tenant_id FROM aegis_tenant_credentials ORDER BY 1`.pipe(
      Effect.flatMap(decodeTenants),
      Effect.map((rows) => rows.map((row) => row.tenant_id)),
      Effect.mapError(storage("tenantCredentials.tenants"))
    ),
    remove: (tenantId, provider) =>
      sql`
        DELETE FROM aegis_tenant_credentials WHERE tenant_id = ${tenantId} AND provider = ${provider}
        RETURNING provider`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(storage("tenantCredentials.remove"))
      )
  })
)

/**
 * Credentials on SQL. Needs the table of migration `0014_tenant_credentials` (`Migrations.layer`)
 * and `KeyManagement` (the card vault's: `KeyManagement.layerConfig`).
 *
 * @since 0.2.0
 */
export const layer: Layer.Layer<
  TenantCredentials.TenantCredentials,
  never,
  SqlClient.SqlClient | KeyManagement.KeyManagement
> = Layer.effect(TenantCredentials.TenantCredentials, Effect.flatMap(store, TenantCredentials.make))

/**
 * Credentials on SQL with the KEKs from configuration (`KeyManagement.layerConfig`: `AEGISPAY_KEK`,
 * `AEGISPAY_KEK_ID`, `AEGISPAY_KEK_RETIRED`, `AEGISPAY_FINGERPRINT_KEY`); a `ConfigError` at
 * start-up when one is missing.
 *
 * @since 0.2.0
 */
export const layerConfig: Layer.Layer<TenantCredentials.TenantCredentials, ConfigError.ConfigError, SqlClient.SqlClient> =
  layer.pipe(Layer.provide(KeyManagement.layerConfig))

/**
 * How many credential records each KEK protects.
 *
 * @since 0.2.0
 */
export const keyUsage: Effect.Effect<
  ReadonlyArray<{ readonly keyId: string; readonly records: number }>,
  StorageError,
  SqlClient.SqlClient
> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql`SELECT key_id, count(*)::int AS records FROM aegis_tenant_credentials GROUP BY key_id ORDER BY key_id`.pipe(
      Effect.flatMap(decodeUsage),
      Effect.map((rows) => rows.map((row) => ({ keyId: row.key_id, records: row.records })))
    )
).pipe(Effect.mapError(storage("tenantCredentials.keyUsage")), Effect.withSpan("SqlTenantCredentials.keyUsage"))

/**
 * Re-wraps the data key of every record under another KEK than the current one, in batches that
 * commit on their own (`FOR UPDATE SKIP LOCKED`), as `SqlCardVault.rotate` does for cards:
 * ciphertexts are untouched; it runs while the service serves and resumes where it stopped.
 * Fails before changing anything with `UnknownKeyId` when a record is under a KEK that is not
 * configured.
 *
 * @since 0.2.0
 */
export const rotate: (
  options?: { readonly batchSize?: number | undefined }
) => Effect.Effect<
  { readonly rewrapped: number },
  StorageError | UnknownKeyId | DecryptionFailed | KeyManagementUnavailable,
  SqlClient.SqlClient | KeyManagement.KeyManagement
> = Effect.fn("SqlTenantCredentials.rotate")(function*(options: { readonly batchSize?: number | undefined } = {}) {
  const sql = yield* SqlClient.SqlClient
  const keys = yield* KeyManagement.KeyManagement
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100))
  const retired = (yield* keyUsage).filter((u) => u.keyId !== keys.currentKeyId).map((u) => u.keyId)
  const rowStorage = Effect.mapError(storage("tenantCredentials.rotate"))
  for (const keyId of retired) {
    const [sample] = yield* sql`
      SELECT tenant_id, provider, key_id, wrapped_key FROM aegis_tenant_credentials WHERE key_id = ${keyId} LIMIT 1`.pipe(
      Effect.flatMap(decodeKeyRows),
      rowStorage
    )
    if (sample !== undefined) Redacted.value(yield* keys.unwrap({ keyId, wrapped: sample.wrapped_key })).fill(0)
  }
  let rewrapped = 0
  for (const keyId of retired) {
    while (true) {
      const done = yield* sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql`
          SELECT tenant_id, provider, key_id, wrapped_key FROM aegis_tenant_credentials
          WHERE key_id = ${keyId} LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`.pipe(Effect.flatMap(decodeKeyRows), rowStorage)
        for (const row of rows) {
          const key = yield* Envelope.rewrapKey({ keyId: row.key_id, wrapped: row.wrapped_key })
          yield* sql`
            UPDATE aegis_tenant_credentials SET key_id = ${key.keyId}, wrapped_key = ${Buffer.from(key.wrapped)}
            WHERE tenant_id = ${row.tenant_id} AND provider = ${row.provider} AND key_id = ${row.key_id}`
        }
        return rows.length
      })).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storage("tenantCredentials.rotate")(e))))
      if (done === 0) break
      rewrapped += done
    }
  }
  return { rewrapped }
})
