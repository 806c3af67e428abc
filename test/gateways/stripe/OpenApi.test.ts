/**
 * Every request the Stripe adapter sends is checked against Stripe's OpenAPI description
 * (`test/fixtures/stripe/openapi-requests.json`, the request side of the vendored subset in
 * `../shared/vendor/stripe/`, API version 2023-08-16): the path and method exist; every form
 * field (bracket paths included) and query parameter exists in the operation with a compatible
 * type (integers as digits, booleans as true/false, enums by value).
 *
 * Two documented exceptions, listed below with their source:
 * - `GET /v1/payment_intents/search` is not in the vendored subset: its parameters (`query`,
 *   `limit`, `page`, `expand`) are taken from stripe-node's `PaymentIntentSearchParams`;
 * - raw card fields (`payment_method_data[type]=card`, `payment_method_data[card][…]`) are not in
 *   Stripe's public description: Stripe accepts them only from accounts with raw card access.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema } from "effect"
import { readFileSync } from "node:fs"
import { CardVault, PaymentMethod } from "aegispay"
import { Stripe } from "aegispay/gateways"
import { AegisPayTest, MemoryCardVault } from "aegispay/testing"
import { FakeStripe } from "aegispay/testing/fakes"
import { charge, HttpLive, setup, token, usd } from "./support.js"

interface JsonSchema {
  readonly type?: string
  readonly enum?: ReadonlyArray<unknown>
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly additionalProperties?: JsonSchema | boolean
  readonly items?: JsonSchema
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly "x-stripeBypassValidation"?: boolean
}
interface Operation {
  readonly parameters?: ReadonlyArray<{ readonly name: string; readonly in: string; readonly schema?: JsonSchema }>
  readonly requestBody?: { readonly content: Readonly<Record<string, { readonly schema: JsonSchema }>> }
}
interface Spec {
  readonly paths: Readonly<Record<string, Readonly<Record<string, Operation>>>>
}

const spec: Spec = JSON.parse(readFileSync(new URL("../../fixtures/stripe/openapi-requests.json", import.meta.url), "utf8"))

/** Operations outside the vendored subset, from stripe-node (see the module comment). */
const extra: Readonly<Record<string, Readonly<Record<string, Operation>>>> = {
  "/v1/payment_intents/search": {
    get: {
      parameters: [
        { name: "query", in: "query", schema: { type: "string" } },
        { name: "limit", in: "query", schema: { type: "integer" } },
        { name: "page", in: "query", schema: { type: "string" } },
        { name: "expand", in: "query", schema: { type: "array", items: { type: "string" } } }
      ]
    }
  }
}

/** Raw card fields: accepted from accounts with raw card access, absent from the public description. */
const rawCard = (name: string, value: string) =>
  (name === "payment_method_data[type]" && value === "card") || /^payment_method_data\[card\]\[(number|exp_month|exp_year|cvc)\]$/.test(name)

const segments = (name: string): ReadonlyArray<string> | undefined => {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(name)
  if (m === null) return undefined
  return [m[1] ?? "", ...[...(m[2] ?? "").matchAll(/\[([^[\]]*)\]/g)].map((s) => s[1] ?? "")]
}

/** Why `value` at `path` does not fit `schema` (undefined: it fits). */
const fit = (schema: JsonSchema, path: ReadonlyArray<string>, value: string): string | undefined => {
  if (schema.anyOf !== undefined) {
    const problems = schema.anyOf.map((branch) => fit(branch, path, value))
    return problems.includes(undefined) ? undefined : problems[0]
  }
  const [head, ...rest] = path
  if (head === undefined) {
    switch (schema.type) {
      case "integer":
        return /^-?\d+$/.test(value) ? undefined : `${value} is not an integer`
      case "number":
        return /^-?\d+(\.\d+)?$/.test(value) ? undefined : `${value} is not a number`
      case "boolean":
        return value === "true" || value === "false" ? undefined : `${value} is not a boolean`
      case "string":
        return schema.enum === undefined || schema["x-stripeBypassValidation"] === true || schema.enum.includes(value)
          ? undefined
          : `${value} is not one of ${schema.enum.join(", ")}`
      default:
        return `a ${schema.type ?? "schema"} cannot take a scalar`
    }
  }
  if (schema.type === "array") {
    if (!/^\d+$/.test(head)) return `array index ${head} is not a number`
    return schema.items === undefined ? "array without items" : fit(schema.items, rest, value)
  }
  const property = schema.properties?.[head]
  if (property !== undefined) return fit(property, rest, value)
  if (typeof schema.additionalProperties === "object") return fit(schema.additionalProperties, rest, value)
  if (schema.additionalProperties === true) return undefined
  return `unknown parameter ${head}`
}

