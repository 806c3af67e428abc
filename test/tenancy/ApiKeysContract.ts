/**
 * The contract of every ApiKeys implementation (memory, PGlite, PostgreSQL).
 */
import { expect, type Vitest } from "@effect/vitest"
import { Effect, Either, Redacted, TestClock } from "effect"
import * as ApiKeyHash from "../../src/security/ApiKeyHash.js"
import { ApiKeys, type ApiKeyPrincipal } from "../../src/tenancy/ApiKeys.js"
import * as Tenants from "../../src/tenancy/Tenants.js"

const failureTag = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(self), (result) => Either.isLeft(result) ? result.left._tag : "success")

/** Replaces the secret of a key with another well-formed secret. */
export const withOtherSecret = (key: Redacted.Redacted<string>): Redacted.Redacted<string> => {
  const raw = Redacted.value(key)
  const last = raw.at(-1) === "A" ? "B" : "A"
  return Redacted.make(raw.slice(0, -1) + last)
}

let counter = 0
/** Tenant ids no other test uses (the backends are shared by the tests of a file). */
export const freshTenants = () => {
  const n = counter++
  return (name: string) => `${name}-${n}`
}

/** Runs the contract on the `ApiKeys` of `it` (from `it.layer`). */
export const apiKeysContract = (it: Vitest.MethodsNonLive<ApiKeys>) => {

  it.effect("create returns the key once; authenticate gives its tenant and scopes", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys
      const tenant = freshTenants()
      const t = tenant("acme")
      const created = yield* keys.create({ tenantId: t, scopes: ["payments:read", "payments:write"], name: "backend" })
      const raw = Redacted.value(created.key)
      expect(raw).toMatch(/^ak_live_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
      expect(raw.startsWith(created.info.prefix + "_")).toBe(true)
      expect(created.info).toMatchObject({ tenantId: t, name: "backend", scopes: ["payments:read", "payments:write"] })
      expect(created.info.revokedAt).toBeUndefined()
      expect(String(created.key)).not.toContain(raw.slice(-10))
      const principal: ApiKeyPrincipal = yield* keys.authenticate(created.key)
      expect(principal).toEqual({ keyId: created.info.keyId, tenantId: t, scopes: ["payments:read", "payments:write"] })
      const listed = yield* keys.list(t)
      expect(listed.map((k) => k.keyId)).toEqual([created.info.keyId])
      expect(listed[0]?.lastUsedAt).toBeInstanceOf(Date)
      expect(JSON.stringify(listed)).not.toContain(raw.slice(-43))
    }))

  it.effect("a wrong secret, an unknown key id and a malformed key all fail with the same InvalidApiKey", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys
      const tenant = freshTenants()
      const created = yield* keys.create({ tenantId: tenant("acme"), scopes: ["admin"] })
      const wrongSecret = yield* Effect.flip(keys.authenticate(withOtherSecret(created.key)))
      const unknownId = yield* Effect.flip(
        keys.authenticate(Redacted.make(Redacted.value(created.key).replace(/^ak_live_[0-9a-f]{16}/, "ak_live_0000000000000000")))
      )
      const malformed = yield* Effect.flip(keys.authenticate(Redacted.make(Redacted.value(created.key) + " ")))
      const empty = yield* Effect.flip(keys.authenticate(Redacted.make("")))
      for (const e of [wrongSecret, unknownId, malformed, empty]) {
        expect(e._tag).toBe("InvalidApiKey")
        expect(e.message).toBe("invalid API key")
        expect(JSON.stringify(e)).toBe(JSON.stringify(wrongSecret))
      }
    }))

  it.effect("revoke is immediate, idempotent and scoped to the tenant", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys
      const tenant = freshTenants()
      const t = tenant("acme")
      const other = tenant("globex")
      const created = yield* keys.create({ tenantId: t, scopes: ["payments:read"] })
      const keyId = created.info.keyId
      // another tenant cannot revoke it, and learns nothing more than for a missing key
      expect(yield* Effect.flip(keys.revoke({ tenantId: other, keyId }))).toEqual(
        yield* Effect.flip(keys.revoke({ tenantId: other, keyId: "ffffffffffffffff" })).pipe(
          Effect.map((e) => ({ ...e, keyId }))
        )
      )
      yield* keys.authenticate(created.key)
      const revoked = yield* keys.revoke({ tenantId: t, keyId })
      expect(revoked.revokedAt).toBeInstanceOf(Date)
      expect(yield* failureTag(keys.authenticate(created.key))).toBe("InvalidApiKey")
      yield* TestClock.adjust("1 hour")
      const again = yield* keys.revoke({ tenantId: t, keyId })
      expect(again.revokedAt?.getTime()).toBe(revoked.revokedAt?.getTime())
      expect(yield* failureTag(keys.rotate({ tenantId: t, keyId }))).toBe("ApiKeyRevoked")
    }))

  it.effect("rotate: a new key with the same scopes; the old one revoked now, or after the grace period", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys
      const tenant = freshTenants()
      const t = tenant("acme")
      const first = yield* keys.create({ tenantId: t, scopes: ["refunds:write"], name: "ops" })
      const second = yield* keys.rotate({ tenantId: t, keyId: first.info.keyId })
      expect(second.info).toMatchObject({ tenantId: t, scopes: ["refunds:write"], name: "ops" })
      expect(second.info.keyId).not.toBe(first.info.keyId)
      expect(yield* failureTag(keys.authenticate(first.key))).toBe("InvalidApiKey")
      expect((yield* keys.authenticate(second.key)).keyId).toBe(second.info.keyId)

      const third = yield* keys.rotate({ tenantId: t, keyId: second.info.keyId, gracePeriod: "10 minutes" })
      // both work during the grace period
      yield* keys.authenticate(second.key)
      yield* keys.authenticate(third.key)
      yield* TestClock.adjust("10 minutes")
      expect(yield* failureTag(keys.authenticate(second.key))).toBe("InvalidApiKey")
      yield* keys.authenticate(third.key)
      // another tenant cannot rotate it
      expect(yield* failureTag(keys.rotate({ tenantId: tenant("globex"), keyId: third.info.keyId }))).toBe("ApiKeyNotFound")
      expect(yield* failureTag(keys.rotate({ tenantId: t, keyId: third.info.keyId, gracePeriod: "8 days" }))).toBe(
        "ValidationError"
      )
      const listed = yield* keys.list(t)
      expect(listed).toHaveLength(3)
      expect(listed.filter((k) => k.revokedAt === undefined).map((k) => k.keyId)).toEqual([third.info.keyId])
    }))

  it.effect("create validates its input", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys
      const tenant = freshTenants()
      const bad = [
        { tenantId: "", scopes: ["admin"] },
        { tenantId: " acme", scopes: ["admin"] },
        { tenantId: tenant("acme"), scopes: [] },
        { tenantId: tenant("acme"), scopes: ["admin", "admin"] },
        { tenantId: tenant("acme"), scopes: ["root"] },
        { tenantId: tenant("acme"), scopes: ["admin"], name: "" }
      ] as const
      for (const input of bad) {
        // @ts-expect-error -- deliberately invalid scopes are part of the cases
        const e = yield* Effect.flip(keys.create(input))
        expect(e._tag).toBe("ValidationError")
      }
      expect(yield* keys.list(tenant("acme"))).toEqual([])
    }))

  it.effect("lists only the tenant's keys, newest first", () =>
    Effect.gen(function*() {
      const keys = yield* ApiKeys
      const tenant = freshTenants()
      const t = tenant("acme")
      const a = yield* keys.create({ tenantId: t, scopes: ["admin"] })
      yield* TestClock.adjust("1 second")
      const b = yield* keys.create({ tenantId: t, scopes: ["payments:read"] })
      yield* keys.create({ tenantId: tenant("globex"), scopes: ["admin"] })
      expect((yield* keys.list(t)).map((k) => k.keyId)).toEqual([b.info.keyId, a.info.keyId])
    }))
}

