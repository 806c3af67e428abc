/**
 * Provider webhooks over real HTTP with the Stripe adapter's own verification and parsing
 * (FakeStripe signs exactly as Stripe does), on the global route `POST /v1/webhooks/stripe` and
 * on a tenant's route `POST /v1/webhooks/stripe/{tenantId}` (the gateway built from the tenant's
 * stored credentials, its own webhook secret): valid → applied; forged → 400, nothing applied;
 * replayed → 200, applied once; out of order → never backwards; a tenant without credentials →
 * 404; another tenant's secret → 400; another tenant's payment → 404, nothing applied.
 */
import { FetchHttpClient } from "@effect/platform"
import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Gateway, GatewayRegistry } from "aegispay"
import { Stripe } from "aegispay/gateways"
import { FakeStripe } from "aegispay/testing/fakes"
import { call, type Started, start } from "./support.js"

// stateless: the gateways outlive the `Effect.provide` that built them (an undici agent would be closed with it)
const HttpLive = FetchHttpClient.layer
const scope = Effect.runSync(Scope.make())
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

const serveFake = (options: FakeStripe.Options) => Effect.runPromise(FakeStripe.serve(options).pipe(Scope.extend(scope)))

/** Stripe as a tenant provider whose API base is the fake serving that tenant's secret key. */
const stripeProvider = (apiBases: Readonly<Record<string, string>>): Gateway.GatewayProvider => ({
  ...Stripe.provider,
  make: (credentials, { id }) => {
    const secretKey = credentials["secretKey"]
    const apiBase = secretKey === undefined ? undefined : apiBases[Redacted.value(secretKey)]
    if (secretKey === undefined || apiBase === undefined) return Effect.fail(new Gateway.GatewayMisconfigured({ gateway: id, reason: "unknown key" }))
    return Stripe.make({ id, secretKey, webhookSecret: credentials["webhookSecret"], apiBase, timeout: "5 seconds" }).pipe(Effect.provide(HttpLive))
  }
})

/** A Stripe payment that Stripe accepts without settling it (`processing`): AegisPay waits for Stripe's word. */
const stripeBody = {
  amount: "19.99",
  currency: "USD",
  paymentMethod: { type: "gateway_token", gateway: "stripe", token: FakeStripe.TestPaymentMethods.processing },
  customer: { id: "cus_stripe", email: "ada@example.com" },
  allowPending: true
}

/** A payment of `key`'s tenant PROCESSING at Stripe, then settled there: its success is only in Stripe's webhook. */
const pendingAtStripe = async (server: Started, fake: FakeStripe.FakeStripe, key: string, idempotencyKey: string) => {
  const created = await call(server, "POST", "/v1/payments", { key, body: stripeBody, headers: { "idempotency-key": idempotencyKey } })
  expect(created.status, created.text).toBe(201)
  const confirmed = await call(server, "POST", `/v1/payments/${created.json.id}/confirm`, { key })
  expect(confirmed.status, confirmed.text).toBe(504)
  expect(confirmed.json.payment.state).toBe("PROCESSING")
  const intent = (await Effect.runPromise(fake.intents)).find((i) => i.metadata["aegispay_payment_id"] === created.json.id)
  expect(intent).toBeDefined()
  await Effect.runPromise(fake.settleProcessing(intent!.id))
  return { paymentId: created.json.id as string, intentId: intent!.id }
}

const objectIdOf = (event: FakeStripe.StripeEvent): unknown =>
  typeof event.data.object === "object" && event.data.object !== null ? Reflect.get(event.data.object, "id") : undefined

/** The last `payment_intent.succeeded` of the intent, signed with `secret`. */
const succeeded = (fake: FakeStripe.FakeStripe, intentId: string, secret?: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const event = (yield* fake.events).filter((e) => e.type === "payment_intent.succeeded" && objectIdOf(e) === intentId).at(-1)
    if (event === undefined) throw new Error("no payment_intent.succeeded")
    return yield* fake.sign(event, secret === undefined ? {} : { secret })
  }))

