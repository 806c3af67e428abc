/**
 * The GraphQL API on a real loopback server (port 0), next to the REST API: every operation,
 * the errors with REST's meaning, tenants, scopes, idempotency shared with REST, malformed
 * documents, floats refused, depth and cost limits, introspection off and on.
 */
import { readFileSync } from "node:fs"
import { Effect, Logger, LogLevel, type Runtime } from "effect"
import { GraphQLError, printSchema } from "graphql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AegisPayGraphql, GraphqlSchema } from "aegispay/http"
import { MockGateway, TestCards } from "aegispay/testing"
import { call, cardBody, start, type Started } from "./support.js"

let server: Started
beforeAll(async () => {
  server = await start({}, { tenantGateways: true })
})
afterAll(async () => {
  await server.close()
})

let n = 0
const idem = () => `gql-key-${++n}`

interface GraphqlAnswer {
  readonly status: number
  readonly headers: Headers
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly data: any
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly errors: ReadonlyArray<{ message: string; extensions: Record<string, any>; path?: ReadonlyArray<string | number> }>
  readonly text: string
}

const gql = async (
  query: string,
  variables: Record<string, unknown> = {},
  options: { readonly key?: string | null; readonly server?: Started; readonly accept?: string } = {}
): Promise<GraphqlAnswer> => {
  const target = options.server ?? server
  const answer = await call(target, "POST", "/graphql", {
    key: options.key === undefined ? target.keys.acme : options.key,
    body: { query, variables },
    headers: { accept: options.accept ?? "application/graphql-response+json" }
  })
  return { status: answer.status, headers: answer.headers, data: answer.json.data, errors: answer.json.errors ?? [], text: answer.text }
}

const INITIATE = `
  mutation Initiate($key: String!, $amount: Money!, $customer: CustomerInput!, $params: [ParamInput!], $capture: CaptureMethod,
                    $details: [PaymentDetailInput!]) {
    initiatePayment(idempotencyKey: $key, providerType: "mock", amount: $amount, currency: "USD", orderId: "order-1",
                    customer: $customer, customParams: $params, captureMethod: $capture, details: $details,
                    returnUrl: "https://shop.example/return", externalReferenceNumber: "ern-1") {
      checkoutUrl
      actionRequired
      customerAction { type url }
      payment { id state amount { amount currency } capturedAmount { amount } metadata { key value } checkoutUrl }
    }
  }`

const customer = (id = "cus_gql") => ({ id, email: "ada@example.com" })

/** initiatePayment with the mock's checkout outcome (default: the customer must act). */
const initiate = (
  options: {
    readonly outcome?: string
    readonly key?: string
    readonly amount?: unknown
    readonly customerId?: string
    readonly capture?: "AUTOMATIC" | "MANUAL"
    readonly details?: ReadonlyArray<Record<string, unknown>>
    readonly apiKey?: string
  } = {}
) =>
  gql(INITIATE, {
    key: options.key ?? idem(),
    amount: options.amount ?? "49.99",
    customer: customer(options.customerId),
    params: options.outcome === undefined ? [] : [{ key: "mock_outcome", value: options.outcome }],
    capture: options.capture ?? "AUTOMATIC",
    ...(options.details === undefined ? {} : { details: options.details })
  }, options.apiKey === undefined ? {} : { key: options.apiKey })

const expectError = (answer: GraphqlAnswer, code: string, status: number) => {
  expect(answer.errors.length, answer.text).toBeGreaterThan(0)
  expect(answer.errors[0]?.extensions.code, answer.text).toBe(code)
  expect(answer.errors[0]?.extensions.status).toBe(status)
}

const PAYMENT = `query($id: ID!) { payment(id: $id) { id state tenantId amount { amount currency } refundedAmount { amount } } }`

