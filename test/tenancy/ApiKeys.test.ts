/**
 * ApiKeys and Tenants: the contract on memory, PGlite and PostgreSQL; on SQL also what the table
 * holds (never the key), and the hashing helper.
 */
import { describe, expect, it, layer, type Vitest } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { ConfigProvider, Effect, Either, Layer, Option, Redacted } from "effect"
import { Embedded } from "aegispay/embedded"
import { Migrations } from "aegispay/pg"
import * as ApiKeyHash from "../../src/security/ApiKeyHash.js"
import { TenancyTest } from "../../src/testing/index.js"
import { ApiKeys } from "../../src/tenancy/ApiKeys.js"
import * as ApiKeysModule from "../../src/tenancy/ApiKeys.js"
import * as SqlApiKeys from "../../src/tenancy/SqlApiKeys.js"
import * as SqlTenants from "../../src/tenancy/SqlTenants.js"
import * as Tenants from "../../src/tenancy/Tenants.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { apiKeysContract, freshTenants, parses, tenantsContract } from "./ApiKeysContract.js"

const memory = ApiKeysModule.layerMemory.pipe(
  Layer.provideMerge(Tenants.layerMemory),
  Layer.provide(TenancyTest.layerPepper)
)

const sqlParts = Layer.merge(SqlApiKeys.layer, SqlTenants.layer).pipe(Layer.provide(TenancyTest.layerPepper))

const pglite = sqlParts.pipe(
  Layer.provideMerge(Layer.provideMerge(Migrations.layer, Embedded.layerClient())),
  Layer.orDie
)

const postgres = (url: () => string) =>
  sqlParts.pipe(
    Layer.provideMerge(Layer.provideMerge(
      Migrations.layer,
      Layer.unwrapEffect(Effect.sync(() => PgClient.layer({ url: Redacted.make(url()), maxConnections: 4 })))
    )),
    Layer.orDie
  )

/** On SQL: the table never holds the key or its secret, only the HMAC of the secret. */
const storedNeverInClear = (it: Vitest.MethodsNonLive<ApiKeys | SqlClient.SqlClient>) =>
  it.effect("the table holds the key id and the HMAC of the secret, never the key or the secret", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys
      const sql = yield* SqlClient.SqlClient
      const tenant = freshTenants()
      const created = yield* keys.create({ tenantId: tenant("acme"), scopes: ["admin"] })
      const raw = Redacted.value(created.key)
      const parsed = Option.getOrThrow(ApiKeyHash.parse(created.key))
      const secret = Redacted.value(parsed.secret)
      const rows = yield* sql`SELECT * FROM aegis_api_keys WHERE tenant_id = ${tenant("acme")}`
      expect(rows).toHaveLength(1)
      const dump = JSON.stringify(rows, (_, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString("hex") + Buffer.from(v).toString("base64") : v)
      expect(dump).not.toContain(raw)
      expect(dump).not.toContain(secret)
      expect(dump).not.toContain(Buffer.from(Buffer.from(secret, "base64url")).toString("hex"))
      expect(dump).not.toContain(Buffer.from(secret).toString("hex"))
      const row = rows[0] as { readonly hash: Uint8Array } | undefined
      const expected = yield* ApiKeyHash.hash(parsed.keyId, parsed.secret).pipe(Effect.provide(TenancyTest.layerPepper))
      expect(Buffer.from(row?.hash ?? []).equals(Buffer.from(expected))).toBe(true)
      // a hash copied onto another key's row does not authenticate that key's id with this secret
      const other = yield* keys.create({ tenantId: tenant("acme"), scopes: ["payments:read"] })
      yield* sql`UPDATE aegis_api_keys SET hash = ${Buffer.from(expected)} WHERE key_id = ${other.info.keyId}`
      const forged = Redacted.make(`${other.info.prefix}_${secret}`)
      expect((yield* Effect.flip(keys.authenticate(forged)))._tag).toBe("InvalidApiKey")
    }))

describe("ApiKeys and Tenants: memory", () => {
  layer(memory)((it) => {
    apiKeysContract(it)
    tenantsContract(it)
  })
})

describe("ApiKeys and Tenants: PGlite", () => {
  layer(pglite, { timeout: 60_000 })((it) => {
    apiKeysContract(it)
    tenantsContract(it)
    storedNeverInClear(it)
  })
})

describe.skipIf(databaseUrl === undefined)("ApiKeys and Tenants: PostgreSQL", () => {
  // a skipped suite is still collected: without a database its layer must not even be declared
  // (@effect/vitest's `layer` would build it, and its failure would reach the suites after it)
  if (databaseUrl === undefined) return
  const url = useTestDatabase("apikeys")
  layer(postgres(url), { timeout: 60_000 })((it) => {
    apiKeysContract(it)
    tenantsContract(it)
    storedNeverInClear(it)
  })
})

describe("ApiKeyHash", () => {
  it("parses exactly the key format", () => {
    const secret = "A".repeat(43)
    expect(Option.isSome(parses(`ak_live_0123456789abcdef_${secret}`))).toBe(true)
    for (
      const bad of [
        `ak_live_0123456789abcdef_${secret} `,
        ` ak_live_0123456789abcdef_${secret}`,
        `ak_live_0123456789ABCDEF_${secret}`,
        `ak_live_0123456789abcde_${secret}`,
        `ak_test_0123456789abcdef_${secret}`,
        `ak_live_0123456789abcdef_${secret}A`,
        `ak_live_0123456789abcdef_${"A".repeat(42)}=`
      ]
    ) expect(Option.isNone(parses(bad))).toBe(true)
  })

  it.effect("the hash binds the key id and depends on the pepper; verify is false without a stored hash", () =>
    Effect.gen(function*() {
      const secret = Redacted.make("s".repeat(43))
      const a = yield* ApiKeyHash.hash("0000000000000001", secret)
      const b = yield* ApiKeyHash.hash("0000000000000002", secret)
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
      expect(a).toHaveLength(32)
      expect(yield* ApiKeyHash.verify("0000000000000001", secret, a)).toBe(true)
      expect(yield* ApiKeyHash.verify("0000000000000002", secret, a)).toBe(false)
      expect(yield* ApiKeyHash.verify("0000000000000001", secret, undefined)).toBe(false)
      expect(yield* ApiKeyHash.verify("0000000000000001", secret, new Uint8Array(32))).toBe(false)
      const other = yield* ApiKeyHash.hash("0000000000000001", secret).pipe(
        Effect.provide(ApiKeyHash.layer(Redacted.make(new Uint8Array(32).fill(7))))
      )
      expect(Buffer.from(a).equals(Buffer.from(other))).toBe(false)
    }).pipe(Effect.provide(TenancyTest.layerPepper)))

  it.effect("the pepper comes from AEGISPAY_API_KEY_PEPPER, with no default", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) =>
        Effect.either(ApiKeyHash.config).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      expect(Either.isLeft(yield* read({}))).toBe(true)
      expect(Either.isLeft(yield* read({ AEGISPAY_API_KEY_PEPPER: Buffer.alloc(16, 1).toString("base64") }))).toBe(true)
      const ok = yield* read({ AEGISPAY_API_KEY_PEPPER: Buffer.alloc(32, 1).toString("base64") })
      expect(Either.isRight(ok) && Redacted.value(ok.right).length).toBe(32)
      const shown = yield* read({ AEGISPAY_API_KEY_PEPPER: "!!" })
      expect(Either.isLeft(shown) && shown.left.toString()).not.toContain("!!")
    }))
})
