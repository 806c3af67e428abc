/**
 * Fresh PostgreSQL databases next to DATABASE_URL's, for tests and for scripts run outside the
 * test runner (no vitest import here).
 */
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "@effect/sql"
import { Effect, Redacted } from "effect"
import { randomUUID } from "node:crypto"

export const databaseUrl = process.env.DATABASE_URL

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

