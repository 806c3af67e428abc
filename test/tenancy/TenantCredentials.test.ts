/**
 * TenantCredentials: the contract on memory, PGlite and PostgreSQL; on SQL also what the table
 * holds (nothing in clear), the tenant/provider binding (a copied row does not decrypt), a
 * missing KEK, and key rotation.
 */
import { describe, expect, layer, type Vitest } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Either, Layer, Redacted, TestClock } from "effect"
import { randomBytes } from "node:crypto"
import { Embedded } from "aegispay/embedded"
import { Migrations } from "aegispay/pg"
import * as KeyManagement from "../../src/security/KeyManagement.js"
import { TenancyTest } from "../../src/testing/index.js"
import * as SqlTenantCredentials from "../../src/tenancy/SqlTenantCredentials.js"
import * as TenantCredentials from "../../src/tenancy/TenantCredentials.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { freshTenants } from "./ApiKeysContract.js"

const { TenantCredentials: Credentials } = TenantCredentials
const r = (s: string) => Redacted.make(s)
const stripeKey = "sk_live_51H8abcdefghijklmnopqrstuvwxyz0123456789WXYZ"
const failureOf = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(self), (e) => (Either.isLeft(e) ? e.left : undefined))

const contract = (it: Vitest.MethodsNonLive<TenantCredentials.TenantCredentials>) => {
  it.effect("save, get, describe (masked), versions; another tenant sees nothing", () =>
    Effect.gen(function*() {
      const credentials = yield* Credentials
      const tenant = freshTenants()
      yield* TestClock.adjust("1 hour")
      const saved = yield* credentials.save({
        tenantId: tenant("acme"),
        provider: "stripe",
        fields: { secretKey: r(stripeKey), account: r("acct_1") }
      })
      expect(saved).toEqual({
        provider: "stripe",
        version: 1,
        updatedAt: new Date(3_600_000),
        fields: { account: "****", secretKey: "****WXYZ" }
      })
      const got = yield* credentials.get({ tenantId: tenant("acme"), provider: "stripe" })
      expect(Object.keys(got.fields)).toEqual(["account", "secretKey"])
      expect(got.fields.secretKey !== undefined && Redacted.value(got.fields.secretKey)).toBe(stripeKey)
      expect(got.version).toBe(1)
      expect(String(got.fields.secretKey)).not.toContain("WXYZ")
      const described = yield* credentials.describe(tenant("acme"))
      expect(described).toEqual([saved])
      expect(JSON.stringify(described)).not.toContain(stripeKey.slice(0, -4))

      yield* TestClock.adjust("1 minute")
      const again = yield* credentials.save({ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r(stripeKey + "2") } })
      expect(again.version).toBe(2)
      expect(again.updatedAt).toEqual(new Date(3_660_000))
      yield* credentials.save({ tenantId: tenant("acme"), provider: "paypal", fields: { clientId: r("client-id-123456") } })
      expect(yield* credentials.versions(tenant("acme"))).toEqual([
        { provider: "paypal", version: 1 },
        { provider: "stripe", version: 2 }
      ])
      expect((yield* credentials.describe(tenant("acme"))).map((d) => d.provider)).toEqual(["paypal", "stripe"])
      expect(yield* credentials.tenants).toContain(tenant("acme"))

      // another tenant
      expect((yield* failureOf(credentials.get({ tenantId: tenant("globex"), provider: "stripe" })))?._tag).toBe(
        "CredentialsNotFound"
      )
      expect(yield* credentials.describe(tenant("globex"))).toEqual([])
      expect(yield* credentials.versions(tenant("globex"))).toEqual([])
      expect((yield* failureOf(credentials.remove({ tenantId: tenant("globex"), provider: "stripe" })))?._tag).toBe(
        "CredentialsNotFound"
      )
      yield* credentials.get({ tenantId: tenant("acme"), provider: "stripe" })
    }))

  it.effect("remove; then get and remove are CredentialsNotFound", () =>
    Effect.gen(function*() {
      const credentials = yield* Credentials
      const tenant = freshTenants()
      yield* credentials.save({ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r(stripeKey) } })
      yield* credentials.remove({ tenantId: tenant("acme"), provider: "stripe" })
      expect((yield* failureOf(credentials.get({ tenantId: tenant("acme"), provider: "stripe" })))?._tag).toBe("CredentialsNotFound")
      expect((yield* failureOf(credentials.remove({ tenantId: tenant("acme"), provider: "stripe" })))?._tag).toBe(
        "CredentialsNotFound"
      )
      expect(yield* credentials.tenants).not.toContain(tenant("acme"))
      // saved again: version 1 anew
      expect((yield* credentials.save({ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r(stripeKey) } })).version)
        .toBe(1)
    }))

  it.effect("refuses bad input with a ValidationError that never quotes a value", () =>
    Effect.gen(function*() {
      const credentials = yield* Credentials
      const tenant = freshTenants()
      const secret = "sk_live_never_echo_me_123456"
      const cases: ReadonlyArray<[TenantCredentials.SaveInput, string]> = [
        [{ tenantId: "", provider: "stripe", fields: { secretKey: r(secret) } }, "tenantId"],
        [{ tenantId: tenant("acme"), provider: "Stripe!", fields: { secretKey: r(secret) } }, "provider"],
        [{ tenantId: tenant("acme"), provider: "stripe", fields: {} }, "fields"],
        [{ tenantId: tenant("acme"), provider: "stripe", fields: { "bad name": r(secret) } }, "fields"],
        [{ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r("") } }, "fields.secretKey"],
        [{ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r("a\u0000b") } }, "fields.secretKey"]
      ]
      for (const [input, path] of cases) {
        const error = yield* failureOf(credentials.save(input))
        expect(error?._tag).toBe("ValidationError")
        expect(error !== undefined && "path" in error && error.path).toBe(path)
        expect(JSON.stringify(error)).not.toContain(secret)
      }
      expect(yield* credentials.describe(tenant("acme"))).toEqual([])
    }))

  it.effect("concurrent saves get distinct versions 1..n; the last stored one is read", () =>
    Effect.gen(function*() {
      const credentials = yield* Credentials
      const tenant = freshTenants()
      const results = yield* Effect.forEach(
        Array.from({ length: 8 }, (_, i) => i),
        (i) => credentials.save({ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r(`${stripeKey}-${i}`) } }),
        { concurrency: "unbounded" }
      )
      expect(results.map((s) => s.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      const latest = yield* credentials.get({ tenantId: tenant("acme"), provider: "stripe" })
      expect(latest.version).toBe(8)
    }))
}