describe("initiatePayment", () => {
  it("answers the checkout URL when the customer must act, then completePayment settles it", async () => {
    const started = await initiate({ details: [{ quantity: 2, description: "Mug", price: "20.00" }, { quantity: 1, description: "Tea", price: "9.99", urlProduct: "https://shop.example/tea" }] })
    expect(started.status).toBe(200)
    expect(started.errors).toEqual([])
    const result = started.data.initiatePayment
    expect(result.actionRequired).toBe(true)
    expect(result.checkoutUrl).toMatch(/^https?:\/\//)
    expect(result.customerAction.type).toBe("redirect")
    expect(result.payment.state).toBe("ACTION_REQUIRED")
    expect(result.payment.amount).toEqual({ amount: "49.99", currency: "USD" })
    expect(result.payment.metadata).toContainEqual({ key: "orderId", value: "order-1" })

    const done = await gql(
      `mutation($id: ID!, $key: String!) { completePayment(paymentId: $id, idempotencyKey: $key, params: [{ key: "token", value: "t" }]) { id state checkoutUrl } }`,
      { id: result.payment.id, key: idem() }
    )
    expect(done.errors).toEqual([])
    expect(done.data.completePayment).toEqual({ id: result.payment.id, state: "SUCCESS", checkoutUrl: null })
    // REST sees the same payment
    expect((await call(server, "GET", `/v1/payments/${result.payment.id}`)).json.state).toBe("SUCCESS")
  })

  it("answers the payment when no customer action is needed", async () => {
    const answer = await initiate({ outcome: "success" })
    expect(answer.errors).toEqual([])
    expect(answer.data.initiatePayment.actionRequired).toBe(false)
    expect(answer.data.initiatePayment.checkoutUrl).toBeNull()
    expect(answer.data.initiatePayment.payment.state).toBe("SUCCESS")
    expect(answer.data.initiatePayment.payment.capturedAmount.amount).toBe("49.99")
  })

  it("a declined payment is PaymentDeclined (REST's 402) with its payment id; the payment is retrievable", async () => {
    const answer = await initiate({ outcome: "declined", customerId: "cus_gql_declined" })
    expectError(answer, "PaymentDeclined", 402)
    expect(answer.errors[0]?.extensions.declineCode).toBe("card_declined")
    expect(answer.errors[0]?.path).toEqual(["initiatePayment"])
    const id = answer.errors[0]?.extensions.paymentId
    expect(typeof id).toBe("string")
    const read = await gql(PAYMENT, { id })
    expect(read.data.payment.state).toBe("FAILURE")
  })

  it("the same key and request answer the same payment, processed once; another request is IdempotencyKeyReused", async () => {
    const key = idem()
    const first = await initiate({ key, outcome: "success", customerId: "cus_gql_idem" })
    const again = await initiate({ key, outcome: "success", customerId: "cus_gql_idem" })
    expect(again.data.initiatePayment.payment.id).toBe(first.data.initiatePayment.payment.id)
    expect(again.data.initiatePayment.payment.state).toBe("SUCCESS")
    const other = await initiate({ key, outcome: "success", customerId: "cus_gql_idem", amount: "50.00" })
    expectError(other, "IdempotencyKeyReused", 422)
    const list = await gql(`{ payments(customerId: "cus_gql_idem") { edges { node { id } } } }`)
    expect(list.data.payments.edges).toHaveLength(1)
  })

  it("concurrent identical requests make one payment, charged once (the others answer it, or a 409 to retry)", async () => {
    const key = idem()
    const answers = await Promise.all(Array.from({ length: 20 }, () => initiate({ key, outcome: "success", customerId: "cus_gql_burst" })))
    for (const a of answers) {
      if (a.errors.length > 0) expect(a.errors[0]?.extensions.status, a.text).toBe(409)
      else expect(a.data.initiatePayment.payment.state).toBe("SUCCESS")
    }
    const ids = new Set(answers.filter((a) => a.errors.length === 0).map((a) => a.data.initiatePayment.payment.id))
    expect(ids.size).toBe(1)
    const list = await gql(`{ payments(customerId: "cus_gql_burst") { edges { node { id state } } } }`)
    expect(list.data.payments.edges).toHaveLength(1)
    expect(list.data.payments.edges[0].node.state).toBe("SUCCESS")
    const id = list.data.payments.edges[0].node.id
    const ledger = await server.runtime.runPromise(Effect.flatMap(MockGateway.MockGateway, (mock) => mock.ledger))
    expect(ledger.charges.filter((c) => c.paymentId === id)).toHaveLength(1)
  })

  it("a float or an integer for Money is refused before anything runs (variables and literals)", async () => {
    for (const amount of [49.99, 49]) {
      const answer = await initiate({ amount, customerId: "cus_gql_float" })
      expectError(answer, "ValidationError", 400)
      expect(answer.data ?? null).toBeNull()
    }
    const literal = await gql(
      `mutation { initiatePayment(idempotencyKey: "k-float", providerType: "mock", amount: 49.99, currency: "USD", orderId: "o",
         customer: { id: "cus_gql_float", email: "a@example.com" }) { payment { id } } }`
    )
    expectError(literal, "ValidationError", 400)
    expect(literal.status).toBe(400)
    const list = await gql(`{ payments(customerId: "cus_gql_float") { edges { node { id } } } }`)
    expect(list.data.payments.edges).toHaveLength(0)
  })

  it("a domain validation error names the GraphQL argument", async () => {
    const answer = await initiate({ details: [{ quantity: 1, description: "Mug", price: "20.00" }], customerId: "cus_gql_invalid" })
    expectError(answer, "ValidationError", 400)
    expect(answer.errors[0]?.extensions.param).toBe("details")
    const currency = await gql(
      `mutation { initiatePayment(idempotencyKey: "k-cur", providerType: "mock", amount: "1.005", currency: "USD", orderId: "o",
         customer: { id: "cus_gql_invalid", email: "a@example.com" }) { payment { id } } }`
    )
    expectError(currency, "ValidationError", 400)
    const twice = await gql(INITIATE, {
      key: idem(), amount: "49.99", customer: customer("cus_gql_invalid"),
      params: [{ key: "constructor", value: "a" }, { key: "constructor", value: "b" }]
    })
    expectError(twice, "ValidationError", 400)
    expect(twice.errors[0]?.extensions.param).toBe("customParams")
    const orderId = await gql(INITIATE, { key: idem(), amount: "49.99", customer: customer("cus_gql_invalid"), params: [{ key: "orderId", value: "x" }] })
    expect(orderId.errors[0]?.extensions.param).toBe("customParams")
    expect((await gql(`{ payments(customerId: "cus_gql_invalid") { edges { node { id } } } }`)).data.payments.edges).toHaveLength(0)
  })
})

describe("capture, cancel, refund", () => {
  const CAPTURE = `mutation($id: ID!, $key: String!, $amount: Money) { capturePayment(paymentId: $id, idempotencyKey: $key, amount: $amount) { id state capturedAmount { amount } } }`
  const CANCEL = `mutation($id: ID!, $key: String!) { cancelPayment(paymentId: $id, idempotencyKey: $key, reason: "customer asked") { id state } }`
  const REFUND = `mutation($id: ID!, $key: String!, $amount: Money) { refundPayment(paymentId: $id, idempotencyKey: $key, amount: $amount) { id paymentId state amount { amount currency } external } }`

  const authorized = async () => {
    const answer = await initiate({ outcome: "success", capture: "MANUAL" })
    expect(answer.data.initiatePayment.payment.state).toBe("AUTHORIZED")
    return answer.data.initiatePayment.payment.id as string
  }

  it("captures part of an authorization; the same key replays; more than authorized is CaptureExceedsAuthorized", async () => {
    const id = await authorized()
    const over = await gql(CAPTURE, { id, key: idem(), amount: "60.00" })
    expectError(over, "CaptureExceedsAuthorized", 422)
    expect(over.errors[0]?.extensions.paymentId).toBe(id)
    const key = idem()
    const captured = await gql(CAPTURE, { id, key, amount: "30.00" })
    expect(captured.errors).toEqual([])
    expect(captured.data.capturePayment).toEqual({ id, state: "SUCCESS", capturedAmount: { amount: "30.00" } })
    const replay = await gql(CAPTURE, { id, key, amount: "30.00" })
    expect(replay.data.capturePayment).toEqual(captured.data.capturePayment)
    const reused = await gql(CAPTURE, { id, key, amount: "20.00" })
    expectError(reused, "IdempotencyKeyReused", 422)
    // a new capture of a captured payment is refused by the state machine
    expectError(await gql(CAPTURE, { id, key: idem() }), "InvalidTransition", 422)
  })

  it("cancels (voids) an authorization; cancelling a captured payment is InvalidTransition", async () => {
    const id = await authorized()
    const cancelled = await gql(CANCEL, { id, key: idem() })
    expect(cancelled.data.cancelPayment).toEqual({ id, state: "CANCELLED" })
    const paid = (await initiate({ outcome: "success" })).data.initiatePayment.payment.id
    expectError(await gql(CANCEL, { id: paid, key: idem() }), "InvalidTransition", 422)
  })

  it("refunds part of a payment, idempotently per (payment, key); beyond the captured amount is RefundExceedsCaptured", async () => {
    const id = (await initiate({ outcome: "success" })).data.initiatePayment.payment.id
    const key = idem()
    const refund = await gql(REFUND, { id, key, amount: "10.00" })
    expect(refund.errors).toEqual([])
    expect(refund.data.refundPayment).toMatchObject({ paymentId: id, state: "SUCCEEDED", amount: { amount: "10.00", currency: "USD" }, external: false })
    const again = await gql(REFUND, { id, key, amount: "10.00" })
    expect(again.data.refundPayment.id).toBe(refund.data.refundPayment.id)
    expectError(await gql(REFUND, { id, key: idem(), amount: "100.00" }), "RefundExceedsCaptured", 422)
    expect((await gql(PAYMENT, { id })).data.payment.refundedAmount.amount).toBe("10.00")
  })

  it("a money-moving mutation without idempotencyKey is refused by validation", async () => {
    const answer = await gql(`mutation { capturePayment(paymentId: "pay_x") { id } }`)
    expect(answer.status).toBe(400)
    expectError(answer, "GraphqlValidationFailed", 400)
  })
})

describe("queries", () => {
  it("payment(id): the payment; a missing id is PaymentNotFound (404)", async () => {
    const id = (await initiate({ outcome: "success" })).data.initiatePayment.payment.id
    const read = await gql(PAYMENT, { id })
    expect(read.data.payment).toMatchObject({ id, state: "SUCCESS", tenantId: "acme", amount: { amount: "49.99", currency: "USD" } })
    const missing = await gql(PAYMENT, { id: "pay_missing" })
    expectError(missing, "PaymentNotFound", 404)
    expect(missing.data.payment).toBeNull()
  })

  it("another tenant's payment is PaymentNotFound, exactly as a missing one, and cannot be changed", async () => {
    const id = (await initiate({ outcome: "success", capture: "MANUAL" })).data.initiatePayment.payment.id
    const other = await gql(PAYMENT, { id }, { key: server.keys.globex })
    expectError(other, "PaymentNotFound", 404)
    const missing = await gql(PAYMENT, { id: "pay_missing" }, { key: server.keys.globex })
    expect(other.errors[0]?.message.replace(id, "ID")).toBe(missing.errors[0]?.message.replace("pay_missing", "ID"))
    const capture = await gql(`mutation($id: ID!) { capturePayment(paymentId: $id, idempotencyKey: "k-x") { id } }`, { id }, { key: server.keys.globex })
    expectError(capture, "PaymentNotFound", 404)
    expect((await gql(PAYMENT, { id })).data.payment.state).toBe("AUTHORIZED")
    const list = await gql(`{ payments(customerId: "cus_gql") { edges { node { id } } } }`, {}, { key: server.keys.globex })
    expect(list.data.payments.edges).toEqual([])
  })

  it("payments(customerId, first, after): a Relay-style connection, newest first, page by page", async () => {
    const made: Array<string> = []
    for (let i = 0; i < 5; i++) made.push((await initiate({ outcome: "success", customerId: "cus_gql_pages" })).data.initiatePayment.payment.id)
    const PAGE = `query($after: String) { payments(customerId: "cus_gql_pages", first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`
    const seen: Array<string> = []
    let after: string | null = null
    for (let page = 0; page < 5; page++) {
      const answer: GraphqlAnswer = await gql(PAGE, { after })
      expect(answer.errors).toEqual([])
      const connection = answer.data.payments
      seen.push(...connection.edges.map((e: { node: { id: string } }) => e.node.id))
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1).cursor)
      if (!connection.pageInfo.hasNextPage) break
      after = connection.pageInfo.endCursor
    }
    expect(seen).toEqual([...made].reverse())
    const bad = await gql(`{ payments(customerId: "cus_gql_pages", first: 500) { edges { cursor } } }`)
    expectError(bad, "ValidationError", 400)
    expect(bad.errors[0]?.extensions.param).toBe("first")
  })

  it("gatewayHealth: every gateway", async () => {
    const answer = await gql(`{ gatewayHealth { gateway circuit score requests } }`)
    expect(answer.errors).toEqual([])
    expect(answer.data.gatewayHealth.map((h: { gateway: string }) => h.gateway)).toContain("mock")
  })

  it("GET runs queries; a mutation over GET is refused", async () => {
    const query = encodeURIComponent(`{ gatewayHealth { gateway } }`)
    const get = await call(server, "GET", `/graphql?query=${query}`, { headers: { accept: "application/graphql-response+json" } })
    expect(get.status).toBe(200)
    expect(get.json.data.gatewayHealth.length).toBeGreaterThan(0)
    const mutation = encodeURIComponent(`mutation { cancelPayment(paymentId: "p", idempotencyKey: "k") { id } }`)
    const refused = await call(server, "GET", `/graphql?query=${mutation}`, { headers: { accept: "application/graphql-response+json" } })
    expect(refused.status).toBe(405)
  })
})

