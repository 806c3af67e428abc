/**
 * The `/v1` payments API on a real loopback server: every endpoint and its statuses, Stripe-style
 * idempotency under concurrency, the error body and the bad-input cases.
 */
import { Effect, Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TestCards } from "aegispay/testing"
import { ApiError } from "aegispay/http"
import { call, cardBody, client, start, type Started } from "./support.js"

let server: Started
beforeAll(async () => {
  server = await start()
})
afterAll(async () => {
  await server.close()
})

let n = 0
const key = () => `key-${++n}`

const create = async (body: unknown = cardBody(), options: { readonly key?: string; readonly idem?: string; readonly server?: Started } = {}) =>
  call(options.server ?? server, "POST", "/v1/payments", { body, headers: { "idempotency-key": options.idem ?? key() }, ...(options.key === undefined ? {} : { key: options.key }) })

const created = async (body: unknown = cardBody()) => {
  const answer = await create(body)
  expect(answer.status).toBe(201)
  return answer.json.id as string
}

const expectError = (answer: { status: number; json: Record<string, unknown> }, status: number, code?: string) => {
  expect(answer.status).toBe(status)
  expect(typeof answer.json.type).toBe("string")
  expect(typeof answer.json.message).toBe("string")
  if (code !== undefined) expect(answer.json.code).toBe(code)
}

const customerPayments = async (customerId: string, key: string = server.keys.acme) =>
  call(server, "GET", `/v1/customers/${customerId}/payments?limit=100`, { key })

describe("create", () => {
  it("creates a payment in INITIATED with exact decimal amounts and no card number", async () => {
    const answer = await create()
    expect(answer.status).toBe(201)
    expect(answer.json.state).toBe("INITIATED")
    expect(answer.json.tenantId).toBe("acme")
    expect(answer.json.amount).toEqual({ currency: "USD", amount: "49.99" })
    expect(answer.json.paymentMethod.last4).toBe("4242")
    expect(answer.text).not.toContain(TestCards.success)
    expect(answer.text).not.toContain("\"cvv\"")
    expect(answer.headers.get("idempotent-replayed")).toBeNull()
    expect(answer.headers.get("x-request-id")).toMatch(/^req_/)
  })

  it("replays the first response for the same key and body, marked Idempotent-Replayed", async () => {
    const idem = key()
    const first = await create(cardBody(), { idem })
    const again = await create(cardBody(), { idem })
    expect(again.status).toBe(201)
    expect(again.headers.get("idempotent-replayed")).toBe("true")
    expect(again.json).toEqual(first.json)
  })

  it("answers 422 for the same key with another body, and creates nothing", async () => {
    const idem = key()
    await create(cardBody(TestCards.success, { customer: { id: "cus_reuse", email: "a@example.com" } }), { idem })
    const other = await create(cardBody(TestCards.success, { amount: "50.00", customer: { id: "cus_reuse", email: "a@example.com" } }), { idem })
    expectError(other, 422, "idempotency_key_reused")
    expect((await customerPayments("cus_reuse")).json.data).toHaveLength(1)
  })

  it("replays the first answer even after the payment moved on (the payment as created)", async () => {
    const idem = key()
    const first = await create(cardBody(), { idem })
    const confirmed = await call(server, "POST", `/v1/payments/${first.json.id}/confirm`)
    expect(confirmed.json.state).toBe("SUCCESS")
    const again = await create(cardBody(), { idem })
    expect(again.status).toBe(201)
    expect(again.headers.get("idempotent-replayed")).toBe("true")
    expect(again.json).toEqual(first.json)
  })

  it("makes exactly one payment from 50 concurrent identical requests (201 once, 49 replays of it)", async () => {
    const idem = key()
    const body = cardBody(TestCards.success, { customer: { id: "cus_burst", email: "b@example.com" } })
    const answers = await Promise.all(Array.from({ length: 50 }, () => create(body, { idem })))
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 50 }, () => 201))
    const fresh = answers.filter((a) => a.headers.get("idempotent-replayed") === null)
    expect(fresh).toHaveLength(1)
    for (const answer of answers) expect(answer.json).toEqual(fresh[0]!.json)
    expect((await customerPayments("cus_burst")).json.data).toHaveLength(1)
    const later = await create(body, { idem })
    expect(later.status).toBe(201)
    expect(later.headers.get("idempotent-replayed")).toBe("true")
  })
})