/** A `payment_intent.payment_failed` of the intent, arriving after its success (an older status). */
const lateFailure = (fake: FakeStripe.FakeStripe, intentId: string, secret?: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const event = (yield* fake.events).filter((e) => objectIdOf(e) === intentId).at(-1)!
    const object = event.data.object as Record<string, unknown>
    return yield* fake.sign({
      ...event,
      id: `evt_late_${intentId}`,
      type: "payment_intent.payment_failed",
      data: { object: { ...object, status: "requires_payment_method", last_payment_error: { code: "card_declined", decline_code: "generic_decline", message: "declined" } } }
    }, secret === undefined ? {} : { secret })
  }))

const post = (server: Started, path: string, webhook: FakeStripe.SignedWebhook) =>
  fetch(`${server.baseUrl}${path}`, { method: "POST", headers: webhook.headers, body: webhook.body }).then(async (r) => ({
    status: r.status,
    json: (await r.json()) as Record<string, unknown> & { results?: Array<{ result: string; paymentId: string }> }
  }))

const stateOf = async (server: Started, key: string, paymentId: string) =>
  (await call(server, "GET", `/v1/payments/${paymentId}`, { key })).json.state as string

/** Valid, forged, replayed, out of order: what both routes must do. */
const scenario = async (server: Started, fake: FakeStripe.FakeStripe, key: string, path: string, prefix: string) => {
  const { paymentId, intentId } = await pendingAtStripe(server, fake, key, `${prefix}-1`)
  const valid = await succeeded(fake, intentId)
  // forged: same body, signed with another secret → 400, nothing applied
  const forged = await post(server, path, await succeeded(fake, intentId, "whsec_attacker"))
  expect(forged.status).toBe(400)
  expect(forged.json).toMatchObject({ type: "invalid_request", code: "webhook_bad_signature" })
  // tampered: the valid signature over another body → 400
  const tampered = await post(server, path, { headers: valid.headers, body: new TextEncoder().encode(new TextDecoder().decode(valid.body).replace("succeeded", "succeeded ")) })
  expect(tampered.status).toBe(400)
  expect(await stateOf(server, key, paymentId)).toBe("PROCESSING")
  // valid → applied
  const applied = await post(server, path, valid)
  expect(applied.status).toBe(200)
  expect(applied.json.results).toEqual([{ id: expect.any(String), paymentId, result: "Applied" }])
  expect(await stateOf(server, key, paymentId)).toBe("SUCCESS")
  // replayed → 200, applied once
  const replayed = await post(server, path, valid)
  expect(replayed.status).toBe(200)
  expect(replayed.json.results?.[0]?.result).toBe("Duplicate")
  // out of order: a failure after the success never moves it back
  const late = await post(server, path, await lateFailure(fake, intentId))
  expect(late.status).toBe(200)
  expect(late.json.results?.[0]?.result).toBe("Ignored")
  const payment = (await call(server, "GET", `/v1/payments/${paymentId}`, { key })).json
  expect(payment.state).toBe("SUCCESS")
  expect(payment.capturedAmount).toEqual({ currency: "USD", amount: "19.99" })
  return { paymentId, intentId }
}

describe("POST /v1/webhooks/stripe (the global Stripe gateway)", () => {
  let server: Started
  let fake: FakeStripe.FakeStripe
  beforeAll(async () => {
    const served = await serveFake({ webhookSecret: "whsec_global" })
    fake = served.fake
    server = await start()
    await server.runtime.runPromise(Effect.gen(function*() {
      const registry = yield* GatewayRegistry.GatewayRegistry
      const stripe = yield* Stripe.make({
        secretKey: Redacted.make(fake.secretKey),
        webhookSecret: Redacted.make(fake.webhookSecret),
        apiBase: served.url,
        timeout: "5 seconds"
      }).pipe(Effect.provide(HttpLive))
      yield* registry.register(stripe)
    }))
  })
  afterAll(() => server.close())

  it("valid → applied; forged → 400, nothing applied; replayed → applied once; out of order → never backwards", async () => {
    await scenario(server, fake, server.keys.acme, "/v1/webhooks/stripe", "g")
  })

  it("the seed's path does the same", async () => {
    await scenario(server, fake, server.keys.globex, "/api/v1/webhooks/stripe", "gs")
  })
})

