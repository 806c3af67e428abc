/**
 * `ApiKeys` on SQL (PostgreSQL or PGlite; table `aegis_api_keys` of migration `0013_api_keys`):
 * every process on the database authenticates every key, and a revocation is seen by all of
 * them on their next request.
 *
 * Stored per key: the public key id, tenant, name, scopes, times, and the 32-byte HMAC of the
 * secret (`ApiKeyHash`): never the secret or the full key. `authenticate` is one indexed read
 * (by primary key, joined with the tenant's status in `aegis_tenants`) plus, at most once a minute
 * per key, one update of `last_used_at`. A rotation inserts the new key and schedules the old
 * one's revocation in one transaction.
 *
 * @since 0.2.0
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { type ConfigError, Effect, Layer, Option, Schema } from "effect"
import * as ApiKeyHash from "../security/ApiKeyHash.js"
import { StorageError } from "../storage/StorageError.js"
import * as ApiKeys from "./ApiKeys.js"

const Row = Schema.Struct({
  key_id: Schema.String,
  tenant_id: Schema.String,
  name: Schema.NullOr(Schema.String),
  scopes: Schema.String,
  created_at: Schema.DateFromSelf,
  last_used_at: Schema.NullOr(Schema.DateFromSelf),
  revoked_at: Schema.NullOr(Schema.DateFromSelf)
})
const FoundRow = Schema.Struct({ ...Row.fields, hash: Schema.Uint8ArrayFromSelf, suspended: Schema.Boolean })
const ScopeList = Schema.Array(ApiKeys.Scope)
const decodeRows = Schema.decodeUnknown(Schema.Array(Row))
const decodeFound = Schema.decodeUnknown(Schema.Array(FoundRow))
const decodeScopes = Schema.decodeUnknown(ScopeList)

const toInfo = (row: typeof Row.Type) =>
  Effect.map(decodeScopes(row.scopes === "" ? [] : row.scopes.split(",")), (scopes): ApiKeys.ApiKeyInfo => ({
    keyId: row.key_id,
    tenantId: row.tenant_id,
    prefix: ApiKeyHash.displayPrefix(row.key_id),
    ...(row.name === null ? {} : { name: row.name }),
    scopes,
    createdAt: row.created_at,
    ...(row.last_used_at === null ? {} : { lastUsedAt: row.last_used_at }),
    ...(row.revoked_at === null ? {} : { revokedAt: row.revoked_at })
  }))

const storage = (operation: string) => (e: SqlError.SqlError | { readonly message: string }) =>
  new StorageError({ operation, reason: e.message })

/**
 * The row store on the `SqlClient` in context.
 *
 * @since 0.2.0
 */
export const store: Effect.Effect<ApiKeys.Store, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const insertRow = (key: ApiKeys.StoredKey) =>
    sql`
      INSERT INTO aegis_api_keys (key_id, tenant_id, name, scopes, hash, created_at)
      VALUES (${key.info.keyId}, ${key.info.tenantId}, ${key.info.name ?? null},
        string_to_array(${key.info.scopes.join(",")}, ','), ${Buffer.from(key.hash)}, ${key.info.createdAt})`
  const list = (rows: ReadonlyArray<unknown>) => Effect.flatMap(decodeRows(rows), Effect.forEach(toInfo))
  return {
    insert: (key) => insertRow(key).pipe(Effect.asVoid, Effect.mapError(storage("apiKeys.insert"))),
    find: (keyId) =>
      sql`
        SELECT k.key_id, k.tenant_id, k.name, array_to_string(k.scopes, ',') AS scopes, k.created_at,
          k.last_used_at, k.revoked_at, k.hash, coalesce(t.status = 'suspended', false) AS suspended
        FROM aegis_api_keys k LEFT JOIN aegis_tenants t ON t.id = k.tenant_id
        WHERE k.key_id = ${keyId}`.pipe(
        Effect.flatMap(decodeFound),
        Effect.flatMap((rows) => {
          const row = rows[0]
          if (row === undefined) return Effect.succeedNone
          return Effect.map(toInfo(row), (info) => Option.some({ info, hash: row.hash, tenantActive: !row.suspended }))
        }),
        Effect.mapError(storage("apiKeys.find"))
      ),
    touch: (keyId, at, staleBefore) =>
      sql`
        UPDATE aegis_api_keys SET last_used_at = ${at}
        WHERE key_id = ${keyId} AND (last_used_at IS NULL OR last_used_at < ${staleBefore})`.pipe(
        Effect.asVoid,
        Effect.mapError(storage("apiKeys.touch"))
      ),
    revoke: (tenantId, keyId, at, insert) =>
      sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql`
          UPDATE aegis_api_keys
          SET revoked_at = CASE WHEN revoked_at IS NOT NULL AND revoked_at <= ${at} THEN revoked_at ELSE ${at} END
          WHERE tenant_id = ${tenantId} AND key_id = ${keyId}
          RETURNING key_id, tenant_id, name, array_to_string(scopes, ',') AS scopes, created_at, last_used_at, revoked_at`
        const infos = yield* list(rows)
        const info = infos[0]
        if (info === undefined) return Option.none()
        if (insert !== undefined) yield* insertRow(insert)
        return Option.some(info)
      })).pipe(Effect.mapError(storage("apiKeys.revoke"))),
    list: (tenantId) =>
      sql`
        SELECT key_id, tenant_id, name, array_to_string(scopes, ',') AS scopes, created_at, last_used_at, revoked_at
        FROM aegis_api_keys WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, key_id`.pipe(Effect.flatMap(list), Effect.mapError(storage("apiKeys.list")))
  }
})

/**
 * `ApiKeys` on SQL. Needs the table of migration `0013_api_keys` (`Migrations.layer`) and the
 * pepper (`ApiKeyHash.layerConfig`, or {@link layerConfig}).
 *
 * @since 0.2.0
 */
export const layer: Layer.Layer<ApiKeys.ApiKeys, never, SqlClient.SqlClient | ApiKeyHash.ApiKeyPepper> = Layer.effect(
  ApiKeys.ApiKeys,
  Effect.flatMap(store, ApiKeys.make)
)

/**
 * `ApiKeys` on SQL with the pepper from `AEGISPAY_API_KEY_PEPPER`: a `ConfigError` at start-up
 * when it is missing or shorter than 32 bytes.
 *
 * @since 0.2.0
 */
export const layerConfig: Layer.Layer<ApiKeys.ApiKeys, ConfigError.ConfigError, SqlClient.SqlClient> = layer.pipe(
  Layer.provide(ApiKeyHash.layerConfig)
)