describe("bad input: a 4xx with a clear body, nothing stored", () => {
  const customer = (id: string) => ({ customer: { id, email: "x@example.com" } })
  const nothingStored = async (id: string) => expect((await customerPayments(id)).json.data).toHaveLength(0)

  it("malformed JSON is a 400", async () => {
    const answer = await call(server, "POST", "/v1/payments", { raw: "{\"amount\": ", headers: { "idempotency-key": key() } })
    expectError(answer, 400, "malformed_json")
  })

  it("a JSON number for an amount is a 400 naming the field", async () => {
    const answer = await create(cardBody(TestCards.success, { amount: 49.99, ...customer("cus_float") }))
    expectError(answer, 400, "invalid_field")
    expect(answer.json.param).toBe("amount")
    await nothingStored("cus_float")
  })

  it("an unknown field is a 400, at any depth", async () => {
    const top = await create(cardBody(TestCards.success, { tenantId: "globex", ...customer("cus_unknown") }))
    expectError(top, 400, "unknown_field")
    expect(top.json.param).toBe("tenantId")
    const nested = await create(cardBody(TestCards.success, { customer: { id: "cus_unknown", email: "x@example.com", vip: true } }))
    expectError(nested, 400, "unknown_field")
    await nothingStored("cus_unknown")
  })

  it("a wrong type is a 400", async () => {
    const answer = await create(cardBody(TestCards.success, { currency: 840, ...customer("cus_type") }))
    expectError(answer, 400, "invalid_field")
    expect(answer.json.param).toBe("currency")
    await nothingStored("cus_type")
  })

  it("a domain validation error is a 400 naming the field (too many decimals)", async () => {
    const answer = await create(cardBody(TestCards.success, { amount: "1.005", ...customer("cus_decimals") }))
    expectError(answer, 400, "validation_error")
    expect(answer.json.param).toBe("amount")
    await nothingStored("cus_decimals")
  })

  it("a missing Idempotency-Key header is a 400", async () => {
    const answer = await call(server, "POST", "/v1/payments", { body: cardBody(TestCards.success, customer("cus_noheader")) })
    expectError(answer, 400, "missing_field")
    expect(String(answer.json.message)).toContain("idempotency-key")
    await nothingStored("cus_noheader")
  })

  it("a body over 1 MB is a 413", async () => {
    const huge = JSON.stringify(cardBody(TestCards.success, { description: "x".repeat(1024 * 1024), ...customer("cus_huge") }))
    const answer = await call(server, "POST", "/v1/payments", { raw: huge, headers: { "idempotency-key": key() } })
    expectError(answer, 413, "payload_too_large")
    await nothingStored("cus_huge")
  })

  it("a card number is never echoed, wherever it is sent", async () => {
    const answer = await create(cardBody(TestCards.success, { customer: { id: "cus_echo", email: TestCards.success } }))
    expect(answer.status).toBe(400)
    expect(answer.text).not.toContain(TestCards.success)
    const typed = await create(cardBody(TestCards.success, { currency: Number(TestCards.success), ...customer("cus_echo") }))
    expect(typed.status).toBe(400)
    expect(typed.text).not.toContain(TestCards.success)
  })

  it("an unknown route is a 404 with the error body", async () => {
    expectError(await call(server, "GET", "/v1/nothing"), 404, "route_not_found")
  })
})

