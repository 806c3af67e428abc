import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, DateTime, Effect, Exit, Fiber, Layer, Redacted, TestClock } from "effect"
import { Money } from "aegispay"
import { PayPal } from "aegispay/gateways"
import { charge, completeOf, setup, usd } from "./support.js"

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return failure
}

const bodyOf = (received: ReadonlyArray<{ readonly path: string; readonly body: string }>, path: string): unknown => {
  const found = received.find((r) => r.path === path)
  return found === undefined ? undefined : JSON.parse(found.body)
}

describe("PayPal adapter (against FakePayPal over HTTP)", () => {
  it.scoped("initiate creates an order; process answers the approval redirect with PayPal's expiry", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({
        description: "Order 1001",
        checkout: {
          returnUrl: "https://shop.example/return",
          cancelUrl: "https://shop.example/cancel",
          externalReference: "ERN-1001",
          lineItems: [
            { quantity: 2, description: "Book", price: usd(400n) },
            { quantity: 1, description: "Pen", price: usd(250n) }
          ]
        }
      })
      const { reference } = yield* gateway.initiate(request)
      const result = yield* gateway.process({ ...request, reference })
      expect(result.status).toBe("action_required")
      if (result.status !== "action_required") return
      expect(result.reference).toBe(reference)
      expect(result.action).toEqual({ type: "redirect", url: `${fake.url}/checkoutnow?token=${reference}` })
      // created at TestClock 0: the approval window is 3 hours
      expect(result.expiresAt === undefined ? undefined : DateTime.toEpochMillis(result.expiresAt)).toBe(3 * 3600 * 1000)
      const received = yield* fake.received
      const create = received.find((r) => r.path === "/v2/checkout/orders")
      expect(create?.requestId).toBe(request.idempotencyKey)
      expect(JSON.parse(create?.body ?? "{}")).toEqual({
        intent: "CAPTURE",
        purchase_units: [{
          reference_id: "ERN-1001",
          custom_id: request.paymentId,
          invoice_id: request.idempotencyKey,
          description: "Order 1001",
          amount: { currency_code: "USD", value: "10.50", breakdown: { item_total: { currency_code: "USD", value: "10.50" } } },
          items: [
            { name: "Book", quantity: "2", unit_amount: { currency_code: "USD", value: "4.00" } },
            { name: "Pen", quantity: "1", unit_amount: { currency_code: "USD", value: "2.50" } }
          ]
        }],
        payment_source: { paypal: { experience_context: { return_url: "https://shop.example/return", cancel_url: "https://shop.example/cancel" } } }
      })
    }))

  it.scoped("create → approval → complete captures once; complete again answers the same charge", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* gateway.process({ ...request, reference })
      // the customer is back without approving: still waiting, nothing captured
      const early = yield* gateway.customerAction!.complete(completeOf(request, reference))
      expect(early.status).toBe("action_required")
      expect(yield* fake.captureCount).toBe(0)
      yield* fake.approve(reference)
      const charged = yield* gateway.customerAction!.complete(completeOf(request, reference, { token: reference, PayerID: "BUYER1" }))
      expect(charged.status).toBe("succeeded")
      const again = yield* gateway.customerAction!.complete(completeOf(request, reference))
      expect(again).toEqual(charged)
      expect(yield* fake.captureCount).toBe(1)
      const capture = (yield* fake.received).find((r) => r.path.endsWith("/capture"))
      expect(capture?.requestId).toBe(`${request.idempotencyKey}:capture`)
      const status = yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })
      expect(status).toEqual({ status: "succeeded", transactionId: charged.status === "succeeded" ? charged.transactionId : "" })
    }))

  it.scoped("a return from another order is refused before anything is captured", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.approve(reference)
      const error = failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference, { token: "5OOTHER" }))))
      expect(error._tag).toBe("GatewayMisconfigured")
      expect(yield* fake.captureCount).toBe(0)
    }))

  it.scoped("AUTHORIZE: approve → authorized → partial capture → refund by the authorization id, replayed by key", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({ capture: false, amount: usd(1000n) })
      const { reference } = yield* gateway.initiate(request)
      yield* fake.approve(reference)
      const authorized = yield* gateway.process({ ...request, reference })
      expect(authorized.status).toBe("authorized")
      if (authorized.status !== "authorized") return
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toEqual({ status: "authorized", transactionId: authorized.transactionId })
      const captured = yield* gateway.capture({ transactionId: authorized.transactionId, idempotencyKey: "cap_1", amount: usd(600n) })
      const captureBody = bodyOf(yield* fake.received, `/v2/payments/authorizations/${authorized.transactionId}/capture`)
      expect(captureBody).toEqual({ amount: { currency_code: "USD", value: "6.00" }, invoice_id: "cap_1", final_capture: true })
      // the orchestration refunds by the payment's transaction id: the authorization
      const refund = yield* gateway.refund({ transactionId: authorized.transactionId, idempotencyKey: "ref_1", amount: usd(200n) })
      const replay = yield* gateway.refund({ transactionId: authorized.transactionId, idempotencyKey: "ref_1", amount: usd(200n) })
      expect(replay).toEqual(refund)
      const capture = (yield* fake.resource("capture", captured.transactionId)) as { status: string }
      expect(capture.status).toBe("PARTIALLY_REFUNDED")
      // a second capture of the same authorization with the same key answers the first capture
      expect(yield* gateway.capture({ transactionId: authorized.transactionId, idempotencyKey: "cap_1", amount: usd(600n) })).toEqual(captured)
    }))

  it.scoped("refunds: partial, more than captured is a decline, a key PayPal forgot is found by its invoice id", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.approve(reference)
      const charged = yield* gateway.customerAction!.complete(completeOf(request, reference))
      if (charged.status !== "succeeded") throw new Error("not charged")
      const first = yield* gateway.refund({ transactionId: charged.transactionId, idempotencyKey: "ref_a", amount: usd(500n) })
      const over = failureOf(yield* Effect.exit(gateway.refund({ transactionId: charged.transactionId, idempotencyKey: "ref_b", amount: usd(600n) })))
      expect(over).toMatchObject({ _tag: "GatewayDeclined", code: "refund_amount_exceeded" })
      // PayPal forgot the request id (after 6 hours): the same invoice id is a duplicate, found
      yield* fake.fail("captures.refund", { kind: "issue", issue: "DUPLICATE_INVOICE_ID" })
      expect(yield* gateway.refund({ transactionId: charged.transactionId, idempotencyKey: "ref_a", amount: usd(500n) })).toEqual(first)
    }))

  it.scoped("void releases an authorization; voiding again is done; capturing it after is a decline", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({ capture: false })
      const { reference } = yield* gateway.initiate(request)
      yield* fake.approve(reference)
      const authorized = yield* gateway.customerAction!.complete(completeOf(request, reference))
      if (authorized.status !== "authorized") throw new Error("not authorized")
      yield* gateway.void({ transactionId: authorized.transactionId, idempotencyKey: "void_1" })
      yield* gateway.void({ transactionId: authorized.transactionId, idempotencyKey: "void_2" })
      const error = failureOf(yield* Effect.exit(gateway.capture({ transactionId: authorized.transactionId, idempotencyKey: "cap_x", amount: usd(1050n) })))
      expect(error).toMatchObject({ _tag: "GatewayDeclined", code: "authorization_voided" })
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "failed", code: "authorization_voided" })
    }))

  it.scoped("cancel (expiry): an unapproved or approved-but-uncaptured order is failed and never captured; a captured one is the charge", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const waiting = charge()
      const w = yield* gateway.initiate(waiting)
      expect(yield* gateway.customerAction!.cancel({ paymentId: waiting.paymentId, idempotencyKey: waiting.idempotencyKey, reference: w.reference }))
        .toMatchObject({ status: "failed", code: "expired" })
      const approved = charge()
      const a = yield* gateway.initiate(approved)
      yield* fake.approve(a.reference)
      expect(yield* gateway.customerAction!.cancel({ paymentId: approved.paymentId, idempotencyKey: approved.idempotencyKey, reference: a.reference }))
        .toMatchObject({ status: "failed", code: "expired" })
      expect(yield* fake.captureCount).toBe(0)
      const done = charge()
      const d = yield* gateway.initiate(done)
      yield* fake.approve(d.reference)
      const charged = yield* gateway.customerAction!.complete(completeOf(done, d.reference))
      expect(yield* gateway.customerAction!.cancel({ paymentId: done.paymentId, idempotencyKey: done.idempotencyKey, reference: d.reference }))
        .toEqual({ status: "succeeded", transactionId: charged.status === "succeeded" ? charged.transactionId : "" })
      expect(yield* gateway.customerAction!.cancel({ paymentId: done.paymentId, idempotencyKey: done.idempotencyKey, reference: "5OUNKNOWN" }))
        .toEqual({ status: "not_found" })
    }))

  it.scoped("getStatus: waiting → action_required, unknown order or no reference → not_found, pending capture → pending", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "action_required", reference })
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference: "5OMISSING" })).toEqual({ status: "not_found" })
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey })).toEqual({ status: "not_found" })
      yield* fake.approve(reference)
      yield* fake.pendCapture(reference)
      // pending not allowed: an unknown outcome, the status then says pending
      const error = failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference))))
      expect(error._tag).toBe("GatewayUnknownOutcome")
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "pending", reference })
      // with allowPending, process answers the provider-pending result
      expect(yield* gateway.process({ ...request, reference, checkout: { allowPending: true } })).toMatchObject({ status: "pending", reference })
    }))

  it.scoped("the same key creates one order (PayPal-Request-Id replay)", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const first = yield* gateway.initiate(request)
      const second = yield* gateway.initiate(request)
      expect(second).toEqual(first)
      // process without a reference (a 0.1 orchestration) replays the creation too
      const result = yield* gateway.process(request)
      expect(result).toMatchObject({ status: "action_required", reference: first.reference })
      const creates = (yield* fake.received).filter((r) => r.path === "/v2/checkout/orders")
      expect(creates.map((r) => r.requestId)).toEqual([request.idempotencyKey, request.idempotencyKey, request.idempotencyKey])
    }))

  describe("OAuth2 token", () => {
    it.scoped("is fetched once and reused", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup()
        for (let i = 0; i < 3; i++) yield* gateway.initiate(charge())
        expect(yield* fake.tokenRequests).toBe(1)
      }))

    it.scoped("is refreshed before it expires (expires_in minus the margin, by Clock)", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup({ tokenLifetimeSeconds: 600 })
        yield* gateway.initiate(charge())
        // margin: 5 minutes (half of a 10-minute token): still fresh at 299 s
        yield* TestClock.adjust("299 seconds")
        yield* gateway.initiate(charge())
        expect(yield* fake.tokenRequests).toBe(1)
        yield* TestClock.adjust("2 seconds")
        yield* gateway.initiate(charge())
        expect(yield* fake.tokenRequests).toBe(2)
        // never sent an expired token: no 401 was answered
        expect((yield* fake.received).filter((r) => r.path !== "/v1/oauth2/token").length).toBe(3)
      }))

    it.scoped("50 concurrent calls without a token cause exactly one token request", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup()
        const results = yield* Effect.forEach(Array.from({ length: 50 }, () => charge()), (r) => gateway.initiate(r), { concurrency: "unbounded" })
        expect(new Set(results.map((r) => r.reference)).size).toBe(50)
        expect(yield* fake.tokenRequests).toBe(1)
        // and 50 concurrent calls after the token expired: one refresh
        yield* TestClock.adjust("9 hours")
        yield* Effect.forEach(Array.from({ length: 50 }, () => charge()), (r) => gateway.initiate(r), { concurrency: "unbounded" })
        expect(yield* fake.tokenRequests).toBe(2)
      }))

    it.scoped("a 401 drops the token and the call is sent once more with a fresh one", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup()
        const request = charge()
        const { reference } = yield* gateway.initiate(request)
        yield* fake.approve(reference)
        yield* fake.revokeTokens
        const charged = yield* gateway.customerAction!.complete(completeOf(request, reference))
        expect(charged.status).toBe("succeeded")
        expect(yield* fake.tokenRequests).toBe(2)
        expect(yield* fake.captureCount).toBe(1)
      }))

    it.scoped("wrong credentials are misconfigured (the secret is in no error)", () =>
      Effect.gen(function*() {
        const { fake } = yield* setup()
        const gateway = yield* PayPal.make({
          clientId: Redacted.make(fake.clientId),
          clientSecret: Redacted.make("wrong-secret-value"),
          environment: "sandbox",
          apiBase: fake.url
        }).pipe(Effect.provide(FetchHttpClient.layer))
        const error = failureOf(yield* Effect.exit(gateway.initiate(charge())))
        expect(error._tag).toBe("GatewayMisconfigured")
        expect(JSON.stringify(error)).not.toContain("wrong-secret-value")
        expect(error.message).not.toContain("wrong-secret-value")
      }))
  })

  describe("failures are classified safely", () => {
    it.scoped("5xx: unknown outcome on a capture, transient on a read; 429 transient; 409 unknown", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup()
        const request = charge()
        const { reference } = yield* gateway.initiate(request)
        yield* fake.approve(reference)
        yield* fake.fail("orders.capture", { kind: "before", status: 503 })
        expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference))))._tag).toBe("GatewayUnknownOutcome")
        yield* fake.fail("orders.capture", { kind: "before", status: 409 })
        expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference))))._tag).toBe("GatewayUnknownOutcome")
        yield* fake.fail("orders.get", { kind: "before", status: 500 })
        expect(failureOf(yield* Effect.exit(gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })))._tag).toBe("GatewayTransientError")
        yield* fake.fail("orders.capture", { kind: "before", status: 429 })
        expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference))))._tag).toBe("GatewayTransientError")
        // after all that, the capture goes through once
        expect((yield* gateway.customerAction!.complete(completeOf(request, reference))).status).toBe("succeeded")
        expect(yield* fake.captureCount).toBe(1)
      }))

    it.scoped("a 5xx after PayPal captured: unknown outcome; the status finds the charge; completing again does not capture twice", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup()
        const request = charge()
        const { reference } = yield* gateway.initiate(request)
        yield* fake.approve(reference)
        yield* fake.fail("orders.capture", { kind: "after", status: 500 })
        expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference))))._tag).toBe("GatewayUnknownOutcome")
        expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "succeeded" })
        expect((yield* gateway.customerAction!.complete(completeOf(request, reference))).status).toBe("succeeded")
        expect(yield* fake.captureCount).toBe(1)
      }))

    it.scoped("a timeout after PayPal applied the capture: unknown outcome, then getStatus finds it", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup()
        const request = charge()
        const { reference } = yield* gateway.initiate(request)
        yield* fake.approve(reference)
        yield* fake.fail("orders.capture", { kind: "hang" })
        const fiber = yield* Effect.fork(gateway.customerAction!.complete(completeOf(request, reference)))
        yield* fake.waitFor("orders.capture")
        yield* TestClock.adjust("5 seconds")
        const error = failureOf(yield* Fiber.await(fiber))
        expect(error).toMatchObject({ _tag: "GatewayUnknownOutcome", operation: "complete" })
        expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "succeeded" })
        expect(yield* fake.captureCount).toBe(1)
      }))

    it.scoped("a decline is a GatewayDeclined with PayPal's issue", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup()
        const request = charge()
        const { reference } = yield* gateway.initiate(request)
        yield* fake.approve(reference)
        yield* fake.fail("orders.capture", { kind: "issue", issue: "INSTRUMENT_DECLINED" })
        expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference)))))
          .toMatchObject({ _tag: "GatewayDeclined", code: "instrument_declined" })
        expect(yield* fake.captureCount).toBe(0)
      }))

    it.scoped("malformed, non-JSON, undocumented answers are typed errors, never defects", () =>
      Effect.gen(function*() {
        const { fake, gateway } = yield* setup()
        const request = charge()
        const { reference } = yield* gateway.initiate(request)
        yield* fake.approve(reference)
        yield* fake.fail("orders.capture", { kind: "raw", status: 201, body: "<html>oops</html>" })
        expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference))))._tag).toBe("GatewayUnknownOutcome")
        yield* fake.fail("orders.capture", { kind: "raw", status: 201, body: JSON.stringify({ id: reference, status: "TELEPORTED" }) })
        expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference))))._tag).toBe("GatewayUnknownOutcome")
        yield* fake.fail("orders.capture", { kind: "raw", status: 302, body: "" })
        expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete(completeOf(request, reference))))._tag).toBe("GatewayUnknownOutcome")
        yield* fake.fail("orders.get", { kind: "raw", status: 200, body: "{not json" })
        expect(failureOf(yield* Effect.exit(gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })))._tag).toBe("GatewayTransientError")
        yield* fake.fail("orders.create", { kind: "raw", status: 201, body: JSON.stringify({ id: 42 }) })
        expect(failureOf(yield* Effect.exit(gateway.initiate(charge())))._tag).toBe("GatewayTransientError")
        yield* fake.fail("token", { kind: "raw", status: 200, body: "{}" })
        yield* fake.revokeTokens
        expect(failureOf(yield* Effect.exit(gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })))._tag).toBe("GatewayTransientError")
      }))

    it.scoped("a refused connection is transient even on a money-moving call", () =>
      Effect.gen(function*() {
        const gateway = yield* PayPal.make({
          clientId: Redacted.make("id"),
          clientSecret: Redacted.make("secret"),
          environment: "sandbox",
          apiBase: "http://127.0.0.1:1"
        }).pipe(Effect.provide(FetchHttpClient.layer))
        expect(failureOf(yield* Effect.exit(gateway.capture({ transactionId: "AUTH1", idempotencyKey: "k", amount: usd(100n) })))._tag).toBe("GatewayTransientError")
        const health = yield* gateway.healthCheck
        expect(health.healthy).toBe(false)
      }))
  })

  it.scoped("amounts: whole units for HUF/JPY/TWD, a fraction PayPal cannot take is refused, an unsupported currency too", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      yield* gateway.initiate(charge({ amount: Money.fromMinor("HUF", 100000n), checkout: {} }))
      yield* gateway.initiate(charge({ amount: Money.fromMinor("JPY", 1000n), checkout: {} }))
      const values = (yield* fake.received).filter((r) => r.path === "/v2/checkout/orders").map((r) => {
        const body = JSON.parse(r.body) as { purchase_units: Array<{ amount: { value: string } }>; payment_source?: unknown }
        expect(body.payment_source).toBeUndefined()
        return body.purchase_units[0]?.amount.value
      })
      expect(values).toEqual(["1000", "1000"])
      expect(failureOf(yield* Effect.exit(gateway.initiate(charge({ amount: Money.fromMinor("HUF", 100050n) }))))._tag).toBe("GatewayMisconfigured")
      expect(failureOf(yield* Effect.exit(gateway.initiate(charge({ amount: Money.fromMinor("KWD", 1000n) }))))._tag).toBe("GatewayMisconfigured")
      expect(gateway.capabilities).toMatchObject({ manualCapture: true, paymentMethods: ["checkout"], statusLookup: "reference" })
    }))

  it.scoped("healthCheck answers healthy with the latency", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      expect((yield* gateway.healthCheck).healthy).toBe(true)
      yield* fake.fail("health", { kind: "before", status: 503 })
      expect((yield* gateway.healthCheck).healthy).toBe(false)
    }))

  it.scoped("layerConfig reads PAYPAL_*; a missing environment is a ConfigError; provider builds from credentials", () =>
    Effect.gen(function*() {
      const { fake } = yield* setup()
      const provider = ConfigProvider.fromMap(new Map([
        ["PAYPAL_CLIENT_ID", fake.clientId],
        ["PAYPAL_CLIENT_SECRET", fake.clientSecret],
        ["PAYPAL_ENVIRONMENT", "sandbox"]
      ]))
      const gateway = yield* PayPal.PayPal.pipe(
        Effect.provide(PayPal.layerConfig({ apiBase: fake.url }).pipe(Layer.provide(FetchHttpClient.layer))),
        Effect.withConfigProvider(provider)
      )
      expect(gateway.id).toBe("paypal")
      expect((yield* gateway.initiate(charge())).reference).toMatch(/^5O/)
      const missing = yield* Effect.exit(PayPal.fromConfig().pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PAYPAL_CLIENT_ID", "x"], ["PAYPAL_CLIENT_SECRET", "y"]])))
      ))
      expect(Exit.isFailure(missing)).toBe(true)
      const built = yield* PayPal.provider.make({
        clientId: Redacted.make(fake.clientId),
        clientSecret: Redacted.make(fake.clientSecret),
        environment: Redacted.make("live")
      }, { id: "paypal-acme" }).pipe(Effect.provide(FetchHttpClient.layer))
      expect(built.id).toBe("paypal-acme")
      const bad = yield* Effect.exit(PayPal.provider.make({ clientId: Redacted.make("a"), clientSecret: Redacted.make("b"), environment: Redacted.make("prod") }, { id: "p" })
        .pipe(Effect.provide(FetchHttpClient.layer)))
      expect(failureOf(bad)._tag).toBe("GatewayMisconfigured")
    }))
})
