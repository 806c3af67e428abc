/**
 * End to end: AegisPay's PaymentService with the Stripe adapter against the fake Stripe over
 * real HTTP. A gateway-token payment is pinned to Stripe and charged; manual capture and
 * refunds move the fake's ledger; a decline fails the payment; an answer lost after Stripe
 * charged leaves the payment PROCESSING until Stripe's own status (or its signed webhook)
 * settles it; and many payments under injected faults all settle with at most one charge each.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Random, Redacted, TestClock } from "effect"
import { AegisPay, GatewayRegistry, Notifications, PaymentLock, PaymentService, Recovery } from "aegispay"
import { Stripe } from "aegispay/gateways"
import { AegisPayTest, MemoryStorage } from "aegispay/testing"
import { FakeStripe } from "aegispay/testing/fakes"
import { expectFoldEqualsSnapshot } from "../../helpers.js"
import { HttpLive } from "./support.js"

const { TestPaymentMethods } = FakeStripe

/** AegisPay on memory storage with one gateway: Stripe against `url`. */
const composition = (fake: FakeStripe.FakeStripe, url: string, options: Partial<Stripe.Options> = {}) =>
  AegisPay.layerWith({
    gateways: GatewayRegistry.layerFrom([
      Stripe.make({
        secretKey: Redacted.make(fake.secretKey),
        webhookSecret: Redacted.make(fake.webhookSecret),
        apiBase: url,
        timeout: "5 seconds",
        ...options
      })
    ]),
    storage: MemoryStorage.layer,
    locks: PaymentLock.layerMemory,
    vault: AegisPayTest.layerVault
  }, {
    ids: "sequential",
    service: { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2, backoffMultiplier: 1 } },
    breaker: { failureThreshold: 10_000, monitorWindow: "60 seconds", resetTimeout: "1 second", halfOpenMaxCalls: 1, successThreshold: 1 }
  })

const pay = (key: string, method: string = TestPaymentMethods.visa, extra: { readonly captureMethod?: "automatic" | "manual"; readonly amount?: string } = {}) => ({
  idempotencyKey: key,
  amount: extra.amount ?? "19.99",
  currency: "USD",
  paymentMethod: { type: "gateway_token" as const, gateway: "stripe", token: method },
  customer: { id: "cus_1", email: "ada@example.com" },
  ...(extra.captureMethod === undefined ? {} : { captureMethod: extra.captureMethod })
})

/** Charges per AegisPay payment in the fake's ledger. */
const chargesPerPayment = (ledger: FakeStripe.Ledger) => {
  const counts = new Map<string, number>()
  for (const c of ledger.charges) counts.set(c.paymentId ?? "?", (counts.get(c.paymentId ?? "?") ?? 0) + 1)
  return counts
}