describe("auth", () => {
  it("no key, a malformed key or an unknown key: 401", async () => {
    expectError(await call(server, "GET", "/v1/payments/pay_x", { key: null }), 401, "invalid_api_key")
    expectError(await call(server, "GET", "/v1/payments/pay_x", { key: "" }), 401, "invalid_api_key")
    expectError(await call(server, "GET", "/v1/payments/pay_x", { key: "sk_unknown" }), 401, "invalid_api_key")
  })

  it("a revoked key: 401 (uncached: on the very next request)", async () => {
    const uncached = await start({ authCache: false })
    try {
      const answer = await create(cardBody(), { key: uncached.keys.revoked, server: uncached })
      expect(answer.status).toBe(201)
      await uncached.revoke("revoked")
      expectError(await call(uncached, "GET", `/v1/payments/${answer.json.id}`, { key: uncached.keys.revoked }), 401)
    } finally {
      await uncached.close()
    }
  })

  it("a revoked key that was never cached: 401 at once with the default cache", async () => {
    await server.revoke("revoked")
    expectError(await call(server, "GET", "/v1/payments/pay_x", { key: server.keys.revoked }), 401, "invalid_api_key")
  })

  it("a key without the scope: 403, and nothing happens", async () => {
    const denied = await create(cardBody(TestCards.success, { customer: { id: "cus_scope", email: "s@example.com" } }), { key: server.keys.acmeRead })
    expectError(denied, 403, "missing_scope")
    expect((await customerPayments("cus_scope")).json.data).toHaveLength(0)
    const id = await created()
    expectError(await call(server, "POST", `/v1/payments/${id}/confirm`, { key: server.keys.acmeRead }), 403)
    expect((await call(server, "GET", `/v1/payments/${id}`)).json.state).toBe("INITIATED")
    expect((await call(server, "GET", `/v1/payments/${id}`, { key: server.keys.acmeRead })).status).toBe(200)
  })

  it("another tenant's payment is a 404 on every route, exactly like a missing one, and nothing changes", async () => {
    const id = await created()
    const other = server.keys.globex
    const routes: ReadonlyArray<readonly [string, string, unknown, Record<string, string>?]> = [
      ["GET", `/v1/payments/${id}`, undefined],
      ["POST", `/v1/payments/${id}/confirm`, undefined],
      ["POST", `/v1/payments/${id}/capture`, {}],
      ["POST", `/v1/payments/${id}/cancel`, {}],
      ["POST", `/v1/payments/${id}/complete`, {}],
      ["POST", `/v1/payments/${id}/refunds`, {}, { "idempotency-key": "r1" }],
      ["GET", `/v1/payments/${id}/refunds`, undefined],
      ["POST", "/api/v1/payments/complete", { paymentId: id }],
      ["POST", "/api/v1/payments/refund", { paymentId: id }, { "idempotency-key": "r1" }]
    ]
    for (const [method, path, body, headers] of routes) {
      const theirs = await call(server, method, path, { key: other, body, ...(headers === undefined ? {} : { headers }) })
      expectError(theirs, 404, "payment_not_found")
      const missing = await call(server, method, path.replace(id, "pay_missing"), {
        key: other,
        body: body === undefined ? undefined : JSON.parse(JSON.stringify(body).replace(id, "pay_missing")),
        ...(headers === undefined ? {} : { headers })
      })
      expect(JSON.stringify(theirs.json).replaceAll(id, "ID")).toEqual(JSON.stringify(missing.json).replaceAll("pay_missing", "ID"))
    }
    expect((await customerPayments("cus_ada", other)).json.data).toHaveLength(0)
    const mine = await call(server, "GET", `/v1/payments/${id}`)
    expect(mine.json.state).toBe("INITIATED")
    expect(mine.json.version).toBe(1)
  })

  it("rate limit per key: 429 with Retry-After, refused before anything runs", async () => {
    const limited = await start({ rateLimit: { limit: 3, window: "1 minute" } })
    try {
      const answers = []
      for (let i = 0; i < 4; i++) answers.push(await call(limited, "GET", "/v1/payments/pay_x", { key: limited.keys.limited }))
      expect(answers.slice(0, 3).map((a) => a.status)).toEqual([404, 404, 404])
      expectError(answers[3]!, 429, "rate_limited")
      expect(Number(answers[3]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      // another key has its own limit
      expect((await call(limited, "GET", "/v1/payments/pay_x", { key: limited.keys.acme })).status).toBe(404)
    } finally {
      await limited.close()
    }
  })
})

describe("confirm, capture, cancel, complete", () => {
  it("confirm: 200 SUCCESS", async () => {
    const id = await created()
    const answer = await call(server, "POST", `/v1/payments/${id}/confirm`)
    expect(answer.status).toBe(200)
    expect(answer.json.state).toBe("SUCCESS")
    expect(answer.json.capturedAmount).toEqual({ currency: "USD", amount: "49.99" })
    expectError(await call(server, "POST", `/v1/payments/${id}/confirm`), 422, "invalid_state")
  })

  it("confirm of a declined card: 402 with the payment", async () => {
    const id = await created(cardBody(TestCards.declined))
    const answer = await call(server, "POST", `/v1/payments/${id}/confirm`)
    expectError(answer, 402, "card_declined")
    expect(answer.json.paymentId).toBe(id)
    expect(answer.json.payment.state).toBe("FAILURE")
  })

  it("confirm with a lost answer: 504 with the payment, which stays retrievable and settles on the next confirm", async () => {
    const id = await created(cardBody(TestCards.timeoutAfterCharge))
    const answer = await call(server, "POST", `/v1/payments/${id}/confirm`)
    expectError(answer, 504, "outcome_unknown")
    expect(answer.json.payment.state).toBe("PROCESSING")
    expect(answer.json.payment.requiresReconciliation).toBe(true)
    expect((await call(server, "GET", `/v1/payments/${id}`)).json.state).toBe("PROCESSING")
    const settled = await call(server, "POST", `/v1/payments/${id}/confirm`)
    expect(settled.status).toBe(200)
    expect(settled.json.state).toBe("SUCCESS")
  })

  it("manual capture: confirm authorizes, a partial capture succeeds, a second capture is 422", async () => {
    const id = await created(cardBody(TestCards.success, { captureMethod: "manual", amount: "100.00" }))
    const authorized = await call(server, "POST", `/v1/payments/${id}/confirm`)
    expect(authorized.status).toBe(200)
    expect(authorized.json.state).toBe("AUTHORIZED")
    expectError(await call(server, "POST", `/v1/payments/${id}/capture`, { body: { amount: "150.00" } }), 422, "capture_exceeds_authorized")
    expectError(await call(server, "POST", `/v1/payments/${id}/capture`, { body: { amount: 20 } }), 400)
    const captured = await call(server, "POST", `/v1/payments/${id}/capture`, { body: { amount: "20.00" } })
    expect(captured.status).toBe(200)
    expect(captured.json.state).toBe("SUCCESS")
    expect(captured.json.capturedAmount).toEqual({ currency: "USD", amount: "20.00" })
    expectError(await call(server, "POST", `/v1/payments/${id}/capture`, { body: {} }), 422, "invalid_state")
  })

  it("cancel: 200 CANCELLED, then 422", async () => {
    const id = await created()
    const answer = await call(server, "POST", `/v1/payments/${id}/cancel`, { body: { reason: "customer asked" } })
    expect(answer.status).toBe(200)
    expect(answer.json.state).toBe("CANCELLED")
    expectError(await call(server, "POST", `/v1/payments/${id}/cancel`, { body: {} }), 422, "invalid_state")
    expectError(await call(server, "POST", `/v1/payments/${id}/confirm`), 422, "invalid_state")
  })

  it("customer action: confirm answers 202 with the action, complete settles it (both paths)", async () => {
    for (const path of ["resource", "seed"] as const) {
      const id = await created(cardBody(TestCards.actionRedirect))
      const waiting = await call(server, "POST", `/v1/payments/${id}/confirm`)
      expect(waiting.status).toBe(202)
      expect(waiting.json.state).toBe("ACTION_REQUIRED")
      expect(waiting.json.customerAction.type).toBe("redirect")
      const done = path === "resource"
        ? await call(server, "POST", `/v1/payments/${id}/complete`, { body: { params: { token: "t" } } })
        : await call(server, "POST", "/api/v1/payments/complete", { body: { paymentId: id, params: { token: "t" } } })
      expect(done.status).toBe(200)
      expect(done.json.state).toBe("SUCCESS")
      expect((await call(server, "GET", `/v1/payments/${id}`)).json.state).toBe("SUCCESS")
    }
  })

  it("checkout: created with return URL and order lines, confirm answers 202 with a redirect, complete settles it", async () => {
    const id = await created(cardBody(TestCards.success, {
      paymentMethod: { type: "checkout" },
      returnUrl: "https://shop.example/return",
      lineItems: [{ quantity: 2, description: "Mug", price: "20.00" }, { quantity: 1, description: "Tea", price: "9.99" }],
      externalReference: "order-1001"
    }))
    const waiting = await call(server, "POST", `/v1/payments/${id}/confirm`)
    expect(waiting.status).toBe(202)
    expect(waiting.json.state).toBe("ACTION_REQUIRED")
    expect(waiting.json.customerAction.type).toBe("redirect")
    const done = await call(server, "POST", `/v1/payments/${id}/complete`, { body: { params: { token: "t" } } })
    expect(done.status).toBe(200)
    expect(done.json.state).toBe("SUCCESS")
  })

  it("checkout with order lines that do not add up to the amount: 400, nothing stored", async () => {
    const answer = await create(cardBody(TestCards.success, {
      paymentMethod: { type: "checkout" },
      lineItems: [{ quantity: 1, description: "Mug", price: "20.00" }]
    }))
    expectError(answer, 400, "validation_error")
    expectError(await create(cardBody(TestCards.success, { paymentMethod: { type: "checkout" }, returnUrl: 5 })), 400)
  })

  it("complete of a payment that waits for nothing: 422, and 404 for a missing one", async () => {
    const id = await created()
    expectError(await call(server, "POST", `/v1/payments/${id}/complete`, { body: {} }), 422, "invalid_state")
    expectError(await call(server, "POST", "/v1/payments/pay_missing/complete", { body: {} }), 404, "payment_not_found")
  })

  it("get: 200, and 404 for a missing id", async () => {
    const id = await created()
    expect((await call(server, "GET", `/v1/payments/${id}`)).json.id).toBe(id)
    expectError(await call(server, "GET", "/v1/payments/pay_missing"), 404, "payment_not_found")
  })
})

describe("refunds", () => {
  it("refund, repeat with the same key, exceed, list", async () => {
    const id = await created(cardBody(TestCards.success, { amount: "30.00" }))
    expect((await call(server, "POST", `/v1/payments/${id}/confirm`)).status).toBe(200)
    const refund = await call(server, "POST", `/v1/payments/${id}/refunds`, { body: { amount: "10.00" }, headers: { "idempotency-key": "r-1" } })
    expect(refund.status).toBe(201)
    expect(refund.json.state).toBe("SUCCEEDED")
    expect(refund.json.amount).toEqual({ currency: "USD", amount: "10.00" })
    const again = await call(server, "POST", `/v1/payments/${id}/refunds`, { body: { amount: "10.00" }, headers: { "idempotency-key": "r-1" } })
    expect(again.json.id).toBe(refund.json.id)
    expectError(
      await call(server, "POST", `/v1/payments/${id}/refunds`, { body: { amount: "11.00" }, headers: { "idempotency-key": "r-1" } }),
      422,
      "idempotency_key_reused"
    )
    expectError(
      await call(server, "POST", `/v1/payments/${id}/refunds`, { body: { amount: "25.00" }, headers: { "idempotency-key": "r-2" } }),
      422,
      "refund_exceeds_captured"
    )
    expectError(await call(server, "POST", `/v1/payments/${id}/refunds`, { body: { amount: "1.00" } }), 400, "missing_field")
    const rest = await call(server, "POST", `/v1/payments/${id}/refunds`, { body: {}, headers: { "idempotency-key": "r-3" } })
    expect(rest.json.amount.amount).toBe("20.00")
    const list = await call(server, "GET", `/v1/payments/${id}/refunds`)
    expect(list.status).toBe(200)
    expect(list.json.data.map((r: { id: string }) => r.id)).toEqual([refund.json.id, rest.json.id])
    expect((await call(server, "GET", `/v1/payments/${id}`)).json.refundedAmount.amount).toBe("30.00")
  })

  it("refunding a payment that is not captured is 422", async () => {
    const id = await created()
    expectError(await call(server, "POST", `/v1/payments/${id}/refunds`, { body: {}, headers: { "idempotency-key": "r" } }), 422, "invalid_state")
  })
})

describe("lists and health", () => {
  it("a customer's payments, newest first, with cursors", async () => {
    const ids = []
    for (let i = 0; i < 3; i++) ids.push(await created(cardBody(TestCards.success, { customer: { id: "cus_pages", email: "p@example.com" } })))
    const first = await call(server, "GET", "/v1/customers/cus_pages/payments?limit=2")
    expect(first.status).toBe(200)
    expect(first.json.data).toHaveLength(2)
    expect(typeof first.json.nextCursor).toBe("string")
    const second = await call(server, "GET", `/v1/customers/cus_pages/payments?limit=2&cursor=${encodeURIComponent(first.json.nextCursor)}`)
    expect(second.json.data).toHaveLength(1)
    expect(second.json.nextCursor).toBeUndefined()
    const seen = [...first.json.data, ...second.json.data].map((p: { id: string }) => p.id)
    expect([...seen].sort()).toEqual([...ids].sort())
    expectError(await call(server, "GET", "/v1/customers/cus_pages/payments?limit=0"), 400)
    expectError(await call(server, "GET", "/v1/customers/cus_pages/payments?limit=abc"), 400)
  })

  it("gateway health", async () => {
    const answer = await call(server, "GET", "/v1/gateways/health")
    expect(answer.status).toBe(200)
    expect(answer.json.data[0].gateway).toBe("mock")
    expect(answer.json.data[0].circuit).toBe("CLOSED")
  })
})

describe("typed client", () => {
  it("creates, reads and confirms; errors decode into their classes by status", async () => {
    const result = await Effect.runPromise(Effect.gen(function*() {
      const api = yield* client(server)
      const payment = yield* api.payments.create({ headers: { "idempotency-key": key() }, payload: cardBody() as never })
      const read = yield* api.payments.get({ path: { paymentId: payment.id } })
      const confirmed = yield* api.payments.confirm({ path: { paymentId: payment.id } })
      const declinedId = (yield* api.payments.create({ headers: { "idempotency-key": key() }, payload: cardBody(TestCards.declined) as never })).id
      const declined = yield* Effect.either(api.payments.confirm({ path: { paymentId: declinedId } }))
      const missing = yield* Effect.either(api.payments.get({ path: { paymentId: "pay_missing" } }))
      return { payment, read, confirmed, declined, missing }
    }))
    expect(result.read.id).toBe(result.payment.id)
    expect(result.confirmed.state).toBe("SUCCESS")
    expect(Either.isLeft(result.declined) && result.declined.left instanceof ApiError.PaymentDeclined).toBe(true)
    expect(Either.isLeft(result.missing) && result.missing.left instanceof ApiError.NotFound).toBe(true)
  })
})
