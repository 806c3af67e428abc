/**
 * AegisPay's tables live in one PostgreSQL schema (`schema` option, default `aegispay`): a fresh
 * database gets them all there and none in `public`; compositions with different schemas share
 * a database without seeing each other; a wave-1 database (tables in `public`) has them moved
 * into the schema on the first start, or kept in `public` with `schema: "public"`.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Cause, ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import { PaymentService } from "aegispay"
import { AegisPayPg, Migrations } from "aegispay/pg"
import { AegisPayTest } from "aegispay/testing"
import { expectFoldEqualsSnapshot, request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { currentOn, loadWave1 } from "../support/Wave1.js"

const compositionOn = (url: string, schema?: string) =>
  AegisPayPg.layer({
    ...AegisPayTest.parts(),
    url: Redacted.make(url),
    maxConnections: 4,
    recovery: false,
    retention: false,
    ...(schema === undefined ? {} : { schema })
  })

/** Every AegisPay table, sequence and function, as `schema.name`, from the catalog. */
const aegisObjects = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ name: string }>`
      SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname LIKE 'aegis\\_%' AND c.relkind IN ('r', 'S', 'p', 'v', 'm')
      UNION ALL
      SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.proname LIKE 'aegis\\_%'
      ORDER BY 1`
).pipe(Effect.map((rows) => rows.map((r) => r.name)))

const inSchema = (objects: ReadonlyArray<string>, schema: string) =>
  objects.filter((o) => o.startsWith(`${schema}.`)).map((o) => o.slice(schema.length + 1))

/** What a fresh migrated database holds (the test ledger is the test kit's, not here). */
const expected = [
  "aegis_api_keys",
  "aegis_card_vault",
  "aegis_events",
  "aegis_events_position_seq",
  "aegis_idempotency",
  "aegis_inbox",
  "aegis_lock_and_read",
  "aegis_lock_and_read_tenant",
  "aegis_lock_tokens",
  "aegis_locks",
  "aegis_migrations",
  "aegis_outbox",
  "aegis_outbox_id_seq",
  "aegis_payments",
  "aegis_routing_evidence",
  "aegis_routing_evidence_append",
  "aegis_routing_evidence_seq_seq",
  "aegis_routing_processes",
  "aegis_tenant_credentials",
  "aegis_tenants",
  "aegis_webhook_attempts",
  "aegis_webhook_deliveries",
  "aegis_webhook_deliveries_id_seq",
  "aegis_webhook_delivery_paused",
  "aegis_webhook_endpoint_paused",
  "aegis_webhook_endpoints",
  "aegis_webhook_fan_out"
]

const createAndProcess = (key: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const created = yield* payments.createPayment(request({ idempotencyKey: key }))
    const processed = yield* payments.processPayment(created.id)
    expect(processed.state).toBe("SUCCESS")
    const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(created.id)
    expect(rebuilt).toEqual(stored)
    return created.id
  })

describe("AegisPayPg.withSchema", () => {
  it("adds the search_path to the connection string, keeping its parameters and options", () => {
    expect(AegisPayPg.withSchema("postgres://u@h:5432/db", "aegispay"))
      .toBe("postgres://u@h:5432/db?options=-c%20search_path%3Daegispay%2Cpublic")
    expect(AegisPayPg.withSchema("postgres://u@h/db?sslmode=require#x", "public"))
      .toBe("postgres://u@h/db?sslmode=require&options=-c%20search_path%3Dpublic#x")
    expect(AegisPayPg.withSchema("postgres://u@h/db?options=-c%20statement_timeout%3D5000&a=1", "t_1"))
      .toBe("postgres://u@h/db?options=-c%20statement_timeout%3D5000%20-c%20search_path%3Dt_1%2Cpublic&a=1")
  })

  it("accepts only plain lower-case schema names", () => {
    for (const name of ["aegispay", "tenant_x", "_a1", "a".repeat(63)]) expect(Migrations.isSchemaName(name)).toBe(true)
    for (const name of ["", "Aegis", "1a", "a-b", "a.b", "a b", "pg_x", "a\"b", "a".repeat(64)]) {
      expect(Migrations.isSchemaName(name)).toBe(false)
    }
  })
})