/** The key format parses exactly. */
export const parses = (raw: string) => ApiKeyHash.parse(Redacted.make(raw))

/** The contract of the tenant registry, and its effect on keys. */
export const tenantsContract = (it: Vitest.MethodsNonLive<ApiKeys | Tenants.Tenants>) => {
  it.effect("create, get, list, exists; a suspended tenant's keys stop authenticating until it is active", () =>
    Effect.gen(function*() {
      const tenants = yield* Tenants.Tenants
      const keys = yield* ApiKeys
      const tenant = freshTenants()
      const acme = yield* tenants.create({ id: tenant("acme"), name: "Acme Inc." })
      expect(acme).toMatchObject({ id: tenant("acme"), name: "Acme Inc.", status: "active" })
      expect(yield* tenants.get(acme.id)).toEqual(acme)
      expect(yield* failureTag(tenants.create({ id: acme.id, name: "Other" }))).toBe("TenantExists")
      expect((yield* tenants.get(acme.id)).name).toBe("Acme Inc.")
      expect(yield* failureTag(tenants.get(tenant("nobody")))).toBe("TenantNotFound")
      expect(yield* failureTag(tenants.create({ id: " x", name: "X" }))).toBe("ValidationError")
      expect(yield* failureTag(tenants.setStatus({ id: tenant("nobody"), status: "suspended" }))).toBe("TenantNotFound")
      expect((yield* tenants.list).map((t) => t.id)).toContain(acme.id)

      const created = yield* keys.create({ tenantId: acme.id, scopes: ["admin"] })
      yield* keys.authenticate(created.key)
      expect((yield* tenants.setStatus({ id: acme.id, status: "suspended" })).status).toBe("suspended")
      expect(yield* failureTag(keys.authenticate(created.key))).toBe("InvalidApiKey")
      yield* tenants.setStatus({ id: acme.id, status: "active" })
      yield* keys.authenticate(created.key)
      // a key of a tenant the registry does not list authenticates
      const unlisted = yield* keys.create({ tenantId: tenant("unlisted"), scopes: ["payments:read"] })
      expect((yield* keys.authenticate(unlisted.key)).tenantId).toBe(tenant("unlisted"))
    }))
}
