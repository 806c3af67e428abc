import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Redacted } from "effect"
import { Money, PaymentMethod } from "aegispay"
import type { Gateway } from "aegispay"
import { Razorpay } from "aegispay/gateways"
import { FakeRazorpay } from "aegispay/testing/fakes"

const Http = NodeHttpClient.layer

/** A checkout payment method (the customer pays in Razorpay Checkout). */
const checkout = (): PaymentMethod.PaymentMethodToken => new PaymentMethod.CheckoutMethod({ type: "checkout" })

const inr = (minor: bigint) => Money.fromMinor("INR", minor)

const setup = (options: { readonly fake?: FakeRazorpay.Options; readonly adapter?: Partial<Razorpay.Options> } = {}) =>
  Effect.gen(function*() {
    const fake = yield* FakeRazorpay.make(options.fake)
    const gateway = yield* Razorpay.make({
      keyId: fake.keyId,
      keySecret: fake.keySecret,
      webhookSecret: fake.webhookSecret,
      apiBase: fake.url,
      timeout: "2 seconds",
      merchantName: "Acme",
      ...options.adapter
    })
    return { fake, gateway }
  })

const charge = (overrides: { readonly key?: string; readonly capture?: boolean; readonly amount?: bigint; readonly paymentId?: string } = {}) => ({
  paymentId: overrides.paymentId ?? "pay_aegis_1",
  idempotencyKey: overrides.key ?? "pay_aegis_1_att_1",
  amount: inr(overrides.amount ?? 49_900n),
  paymentMethod: checkout(),
  capture: overrides.capture ?? true,
  description: "Order 1001",
  checkout: { returnUrl: "https://shop.example/return", customParams: { orderId: "1001", aegispay_payment_id: "spoof" } }
})

/** initiate then process: the order and the checkout action. */
const start = (gateway: Gateway.Gateway, overrides: Parameters<typeof charge>[0] = {}) =>
  Effect.gen(function*() {
    const request = charge(overrides)
    const { reference } = yield* gateway.initiate(request)
    const result = yield* gateway.process({ ...request, reference })
    return { request, reference, result }
  })

const complete = (gateway: Gateway.Gateway, request: ReturnType<typeof charge>, reference: string, params: Readonly<Record<string, string>>) =>
  gateway.customerAction!.complete({
    paymentId: request.paymentId,
    idempotencyKey: request.idempotencyKey,
    reference,
    amount: request.amount,
    capture: request.capture,
    params
  })