const keysA = TenancyTest.testKeys
const kekB: KeyManagement.KeyEncryptionKey = { id: "kek-b", key: Redacted.make<Uint8Array>(randomBytes(32)) }
const keysBWithA: KeyManagement.Keys = { current: kekB, retired: [keysA.current], fingerprintKey: keysA.fingerprintKey }
const keysB: KeyManagement.Keys = { current: kekB, fingerprintKey: keysA.fingerprintKey }

/** SQL only: the table, the AAD binding, missing keys and rotation. */
const sqlOnly = (it: Vitest.MethodsNonLive<TenantCredentials.TenantCredentials | SqlClient.SqlClient>) => {
  it.effect("the table holds nothing of the credentials in clear", () =>
    Effect.gen(function*() {
      const credentials = yield* Credentials
      const sql = yield* SqlClient.SqlClient
      const tenant = freshTenants()
      yield* credentials.save({ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r(stripeKey), merchantCode: r("MERCHANT-777") } })
      const rows = yield* sql`SELECT * FROM aegis_tenant_credentials WHERE tenant_id = ${tenant("acme")}`
      expect(rows).toHaveLength(1)
      const dump = JSON.stringify(rows, (_, v) =>
        v instanceof Uint8Array ? [Buffer.from(v).toString("hex"), Buffer.from(v).toString("base64"), Buffer.from(v).toString("latin1")] : v)
      for (const needle of [stripeKey, "WXYZ", "MERCHANT-777", "secretKey", "merchantCode"]) {
        expect(dump).not.toContain(needle)
        expect(dump).not.toContain(Buffer.from(needle).toString("hex"))
        expect(dump).not.toContain(Buffer.from(needle).toString("base64"))
      }
    }))

  it.effect("a row copied to another tenant or provider fails to decrypt with CredentialsUnreadable", () =>
    Effect.gen(function*() {
      const credentials = yield* Credentials
      const sql = yield* SqlClient.SqlClient
      const tenant = freshTenants()
      yield* credentials.save({ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r(stripeKey) } })
      yield* sql`
        INSERT INTO aegis_tenant_credentials (tenant_id, provider, version, envelope_version, key_id, wrapped_key, nonce, ciphertext, created_at, updated_at)
        SELECT ${tenant("evil")}, provider, version, envelope_version, key_id, wrapped_key, nonce, ciphertext, created_at, updated_at
        FROM aegis_tenant_credentials WHERE tenant_id = ${tenant("acme")} AND provider = 'stripe'`
      yield* sql`
        INSERT INTO aegis_tenant_credentials (tenant_id, provider, version, envelope_version, key_id, wrapped_key, nonce, ciphertext, created_at, updated_at)
        SELECT tenant_id, 'paypal', version, envelope_version, key_id, wrapped_key, nonce, ciphertext, created_at, updated_at
        FROM aegis_tenant_credentials WHERE tenant_id = ${tenant("acme")} AND provider = 'stripe'`
      const copiedTenant = yield* failureOf(credentials.get({ tenantId: tenant("evil"), provider: "stripe" }))
      expect(copiedTenant).toEqual(
        new TenantCredentials.CredentialsUnreadable({ provider: "stripe", keyId: "test-kek", reason: "decryption_failed" })
      )
      const copiedProvider = yield* failureOf(credentials.get({ tenantId: tenant("acme"), provider: "paypal" }))
      expect(copiedProvider?._tag).toBe("CredentialsUnreadable")
      expect((yield* failureOf(credentials.describe(tenant("evil"))))?._tag).toBe("CredentialsUnreadable")
      // a flipped ciphertext byte
      yield* sql`
        UPDATE aegis_tenant_credentials SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1)
        WHERE tenant_id = ${tenant("acme")} AND provider = 'stripe'`
      expect((yield* failureOf(credentials.get({ tenantId: tenant("acme"), provider: "stripe" })))?._tag).toBe("CredentialsUnreadable")
    }))

  it.effect("KEK rotation re-wraps every record; without the old key they would be unreadable", () =>
    Effect.gen(function*() {
      const credentials = yield* Credentials
      const tenant = freshTenants()
      yield* credentials.save({ tenantId: tenant("acme"), provider: "stripe", fields: { secretKey: r(stripeKey) } })
      const withKeys = (keys: KeyManagement.Keys) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
        self.pipe(Effect.provide(SqlTenantCredentials.layer.pipe(Layer.provideMerge(KeyManagement.layer(keys)), Layer.orDie)))
      const get = Effect.flatMap(Credentials, (c) => c.get({ tenantId: tenant("acme"), provider: "stripe" }))
      // B alone cannot read what A wrapped
      const unknown = yield* failureOf(get.pipe(withKeys(keysB)))
      expect(unknown).toEqual(new TenantCredentials.CredentialsUnreadable({ provider: "stripe", keyId: "test-kek", reason: "unknown_key_id" }))
      const report = yield* SqlTenantCredentials.rotate({ batchSize: 2 }).pipe(withKeys(keysBWithA))
      expect(report.rewrapped).toBeGreaterThanOrEqual(1)
      const usage = yield* SqlTenantCredentials.keyUsage
      expect(usage.map((u) => u.keyId)).toEqual(["kek-b"])
      const after = yield* get.pipe(withKeys(keysB))
      expect(after.fields.secretKey !== undefined && Redacted.value(after.fields.secretKey)).toBe(stripeKey)
      expect(after.version).toBe(1)
    }))
}

describe("TenantCredentials: memory", () => {
  layer(TenancyTest.layerCredentials)((it) => contract(it))
})

const sqlCredentials = SqlTenantCredentials.layer.pipe(Layer.provide(TenancyTest.layerKeyManagement))

describe("TenantCredentials: PGlite", () => {
  layer(
    sqlCredentials.pipe(Layer.provideMerge(Layer.provideMerge(Migrations.layer, Embedded.layerClient())), Layer.orDie),
    { timeout: 60_000 }
  )((it) => {
    contract(it)
    sqlOnly(it)
  })
})

describe.skipIf(databaseUrl === undefined)("TenantCredentials: PostgreSQL", () => {
  const url = useTestDatabase("credentials")
  layer(
    sqlCredentials.pipe(
      Layer.provideMerge(Layer.provideMerge(
        Migrations.layer,
        Layer.unwrapEffect(Effect.sync(() => PgClient.layer({ url: Redacted.make(url()), maxConnections: 4 })))
      )),
      Layer.orDie
    ),
    { timeout: 60_000 }
  )((it) => {
    contract(it)
    sqlOnly(it)
  })
})
