import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { GatewayRegistry } from "aegispay"
import { call, type Started, start } from "./support.js"

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
