/**
 * The storage backends every contract suite runs against: memory, PGlite (embedded) and real
 * PostgreSQL from DATABASE_URL. With REQUIRE_POSTGRES=1 a missing or unreachable database is a
 * failure; otherwise the PostgreSQL runs are skipped with a visible notice.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { createTestDatabase, databaseUrl } from "./TestDatabase.js"

export { createTestDatabase, databaseUrl }
export const requirePostgres = process.env.REQUIRE_POSTGRES === "1"

if (databaseUrl === undefined) {
  if (requirePostgres) throw new Error("REQUIRE_POSTGRES=1 but DATABASE_URL is not set")
  console.warn("[aegispay tests] DATABASE_URL is not set: PostgreSQL runs are SKIPPED")
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