describe("Razorpay adapter against FakeRazorpay", () => {
  it.scopedLive("checkout flow: order → action required (checkout params) → customer pays → complete with signature → charged", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { reference, result } = yield* start(gateway)
      expect(reference).toMatch(/^order_/)
      expect(result).toEqual({
        status: "action_required",
        reference,
        action: {
          type: "checkout",
          params: {
            key: Redacted.value(fake.keyId),
            order_id: reference,
            amount: "49900",
            currency: "INR",
            name: "Acme",
            description: "Order 1001",
            callback_url: "https://shop.example/return"
          }
        }
      })
      const orders = yield* fake.orders
      expect(orders).toHaveLength(1)
      expect(orders[0]?.receipt).toBe("pay_aegis_1_att_1")
      expect(orders[0]?.capture).toBe("automatic")
      expect(orders[0]?.notes).toEqual({
        aegispay_payment_id: "pay_aegis_1",
        aegispay_idempotency_key: "pay_aegis_1_att_1",
        aegispay_capture: "automatic",
        orderId: "1001"
      })
      const returned = yield* fake.pay(reference)
      const settled = yield* complete(gateway, charge(), reference, returned)
      expect(settled).toEqual({ status: "succeeded", transactionId: returned.razorpay_payment_id, reference })
      // the status by reference says the same
      expect(yield* gateway.getStatus({ idempotencyKey: "pay_aegis_1_att_1", reference })).toEqual({
        status: "succeeded",
        transactionId: returned.razorpay_payment_id
      })
    }).pipe(Effect.provide(Http)))

  it.scopedLive("initiate is idempotent by receipt: a retried initiate finds the order it made", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const first = yield* gateway.initiate(charge())
      const second = yield* gateway.initiate(charge())
      expect(second).toEqual(first)
      expect(yield* fake.orders).toHaveLength(1)
      // another amount under the same key is refused, not a second order
      const other = yield* Effect.either(gateway.initiate(charge({ amount: 100_00n })))
      expect(Either.isLeft(other) && other.left._tag).toBe("GatewayMisconfigured")
    }).pipe(Effect.provide(Http)))

  it.scopedLive("a long idempotency key becomes a hashed receipt of 40 characters, found again", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const key = `pay_${"x".repeat(60)}_att_1`
      const first = yield* gateway.initiate(charge({ key }))
      const again = yield* gateway.initiate(charge({ key }))
      expect(again).toEqual(first)
      const [order] = yield* fake.orders
      expect(order?.receipt).toHaveLength(40)
      expect(order?.receipt?.startsWith("h-")).toBe(true)
      expect(order?.notes.aegispay_idempotency_key).toBe(key)
      expect(yield* gateway.getStatus({ idempotencyKey: key })).toMatchObject({ status: "action_required", reference: first.reference })
    }).pipe(Effect.provide(Http)))

  it.scopedLive("a forged checkout signature is refused and changes nothing; the real return still settles", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup({ adapter: {} })
      const { request, reference } = yield* start(gateway, { capture: false })
      const returned = yield* fake.pay(reference)
      const forged = yield* Effect.either(complete(gateway, request, reference, { ...returned, razorpay_signature: "0".repeat(64) }))
      expect(Either.isLeft(forged) && forged.left._tag).toBe("GatewayMisconfigured")
      expect(Either.isLeft(forged) && forged.left.message).toContain("checkout_signature_invalid")
      // a signature made for another order does not verify for this one
      const other = yield* start(gateway, { key: "pay_aegis_2_att_1", paymentId: "pay_aegis_2" })
      const otherReturn = yield* fake.pay(other.reference)
      const swapped = yield* Effect.either(complete(gateway, request, reference, { ...otherReturn, razorpay_order_id: reference }))
      expect(Either.isLeft(swapped) && swapped.left._tag).toBe("GatewayMisconfigured")
      // nothing was captured by the forged calls
      expect(Option.getOrThrow(yield* fake.payment(returned.razorpay_payment_id)).status).toBe("authorized")
      const settled = yield* complete(gateway, request, reference, returned)
      expect(settled).toMatchObject({ status: "authorized", transactionId: returned.razorpay_payment_id })
    }).pipe(Effect.provide(Http)))

  it.scopedLive("manual capture: complete answers authorized, capture takes the whole amount, partial capture is refused before sending", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway, { capture: false })
      expect((yield* fake.orders)[0]?.capture).toBe("manual")
      const returned = yield* fake.pay(reference)
      const authorized = yield* complete(gateway, request, reference, returned)
      expect(authorized).toMatchObject({ status: "authorized", transactionId: returned.razorpay_payment_id })
      const sentBefore = (yield* fake.received).length
      const partial = yield* Effect.either(gateway.capture({ transactionId: returned.razorpay_payment_id, idempotencyKey: "cap-1", amount: inr(100n) }))
      expect(Either.isLeft(partial) && partial.left._tag).toBe("GatewayMisconfigured")
      expect((yield* fake.received).filter((r) => r.path.endsWith("/capture")).length).toBe(0)
      expect((yield* fake.received).length).toBe(sentBefore + 1) // only the read
      const captured = yield* gateway.capture({ transactionId: returned.razorpay_payment_id, idempotencyKey: "cap-1", amount: inr(49_900n) })
      expect(captured).toEqual({ transactionId: returned.razorpay_payment_id })
      expect(Option.getOrThrow(yield* fake.payment(returned.razorpay_payment_id)).status).toBe("captured")
      // a resent capture of a captured payment succeeds without a second capture
      expect(yield* gateway.capture({ transactionId: returned.razorpay_payment_id, idempotencyKey: "cap-1", amount: inr(49_900n) })).toEqual(captured)
      expect((yield* fake.received).filter((r) => r.path.endsWith("/capture")).length).toBe(1)
    }).pipe(Effect.provide(Http)))

  it.scopedLive("automatic capture of a late authorization: complete captures it", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway)
      const returned = yield* fake.pay(reference, { outcome: "authorized" })
      const settled = yield* complete(gateway, request, reference, returned)
      expect(settled).toMatchObject({ status: "succeeded", transactionId: returned.razorpay_payment_id })
      expect(Option.getOrThrow(yield* fake.payment(returned.razorpay_payment_id)).status).toBe("captured")
      const sent = (yield* fake.received).find((r) => r.path.endsWith("/capture"))
      expect(sent?.body).toEqual({ amount: 49_900, currency: "INR" })
    }).pipe(Effect.provide(Http)))

  it.scopedLive("complete without params reads the order: waiting, then charged; process after payment settles too", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway)
      expect(yield* complete(gateway, request, reference, {})).toMatchObject({ status: "action_required", reference })
      yield* fake.pay(reference, { outcome: "failed" })
      // a failed try leaves the order payable: still waiting
      expect(yield* complete(gateway, request, reference, {})).toMatchObject({ status: "action_required" })
      const returned = yield* fake.pay(reference)
      expect(yield* complete(gateway, request, reference, {})).toMatchObject({ status: "succeeded", transactionId: returned.razorpay_payment_id })
      expect(yield* gateway.process({ ...request, reference })).toMatchObject({ status: "succeeded", transactionId: returned.razorpay_payment_id })
    }).pipe(Effect.provide(Http)))

  it.scopedLive("a failed payment returned with a valid signature is a decline with Razorpay's reason", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway)
      const returned = yield* fake.pay(reference, { outcome: "failed", reason: "insufficient_funds" })
      const result = yield* Effect.either(complete(gateway, request, reference, returned))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "GatewayDeclined", code: "insufficient_funds" })
    }).pipe(Effect.provide(Http)))

  it.scopedLive("cancel (expiry): failed only when nothing is captured, authorized or in progress", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const cancel = (reference: string) =>
        gateway.customerAction!.cancel({ paymentId: "pay_aegis_1", idempotencyKey: "k", reference })
      const a = yield* start(gateway)
      expect(yield* cancel(a.reference)).toMatchObject({ status: "failed", code: "expired" })
      const b = yield* start(gateway, { key: "pay_aegis_1_att_2" })
      yield* fake.pay(b.reference, { outcome: "created" })
      expect(yield* cancel(b.reference)).toMatchObject({ status: "action_required", reference: b.reference })
      const c = yield* start(gateway, { key: "pay_aegis_1_att_3" })
      const paid = yield* fake.pay(c.reference, { outcome: "authorized" })
      // automatic capture was asked: the late authorization is captured, as complete would
      expect(yield* cancel(c.reference)).toEqual({ status: "succeeded", transactionId: paid.razorpay_payment_id })
      expect(yield* cancel("order_00000000009999")).toEqual({ status: "not_found" })
    }).pipe(Effect.provide(Http)))

  it.scopedLive("refund with X-Refund-Idempotency: a resent refund answers the first one", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway)
      const returned = yield* fake.pay(reference)
      yield* complete(gateway, request, reference, returned)
      const refund = { transactionId: returned.razorpay_payment_id, idempotencyKey: "pay_aegis_1_re_1", amount: inr(10_000n) }
      const first = yield* gateway.refund(refund)
      const again = yield* gateway.refund(refund)
      expect(again).toEqual(first)
      const refunds = yield* fake.refunds(returned.razorpay_payment_id)
      expect(refunds).toEqual([{ id: first.refundId, amount: 10_000, notes: { aegispay_idempotency_key: "pay_aegis_1_re_1" } }])
      const sent = (yield* fake.received).filter((r) => r.path.endsWith("/refund"))
      expect(sent.map((r) => r.refundIdempotency)).toEqual(["pay_aegis_1_re_1", "pay_aegis_1_re_1"])
      // more than is left is refused definitely
      const tooMuch = yield* Effect.either(gateway.refund({ ...refund, idempotencyKey: "pay_aegis_1_re_2", amount: inr(49_900n) }))
      expect(Either.isLeft(tooMuch) && tooMuch.left._tag).toBe("GatewayMisconfigured")
      // a key Razorpay would refuse (too short, other characters) is hashed, deterministically
      yield* gateway.refund({ ...refund, idempotencyKey: "r:1", amount: inr(100n) })
      const last = (yield* fake.received).filter((r) => r.path.endsWith("/refund")).at(-1)
      expect(last?.refundIdempotency).toMatch(/^h-[0-9a-f]{38}$/)
    }).pipe(Effect.provide(Http)))

  it.scopedLive("a refund that timed out after Razorpay applied it is an unknown outcome; resent with its key it is found, not repeated", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup({ adapter: { timeout: "300 millis" } })
      const { request, reference } = yield* start(gateway)
      const returned = yield* fake.pay(reference)
      yield* complete(gateway, request, reference, returned)
      yield* fake.inject({ _tag: "TimeoutAfterApplying", match: { method: "POST", path: "/refund" } })
      const refund = { transactionId: returned.razorpay_payment_id, idempotencyKey: "pay_aegis_1_re_1", amount: inr(10_000n) }
      const lost = yield* Effect.either(gateway.refund(refund))
      expect(Either.isLeft(lost) && lost.left._tag).toBe("GatewayUnknownOutcome")
      const resent = yield* gateway.refund(refund)
      expect(yield* fake.refunds(returned.razorpay_payment_id)).toEqual([{ id: resent.refundId, amount: 10_000, notes: { aegispay_idempotency_key: "pay_aegis_1_re_1" } }])
    }).pipe(Effect.provide(Http)))

  it.scopedLive("a capture that timed out after applying is an unknown outcome; getStatus by reference finds the charge", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup({ adapter: { timeout: "300 millis" } })
      const { request, reference } = yield* start(gateway)
      const returned = yield* fake.pay(reference, { outcome: "authorized" })
      yield* fake.inject({ _tag: "TimeoutAfterApplying", match: { method: "POST", path: "/capture" } })
      const lost = yield* Effect.either(complete(gateway, request, reference, returned))
      expect(Either.isLeft(lost) && lost.left._tag).toBe("GatewayUnknownOutcome")
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toEqual({
        status: "succeeded",
        transactionId: returned.razorpay_payment_id
      })
      // and a resent complete settles without capturing twice
      expect(yield* complete(gateway, request, reference, returned)).toMatchObject({ status: "succeeded" })
      expect((yield* fake.received).filter((r) => r.path.endsWith("/capture")).length).toBe(1)
    }).pipe(Effect.provide(Http)))

  it.scopedLive("a capture that failed before applying: the status of an automatic-capture order's authorization is pending, never a bare authorization", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway)
      const returned = yield* fake.pay(reference, { outcome: "authorized" })
      yield* fake.inject({ _tag: "Status", status: 504, match: { path: "/capture" } })
      const lost = yield* Effect.either(complete(gateway, request, reference, returned))
      expect(Either.isLeft(lost) && lost.left._tag).toBe("GatewayUnknownOutcome")
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "pending", reference })
      // the expiry check captures it, as complete would have
      expect(yield* gateway.customerAction!.cancel({ paymentId: request.paymentId, idempotencyKey: request.idempotencyKey, reference })).toEqual({
        status: "succeeded",
        transactionId: returned.razorpay_payment_id
      })
      // a manual-capture order's authorization is authorized
      const manual = yield* start(gateway, { key: "pay_aegis_1_att_2", capture: false })
      const held = yield* fake.pay(manual.reference)
      expect(yield* gateway.getStatus({ idempotencyKey: "pay_aegis_1_att_2", reference: manual.reference })).toEqual({
        status: "authorized",
        transactionId: held.razorpay_payment_id
      })
    }).pipe(Effect.provide(Http)))

  it.scopedLive("a 5xx after a capture was applied is an unknown outcome, a 5xx on a read is transient", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway, { capture: false })
      const returned = yield* fake.pay(reference)
      yield* complete(gateway, request, reference, returned)
      yield* fake.inject({ _tag: "AnswerAfterApplying", status: 502, text: "<html>Bad gateway</html>", match: { path: "/capture" } })
      const capture = yield* Effect.either(gateway.capture({ transactionId: returned.razorpay_payment_id, idempotencyKey: "c", amount: inr(49_900n) }))
      expect(Either.isLeft(capture) && capture.left._tag).toBe("GatewayUnknownOutcome")
      yield* fake.inject({ _tag: "Status", status: 500, match: { method: "GET" } })
      const status = yield* Effect.either(gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference }))
      expect(Either.isLeft(status) && status.left._tag).toBe("GatewayTransientError")
      yield* fake.inject({ _tag: "Status", status: 429, body: { error: { code: "BAD_REQUEST_ERROR", description: "Too many requests" } } })
      const limited = yield* Effect.either(gateway.refund({ transactionId: returned.razorpay_payment_id, idempotencyKey: "pay_aegis_1_re_9", amount: inr(100n) }))
      expect(Either.isLeft(limited) && limited.left._tag).toBe("GatewayTransientError")
    }).pipe(Effect.provide(Http)))

  it.scopedLive("malformed, non-JSON and unexpected answers are typed errors, never defects", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway)
      const returned = yield* fake.pay(reference)
      yield* complete(gateway, request, reference, returned)
      const refund = { transactionId: returned.razorpay_payment_id, idempotencyKey: "pay_aegis_1_re_1", amount: inr(100n) }
      yield* fake.inject({ _tag: "AnswerAfterApplying", status: 200, text: "not json", match: { path: "/refund" } })
      const notJson = yield* Effect.either(gateway.refund(refund))
      expect(Either.isLeft(notJson) && notJson.left._tag).toBe("GatewayUnknownOutcome")
      yield* fake.inject({ _tag: "Status", status: 200, body: { id: 42 }, match: { path: "/refund" } })
      const malformed = yield* Effect.either(gateway.refund(refund))
      expect(Either.isLeft(malformed) && malformed.left._tag).toBe("GatewayUnknownOutcome")
      yield* fake.inject({ _tag: "Status", status: 302, text: "", match: { path: "/refund" } })
      const redirect = yield* Effect.either(gateway.refund(refund))
      expect(Either.isLeft(redirect) && redirect.left._tag).toBe("GatewayUnknownOutcome")
      yield* fake.inject({ _tag: "Status", status: 200, text: "<html>", match: { method: "GET" } })
      const read = yield* Effect.either(gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference }))
      expect(Either.isLeft(read) && read.left._tag).toBe("GatewayTransientError")
      yield* fake.inject({ _tag: "Status", status: 200, body: { items: "nope" }, match: { method: "POST", path: "/orders" } })
      const order = yield* Effect.either(gateway.initiate(charge({ key: "pay_aegis_3_att_1" })))
      expect(Either.isLeft(order) && order.left._tag).toBe("GatewayTransientError")
    }).pipe(Effect.provide(Http)))

  it.scopedLive("wrong credentials are misconfigured; a refused connection is transient; the health check says so", () =>
    Effect.gen(function*() {
      const { fake } = yield* setup()
      const wrong = yield* Razorpay.make({ keyId: fake.keyId, keySecret: Redacted.make("nope"), apiBase: fake.url })
      const denied = yield* Effect.either(wrong.initiate(charge()))
      expect(Either.isLeft(denied) && denied.left._tag).toBe("GatewayMisconfigured")
      expect(JSON.stringify(denied)).not.toContain("nope")
      expect((yield* wrong.healthCheck).healthy).toBe(false)
      const closed = yield* Razorpay.make({ keyId: fake.keyId, keySecret: fake.keySecret, apiBase: "http://127.0.0.1:9" })
      const refused = yield* Effect.either(closed.refund({ transactionId: "pay_x", idempotencyKey: "pay_aegis_1_re_1", amount: inr(100n) }))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("GatewayTransientError")
      const { gateway } = yield* setup()
      const health = yield* gateway.healthCheck
      expect(health.healthy).toBe(true)
      expect(health.latencyMillis).toBeGreaterThanOrEqual(0)
    }).pipe(Effect.provide(Http)))

  it.scopedLive("void: an uncaptured authorization is left to Razorpay's auto-refund; a captured payment is refused", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* start(gateway, { capture: false })
      const returned = yield* fake.pay(reference)
      yield* complete(gateway, request, reference, returned)
      yield* gateway.void({ transactionId: returned.razorpay_payment_id, idempotencyKey: "v" })
      expect((yield* fake.received).some((r) => r.method === "POST" && r.path.includes(returned.razorpay_payment_id))).toBe(false)
      const b = yield* start(gateway, { key: "pay_aegis_1_att_2" })
      const paid = yield* fake.pay(b.reference)
      const voided = yield* Effect.either(gateway.void({ transactionId: paid.razorpay_payment_id, idempotencyKey: "v2" }))
      expect(Either.isLeft(voided) && voided.left._tag).toBe("GatewayMisconfigured")
    }).pipe(Effect.provide(Http)))

  it.scopedLive("capabilities, settings and the provider", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      expect(gateway.capabilities).toMatchObject({ manualCapture: true, paymentMethods: ["checkout"], statusLookup: "reference" })
      expect(gateway.capabilities.currencies).toContain("INR")
      expect(gateway.capabilities.currencies).toContain("KWD")
      expect(Razorpay.modeOf("rzp_live_abc")).toBe("live")
      expect(Razorpay.modeOf(fake.keyId)).toBe("test")
      const bad = yield* Effect.either(Razorpay.make({ keyId: Redacted.make("sk_test_x"), keySecret: fake.keySecret }))
      expect(Either.isLeft(bad) && bad.left._tag).toBe("GatewayMisconfigured")
      const missing = yield* Effect.either(Razorpay.provider.make({ keyId: fake.keyId }, { id: "rzp-acme" }))
      expect(Either.isLeft(missing) && missing.left._tag).toBe("GatewayMisconfigured")
      const tenant = yield* Razorpay.provider.make({ keyId: fake.keyId, keySecret: fake.keySecret }, { id: "rzp-acme" })
      expect(tenant.id).toBe("rzp-acme")
      // a card is not a Razorpay payment method
      const card = yield* Effect.either(gateway.initiate({
        ...charge(),
        paymentMethod: new PaymentMethod.GatewayToken({ type: "gateway_token", gateway: "razorpay", token: "tok" })
      }))
      expect(Either.isLeft(card) && card.left._tag).toBe("GatewayMisconfigured")
    }).pipe(Effect.provide(Http)))
})