describe("saveOrUpdateProviderKeys", () => {
  const SAVE = `mutation { saveOrUpdateProviderKeys(providerType: "mock", credentials: [{ key: "apiKey", value: "sk_test_abcdefgh1234" }, { key: "account", value: "acct_1" }]) { provider fields { key value } } }`

  it("saves the tenant's credentials with the admin scope; answers them masked", async () => {
    const answer = await gql(SAVE, {}, { key: server.keys.acmeAdmin })
    expect(answer.errors).toEqual([])
    expect(answer.data.saveOrUpdateProviderKeys.provider).toBe("mock")
    expect(answer.text).not.toContain("sk_test_abcdefgh1234")
    const apiKey = answer.data.saveOrUpdateProviderKeys.fields.find((f: { key: string }) => f.key === "apiKey")
    expect(apiKey.value).toMatch(/1234$/)
  })

  it("an unknown provider is a ValidationError naming providerType", async () => {
    const answer = await gql(`mutation { saveOrUpdateProviderKeys(providerType: "nope", credentials: [{ key: "apiKey", value: "sk_x" }]) { provider } }`, {}, { key: server.keys.acmeAdmin })
    expectError(answer, "ValidationError", 400)
    expect(answer.errors[0]?.extensions.param).toBe("providerType")
  })

  it("without the admin scope: Forbidden (403), nothing saved", async () => {
    expectError(await gql(SAVE), "Forbidden", 403)
  })
})

