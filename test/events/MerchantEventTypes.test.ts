/**
 * Every domain event a merchant must hear about has a public type an endpoint can subscribe to:
 * the customer must act, the provider holds the payment, a waiting checkout expires, disputes
 * open and close, refunds made in the provider's dashboard. Delivered over real HTTP (memory
 * layers), each to the endpoints subscribed to its type only, with no card data in the body.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema, TestClock } from "effect"
import { MerchantEvent, MerchantWebhooks, Notifications, PaymentService, Tenant } from "aegispay"
import { AegisPayTest, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"
import * as Receiver from "./WebhookReceiver.js"

const layer = MerchantWebhooks.layerMemory({ worker: false, retention: false }).pipe(
  Layer.provideMerge(AegisPayTest.layerMemory({ ids: "sequential" }))
)

const decodeBody = Schema.decodeUnknownSync(Schema.parseJson(MerchantEvent.MerchantEvent))

describe("MerchantEvent types", () => {
  it("selectors: one per public type; dispute types by the event's status", () => {
    expect(new Set(Object.values(MerchantEvent.selectorOf)).size).toBe(MerchantEvent.types.length)
    const opened = { _tag: "DisputeRecorded", status: "opened" }
    expect(Option.getOrUndefined(MerchantEvent.typeOfStored("DisputeRecorded", opened))).toBe("dispute.opened")
    expect(MerchantEvent.typeOfStored("DisputeRecorded", { status: "other" })._tag).toBe("None")
    expect(MerchantEvent.typeOfStored("PaymentAuthenticated", {})._tag).toBe("None")
    expect(MerchantEvent.selects(MerchantEvent.selectorsFor(["dispute.closed"]), "DisputeRecorded", opened)).toBe(false)
    expect(MerchantEvent.selects(MerchantEvent.selectorsFor(["dispute.opened"]), "DisputeRecorded", opened)).toBe(true)
    expect(MerchantEvent.selects(MerchantEvent.selectorsFor(["*"]), "DisputeRecorded", opened)).toBe(true)
  })

  it.scoped("action required, pending, expiry, disputes and outside refunds reach the endpoints subscribed to them, without card data", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const ctx = yield* Layer.build(layer)
      const webhooks = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
      const all = yield* webhooks.createEndpoint({ url: receiver.url("/all"), events: ["*"] }).pipe(Tenant.with("acme"))
      yield* webhooks.createEndpoint({ url: receiver.url("/opened"), events: ["dispute.opened", "payment.action_required"] }).pipe(
        Tenant.with("acme")
      )
      void all
      const ids = yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const notifications = yield* Notifications.Notifications
        // the customer must act; then the checkout expires at the provider
        const waiting = yield* payments.createPayment(request({ idempotencyKey: "t-action", paymentMethod: card(TestCards.actionRedirect) }))
        expect((yield* payments.processPayment(waiting.id)).state).toBe("ACTION_REQUIRED")
        const attemptKey = (yield* payments.getPayment(waiting.id)).currentAttempt!.idempotencyKey
        yield* notifications.apply({
          id: "ntf-expired",
          gateway: "mock",
          paymentId: waiting.id,
          idempotencyKey: attemptKey,
          type: "charge.expired",
          verified: true
        })
        expect((yield* payments.getPayment(waiting.id)).state).toBe("FAILURE")
        // the provider holds the payment
        const held = yield* payments.createPayment(request({ idempotencyKey: "t-pending", paymentMethod: card(TestCards.pending), allowPending: true }))
        yield* payments.processPayment(held.id)
        // paid, then disputed and refunded in the provider's dashboard
        const paid = yield* payments.createPayment(request({ idempotencyKey: "t-paid", paymentMethod: card(TestCards.success) }))
        const done = yield* payments.processPayment(paid.id)
        const key = done.currentAttempt!.idempotencyKey
        const about = { gateway: "mock", paymentId: paid.id, idempotencyKey: key, verified: true } as const
        yield* notifications.apply({ ...about, id: "ntf-d1", type: "dispute.opened", disputeId: "dp_1", amount: "10.00", currency: "USD", reason: "fraudulent" })
        yield* notifications.apply({ ...about, id: "ntf-d2", type: "dispute.closed", disputeId: "dp_1", code: "won" })
        yield* notifications.apply({ ...about, id: "ntf-r1", type: "refund.external", refundId: "re_dash_1", amount: "5.00", currency: "USD" })
        return { waiting: waiting.id, held: held.id, paid: paid.id }
      }).pipe(Effect.provide(ctx), Tenant.with("acme"))

      for (let i = 0; i < 50; i++) {
        const report = yield* webhooks.runOnce
        if (report.claimed === 0) {
          const deliveries = yield* Effect.provide(webhooks.listDeliveries(all.endpoint.id, { status: "pending" }), ctx).pipe(Tenant.with("acme"))
          if (deliveries.items.length === 0) break
          yield* TestClock.adjust("1 minute")
        }
      }
      const received = (yield* receiver.received).filter((r) => r.answered === "ok")
      const bodies = (path: string) => received.filter((r) => r.path === path).map((r) => decodeBody(r.body))
      const allTypes = bodies("/all").map((b) => `${b.paymentId}:${b.type}`)
      expect(allTypes).toEqual(expect.arrayContaining([
        `${ids.waiting}:payment.action_required`,
        `${ids.waiting}:payment.failed`,
        `${ids.held}:payment.pending`,
        `${ids.paid}:dispute.opened`,
        `${ids.paid}:dispute.closed`,
        `${ids.paid}:refund.external`
      ]))
      const byType = (type: string) => bodies("/all").find((b) => b.type === type)!
      expect(byType("payment.action_required").data).toMatchObject({ action: { type: "redirect" } })
      expect(typeof byType("payment.action_required").data.expiresAt).toBe("string")
      expect(bodies("/all").find((b) => b.paymentId === ids.waiting && b.type === "payment.failed")!.data).toMatchObject({ declineCode: "expired" })
      expect(byType("dispute.opened").data).toMatchObject({ disputeId: "dp_1", status: "opened", amount: { currency: "USD", amount: "10.00" }, reason: "fraudulent" })
      expect(byType("dispute.closed").data).toMatchObject({ disputeId: "dp_1", status: "closed", outcome: "won" })
      expect(byType("refund.external").data).toMatchObject({ gatewayRefundId: "re_dash_1", amount: { currency: "USD", amount: "5.00" } })
      // the endpoint subscribed to dispute.opened and payment.action_required gets those only
      expect(bodies("/opened").map((b) => b.type).sort()).toEqual(["dispute.opened", "payment.action_required"])
      for (const r of received) {
        for (const number of [TestCards.actionRedirect, TestCards.pending, TestCards.success]) expect(r.body).not.toContain(number)
        expect(r.body).not.toContain("\"cvv\"")
      }
    }))
})
