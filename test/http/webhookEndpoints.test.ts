/**
 * `/v1/webhook-endpoints` over real HTTP: the secret shown once (create, rotate) and never again,
 * list / get / update / delete, deliveries with their attempts against a local receiver, replay
 * of one delivery and of every dead one, signatures verified with the shown secret; bad input is a
 * 400 with nothing stored; another tenant's endpoint or delivery is a 404 on every route; a key
 * without `webhooks:write` is a 403; an installation without `MerchantWebhooks` answers 501.
 */
import { Effect, Exit, Redacted, Schedule, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MerchantWebhooks, WebhookSignature } from "aegispay"
import * as Receiver from "../events/WebhookReceiver.js"
import { call, cardBody, type Started, start } from "./support.js"

let server: Started
let bare: Started
let receiver: Receiver.Receiver
const scope = Effect.runSync(Scope.make())

beforeAll(async () => {
  // one attempt, then dead-lettered: replays are what brings a delivery back
  server = await start({}, { merchantWebhooks: { schedule: Schedule.recurs(0), timeout: "5 seconds" } })
  bare = await start()
  receiver = await Effect.runPromise(Receiver.start().pipe(Scope.extend(scope)))
})
afterAll(async () => {
  await Promise.all([server.close(), bare.close()])
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const runRound = () =>
  server.runtime.runPromise(Effect.flatMap(Effect.serviceOption(MerchantWebhooks.MerchantWebhooks), (w) => Effect.flatMap(w, (hooks) => hooks.runOnce)))

const create = (body: unknown, key: string = server.keys.acmeHooks) => call(server, "POST", "/v1/webhook-endpoints", { key, body })

/** Pays once through the API (acme): the payment's id. */
const pay = async (key: string) => {
  const created = await call(server, "POST", "/v1/payments", { body: cardBody(), headers: { "idempotency-key": key } })
  expect(created.status).toBe(201)
  expect((await call(server, "POST", `/v1/payments/${created.json.id}/confirm`)).status).toBe(200)
  return created.json.id as string
}

describe("/v1/webhook-endpoints", () => {
  it("create answers the secret once; list, get and update never show it; delete answers 204 and then 404", async () => {
    const created = await create({ url: "https://shop.example/hooks", events: ["payment.succeeded", "dispute.opened"], description: "shop" })
    expect(created.status).toBe(201)
    expect(created.json.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/)
    expect(created.json).toMatchObject({ url: "https://shop.example/hooks", events: ["payment.succeeded", "dispute.opened"], description: "shop", enabled: true })
    const id = created.json.id as string
    const secret = created.json.secret as string

    const list = await call(server, "GET", "/v1/webhook-endpoints", { key: server.keys.acmeHooks })
    expect(list.status).toBe(200)
    expect(list.json.data.map((e: { id: string }) => e.id)).toContain(id)
    const got = await call(server, "GET", `/v1/webhook-endpoints/${id}`, { key: server.keys.acmeHooks })
    expect(got.status).toBe(200)
    expect(got.json.id).toBe(id)
    const updated = await call(server, "PATCH", `/v1/webhook-endpoints/${id}`, {
      key: server.keys.acmeHooks,
      body: { events: ["*"], enabled: false, description: "all of it" }
    })
    expect(updated.status).toBe(200)
    expect(updated.json).toMatchObject({ events: ["*"], enabled: false, description: "all of it", url: "https://shop.example/hooks" })
    for (const answer of [list, got, updated]) {
      expect(answer.text).not.toContain(secret)
      expect(answer.text).not.toContain("whsec_")
    }
    // admin holds every scope
    expect((await call(server, "GET", `/v1/webhook-endpoints/${id}`, { key: server.keys.acmeAdmin })).status).toBe(200)

    const deleted = await call(server, "DELETE", `/v1/webhook-endpoints/${id}`, { key: server.keys.acmeHooks })
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe("")
    const gone = await call(server, "GET", `/v1/webhook-endpoints/${id}`, { key: server.keys.acmeHooks })
    expect(gone.status).toBe(404)
    expect(gone.json).toMatchObject({ type: "not_found", code: "webhook_endpoint_not_found" })
  })

  it("bad input is a 400 with the one error shape, and nothing is stored", async () => {
    const before = (await call(server, "GET", "/v1/webhook-endpoints", { key: server.keys.acmeHooks })).json.data.length
    const cases: ReadonlyArray<readonly [unknown, string | undefined]> = [
      [{ url: "http://shop.example/hooks", events: ["*"] }, "url"],
      [{ url: "ftp://shop.example/hooks", events: ["*"] }, "url"],
      [{ url: "not a url", events: ["*"] }, "url"],
      [{ url: "https://user:pw@shop.example/hooks", events: ["*"] }, "url"],
      [{ url: "https://shop.example/hooks", events: [] }, "events"],
      [{ url: "https://shop.example/hooks", events: ["payment.exploded"] }, "events"],
      [{ url: "https://shop.example/hooks", events: ["*"], surprise: true }, undefined],
      [{ url: "https://shop.example/hooks", events: "payment.succeeded" }, undefined],
      [{ url: "https://shop.example/hooks", events: ["*"], description: "x".repeat(501) }, "description"]
    ]
    for (const [body, param] of cases) {
      const answer = await create(body)
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(answer.json.type).toBe("invalid_request")
      expect(typeof answer.json.code).toBe("string")
      expect(typeof answer.json.message).toBe("string")
      if (param !== undefined) expect(answer.json.param, JSON.stringify(body)).toBe(param)
    }
    const unknownType = await create({ url: "https://shop.example/hooks", events: ["payment.succeeded", "payment.exploded"] })
    expect(unknownType.json.message).toContain("events[1]")
    expect(unknownType.json.message).toContain("payment.action_required")
    expect(unknownType.text).not.toContain("exploded")
    const malformed = await call(server, "POST", "/v1/webhook-endpoints", { key: server.keys.acmeHooks, raw: "{\"url\":" })
    expect(malformed.status).toBe(400)
    expect((await call(server, "GET", "/v1/webhook-endpoints", { key: server.keys.acmeHooks })).json.data.length).toBe(before)
    // http:// to a loopback host is allowed (local receivers)
    const local = await create({ url: "http://127.0.0.1:9/hooks", events: ["*"] })
    expect(local.status).toBe(201)
    const patched = await call(server, "PATCH", `/v1/webhook-endpoints/${local.json.id}`, {
      key: server.keys.acmeHooks,
      body: { url: "http://shop.example/hooks" }
    })
    expect(patched.status).toBe(400)
    expect(patched.json.param).toBe("url")
    await call(server, "DELETE", `/v1/webhook-endpoints/${local.json.id}`, { key: server.keys.acmeHooks })
  })

  it("deliveries with their attempts; a dead delivery replayed alone or with every dead one; signed with the secret shown, then with the rotated one", async () => {
    const created = await create({ url: receiver.url("/shop"), events: ["payment.succeeded"] })
    expect(created.status).toBe(201)
    const id = created.json.id as string
    const secret = Redacted.make(created.json.secret as string)
    await Effect.runPromise(receiver.setMode(() => "down"))
    const paid = [await pay("hooks-1"), await pay("hooks-2")]
    await runRound()

    const page = await call(server, "GET", `/v1/webhook-endpoints/${id}/deliveries?limit=1`, { key: server.keys.acmeHooks })
    expect(page.status).toBe(200)
    expect(page.json.data).toHaveLength(1)
    expect(typeof page.json.nextCursor).toBe("string")
    const next = await call(server, "GET", `/v1/webhook-endpoints/${id}/deliveries?limit=1&cursor=${page.json.nextCursor}`, { key: server.keys.acmeHooks })
    expect(next.json.data).toHaveLength(1)
    const deliveries = [...page.json.data, ...next.json.data]
    expect(deliveries.map((d: { paymentId: string }) => d.paymentId).sort()).toEqual([...paid].sort())
    for (const d of deliveries) {
      expect(d).toMatchObject({ endpointId: id, eventType: "payment.succeeded", status: "dead" })
      expect(d.attempts).toHaveLength(1)
      expect(d.attempts[0]).toMatchObject({ attempt: 1, outcome: "dead" })
      expect(d.attempts[0].httpStatus).toBeUndefined()
    }
    const dead = await call(server, "GET", `/v1/webhook-endpoints/${id}/deliveries?status=dead`, { key: server.keys.acmeHooks })
    expect(dead.json.data).toHaveLength(2)
    expect((await call(server, "GET", `/v1/webhook-endpoints/${id}/deliveries?limit=0`, { key: server.keys.acmeHooks })).status).toBe(400)
    expect((await call(server, "GET", `/v1/webhook-endpoints/${id}/deliveries?status=lost`, { key: server.keys.acmeHooks })).status).toBe(400)

    // one replayed: delivered on the next round, signed with the secret shown at creation
    await Effect.runPromise(receiver.setMode(() => "ok"))
    const first = deliveries[0]
    const replayed = await call(server, "POST", `/v1/webhook-endpoints/${id}/deliveries/${first.id}/replay`, { key: server.keys.acmeHooks })
    expect(replayed.status).toBe(200)
    expect(replayed.json.status).toBe("pending")
    await runRound()
    const one = await call(server, "GET", `/v1/webhook-endpoints/${id}/deliveries/${first.id}`, { key: server.keys.acmeHooks })
    expect(one.json.status).toBe("delivered")
    expect(one.json.attempts.map((a: { outcome: string; httpStatus?: number }) => [a.outcome, a.httpStatus ?? null])).toEqual([["dead", null], ["delivered", 200]])

    // every dead one: the other
    const all = await call(server, "POST", `/v1/webhook-endpoints/${id}/replay-dead`, { key: server.keys.acmeHooks })
    expect(all.status).toBe(200)
    expect(all.json).toEqual({ replayed: 1 })
    await runRound()
    const received = (await Effect.runPromise(receiver.received)).filter((r) => r.path === "/shop" && r.answered === "ok")
    expect(received.map((r) => JSON.parse(r.body).paymentId).sort()).toEqual([...paid].sort())
    for (const r of received) await Effect.runPromise(WebhookSignature.verify(secret, r.headers, r.body))

    // rotated: shown once, and what is sent from now on is signed with it only
    const rotated = await call(server, "POST", `/v1/webhook-endpoints/${id}/rotate-secret`, { key: server.keys.acmeHooks })
    expect(rotated.status).toBe(200)
    expect(rotated.json.secret).toMatch(/^whsec_/)
    expect(rotated.json.secret).not.toBe(Redacted.value(secret))
    await call(server, "POST", `/v1/webhook-endpoints/${id}/deliveries/${first.id}/replay`, { key: server.keys.acmeHooks })
    await runRound()
    const last = (await Effect.runPromise(receiver.received)).at(-1)!
    await Effect.runPromise(WebhookSignature.verify(Redacted.make(rotated.json.secret as string), last.headers, last.body))
    expect(Exit.isFailure(await Effect.runPromiseExit(WebhookSignature.verify(secret, last.headers, last.body)))).toBe(true)
    for (const r of await Effect.runPromise(receiver.received)) expect(r.body).not.toContain("whsec_")
  })

  it("another tenant's endpoint and delivery are a 404 on every route; a key without webhooks:write is a 403", async () => {
    const created = await create({ url: receiver.url("/acme-only"), events: ["payment.succeeded"] })
    const id = created.json.id as string
    await pay("hooks-cross")
    await runRound()
    const delivery = (await call(server, "GET", `/v1/webhook-endpoints/${id}/deliveries`, { key: server.keys.acmeHooks })).json.data[0]
    expect(delivery).toBeDefined()
    const routes: ReadonlyArray<readonly [string, string, unknown?]> = [
      ["GET", `/v1/webhook-endpoints/${id}`],
      ["PATCH", `/v1/webhook-endpoints/${id}`, { enabled: false }],
      ["POST", `/v1/webhook-endpoints/${id}/rotate-secret`],
      ["GET", `/v1/webhook-endpoints/${id}/deliveries`],
      ["GET", `/v1/webhook-endpoints/${id}/deliveries/${delivery.id}`],
      ["POST", `/v1/webhook-endpoints/${id}/deliveries/${delivery.id}/replay`],
      ["POST", `/v1/webhook-endpoints/${id}/replay-dead`],
      ["DELETE", `/v1/webhook-endpoints/${id}`]
    ]
    for (const [method, path, body] of routes) {
      const answer = await call(server, method, path, { key: server.keys.globexHooks, ...(body === undefined ? {} : { body }) })
      expect(answer.status, `${method} ${path}`).toBe(404)
      expect(answer.json.type).toBe("not_found")
    }
    expect((await call(server, "GET", "/v1/webhook-endpoints", { key: server.keys.globexHooks })).json.data).toEqual([])
    // a delivery named under another endpoint of the same tenant: 404 too
    const other = await create({ url: "https://shop.example/other", events: ["*"] })
    expect((await call(server, "GET", `/v1/webhook-endpoints/${other.json.id}/deliveries/${delivery.id}`, { key: server.keys.acmeHooks })).status).toBe(404)
    // still there, unchanged, for its own tenant
    const mine = await call(server, "GET", `/v1/webhook-endpoints/${id}`, { key: server.keys.acmeHooks })
    expect(mine.json.enabled).toBe(true)

    for (const key of [server.keys.acme, server.keys.acmeRead]) {
      for (const [method, path, body] of [["POST", "/v1/webhook-endpoints", { url: "https://shop.example/x", events: ["*"] }] as const, ["GET", "/v1/webhook-endpoints"] as const, ...routes]) {
        const answer = await call(server, method, path, { key, ...(body === undefined ? {} : { body }) })
        expect(answer.status, `${method} ${path}`).toBe(403)
        expect(answer.json).toMatchObject({ type: "forbidden", code: "missing_scope" })
      }
    }
    expect((await call(server, "GET", `/v1/webhook-endpoints/${id}`, { key: null })).status).toBe(401)
  })

  it("an installation without MerchantWebhooks answers 501 with a clear body (without TenantGateways a tenant's webhook URL is a 404); /openapi.json has the routes", async () => {
    const answer = await call(bare, "POST", "/v1/webhook-endpoints", { key: bare.keys.acmeHooks, body: { url: "https://shop.example/x", events: ["*"] } })
    expect(answer.status).toBe(501)
    expect(answer.json).toMatchObject({ type: "not_implemented", code: "not_implemented" })
    expect(answer.json.message).toContain("merchant webhooks")
    expect((await call(bare, "GET", "/v1/webhook-endpoints", { key: bare.keys.acmeHooks })).status).toBe(501)
    // without TenantGateways no tenant has its own gateway: a tenant's webhook URL is a 404
    const tenantHook = await call(bare, "POST", "/v1/webhooks/mock/acme", { key: null, raw: "{\"notifications\":[]}" })
    expect(tenantHook.status).toBe(404)
    expect(tenantHook.json).toMatchObject({ type: "not_found", code: "unknown_provider" })
    const openapi = await call(bare, "GET", "/openapi.json", { key: null })
    const paths = Object.keys(openapi.json.paths)
    for (const path of [
      "/v1/webhook-endpoints",
      "/v1/webhook-endpoints/{endpointId}",
      "/v1/webhook-endpoints/{endpointId}/rotate-secret",
      "/v1/webhook-endpoints/{endpointId}/deliveries",
      "/v1/webhook-endpoints/{endpointId}/deliveries/{deliveryId}",
      "/v1/webhook-endpoints/{endpointId}/deliveries/{deliveryId}/replay",
      "/v1/webhook-endpoints/{endpointId}/replay-dead",
      "/v1/webhooks/{provider}/{tenantId}",
      "/api/v1/webhooks/{provider}/{tenantId}"
    ]) expect(paths, path).toContain(path)
    expect(Object.keys(openapi.json.paths["/v1/webhook-endpoints/{endpointId}"])).toEqual(expect.arrayContaining(["get", "patch", "delete"]))
    expect(openapi.json.paths["/v1/webhook-endpoints"].post.responses["201"]).toBeDefined()
  })
})
