/**
 * The rest of the HTTP surface: OpenAPI and Swagger UI, health/readiness/metrics, the seed's
 * paths, and incoming webhooks (valid, forged, replayed, out of order) with a test gateway whose
 * `webhooks.parse` checks an HMAC over the exact bytes.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PaymentService, Tenant } from "aegispay"
import { TestCards } from "aegispay/testing"
import { call, cardBody, sign, start, type Started } from "./support.js"

let server: Started
beforeAll(async () => {
  server = await start()
})
afterAll(async () => {
  await server.close()
})

let n = 0
const key = () => `svc-${++n}`

describe("documents and probes", () => {
  it("serves the OpenAPI document with every route and the error table", async () => {
    const answer = await call(server, "GET", "/openapi.json", { key: null })
    expect(answer.status).toBe(200)
    const paths = Object.keys(answer.json.paths)
    for (const path of [
      "/v1/payments",
      "/v1/payments/{paymentId}",
      "/v1/payments/{paymentId}/confirm",
      "/v1/payments/{paymentId}/capture",
      "/v1/payments/{paymentId}/cancel",
      "/v1/payments/{paymentId}/complete",
      "/v1/payments/{paymentId}/refunds",
      "/v1/customers/{customerId}/payments",
      "/v1/gateways/health",
      "/v1/webhooks/{provider}",
      "/api/v1/payments/initiate",
      "/api/v1/payments/complete",
      "/api/v1/payments/refund",
      "/api/v1/providers/credentials",
      "/api/v1/providers/status",
      "/api/v1/webhooks/{provider}",
      "/health",
      "/ready",
      "/metrics"
    ]) expect(paths).toContain(path)
    const confirm = answer.json.paths["/v1/payments/{paymentId}/confirm"].post.responses
    for (const status of ["200", "202", "400", "401", "402", "403", "404", "409", "422", "429", "500", "502", "504"]) {
      expect(Object.keys(confirm)).toContain(status)
    }
    expect(answer.json.components.securitySchemes).toBeDefined()
  })

  it("serves Swagger UI at /docs", async () => {
    const answer = await call(server, "GET", "/docs", { key: null })
    expect(answer.status).toBe(200)
    expect(answer.text).toContain("swagger")
  })

  it("/health, /ready and /metrics need no key", async () => {
    expect((await call(server, "GET", "/health", { key: null })).json).toEqual({ status: "ok" })
    const ready = await call(server, "GET", "/ready", { key: null })
    expect(ready.status).toBe(200)
    expect(ready.json.checks.storage).toBe("ok")
    const id = (await call(server, "POST", "/v1/payments", { body: cardBody(), headers: { "idempotency-key": key() } })).json.id
    await call(server, "POST", `/v1/payments/${id}/confirm`)
    const metrics = await call(server, "GET", "/metrics", { key: null })
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get("content-type")).toContain("text/plain")
    expect(metrics.text).toMatch(/^# TYPE aegispay_\w+ (counter|histogram)$/m)
  })
})

describe("the seed's paths", () => {
  it("initiate creates and processes, idempotently; refund and status", async () => {
    const idem = key()
    const first = await call(server, "POST", "/api/v1/payments/initiate", { body: cardBody(), headers: { "idempotency-key": idem } })
    expect(first.status).toBe(200)
    expect(first.json.state).toBe("SUCCESS")
    const again = await call(server, "POST", "/api/v1/payments/initiate", { body: cardBody(), headers: { "idempotency-key": idem } })
    expect(again.status).toBe(200)
    expect(again.json.id).toBe(first.json.id)
    expect(again.json.attempts).toHaveLength(1)
    const declined = await call(server, "POST", "/api/v1/payments/initiate", {
      body: cardBody(TestCards.declined),
      headers: { "idempotency-key": key() }
    })
    expect(declined.status).toBe(402)
    const refund = await call(server, "POST", "/api/v1/payments/refund", {
      body: { paymentId: first.json.id, amount: "5.00" },
      headers: { "idempotency-key": "seed-r1" }
    })
    expect(refund.status).toBe(201)
    expect(refund.json.state).toBe("SUCCEEDED")
    const status = await call(server, "GET", "/api/v1/providers/status")
    expect(status.status).toBe(200)
    expect(status.json.data[0].gateway).toBe("mock")
  })

  it("credentials need the admin scope", async () => {
    const answer = await call(server, "POST", "/api/v1/providers/credentials", { body: { provider: "stripe", credentials: { secretKey: "sk" } } })
    expect(answer.status).toBe(403)
    const admin = await call(server, "POST", "/api/v1/providers/credentials", {
      key: server.keys.acmeAdmin,
      body: { provider: "stripe", credentials: { secretKey: "sk" } }
    })
    expect(admin.status).toBe(501)
    for (const [method, path] of [["GET", "/v1/providers"], ["GET", "/v1/providers/credentials"], ["DELETE", "/v1/providers/credentials/stripe"]] as const) {
      expect((await call(server, method, path, { key: server.keys.acmeAdmin })).status).toBe(501)
    }
  })
})

const attemptKey = (paymentId: string) =>
  server.runtime.runPromise(
    Effect.flatMap(PaymentService.PaymentService, (payments) => payments.getPayment(paymentId)).pipe(
      Effect.map((p) => p.attempts[0]!.idempotencyKey),
      Tenant.with("acme")
    )
  )

const postWebhook = (body: string, signature: string, path = "/v1/webhooks/mock") =>
  call(server, "POST", path, { key: null, raw: body, headers: { "x-test-signature": signature } })

describe("webhooks in", () => {
  const lostAnswer = async () => {
    const id = (await call(server, "POST", "/v1/payments", { body: cardBody(TestCards.timeoutAfterCharge), headers: { "idempotency-key": key() } })).json.id as string
    expect((await call(server, "POST", `/v1/payments/${id}/confirm`)).status).toBe(504)
    return { id, idempotencyKey: await attemptKey(id) }
  }
  const notification = (eventId: string, paymentId: string, idempotencyKey: string, type: string) => ({
    id: eventId,
    gateway: "mock",
    paymentId,
    type,
    idempotencyKey,
    transactionId: `txn_${eventId}`,
    verified: true
  })

  it("valid: applied; replayed: 200 Duplicate, applied once; out of order: ignored", async () => {
    const { id, idempotencyKey } = await lostAnswer()
    const body = JSON.stringify({ notifications: [notification(`evt_${id}_1`, id, idempotencyKey, "charge.succeeded")] })
    const applied = await postWebhook(body, sign(body))
    expect(applied.status).toBe(200)
    expect(applied.json.results[0].result).toBe("Applied")
    expect((await call(server, "GET", `/v1/payments/${id}`)).json.state).toBe("SUCCESS")
    const replayed = await postWebhook(body, sign(body), "/api/v1/webhooks/mock")
    expect(replayed.status).toBe(200)
    expect(replayed.json.results[0].result).toBe("Duplicate")
    const late = JSON.stringify({ notifications: [notification(`evt_${id}_0`, id, idempotencyKey, "charge.failed")] })
    const ignored = await postWebhook(late, sign(late))
    expect(ignored.status).toBe(200)
    expect(ignored.json.results[0].result).toBe("Ignored")
    const after = await call(server, "GET", `/v1/payments/${id}`)
    expect(after.json.state).toBe("SUCCESS")
  })

  it("forged: 400 and nothing applied", async () => {
    const { id, idempotencyKey } = await lostAnswer()
    const before = await call(server, "GET", `/v1/payments/${id}`)
    const body = JSON.stringify({ notifications: [notification(`evt_${id}_f`, id, idempotencyKey, "charge.succeeded")] })
    const forged = await postWebhook(body, sign(body, "not-the-secret"))
    expect(forged.status).toBe(400)
    expect(forged.json.code).toBe("webhook_bad_signature")
    const tampered = await postWebhook(body.replace("charge.succeeded", "charge.failed"), sign(body))
    expect(tampered.status).toBe(400)
    const payment = await call(server, "GET", `/v1/payments/${id}`)
    expect(payment.json.state).toBe("PROCESSING")
    expect(payment.json.version).toBe(before.json.version)
  })

  it("an unknown provider is a 404; webhooks need no API key but a key does not help a forgery", async () => {
    expect((await postWebhook("{}", sign("{}"), "/v1/webhooks/nobody")).status).toBe(404)
    const answer = await call(server, "POST", "/v1/webhooks/mock", { key: server.keys.acme, raw: "{}", headers: { "x-test-signature": "00" } })
    expect(answer.status).toBe(400)
  })
})
