/**
 * The correlation id over real HTTP (memory composition): a create sent with `X-Request-Id`
 * carries it on the operation's span (`aegispay.correlation_id`, with `aegispay.payment_id`,
 * tenant, state), on the operation's log line (`correlationId`) and on the merchant webhook its
 * event caused (`AegisPay-Correlation-Id`, delivered later by the worker's own fiber); a confirm
 * with `X-Correlation-Id` carries that one instead, to its gateway request lines and its
 * `payment.succeeded` webhook. Card data never appears in any line.
 */
import { Effect, Exit, LogLevel, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MerchantWebhooks } from "aegispay"
import * as Receiver from "../events/WebhookReceiver.js"
import { call, cardBody, type Started, start } from "../http/support.js"
import * as Capture from "./capture.js"

let server: Started
let receiver: Receiver.Receiver
const capture = Capture.make(LogLevel.Debug)
const scope = Effect.runSync(Scope.make())

beforeAll(async () => {
  server = await start({}, { merchantWebhooks: {}, observe: capture.layer })
  receiver = await Effect.runPromise(Receiver.start().pipe(Scope.extend(scope)))
})
afterAll(async () => {
  await server.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const runRound = () =>
  server.runtime.runPromise(Effect.flatMap(Effect.serviceOption(MerchantWebhooks.MerchantWebhooks), (w) => Effect.flatMap(w, (hooks) => hooks.runOnce)))

describe("correlation id", () => {
  it("reaches the operation's span and log line and the merchant webhook of the event it committed", async () => {
    const endpoint = await call(server, "POST", "/v1/webhook-endpoints", {
      key: server.keys.acmeHooks,
      body: { url: receiver.url("/corr"), events: ["payment.created", "payment.succeeded"] }
    })
    expect(endpoint.status).toBe(201)

    const created = await call(server, "POST", "/v1/payments", {
      body: cardBody(),
      headers: { "idempotency-key": "corr-1", "x-request-id": "req-corr-create-1" }
    })
    expect(created.status).toBe(201)
    const paymentId = created.json.id as string
    const confirmed = await call(server, "POST", `/v1/payments/${paymentId}/confirm`, {
      headers: { "x-request-id": "req-other", "x-correlation-id": "order-1001" }
    })
    expect(confirmed.status).toBe(200)

    // spans
    const createSpan = capture.spans.find((s) => s.name === "PaymentService.createPayment" && s.attributes.get("aegispay.payment_id") === paymentId)
    expect(createSpan).toBeDefined()
    expect(Object.fromEntries(createSpan!.attributes)).toMatchObject({
      "aegispay.correlation_id": "req-corr-create-1",
      "aegispay.tenant_id": "acme",
      "aegispay.state": "INITIATED",
      "aegispay.outcome": "ok"
    })
    const processSpan = capture.spans.find((s) => s.name === "PaymentService.processPayment" && s.attributes.get("aegispay.payment_id") === paymentId)
    expect(Object.fromEntries(processSpan!.attributes)).toMatchObject({
      "aegispay.correlation_id": "order-1001",
      "aegispay.state": "SUCCESS",
      "aegispay.gateway": "mock"
    })

    // logs: the operation lines, the gateway requests, and the access lines
    const createLine = capture.lines.find((l) => l.message === "payment operation" && l.annotations.operation === "create" && l.annotations.paymentId === paymentId)
    expect(createLine?.annotations).toMatchObject({ correlationId: "req-corr-create-1", requestId: "req-corr-create-1", tenantId: "acme", state: "INITIATED", outcome: "ok" })
    expect(typeof createLine?.annotations.latencyMs).toBe("number")
    const processLine = capture.lines.find((l) => l.message === "payment operation" && l.annotations.operation === "process" && l.annotations.paymentId === paymentId)
    expect(processLine?.annotations).toMatchObject({ correlationId: "order-1001", requestId: "req-other", gateway: "mock", state: "SUCCESS", outcome: "ok" })
    const gatewayLines = capture.lines.filter((l) => l.message === "gateway request" && l.annotations.correlationId === "order-1001")
    expect(gatewayLines.map((l) => l.annotations.method)).toEqual(expect.arrayContaining(["authenticate"]))
    for (const line of gatewayLines) expect(line.annotations).toMatchObject({ gateway: "mock", paymentId, outcome: "approved" })
    expect(capture.lines.find((l) => l.message === "http request" && l.annotations.requestId === "req-corr-create-1")?.annotations.correlationId)
      .toBe("req-corr-create-1")

    // the webhooks, sent by the delivery worker's own fiber
    for (let i = 0; i < 3; i++) await runRound()
    const received = (await Effect.runPromise(receiver.received)).filter((r) => r.path === "/corr")
    const byType = Object.fromEntries(received.map((r) => [r.headers["aegispay-event-type"], r.headers["aegispay-correlation-id"]]))
    expect(byType).toEqual({ "payment.created": "req-corr-create-1", "payment.succeeded": "order-1001" })
  })

  it("an invalid correlation header is ignored: the request id is used", async () => {
    const created = await call(server, "POST", "/v1/payments", {
      body: cardBody(),
      headers: { "idempotency-key": "corr-2", "x-request-id": "req-corr-2", "x-correlation-id": "bad id <script>" }
    })
    expect(created.status).toBe(201)
    const line = capture.lines.find((l) => l.message === "payment operation" && l.annotations.paymentId === created.json.id)
    expect(line?.annotations.correlationId).toBe("req-corr-2")
  })

  it("no line ever holds the card number or the CVV", () => {
    expect(capture.lines.length).toBeGreaterThan(5)
    for (const line of capture.lines) {
      expect(line.json).not.toContain("4242424242424242")
      expect(line.json).not.toMatch(/"cvv"|"123"/)
    }
  })
})
