/**
 * The tenant registry on SQL (table `aegis_tenants` of migration `0013_api_keys`).
 *
 * @since 0.2.0
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Layer, Option, Schema } from "effect"
import { StorageError } from "../storage/StorageError.js"
import * as Tenants from "./Tenants.js"

const Row = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  status: Tenants.TenantStatus,
  created_at: Schema.DateFromSelf
})
const decodeRows = Schema.decodeUnknown(Schema.Array(Row))
const toInfo = (row: typeof Row.Type): Tenants.TenantInfo => ({
  id: row.id,
  name: row.name,
  status: row.status,
  createdAt: row.created_at
})
const first = (rows: ReadonlyArray<typeof Row.Type>) => Option.map(Option.fromNullable(rows[0]), toInfo)
const storage = (operation: string) => (e: SqlError.SqlError | { readonly message: string }) =>
  new StorageError({ operation, reason: e.message })

/**
 * The row store on the `SqlClient` in context.
 *
 * @since 0.2.0
 */
export const store: Effect.Effect<Tenants.Store, never, SqlClient.SqlClient> = Effect.map(
  SqlClient.SqlClient,
  (sql): Tenants.Store => ({
    insert: (tenant) =>
      sql`
        INSERT INTO aegis_tenants (id, name, status, created_at)
        VALUES (${tenant.id}, ${tenant.name}, ${tenant.status}, ${tenant.createdAt})
        ON CONFLICT (id) DO NOTHING
        RETURNING id`.pipe(Effect.map((rows) => rows.length === 1), Effect.mapError(storage("tenants.insert"))),
    find: (id) =>
      sql`SELECT id, name, status, created_at FROM aegis_tenants WHERE id = ${id}`.pipe(
        Effect.flatMap(decodeRows),
        Effect.map(first),
        Effect.mapError(storage("tenants.find"))
      ),
    list: sql`SELECT id, name, status, created_at FROM aegis_tenants ORDER BY id COLLATE "C"`.pipe(
      Effect.flatMap(decodeRows),
      Effect.map((rows) => rows.map(toInfo)),
      Effect.mapError(storage("tenants.list"))
    ),
    setStatus: (id, status) =>
      sql`UPDATE aegis_tenants SET status = ${status} WHERE id = ${id} RETURNING id, name, status, created_at`.pipe(
        Effect.flatMap(decodeRows),
        Effect.map(first),
        Effect.mapError(storage("tenants.setStatus"))
      )
  })
)

/**
 * The registry on SQL. Needs the table of migration `0013_api_keys` (`Migrations.layer`).
 *
 * @since 0.2.0
 */
export const layer: Layer.Layer<Tenants.Tenants, never, SqlClient.SqlClient> = Layer.effect(
  Tenants.Tenants,
  Effect.map(store, Tenants.make)
)
