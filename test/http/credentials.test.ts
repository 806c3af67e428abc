import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { GatewayRegistry } from "aegispay"
import { call, cardBody, type Started, start } from "./support.js"

let server: Started
beforeAll(async () => {
  server = await start({}, { tenantGateways: true })
})
afterAll(() => server.close())

describe("POST /api/v1/providers/credentials with TenantGateways installed", () => {
  it("saves the tenant's credentials encrypted, answers them masked, and the tenant's gateway is built from them", async () => {
    const saved = await call(server, "POST", "/api/v1/providers/credentials", {
      key: server.keys.acmeAdmin,
      body: { provider: "mock", credentials: { apiKey: "sk_test_supersecret1234", account: "acct_1" } }
    })
    expect(saved.status).toBe(200)
    expect(saved.json.provider).toBe("mock")
    expect(saved.text).not.toContain("supersecret")
    expect(saved.json.fields.apiKey).toMatch(/1234$/)
    const ids = await server.runtime.runPromise(
      Effect.flatMap(GatewayRegistry.GatewayRegistry, (registry) => registry.forTenant("acme").all).pipe(
        Effect.map((all) => all.map((g) => g.id))
      )
    )
    expect(ids).toContain("mock")
  })

  it("refuses credentials the provider does not take (400, nothing saved) and needs the admin scope (403)", async () => {
    const bad = await call(server, "POST", "/api/v1/providers/credentials", {
      key: server.keys.acmeAdmin,
      body: { provider: "mock", credentials: { apiKey: "pk_wrong_kind_9999" } }
    })
    expect(bad.status).toBe(400)
    expect(bad.text).not.toContain("pk_wrong_kind_9999")
    const unknown = await call(server, "POST", "/api/v1/providers/credentials", {
      key: server.keys.acmeAdmin,
      body: { provider: "nope", credentials: { apiKey: "sk_x" } }
    })
    expect(unknown.status).toBe(400)
    const forbidden = await call(server, "POST", "/api/v1/providers/credentials", {
      body: { provider: "mock", credentials: { apiKey: "sk_test_1234" } }
    })
    expect(forbidden.status).toBe(403)
  })
})

describe("/v1/providers with TenantGateways installed", () => {
  it("saves, lists masked, replaces (a new version, the gateway rebuilt) and removes a provider's credentials", async () => {
    const admin = { key: server.keys.acmeAdmin }
    const providers = await call(server, "GET", "/v1/providers", admin)
    expect(providers.status).toBe(200)
    expect(providers.json.data).toEqual([{
      provider: "mock",
      fields: [{ name: "apiKey", secret: true, optional: false }, { name: "account", secret: false, optional: true }]
    }])
    const first = await call(server, "POST", "/v1/providers/credentials", {
      ...admin,
      body: { provider: "mock", credentials: { apiKey: "sk_test_v1_secretvalue_aaaa" } }
    })
    expect(first.status).toBe(200)
    const second = await call(server, "POST", "/v1/providers/credentials", {
      ...admin,
      body: { provider: "mock", credentials: { apiKey: "sk_test_v1_secretvalue_bbbb" } }
    })
    expect(second.status).toBe(200)
    expect(second.json.version).toBe(first.json.version + 1)
    const listed = await call(server, "GET", "/v1/providers/credentials", admin)
    expect(listed.status).toBe(200)
    expect(listed.json.data).toEqual([
      { provider: "mock", version: second.json.version, updatedAt: second.json.updatedAt, fields: { apiKey: "****bbbb" } }
    ])
    expect(listed.text + first.text + second.text).not.toContain("secretvalue")
    // another tenant sees none of them
    const globexList = await call(server, "GET", "/v1/providers/credentials", { key: server.keys.globex })
    expect(globexList.status).toBe(403)
    const removed = await call(server, "DELETE", "/v1/providers/credentials/mock", admin)
    expect(removed.status).toBe(204)
    expect((await call(server, "GET", "/v1/providers/credentials", admin)).json.data).toEqual([])
    const again = await call(server, "DELETE", "/v1/providers/credentials/mock", admin)
    expect(again.status).toBe(404)
    expect(again.json.code).toBe("credentials_not_found")
  })

  it("a tenant's payments go to its own gateway, built from its credentials", async () => {
    await call(server, "POST", "/v1/providers/credentials", {
      key: server.keys.acmeAdmin,
      body: { provider: "mock", credentials: { apiKey: "sk_test_tenant_own_1234" } }
    })
    const created = await call(server, "POST", "/v1/payments", { body: cardBody(), headers: { "idempotency-key": "own-gw-1" } })
    expect(created.status).toBe(201)
    const confirmed = await call(server, "POST", `/v1/payments/${created.json.id}/confirm`)
    expect(confirmed.status).toBe(200)
    const builds = await server.runtime.runPromise(server.tenantBuilds)
    const last = builds[builds.length - 1]!
    const charged = await server.runtime.runPromise(last.mock.ledger)
    expect(charged.charges.map((c) => c.paymentId)).toContain(created.json.id)
  })
})