describe.skipIf(databaseUrl === undefined)("schemas on PostgreSQL", () => {
  const freshUrl = useTestDatabase("schema_fresh")
  const sharedUrl = useTestDatabase("schema_shared")
  const upgradeUrl = useTestDatabase("schema_upgrade")
  const publicUrl = useTestDatabase("schema_public")
  const raceUrl = useTestDatabase("schema_race")

  it.live("a fresh database gets every AegisPay table in aegispay and none in public; connections start there", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* createAndProcess("schema-1")
      const objects = yield* aegisObjects
      expect(inSchema(objects, "aegispay")).toEqual(expected)
      expect(objects.filter((o) => !o.startsWith("aegispay."))).toEqual([])
      const [where] = yield* sql<{ path: string; current: string }>`
        SELECT current_setting('search_path') AS path, current_schema() AS current`
      expect(where).toEqual({ path: "aegispay,public", current: "aegispay" })
    }).pipe(Effect.provide(compositionOn(freshUrl())), Effect.scoped), 60_000)

  it.live("an options parameter of the URL is kept beside the search_path", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ timeout: string; path: string }>`
        SELECT current_setting('statement_timeout') AS timeout, current_setting('search_path') AS path`
      expect(row).toEqual({ timeout: "7s", path: "tenant_x,public" })
    }).pipe(
      Effect.provide(AegisPayPg.layerClient({
        url: Redacted.make(`${freshUrl()}?options=${encodeURIComponent("-c statement_timeout=7000")}`),
        schema: "tenant_x",
        maxConnections: 1
      })),
      Effect.scoped
    ), 30_000)

  it.live("from Config: DATABASE_URL and AEGISPAY_PG_SCHEMA", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ path: string }>`SELECT current_setting('search_path') AS path`
      expect(row).toEqual({ path: "from_env,public" })
    }).pipe(
      Effect.provide(AegisPayPg.layerClient({ maxConnections: 1 })),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", freshUrl()], ["AEGISPAY_PG_SCHEMA", "from_env"]]))),
      Effect.scoped
    ), 30_000)

  it.live("two compositions with two schemas share a database and see nothing of each other", () =>
    Effect.gen(function*() {
      const a = yield* createAndProcess("same-key").pipe(Effect.provide(compositionOn(sharedUrl(), "tenant_x")), Effect.scoped)
      const b = yield* createAndProcess("same-key").pipe(Effect.provide(compositionOn(sharedUrl(), "shop_two")), Effect.scoped)
      expect(a).not.toBe(b) // the same idempotency key made two payments: one per schema
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        expect((yield* Effect.flip(payments.getPayment(a)))._tag).toBe("PaymentNotFound")
        expect((yield* payments.getPayment(b)).id).toBe(b)
        const objects = yield* aegisObjects
        expect(inSchema(objects, "tenant_x")).toEqual(expected)
        expect(inSchema(objects, "shop_two")).toEqual(expected)
        expect(objects.filter((o) => o.startsWith("public.") || o.startsWith("aegispay."))).toEqual([])
        const sql = yield* SqlClient.SqlClient
        const counts = yield* sql<{ x: number; two: number }>`
          SELECT (SELECT count(*)::int FROM tenant_x.aegis_payments) AS x, (SELECT count(*)::int FROM shop_two.aegis_payments) AS two`
        expect(counts).toEqual([{ x: 1, two: 1 }])
      }).pipe(Effect.provide(compositionOn(sharedUrl(), "shop_two")), Effect.scoped)
    }), 60_000)

  it.live("a wave-1 database has its tables moved from public into the schema, once", () =>
    Effect.gen(function*() {
      yield* loadWave1(upgradeUrl())
      const before = yield* aegisObjects.pipe(Effect.provide(AegisPayPg.layerClient({
        url: Redacted.make(upgradeUrl()),
        schema: "public",
        maxConnections: 1
      })))
      expect(before.every((o) => o.startsWith("public."))).toBe(true)
      yield* Effect.gen(function*() {
        const objects = yield* aegisObjects
        // everything moved (the test ledger, empty, then dropped by 0012); nothing left behind
        expect(objects.filter((o) => !o.startsWith("aegispay."))).toEqual([])
        expect(inSchema(objects, "aegispay")).toEqual(expected)
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT 1 FROM aegis_payments`).toHaveLength(12)
        yield* createAndProcess("after-move")
      }).pipe(Effect.provide(currentOn(upgradeUrl())), Effect.scoped)
      // a second start finds the schema migrated: nothing moves again
      const again = yield* Migrations.prepare.pipe(
        Effect.provide(AegisPayPg.layerClient({ url: Redacted.make(upgradeUrl()), maxConnections: 1 }))
      )
      expect(again).toEqual({ schema: "aegispay", moved: 0 })
    }), 60_000)

  it.live("schema public keeps a wave-1 database where it is; a later schema starts fresh beside it", () =>
    Effect.gen(function*() {
      yield* loadWave1(publicUrl())
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT 1 FROM aegis_payments`).toHaveLength(12)
        yield* createAndProcess("in-public")
        expect((yield* aegisObjects).every((o) => o.startsWith("public."))).toBe(true)
      }).pipe(Effect.provide(currentOn(publicUrl(), { schema: "public" })), Effect.scoped)
      // public now holds a database migrated by a release that knows schemas: another schema
      // leaves it alone and starts empty
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT 1 FROM aegis_payments`).toHaveLength(0)
        const objects = yield* aegisObjects
        expect(inSchema(objects, "aegispay")).toEqual(expected)
        expect(inSchema(objects, "public")).toContain("aegis_payments")
        const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM public.aegis_payments`
        expect(row!.n).toBe(13)
      }).pipe(Effect.provide(currentOn(publicUrl())), Effect.scoped)
    }), 60_000)

  it.live("processes starting at once on a fresh database take turns: one creates the schema, all migrate", () =>
    Effect.gen(function*() {
      const migrate = Layer.build(Migrations.layer.pipe(
        Layer.provideMerge(AegisPayPg.layerClient({ url: Redacted.make(raceUrl()), schema: "raced", maxConnections: 1 }))
      )).pipe(Effect.scoped)
      yield* Effect.all(Array.from({ length: 4 }, () => migrate), { concurrency: "unbounded" })
      const objects = yield* aegisObjects.pipe(
        Effect.provide(AegisPayPg.layerClient({ url: Redacted.make(raceUrl()), maxConnections: 1 }))
      )
      expect(inSchema(objects, "raced")).toEqual(expected)
    }), 60_000)

  it.live("an invalid schema name fails the layer with a ConfigError", () =>
    Effect.gen(function*() {
      for (const schema of ["Bad-Name", "pg_catalog", "x; DROP TABLE y"]) {
        const exit = yield* Effect.exit(Layer.build(compositionOn(freshUrl(), schema)).pipe(Effect.scoped))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const failure = Cause.failureOption(exit.cause)
          expect(failure._tag === "Some" && failure.value._tag).toBe("ConfigError")
          expect(Cause.pretty(exit.cause)).toContain("not a schema name AegisPay accepts")
        }
      }
    }), 30_000)
})