describe("Razorpay webhooks", () => {
  const paid = (gateway: Gateway.Gateway, fake: FakeRazorpay.FakeRazorpay) =>
    Effect.gen(function*() {
      const { request, reference } = yield* start(gateway)
      const returned = yield* fake.pay(reference)
      yield* complete(gateway, request, reference, returned)
      return { reference, paymentId: returned.razorpay_payment_id }
    })

  it.scopedLive("payment.captured → charge.succeeded, the event id as notification id, payment and attempt from the order's notes", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { paymentId, reference } = yield* paid(gateway, fake)
      const hook = yield* fake.webhook("payment.captured", { paymentId }, { eventId: "evt_1" })
      const parsed = yield* gateway.webhooks!.parse(hook)
      expect(parsed).toEqual([{
        id: "evt_1",
        gateway: "razorpay",
        paymentId: "pay_aegis_1",
        type: "charge.succeeded",
        idempotencyKey: "pay_aegis_1_att_1",
        transactionId: paymentId,
        reference,
        verified: true
      }])
      // a redelivery carries the same id: Notifications dedupes it
      expect((yield* gateway.webhooks!.parse(hook))[0]?.id).toBe("evt_1")
      // order.paid carries the order: no API read needed
      const before = (yield* fake.received).length
      const orderPaid = yield* gateway.webhooks!.parse(yield* fake.webhook("order.paid", { paymentId, orderId: reference }))
      expect(orderPaid[0]).toMatchObject({ type: "charge.succeeded", transactionId: paymentId, paymentId: "pay_aegis_1" })
      expect((yield* fake.received).length).toBe(before)
    }).pipe(Effect.provide(Http)))

  it.scopedLive("payment notes copied from the order are used directly", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup({ fake: { copyOrderNotesToPayments: true } })
      const { reference } = yield* start(gateway, { capture: false })
      const returned = yield* fake.pay(reference)
      const before = (yield* fake.received).length
      const parsed = yield* gateway.webhooks!.parse(yield* fake.webhook("payment.authorized", { paymentId: returned.razorpay_payment_id }))
      expect(parsed[0]).toMatchObject({ type: "charge.authorized", transactionId: returned.razorpay_payment_id })
      expect((yield* fake.received).length).toBe(before)
    }).pipe(Effect.provide(Http)))

  it.scopedLive("forged, unsigned, without event id, malformed, unknown: rejected with nothing to apply", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { paymentId } = yield* paid(gateway, fake)
      const parse = (hook: FakeRazorpay.SignedWebhook) => Effect.either(gateway.webhooks!.parse(hook))
      const reason = (result: Either.Either<unknown, { readonly _tag: string }>) =>
        Either.isLeft(result) && result.left._tag === "WebhookRejected" ? Reflect.get(result.left, "reason") : "accepted"
      const good = yield* fake.webhook("payment.captured", { paymentId })
      expect(reason(yield* parse(yield* fake.webhook("payment.captured", { paymentId }, { secret: "not-the-secret" })))).toBe("bad_signature")
      const tampered = new Uint8Array(good.body)
      tampered[tampered.length - 2] = 32
      expect(reason(yield* parse({ ...good, body: tampered }))).toBe("bad_signature")
      expect(reason(yield* parse({ headers: { "x-razorpay-event-id": "evt_9" }, body: good.body }))).toBe("bad_signature")
      expect(reason(yield* parse({ headers: { "x-razorpay-signature": good.headers["x-razorpay-signature"] ?? "" }, body: good.body }))).toBe("malformed")
      const notJson = new TextEncoder().encode("hello")
      const signed = yield* fake.webhook("payment.captured", { paymentId })
      expect(reason(yield* parse({
        headers: { ...signed.headers, "x-razorpay-signature": (yield* signedBody(fake, notJson)) },
        body: notJson
      }))).toBe("malformed")
      expect(reason(yield* parse(yield* fake.webhook("subscription.charged", { paymentId })))).toBe("unknown_event")
      const unconfigured = yield* Razorpay.make({ keyId: fake.keyId, keySecret: fake.keySecret, apiBase: fake.url })
      const result = yield* Effect.either(unconfigured.webhooks!.parse(good))
      expect(reason(result)).toBe("not_configured")
    }).pipe(Effect.provide(Http)))

  it.scopedLive("payment.failed, and payment.authorized of an automatic-capture order, are acknowledged with nothing to apply", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { reference } = yield* start(gateway)
      const failed = yield* fake.pay(reference, { outcome: "failed" })
      expect(yield* gateway.webhooks!.parse(yield* fake.webhook("payment.failed", { paymentId: failed.razorpay_payment_id }))).toEqual([])
      const late = yield* fake.pay(reference, { outcome: "authorized" })
      expect(yield* gateway.webhooks!.parse(yield* fake.webhook("payment.authorized", { paymentId: late.razorpay_payment_id }))).toEqual([])
    }).pipe(Effect.provide(Http)))

  it.scopedLive("refunds: ours → refund.succeeded with its key; a dashboard refund is not ours", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { paymentId } = yield* paid(gateway, fake)
      const { refundId } = yield* gateway.refund({ transactionId: paymentId, idempotencyKey: "pay_aegis_1_re_1", amount: inr(1_000n) })
      const parsed = yield* gateway.webhooks!.parse(yield* fake.webhook("refund.processed", { refundId }, { eventId: "evt_r1" }))
      expect(parsed).toEqual([{
        id: "evt_r1",
        gateway: "razorpay",
        paymentId: "pay_aegis_1",
        type: "refund.succeeded",
        idempotencyKey: "pay_aegis_1_re_1",
        refundId,
        verified: true
      }])
      const failed = yield* gateway.webhooks!.parse(yield* fake.webhook("refund.failed", { refundId }))
      expect(failed[0]).toMatchObject({ type: "refund.failed", idempotencyKey: "pay_aegis_1_re_1" })
      const outside = yield* fake.dashboardRefund(paymentId, 500)
      const external = yield* gateway.webhooks!.parse(yield* fake.webhook("refund.processed", { refundId: outside }))
      expect(external).toEqual([{
        id: expect.any(String),
        gateway: "razorpay",
        paymentId: "pay_aegis_1",
        type: "refund.external",
        idempotencyKey: "pay_aegis_1_att_1",
        refundId: outside,
        transactionId: paymentId,
        amount: "5.00",
        currency: "INR",
        code: "dashboard_refund",
        reason: "refunded outside AegisPay (Razorpay Dashboard)",
        verified: true
      }])
      expect(yield* gateway.webhooks!.parse(yield* fake.webhook("refund.created", { refundId }))).toEqual([])
    }).pipe(Effect.provide(Http)))

  it.scopedLive("an auto-refunded authorization → charge.canceled of the attempt", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { reference } = yield* start(gateway, { capture: false })
      const held = yield* fake.pay(reference)
      const refundId = yield* fake.autoRefund(held.razorpay_payment_id)
      const parsed = yield* gateway.webhooks!.parse(yield* fake.webhook("refund.processed", { refundId }))
      expect(parsed).toEqual([expect.objectContaining({
        type: "charge.canceled",
        paymentId: "pay_aegis_1",
        idempotencyKey: "pay_aegis_1_att_1",
        transactionId: held.razorpay_payment_id,
        reference,
        code: "auto_refunded"
      })])
    }).pipe(Effect.provide(Http)))

  it.scopedLive("a payment on an order AegisPay did not make answers nothing", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { paymentId } = yield* paid(gateway, fake)
      // a webhook about a payment id the fake does not know cannot name an AegisPay payment
      const hook = yield* fake.webhook("payment.dispute.created", { dispute: { id: "disp_1" } })
      expect(yield* gateway.webhooks!.parse(hook)).toEqual([])
      const dispute = yield* gateway.webhooks!.parse(yield* fake.webhook("payment.dispute.created", { paymentId, dispute: { id: "disp_2" } }))
      expect(dispute).toEqual([expect.objectContaining({
        type: "dispute.opened",
        paymentId: "pay_aegis_1",
        transactionId: paymentId,
        disputeId: "disp_2",
        amount: "499.00",
        currency: "INR",
        code: "fraud"
      })])
      const closed = yield* gateway.webhooks!.parse(yield* fake.webhook("payment.dispute.lost", { paymentId, dispute: { id: "disp_2" } }))
      expect(closed).toEqual([expect.objectContaining({ type: "dispute.closed", disputeId: "disp_2", code: "lost" })])
      expect(yield* gateway.webhooks!.parse(yield* fake.webhook("payment.dispute.under_review", { paymentId, dispute: { id: "disp_2" } }))).toEqual([])
    }).pipe(Effect.provide(Http)))
})

const signedBody = (fake: FakeRazorpay.FakeRazorpay, body: Uint8Array) =>
  Effect.sync(() => Razorpay.webhookSignature(fake.webhookSecret, body))
