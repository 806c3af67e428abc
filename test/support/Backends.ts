/**
 * The storage backends every contract suite runs against: memory, PGlite (embedded) and real
 * PostgreSQL from DATABASE_URL. With REQUIRE_POSTGRES=1 a missing or unreachable database is a
 * failure; otherwise the PostgreSQL runs are skipped with a visible notice.
 */
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { randomUUID } from "node:crypto"

export const databaseUrl = process.env.DATABASE_URL
export const requirePostgres = process.env.REQUIRE_POSTGRES === "1"

if (databaseUrl === undefined) {
  if (requirePostgres) throw new Error("REQUIRE_POSTGRES=1 but DATABASE_URL is not set")
  console.warn("[aegispay tests] DATABASE_URL is not set: PostgreSQL runs are SKIPPED")
}

const admin = (url: string) => PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })

/** Creates a fresh database next to DATABASE_URL's and returns its URL and a function to drop it. */
export const createTestDatabase = async (label: string) => {
  if (databaseUrl === undefined) throw new Error("DATABASE_URL is not set")
  const name = `aegis_test_${label}_${process.pid}_${randomUUID().slice(0, 8)}`
  await Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE DATABASE ${name}`)).pipe(
      Effect.provide(admin(databaseUrl))
    )
  )
  const url = new URL(databaseUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () =>
      Effect.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(
          Effect.provide(admin(databaseUrl))
        )
      )
  }
}

/**
 * A fresh database for the enclosing `describe` block, created before its tests and dropped after
 * them. Returns a function giving its URL (valid inside tests).
 */
export const useTestDatabase = (label: string) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined
  beforeAll(async () => {
    database = await createTestDatabase(label)
  })
  afterAll(async () => {
    await database?.drop()
  })
  return (): string => {
    if (database === undefined) throw new Error("the test database is created in beforeAll")
    return database.url
  }
}