describe("authentication and scopes", () => {
  it("no key or an unknown key: 401 with a GraphQL error body", async () => {
    for (const key of [null, "ak_test_unknown"]) {
      const answer = await gql(`{ gatewayHealth { gateway } }`, {}, { key })
      expect(answer.status).toBe(401)
      expectError(answer, "Unauthenticated", 401)
      expect(answer.data).toBeUndefined()
    }
  })

  it("a key without the scope: Forbidden on that field, and the mutation does not run", async () => {
    const answer = await initiate({ apiKey: server.keys.acmeRead, customerId: "cus_gql_forbidden" })
    expect(answer.status).toBe(200)
    expectError(answer, "Forbidden", 403)
    expect(answer.errors[0]?.extensions.reason).toBe("missing_scope")
    const list = await gql(`{ payments(customerId: "cus_gql_forbidden") { edges { node { id } } } }`, {}, { key: server.keys.acmeRead })
    expect(list.errors).toEqual([])
    expect(list.data.payments.edges).toHaveLength(0)
  })
})

describe("malformed documents and limits", () => {
  it("a syntax error: 400, GraphqlValidationFailed, nothing runs", async () => {
    const answer = await gql(`{ payment(id: "x") { id `)
    expect(answer.status).toBe(400)
    expectError(answer, "GraphqlValidationFailed", 400)
    expect(answer.errors[0]?.message).toMatch(/Syntax Error/)
  })

  it("an unknown field or argument: 400", async () => {
    expectError(await gql(`{ payment(id: "x") { id cardNumber } }`), "GraphqlValidationFailed", 400)
    expectError(await gql(`{ payment(id: "x", tenantId: "globex") { id } }`), "GraphqlValidationFailed", 400)
  })

  it("a body that is not JSON, or without a query: 400", async () => {
    const raw = await call(server, "POST", "/graphql", { raw: "{\"query\": ", headers: { accept: "application/graphql-response+json" } })
    expect(raw.status).toBe(400)
    const empty = await call(server, "POST", "/graphql", { body: { variables: {} }, headers: { accept: "application/graphql-response+json" } })
    expect(empty.status).toBe(400)
  })

  it("a card number echoed by a validation message is masked", async () => {
    const answer = await gql(`{ payments(customerId: 4242424242424242) { edges { cursor } } }`)
    expect(answer.status).toBe(400)
    expect(answer.text).not.toContain(TestCards.success)
  })

  it("a query deeper than the limit is refused before anything runs (QueryTooDeep)", async () => {
    // fragments are followed: the depth is the document's real depth
    const deep = `
      fragment A on Payment { customerAction { params { key } } amount { amount } }
      query { payments(customerId: "c") { edges { node { ...A } } pageInfo { hasNextPage } } }`
    const ok = await gql(deep)
    expect(ok.errors).toEqual([])
    const limited = await start({ graphql: { maxDepth: 4 } })
    try {
      const answer = await gql(deep, {}, { server: limited })
      expect(answer.status).toBe(400)
      expectError(answer, "QueryTooDeep", 400)
      expect(answer.errors[0]?.extensions).toMatchObject({ limit: 4, actual: 6 })
    } finally {
      await limited.close()
    }
  })

  it("a query costing more than the limit is refused (QueryTooCostly): `first` multiplies, from literals and variables", async () => {
    // 1 + first × 15
    const query = `query($n: Int) { payments(customerId: "c", first: $n) { edges { node {
      id state version createdAt updatedAt amount { amount currency } refunds { id } customer { id email } } } } }`
    expect((await gql(query, { n: 10 })).errors).toEqual([])
    const costly = await gql(query, { n: 100 })
    expect(costly.status).toBe(400)
    expectError(costly, "QueryTooCostly", 400)
    expect(costly.errors[0]?.extensions).toMatchObject({ limit: 1000, actual: 1501 })
    // without `first`, its default (20) counts
    expect((await gql(query)).errors).toEqual([])
    // docs/GRAPHQL.md: at first: 100, 7 fields per payment fit (1 + 100 × 9 = 901), 8 do not
    const fields = ["id", "state", "version", "createdAt", "updatedAt", "tenantId", "description", "gateway"]
    const page = (k: number) => `{ payments(customerId: "c", first: 100) { edges { node { ${fields.slice(0, k).join(" ")} } } } }`
    expect((await gql(page(7))).errors).toEqual([])
    expectError(await gql(page(8)), "QueryTooCostly", 400)
    // aliases do not escape it
    const aliased = await gql(`{ ${Array.from({ length: 60 }, (_, i) => `a${i}: payments(customerId: "c") { edges { node { id } } }`).join(" ")} }`)
    expectError(aliased, "QueryTooCostly", 400)
  })

  it("introspection is off by default and on when asked for", async () => {
    const off = await gql(`{ __schema { types { name } } }`)
    expect(off.status).toBe(400)
    expectError(off, "GraphqlValidationFailed", 400)
    expect(off.errors[0]?.message).toMatch(/introspection/i)
    const on = await start({ graphql: { introspection: true } })
    try {
      const answer = await gql(`{ __schema { queryType { name } mutationType { fields { name } } } }`, {}, { server: on })
      expect(answer.errors).toEqual([])
      expect(answer.data.__schema.mutationType.fields.map((f: { name: string }) => f.name)).toEqual(
        expect.arrayContaining(["initiatePayment", "completePayment", "saveOrUpdateProviderKeys", "refundPayment", "capturePayment", "cancelPayment"])
      )
    } finally {
      await on.close()
    }
  })

  it("graphql: false leaves /graphql out", async () => {
    const without = await start({ graphql: false })
    try {
      const answer = await gql(`{ gatewayHealth { gateway } }`, {}, { server: without })
      expect(answer.status).toBe(404)
    } finally {
      await without.close()
    }
  })

  it("REST and GraphQL share one rate limit per key (429 with Retry-After)", async () => {
    const limited = await start({ rateLimit: { limit: 3, window: "1 hour" } })
    try {
      expect((await call(limited, "GET", "/v1/gateways/health")).status).toBe(200)
      expect((await gql(`{ gatewayHealth { gateway } }`, {}, { server: limited })).status).toBe(200)
      expect((await call(limited, "GET", "/v1/gateways/health")).status).toBe(200)
      const refused = await gql(`{ gatewayHealth { gateway } }`, {}, { server: limited })
      expect(refused.status).toBe(429)
      expectError(refused, "RateLimited", 429)
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    } finally {
      await limited.close()
    }
  })
})