describe("POST /v1/webhooks/stripe/{tenantId} (a tenant's own Stripe account)", () => {
  let server: Started
  let acmeFake: FakeStripe.FakeStripe
  let globexFake: FakeStripe.FakeStripe
  beforeAll(async () => {
    const acme = await serveFake({ secretKey: "sk_test_acme", webhookSecret: "whsec_acme" })
    const globex = await serveFake({ secretKey: "sk_test_globex", webhookSecret: "whsec_globex" })
    acmeFake = acme.fake
    globexFake = globex.fake
    server = await start({}, { tenantProviders: [stripeProvider({ sk_test_acme: acme.url, sk_test_globex: globex.url })] })
    for (const [key, tenant] of [[server.keys.acmeAdmin, "acme"], [server.keys.globexAdmin, "globex"]] as const) {
      const saved = await call(server, "POST", "/api/v1/providers/credentials", {
        key,
        body: { provider: "stripe", credentials: { secretKey: `sk_test_${tenant}`, webhookSecret: `whsec_${tenant}` } }
      })
      expect(saved.status).toBe(200)
      expect(saved.text).not.toContain(`whsec_${tenant}`)
    }
  })
  afterAll(() => server.close())

  it("valid → applied under the tenant; forged → 400; replayed → applied once; out of order → never backwards", async () => {
    await scenario(server, acmeFake, server.keys.acme, "/v1/webhooks/stripe/acme", "t")
    // the payment went to the tenant's own Stripe account, not to another one
    expect((await Effect.runPromise(acmeFake.ledger)).charges.length).toBeGreaterThan(0)
    expect((await Effect.runPromise(globexFake.ledger)).charges).toEqual([])
  })

  it("the seed's path does the same", async () => {
    await scenario(server, globexFake, server.keys.globex, "/api/v1/webhooks/stripe/globex", "ts")
  })

  it("another tenant's secret → 400; another tenant's payment → 404; no credentials or unknown tenant → 404; nothing applied", async () => {
    const { paymentId, intentId } = await pendingAtStripe(server, acmeFake, server.keys.acme, "x-1")
    const byAcme = await succeeded(acmeFake, intentId)
    // acme's event at globex's URL: globex's secret does not verify it
    expect((await post(server, "/v1/webhooks/stripe/globex", byAcme)).status).toBe(400)
    // signed with globex's secret (globex knows it) at acme's URL: refused
    const byGlobex = await succeeded(acmeFake, intentId, "whsec_globex")
    expect((await post(server, "/v1/webhooks/stripe/acme", byGlobex)).status).toBe(400)
    // globex, with its own valid secret, naming acme's payment at its own URL: not its payment
    const crossTenant = await post(server, "/v1/webhooks/stripe/globex", byGlobex)
    expect(crossTenant.status).toBe(404)
    expect(crossTenant.json).toMatchObject({ type: "not_found", code: "payment_not_found" })
    // the global route has no Stripe gateway here
    expect((await post(server, "/v1/webhooks/stripe", byAcme)).status).toBe(404)
    // no credentials for the provider, an unknown tenant, a malformed tenant id
    for (const path of ["/v1/webhooks/paypal/acme", "/v1/webhooks/stripe/initech", "/api/v1/webhooks/stripe/initech", `/v1/webhooks/stripe/${"x".repeat(65)}`]) {
      const answer = await post(server, path, byAcme)
      expect(answer.status, path).toBe(404)
      expect(answer.json.type).toBe("not_found")
    }
    expect(await stateOf(server, server.keys.acme, paymentId)).toBe("PROCESSING")
    // and the right URL applies it
    expect((await post(server, "/v1/webhooks/stripe/acme", byAcme)).status).toBe(200)
    expect(await stateOf(server, server.keys.acme, paymentId)).toBe("SUCCESS")
  })
})
