/**
 * Stripe webhooks: events the fake signs exactly as Stripe signs them are verified and parsed;
 * a forged signature, a stale timestamp, an unknown type or a body that is not an event is a
 * `WebhookRejected` and yields nothing. Time is the TestClock's.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Redacted, TestClock } from "effect"
import type { Gateway, Webhook } from "aegispay"
import { Stripe } from "aegispay/gateways"
import { FakeStripe } from "aegispay/testing/fakes"
import { charge, HttpLive, setup, token } from "./support.js"

const rejection = (effect: Effect.Effect<unknown, Webhook.WebhookRejected | Gateway.GatewayReadError>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "WebhookRejected"
      ? Effect.succeed(exit.cause.error.reason)
      : Effect.dieMessage("expected a WebhookRejected"))

describe("Stripe webhooks", () => {
  it.scoped("payment_intent.succeeded names the payment, the attempt key and the transaction", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_000_000)
      const { fake, gateway } = yield* setup()
      const request = charge()
      const result = yield* gateway.process(request)
      if (result.status !== "succeeded") return expect.unreachable()
      const webhook = yield* fake.webhook("payment_intent.succeeded", result.transactionId)
      const notifications = yield* gateway.webhooks.parse(webhook)
      expect(notifications).toEqual([{
        id: expect.stringMatching(/^evt_/),
        gateway: "stripe",
        paymentId: request.paymentId,
        idempotencyKey: request.idempotencyKey,
        type: "charge.succeeded",
        transactionId: result.transactionId,
        reference: result.transactionId,
        verified: true
      }])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("authorized, failed and canceled intents; refunds of ours with their ids; outside refunds and disputes recorded", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_000_000)
      const { fake, gateway } = yield* setup()
      const held = charge({ capture: false })
      const authorized = yield* gateway.process(held)
      if (authorized.status !== "authorized") return expect.unreachable()
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("payment_intent.amount_capturable_updated", authorized.transactionId))).toMatchObject([
        { type: "charge.authorized", paymentId: held.paymentId, idempotencyKey: held.idempotencyKey, transactionId: authorized.transactionId }
      ])
      yield* gateway.void({ transactionId: authorized.transactionId, idempotencyKey: "void-1" })
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("payment_intent.canceled", authorized.transactionId))).toMatchObject([
        { type: "charge.canceled", code: "canceled", idempotencyKey: held.idempotencyKey, reference: authorized.transactionId }
      ])
      const declined = charge({ paymentMethod: token(FakeStripe.TestPaymentMethods.insufficientFunds) })
      yield* Effect.either(gateway.process(declined))
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("payment_intent.payment_failed"))).toMatchObject([
        { type: "charge.failed", code: "insufficient_funds", paymentId: declined.paymentId, idempotencyKey: declined.idempotencyKey }
      ])

      const paid = charge()
      const result = yield* gateway.process(paid)
      if (result.status !== "succeeded") return expect.unreachable()
      const refund = yield* gateway.refund({ transactionId: result.transactionId, idempotencyKey: "refund-key-1", amount: paid.amount })
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("refund.created", refund.refundId))).toEqual([{
        id: expect.stringMatching(/^evt_/),
        gateway: "stripe",
        paymentId: paid.paymentId,
        idempotencyKey: "refund-key-1",
        refundId: refund.refundId,
        reference: result.transactionId,
        type: "refund.succeeded",
        verified: true
      }])
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("charge.refunded"))).toEqual([])

      const other = yield* gateway.process(charge())
      if (other.status !== "succeeded") return expect.unreachable()
      const otherKey = (yield* fake.intent(other.transactionId)).pipe(Option.map((i) => i.metadata["aegispay_idempotency_key"]), Option.getOrUndefined)
      const outside = yield* fake.dashboardRefund(other.transactionId, 100n)
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("refund.created", outside))).toEqual([{
        id: expect.stringMatching(/^evt_/),
        gateway: "stripe",
        paymentId: expect.stringMatching(/^pay_/),
        idempotencyKey: otherKey,
        reference: other.transactionId,
        refundId: outside,
        type: "refund.external",
        amount: "1.00",
        currency: "USD",
        verified: true
      }])
      const dispute = yield* fake.openDispute(other.transactionId)
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("charge.dispute.created", dispute))).toMatchObject([
        { type: "dispute.opened", disputeId: dispute, amount: "19.99", currency: "USD", reason: "fraudulent", idempotencyKey: otherKey, reference: other.transactionId }
      ])
      yield* fake.closeDispute(dispute, "lost")
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("charge.dispute.closed", dispute))).toMatchObject([
        { type: "dispute.closed", disputeId: dispute, code: "lost" }
      ])
      // 3-D Secure: the payment waits for the customer
      const threeDs = yield* gateway.process(charge({ paymentMethod: token(FakeStripe.TestPaymentMethods.threeDSecure) }))
      if (threeDs.status !== "action_required") return expect.unreachable()
      expect(yield* gateway.webhooks.parse(yield* fake.webhook("payment_intent.requires_action", threeDs.reference))).toMatchObject([
        { type: "charge.action_required", reference: threeDs.reference }
      ])
      // events about intents AegisPay did not create apply nothing
      const foreign = yield* fake.sign({ id: "evt_foreign", object: "event", type: "payment_intent.succeeded", livemode: false, data: { object: { id: "pi_x", object: "payment_intent", status: "succeeded", amount: 1, currency: "usd", metadata: {} } } })
      expect(yield* gateway.webhooks.parse(foreign)).toEqual([])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("forged, stale, unknown, malformed, unconfigured: rejected with their reason", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_800_000_000_000)
      const { fake, gateway, url } = yield* setup({ webhookTolerance: "5 minutes" })
      yield* gateway.process(charge())
      const event = (yield* fake.events).find((e) => e.type === "payment_intent.succeeded")
      // forged: signed with another secret; the body altered after signing; no header; a v0 only
      expect(yield* rejection(gateway.webhooks.parse(yield* fake.sign(event, { secret: "whsec_attacker" })))).toBe("bad_signature")
      const genuine = yield* fake.sign(event)
      const altered = new Uint8Array(genuine.body)
      altered[altered.length - 2] = 0x20
      expect(yield* rejection(gateway.webhooks.parse({ headers: genuine.headers, body: altered }))).toBe("bad_signature")
      expect(yield* rejection(gateway.webhooks.parse({ headers: {}, body: genuine.body }))).toBe("bad_signature")
      const v0 = genuine.headers["stripe-signature"]?.replace("v1=", "v0=") ?? ""
      expect(yield* rejection(gateway.webhooks.parse({ headers: { "stripe-signature": v0 }, body: genuine.body }))).toBe("bad_signature")
      // several v1 signatures (a secret being rolled): one match is enough
      const rolled = `${genuine.headers["stripe-signature"]},v1=${"0".repeat(64)}`
      expect(yield* gateway.webhooks.parse({ headers: { "stripe-signature": rolled }, body: genuine.body })).toHaveLength(1)
      // stale: valid signature, signed 301 seconds before now (and the same ahead of now)
      const now = 1_800_000_000
      expect(yield* rejection(gateway.webhooks.parse(yield* fake.sign(event, { timestamp: now - 301 })))).toBe("stale_timestamp")
      expect(yield* rejection(gateway.webhooks.parse(yield* fake.sign(event, { timestamp: now + 301 })))).toBe("stale_timestamp")
      expect(yield* gateway.webhooks.parse(yield* fake.sign(event, { timestamp: now - 299 }))).toHaveLength(1)
      // a delivery that was fresh when signed goes stale as the clock moves
      const delivered = yield* fake.sign(event)
      yield* TestClock.adjust("301 seconds")
      expect(yield* rejection(gateway.webhooks.parse(delivered))).toBe("stale_timestamp")
      // unknown type, not JSON, not an event, an object of the wrong shape
      expect(yield* rejection(gateway.webhooks.parse(yield* fake.sign({ ...event, type: "invoice.paid" })))).toBe("unknown_event")
      const notJson = new TextEncoder().encode("not json")
      const nowSeconds = 1_800_000_301
      const signedNotJson = yield* signRaw(fake, nowSeconds, notJson)
      expect(yield* rejection(gateway.webhooks.parse(signedNotJson))).toBe("malformed")
      expect(yield* rejection(gateway.webhooks.parse(yield* fake.sign({ hello: "world" })))).toBe("malformed")
      expect(yield* rejection(gateway.webhooks.parse(yield* fake.sign({ ...event, data: { object: { id: 1 } } })))).toBe("malformed")
      // a live-mode event at a test-mode gateway
      expect(yield* rejection(gateway.webhooks.parse(yield* fake.sign({ ...event, livemode: true })))).toBe("malformed")
      // no webhook secret configured
      const unconfigured = yield* Stripe.make({ secretKey: Redacted.make(fake.secretKey), apiBase: url })
      expect(yield* rejection(unconfigured.webhooks.parse(yield* fake.sign(event)))).toBe("not_configured")
    }).pipe(Effect.provide(HttpLive)))
})

/** Signs arbitrary bytes as Stripe would (the fake signs JSON it serialises itself). */
const signRaw = (fake: FakeStripe.FakeStripe, timestamp: number, body: Uint8Array) =>
  Effect.sync(() => {
    const signature = FakeStripe.signature(fake.webhookSecret, timestamp, body)
    return { headers: { "stripe-signature": `t=${timestamp},v1=${signature}` }, body }
  })