describe("shared with REST", () => {
  it("an Idempotency-Key used by REST's create answers the same payment through initiatePayment", async () => {
    const key = idem()
    const body = cardBody(TestCards.success, {
      amount: "49.99",
      paymentMethod: { type: "checkout", gateway: "mock" },
      customer: customer("cus_gql_shared"),
      metadata: { mock_outcome: "success", orderId: "order-1" },
      returnUrl: "https://shop.example/return",
      externalReference: "ern-1",
      captureMethod: "automatic"
    })
    const rest = await call(server, "POST", "/v1/payments", { body, headers: { "idempotency-key": key } })
    expect(rest.status).toBe(201)
    const answer = await initiate({ key, outcome: "success", customerId: "cus_gql_shared" })
    expect(answer.errors).toEqual([])
    expect(answer.data.initiatePayment.payment.id).toBe(rest.json.id)
    expect(answer.data.initiatePayment.payment.state).toBe("SUCCESS")
  })

  it("answers carry the request id, and application/json answers errors with 200", async () => {
    const answer = await gql(`{ payment(id: "x") { id cardNumber } }`, {}, { accept: "application/json" })
    expect(answer.status).toBe(200)
    expect(answer.headers.get("x-request-id")).toMatch(/^req_/)
  })
})

describe("unexpected errors and the docs", () => {
  it("a defect in a resolver is InternalError with the request id and nothing of its cause", async () => {
    // the resolver's program dies before it needs a service
    const runtime = (await Effect.runPromise(Effect.runtime<never>().pipe(Logger.withMinimumLogLevel(LogLevel.None)))) as unknown as Runtime.Runtime<
      GraphqlSchema.Services
    >
    const context = AegisPayGraphql.makeContext(runtime, new AbortController().signal, "req_defect")
    const thrown: unknown = await context.run(Effect.die(new Error("relation \"payments\" does not exist: SELECT * FROM payments"))).catch((e: unknown) => e)
    expect(thrown).toBeInstanceOf(GraphQLError)
    const error = thrown as GraphQLError
    expect(error.message).toBe("internal error")
    expect(error.extensions).toEqual({ code: "InternalError", status: 500, reason: "internal_error", requestId: "req_defect" })
    expect(JSON.stringify(error.toJSON())).not.toContain("SELECT")
  })

  it("docs/GRAPHQL.md prints the schema as served", () => {
    const doc = readFileSync(new URL("../../docs/GRAPHQL.md", import.meta.url), "utf8")
    expect(doc).toContain(printSchema(GraphqlSchema.schema))
  })
})