describe("PaymentService with the Stripe adapter", () => {
  it.scoped("gateway token: create → process → SUCCESS; manual capture and refunds; a decline fails the payment", () =>
    Effect.gen(function*() {
      const { fake, url } = yield* FakeStripe.serve()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment(pay("order-1"))
        const done = yield* payments.processPayment(created.id)
        expect(done.state).toBe("SUCCESS")
        expect(done.gatewayTransactionId).toMatch(/^pi_/)
        const refunded = yield* payments.refundPayment({ paymentId: done.id, idempotencyKey: "refund-1", amount: "5.00" })
        expect(refunded.state).toBe("SUCCEEDED")
        expect(refunded.gatewayRefundId).toMatch(/^re_/)

        const hotel = yield* payments.createPayment(pay("order-2", TestPaymentMethods.visa, { captureMethod: "manual", amount: "100.00" }))
        expect((yield* payments.processPayment(hotel.id)).state).toBe("AUTHORIZED")
        expect((yield* payments.capturePayment({ paymentId: hotel.id, amount: "80.00" })).state).toBe("SUCCESS")

        const declined = yield* payments.createPayment(pay("order-3", TestPaymentMethods.insufficientFunds))
        const failed = yield* payments.processPayment(declined.id)
        expect(failed.state).toBe("FAILURE")
        expect(failed.declineCode).toBe("insufficient_funds")

        const ledger = yield* fake.ledger
        expect(ledger.charges.map((c) => [c.paymentId, c.captured, c.refunded])).toEqual([
          [done.id, 1999n, 500n],
          [hotel.id, 8000n, 0n]
        ])
        expect(ledger.refunds[0]?.metadata["aegispay_idempotency_key"]).toBeDefined()
      }).pipe(Effect.provide(composition(fake, url)))
    }).pipe(Effect.provide(HttpLive)))

  it.live("an answer lost after Stripe charged: PROCESSING, then Stripe's status settles it with the one charge", () =>
    Effect.gen(function*() {
      const { fake, url } = yield* FakeStripe.serve()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment(pay("order-timeout"))
        yield* fake.inject("timeoutAfterApply", { path: "/v1/payment_intents/{intent}/confirm" })
        const first = yield* Effect.either(payments.processPayment(created.id))
        const afterTimeout = yield* payments.getPayment(created.id)
        expect(first._tag === "Left" || afterTimeout.state === "PROCESSING").toBe(true)
        expect(afterTimeout.state).toBe("PROCESSING")
        const settled = yield* payments.processPayment(created.id)
        expect(settled.state).toBe("SUCCESS")
        expect(chargesPerPayment(yield* fake.ledger).get(created.id)).toBe(1)
      }).pipe(Effect.provide(composition(fake, url, { timeout: "300 millis" })))
    }).pipe(Effect.provide(HttpLive), Effect.scoped))

  it.scoped("a signed payment_intent.succeeded webhook settles a payment whose answer was lost", () =>
    Effect.gen(function*() {
      const { fake, url } = yield* FakeStripe.serve()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const notifications = yield* Notifications.Notifications
        const registry = yield* GatewayRegistry.GatewayRegistry
        const created = yield* payments.createPayment(pay("order-webhook"))
        yield* fake.inject("resetAfterApply", { path: "/v1/payment_intents/{intent}/confirm" })
        yield* Effect.either(payments.processPayment(created.id))
        expect((yield* payments.getPayment(created.id)).state).toBe("PROCESSING")
        const stripe = yield* registry.get("stripe")
        const parsed = yield* stripe.webhooks!.parse(yield* fake.webhook("payment_intent.succeeded"))
        expect(parsed).toHaveLength(1)
        for (const n of parsed) yield* notifications.apply(n)
        expect((yield* payments.getPayment(created.id)).state).toBe("SUCCESS")
      }).pipe(Effect.provide(composition(fake, url)))
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("3-D Secure: create → ACTION_REQUIRED (redirect) → the customer finishes → completePayment → SUCCESS", () =>
    Effect.gen(function*() {
      const { fake, url } = yield* FakeStripe.serve()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment({ ...pay("order-3ds", TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/return" })
        const waiting = yield* payments.processPayment(created.id)
        expect(waiting.state).toBe("ACTION_REQUIRED")
        expect(waiting.customerAction).toEqual({ type: "redirect", url: expect.stringContaining("hooks.stripe.com") })
        expect(waiting.actionExpiresAt).toBeDefined()
        const confirm = (yield* fake.requests).find((r) => r.route === "/v1/payment_intents/{intent}/confirm")
        expect(new Map(confirm?.form).get("return_url")).toBe("https://shop.example/return")
        // back too early: still waiting
        expect((yield* payments.completePayment(created.id)).state).toBe("ACTION_REQUIRED")
        const intent = (yield* fake.intents).find((i) => i.metadata["aegispay_payment_id"] === created.id)
        if (intent === undefined) return expect.unreachable()
        yield* fake.finishAction(intent.id, "succeed")
        const done = yield* payments.completePayment(created.id)
        expect([done.state, done.gatewayTransactionId]).toEqual(["SUCCESS", intent.id])
        expect((yield* payments.completePayment(created.id)).state).toBe("SUCCESS")
        expect(chargesPerPayment(yield* fake.ledger).get(created.id)).toBe(1)
        yield* expectFoldEqualsSnapshot(created.id).pipe(Effect.map(({ rebuilt, stored }) => expect(stored).toEqual(rebuilt)))
      }).pipe(Effect.provide(composition(fake, url)))
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("3-D Secure with Stripe.js (client secret), manual capture; a failed authentication fails the payment", () =>
    Effect.gen(function*() {
      const { fake, url } = yield* FakeStripe.serve()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment(pay("order-sdk", TestPaymentMethods.threeDSecure, { captureMethod: "manual" }))
        const waiting = yield* payments.processPayment(created.id)
        expect(waiting.customerAction?.type).toBe("client_secret")
        const intent = (yield* fake.intents).find((i) => i.metadata["aegispay_payment_id"] === created.id)
        if (intent === undefined) return expect.unreachable()
        yield* fake.finishAction(intent.id, "succeed")
        expect((yield* payments.completePayment(created.id)).state).toBe("AUTHORIZED")
        expect((yield* payments.capturePayment({ paymentId: created.id })).state).toBe("SUCCESS")

        const failing = yield* payments.createPayment(pay("order-sdk-fail", TestPaymentMethods.threeDSecure))
        yield* payments.processPayment(failing.id)
        const other = (yield* fake.intents).find((i) => i.metadata["aegispay_payment_id"] === failing.id)
        if (other === undefined) return expect.unreachable()
        yield* fake.finishAction(other.id, "fail")
        const failed = yield* payments.completePayment(failing.id)
        expect([failed.state, failed.declineCode]).toEqual(["FAILURE", "payment_intent_authentication_failure"])
      }).pipe(Effect.provide(composition(fake, url)))
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("expiry: past it, recovery cancels the intent at Stripe and fails the payment; a late 3-D Secure success settles as SUCCESS", () =>
    Effect.gen(function*() {
      const { fake, url } = yield* FakeStripe.serve()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const recovery = yield* Recovery.make({})
        const abandoned = yield* payments.createPayment({ ...pay("order-abandoned", TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/r" })
        const late = yield* payments.createPayment({ ...pay("order-late", TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/r" })
        expect((yield* payments.processPayment(abandoned.id)).state).toBe("ACTION_REQUIRED")
        expect((yield* payments.processPayment(late.id)).state).toBe("ACTION_REQUIRED")
        const lateIntent = (yield* fake.intents).find((i) => i.metadata["aegispay_payment_id"] === late.id)
        if (lateIntent === undefined) return expect.unreachable()
        // the customer finishes just as the payment expires
        yield* fake.finishAction(lateIntent.id, "succeed")
        yield* TestClock.adjust("2 hours")
        yield* recovery.runOnce
        const expired = yield* payments.getPayment(abandoned.id)
        expect([expired.state, expired.declineCode]).toEqual(["FAILURE", "canceled"])
        const abandonedIntent = (yield* fake.intents).find((i) => i.metadata["aegispay_payment_id"] === abandoned.id)
        expect(abandonedIntent?.status).toBe("canceled")
        expect((yield* payments.getPayment(late.id)).state).toBe("SUCCESS")
        expect([...chargesPerPayment(yield* fake.ledger).entries()]).toEqual([[late.id, 1]])
      }).pipe(Effect.provide(composition(fake, url)))
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("webhooks of a waiting payment, a dispute and a Dashboard refund are applied and recorded", () =>
    Effect.gen(function*() {
      const { fake, url } = yield* FakeStripe.serve()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const notifications = yield* Notifications.Notifications
        const stripe = yield* (yield* GatewayRegistry.GatewayRegistry).get("stripe")
        const deliver = (type: string, id?: string) =>
          Effect.flatMap(fake.webhook(type, id), (w) =>
            Effect.flatMap(stripe.webhooks!.parse(w), (ns) => Effect.forEach(ns, (n) => notifications.apply(n))))
        const created = yield* payments.createPayment({ ...pay("order-hook", TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/r" })
        yield* payments.processPayment(created.id)
        const intent = (yield* fake.intents).find((i) => i.metadata["aegispay_payment_id"] === created.id)
        if (intent === undefined) return expect.unreachable()
        yield* deliver("payment_intent.requires_action", intent.id)
        expect((yield* payments.getPayment(created.id)).state).toBe("ACTION_REQUIRED")
        // the customer finishes and never comes back: Stripe's webhook settles the payment
        yield* fake.finishAction(intent.id, "succeed")
        yield* deliver("payment_intent.succeeded", intent.id)
        expect((yield* payments.getPayment(created.id)).state).toBe("SUCCESS")
        const refundId = yield* fake.dashboardRefund(intent.id, 500n)
        yield* deliver("refund.created", refundId)
        yield* deliver("refund.created", refundId)
        const dispute = yield* fake.openDispute(intent.id)
        yield* deliver("charge.dispute.created", dispute)
        yield* fake.closeDispute(dispute, "won")
        yield* deliver("charge.dispute.closed", dispute)
        const after = yield* payments.getPayment(created.id)
        expect(after.refundedAmount.minor).toBe(500n)
        expect(after.refunds.map((r) => r.gatewayRefundId)).toEqual([refundId])
        expect(after.disputes?.map((d) => [d.id, d.state, d.outcome, d.amount?.minor])).toEqual([[dispute, "CLOSED", "won", 1999n]])
        yield* expectFoldEqualsSnapshot(created.id).pipe(Effect.map(({ rebuilt, stored }) => expect(stored).toEqual(rebuilt)))
      }).pipe(Effect.provide(composition(fake, url)))
    }).pipe(Effect.provide(HttpLive)))

  it.live("chaos: 40 payments under injected faults (saved 5xx, timeouts and resets after applying, 429, garbled answers) all settle; at most one charge each", () =>
    Effect.gen(function*() {
      const { fake, url } = yield* FakeStripe.serve()
      const injectable: ReadonlyArray<FakeStripe.Fault> = [
        "error500", "error500AfterApply", "timeoutAfterApply", "resetAfterApply", "resetBeforeApply", "rateLimit", "notJson", "unexpectedJson"
      ]
      const faults: ReadonlyArray<FakeStripe.Fault | "none" | "decline"> = ["none", "none", "decline", ...injectable]
      const result = yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const recovery = yield* Recovery.make({ stuckAfter: 0 })
        const ids: Array<string> = []
        for (let i = 0; i < 40; i++) {
          const fault = faults[yield* Random.nextIntBetween(0, faults.length)] ?? "none"
          const created = yield* payments.createPayment(pay(`chaos-${i}`, fault === "decline" ? TestPaymentMethods.declined : TestPaymentMethods.visa))
          ids.push(created.id)
          if (fault !== "none" && fault !== "decline") {
            // a second fault on half of them, on any call (create, confirm, reads)
            yield* fake.inject(fault, { path: "/v1/payment_intents/{intent}/confirm" })
            const second = injectable[yield* Random.nextIntBetween(0, injectable.length)]
            if ((yield* Random.nextBoolean) && second !== undefined) yield* fake.inject(second)
          }
          yield* Effect.either(payments.processPayment(created.id))
        }
        // recovery drives every payment left open to Stripe's truth
        for (let round = 0; round < 10; round++) {
          const open = yield* Effect.forEach(ids, (id) => payments.getPayment(id)).pipe(
            Effect.map((all) => all.filter((p) => p.state === "PROCESSING" || p.state === "INITIATED" || p.state === "AUTHENTICATED"))
          )
          if (open.length === 0) break
          yield* recovery.runOnce
        }
        return yield* Effect.forEach(ids, (id) => payments.getPayment(id))
      }).pipe(Effect.provide(composition(fake, url, { timeout: "250 millis" })), Effect.withRandom(Random.make("stripe-chaos")))

      const states = result.map((p) => p.state)
      expect(states.filter((s) => s !== "SUCCESS" && s !== "FAILURE")).toEqual([])
      const ledger = yield* fake.ledger
      const perPayment = chargesPerPayment(ledger)
      expect([...perPayment.values()].filter((n) => n > 1)).toEqual([])
      for (const payment of result) {
        if (payment.state === "SUCCESS") {
          expect(perPayment.get(payment.id)).toBe(1)
          expect(ledger.charges.find((c) => c.paymentId === payment.id)?.intentId).toBe(payment.gatewayTransactionId)
        } else {
          // a failed payment holds no charge that was not returned
          const stray = ledger.charges.filter((c) => c.paymentId === payment.id && !c.voided && c.refunded < c.captured)
          expect(stray).toEqual([])
        }
      }
      expect(states.filter((s) => s === "SUCCESS").length).toBeGreaterThan(20)
    }).pipe(Effect.provide(HttpLive), Effect.scoped), 60_000)
})