const operationOf = (method: string, path: string): Operation | undefined => {
  const all = { ...spec.paths, ...extra }
  const exact = all[path]?.[method.toLowerCase()]
  if (exact !== undefined) return exact
  for (const [template, operations] of Object.entries(all)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`)
    if (pattern.test(path) && all[path] === undefined) {
      const op = operations[method.toLowerCase()]
      if (op !== undefined) return op
    }
  }
  return undefined
}

/** Every problem of one recorded request against the description. */
export const check = (request: FakeStripe.RecordedRequest): ReadonlyArray<string> => {
  const operation = operationOf(request.method, request.path)
  const where = `${request.method} ${request.path}`
  if (operation === undefined) return [`${where}: no such operation`]
  const problems: Array<string> = []
  for (const [name, value] of request.query) {
    const parameter = operation.parameters?.find((p) => p.in === "query" && (p.name === name || name.startsWith(`${p.name}[`)))
    if (parameter === undefined) problems.push(`${where}: unknown query parameter ${name}`)
    else if (parameter.schema !== undefined && !name.includes("[")) {
      const problem = fit(parameter.schema, [], value)
      if (problem !== undefined) problems.push(`${where}: ${name}: ${problem}`)
    }
  }
  if (request.method === "POST") {
    if (request.contentType !== "application/x-www-form-urlencoded") problems.push(`${where}: content type ${request.contentType}`)
    const schema = operation.requestBody?.content["application/x-www-form-urlencoded"]?.schema
    for (const [name, value] of request.form) {
      if (rawCard(name, value)) continue
      const path = segments(name)
      if (path === undefined || schema === undefined) {
        problems.push(`${where}: cannot place form field ${name}`)
        continue
      }
      const problem = fit(schema, path, value)
      if (problem !== undefined) problems.push(`${where}: ${name}=${value}: ${problem}`)
    }
  } else if (request.form.length > 0) {
    problems.push(`${where}: a GET with a body`)
  }
  return problems
}

const cardInput = (number: string) =>
  Schema.decodeUnknownSync(PaymentMethod.CardInput)({ type: "card", number, expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Ada Lovelace" })

describe("Stripe requests against the OpenAPI description", () => {
  it("the checker refuses what the description does not have", () => {
    const base = { method: "POST", path: "/v1/payment_intents", route: "", query: [], idempotencyKey: undefined, stripeVersion: undefined, contentType: "application/x-www-form-urlencoded" } as const
    expect(check({ ...base, form: [["amount", "100"], ["currency", "usd"], ["metadata[x]", "y"], ["automatic_payment_methods[enabled]", "true"]] })).toEqual([])
    expect(check({ ...base, form: [["amount", "1.5"]] })).toHaveLength(1)
    expect(check({ ...base, form: [["amount_in_cents", "100"]] })).toHaveLength(1)
    expect(check({ ...base, form: [["capture_method", "later"]] })).toHaveLength(1)
    expect(check({ ...base, form: [["automatic_payment_methods[enabled]", "yes"]] })).toHaveLength(1)
    expect(check({ ...base, form: [["automatic_payment_methods[surprise]", "1"]] })).toHaveLength(1)
    expect(check({ ...base, method: "DELETE", form: [] })).toHaveLength(1)
    expect(check({ ...base, path: "/v1/charges", form: [] })).toHaveLength(1)
  })

  it.scoped("every request of every operation fits the description", () =>
    Effect.gen(function*() {
      const { fake, gateway, url } = yield* setup()
      // charges: automatic, manual with partial capture, void, refund, decline
      const paid = yield* gateway.process(charge({ amount: usd(2500n) }))
      const held = yield* gateway.process(charge({ capture: false }))
      const voidable = yield* gateway.process(charge({ capture: false }))
      yield* Effect.either(gateway.process(charge({ paymentMethod: token(FakeStripe.TestPaymentMethods.declined) })))
      if (paid.status !== "succeeded" || held.status !== "authorized" || voidable.status !== "authorized") return expect.unreachable()
      yield* gateway.capture({ transactionId: held.transactionId, idempotencyKey: "cap", amount: usd(1000n) })
      yield* gateway.void({ transactionId: voidable.transactionId, idempotencyKey: "void" })
      yield* gateway.refund({ transactionId: paid.transactionId, idempotencyKey: "refund", amount: usd(500n) })
      // a replayed 5xx on a refund: the refund list, then a second key
      yield* fake.inject("error500", { path: "/v1/refunds" })
      yield* Effect.either(gateway.refund({ transactionId: paid.transactionId, idempotencyKey: "refund-2", amount: usd(100n) }))
      yield* gateway.refund({ transactionId: paid.transactionId, idempotencyKey: "refund-2", amount: usd(100n) })
      // 3-D Secure: redirect, complete, cancel
      const threeDs = charge({ paymentMethod: token(FakeStripe.TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/r" })
      const waiting = yield* gateway.process(threeDs)
      if (waiting.status !== "action_required") return expect.unreachable()
      yield* gateway.customerAction.complete({ paymentId: threeDs.paymentId, idempotencyKey: threeDs.idempotencyKey, reference: waiting.reference, amount: threeDs.amount, capture: true, params: {} })
      yield* gateway.customerAction.cancel({ paymentId: threeDs.paymentId, idempotencyKey: threeDs.idempotencyKey, reference: waiting.reference })
      // statuses, search, health, the replayed-5xx path
      yield* gateway.getStatus({ idempotencyKey: "k", reference: paid.transactionId })
      yield* gateway.getStatus({ idempotencyKey: threeDs.idempotencyKey })
      yield* gateway.healthCheck
      const replay = charge()
      const created = yield* gateway.initiate(replay)
      yield* fake.inject("error500", { path: "/v1/payment_intents/{intent}/confirm" })
      yield* Effect.either(gateway.process({ ...replay, reference: created.reference }))
      yield* gateway.process({ ...replay, reference: created.reference })
      // merchant parameters as metadata, a description, zero- and three-decimal amounts
      yield* gateway.initiate({ ...charge(), checkout: { customParams: { orderId: "1001", channel: "web" } } })
      // raw card access
      const vault = yield* CardVault.CardVault
      const card = yield* vault.tokenize(cardInput("4242424242424242"))
      const raw = yield* Stripe.make({ secretKey: Redacted.make(fake.secretKey), apiBase: url, rawCardAccess: true })
      yield* raw.process(charge({ paymentMethod: card }))

      const requests = yield* fake.requests
      expect(new Set(requests.map((r) => `${r.method} ${r.route}`))).toEqual(new Set([
        "POST /v1/payment_intents",
        "POST /v1/payment_intents/{intent}/confirm",
        "POST /v1/payment_intents/{intent}/capture",
        "POST /v1/payment_intents/{intent}/cancel",
        "POST /v1/refunds",
        "GET /v1/payment_intents/{intent}",
        "GET /v1/payment_intents/search",
        "GET /v1/refunds",
        "GET /v1/payment_intents"
      ]))
      expect(requests.flatMap(check)).toEqual([])
    }).pipe(Effect.provide(Layer.merge(HttpLive, MemoryCardVault.layer(AegisPayTest.testFingerprintKey)))))
})
