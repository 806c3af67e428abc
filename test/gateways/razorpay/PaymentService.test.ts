/**
 * End to end: AegisPay's PaymentService with the Razorpay adapter against FakeRazorpay over real
 * HTTP. A checkout payment waits for the customer (ACTION_REQUIRED with Razorpay Checkout's
 * parameters), the customer pays in the fake, `completePayment` with Checkout's three values
 * settles it; a forged return changes nothing; manual capture, refunds, a signed webhook, an
 * expiry with nothing paid, and a late payment after expiry refunded as a stray charge.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, TestClock } from "effect"
import { AegisPay, GatewayRegistry, Notifications, PaymentLock, PaymentService, Recovery } from "aegispay"
import { Razorpay } from "aegispay/gateways"
import { AegisPayTest, MemoryStorage } from "aegispay/testing"
import { FakeRazorpay } from "aegispay/testing/fakes"

/** AegisPay on memory storage with one gateway: Razorpay against the fake. */
const composition = (fake: FakeRazorpay.FakeRazorpay) =>
  AegisPay.layerWith({
    gateways: GatewayRegistry.layerFrom([
      Razorpay.make({
        keyId: fake.keyId,
        keySecret: fake.keySecret,
        webhookSecret: fake.webhookSecret,
        apiBase: fake.url,
        merchantName: "Acme"
      })
    ]).pipe(Layer.provide(NodeHttpClient.layer)),
    storage: MemoryStorage.layer,
    locks: PaymentLock.layerMemory,
    vault: AegisPayTest.layerVault
  }, {
    ids: "sequential",
    service: {
      customerActionTimeout: "15 minutes",
      retry: { maxRetries: 1, initialDelayMs: 1, maxDelayMs: 1, backoffMultiplier: 1 }
    }
  })

const order = (key: string, captureMethod: "automatic" | "manual" = "automatic") => ({
  idempotencyKey: key,
  amount: "499.00",
  currency: "INR",
  paymentMethod: { type: "checkout" as const, gateway: "razorpay" },
  captureMethod,
  customer: { id: "cus_1", email: "ada@example.com" },
  metadata: { orderId: key },
  returnUrl: "https://shop.example/razorpay/return"
})

const checkoutParams = (payment: { readonly customerAction?: unknown }): Readonly<Record<string, string>> => {
  const action = payment.customerAction
  if (typeof action !== "object" || action === null || Reflect.get(action, "type") !== "checkout") throw new Error("no checkout action")
  return Reflect.get(action, "params")
}

describe("PaymentService with the Razorpay adapter", () => {
  it.scoped("checkout: ACTION_REQUIRED → the customer pays → completePayment → SUCCESS; a forged return changes nothing; refund", () =>
    Effect.gen(function*() {
      const fake = yield* FakeRazorpay.make()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment(order("order-1"))
        const waiting = yield* payments.processPayment(created.id)
        expect(waiting.state).toBe("ACTION_REQUIRED")
        const params = checkoutParams(waiting)
        expect(params).toMatchObject({ key: "rzp_test_FakeRazorpayKey1", amount: "49900", currency: "INR", name: "Acme" })
        expect(params.order_id).toBe(waiting.reference)
        expect((yield* fake.orders)[0]?.notes).toMatchObject({ aegispay_payment_id: created.id, orderId: "order-1" })

        const returned = yield* fake.pay(params.order_id ?? "")
        const forged = yield* Effect.either(payments.completePayment(created.id, { ...returned, razorpay_signature: "0".repeat(64) }))
        expect(Either.isLeft(forged) && forged.left._tag).toBe("GatewayMisconfigured")
        expect((yield* payments.getPayment(created.id)).state).toBe("ACTION_REQUIRED")

        const done = yield* payments.completePayment(created.id, returned)
        expect(done.state).toBe("SUCCESS")
        // a reload of the return page changes nothing
        expect((yield* payments.completePayment(created.id, returned)).version).toBe(done.version)

        const refund = yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: "refund-1", amount: "100.00" })
        expect(refund.state).toBe("SUCCEEDED")
        expect(yield* fake.refunds(returned.razorpay_payment_id)).toHaveLength(1)
      }).pipe(Effect.provide(composition(fake)))
    }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scoped("manual capture: completePayment → AUTHORIZED, capturePayment → SUCCESS", () =>
    Effect.gen(function*() {
      const fake = yield* FakeRazorpay.make()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment(order("order-2", "manual"))
        const waiting = yield* payments.processPayment(created.id)
        const returned = yield* fake.pay(checkoutParams(waiting).order_id ?? "")
        expect((yield* payments.completePayment(created.id, returned)).state).toBe("AUTHORIZED")
        expect((yield* payments.capturePayment({ paymentId: created.id })).state).toBe("SUCCESS")
      }).pipe(Effect.provide(composition(fake)))
    }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scoped("a signed webhook settles a waiting payment once; a redelivery is a duplicate", () =>
    Effect.gen(function*() {
      const fake = yield* FakeRazorpay.make()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const notifications = yield* Notifications.Notifications
        const registry = yield* GatewayRegistry.GatewayRegistry
        const gateway = yield* registry.get("razorpay")
        const created = yield* payments.createPayment(order("order-3"))
        const waiting = yield* payments.processPayment(created.id)
        const returned = yield* fake.pay(checkoutParams(waiting).order_id ?? "")
        const hook = yield* fake.webhook("payment.captured", { paymentId: returned.razorpay_payment_id }, { eventId: "evt_A" })
        const [notification] = yield* gateway.webhooks!.parse(hook)
        const applied = yield* notifications.apply(notification!)
        expect(applied._tag).toBe("Applied")
        expect(applied.payment.state).toBe("SUCCESS")
        const again = yield* notifications.apply((yield* gateway.webhooks!.parse(hook))[0]!)
        expect(again._tag).toBe("Duplicate")

        // a refund made in the Razorpay Dashboard, and a dispute, are recorded on the payment
        const outside = yield* fake.dashboardRefund(returned.razorpay_payment_id, 10_000)
        const [external] = yield* gateway.webhooks!.parse(yield* fake.webhook("refund.processed", { refundId: outside }))
        const recorded = yield* notifications.apply(external!)
        expect(recorded._tag).toBe("Applied")
        expect(recorded.payment.refundedAmount.minor).toBe(10_000n)
        const [dispute] = yield* gateway.webhooks!.parse(
          yield* fake.webhook("payment.dispute.created", { paymentId: returned.razorpay_payment_id, dispute: { id: "disp_1" } })
        )
        expect((yield* notifications.apply(dispute!))._tag).toBe("Applied")
      }).pipe(Effect.provide(composition(fake)))
    }).pipe(Effect.provide(NodeHttpClient.layer)))

  it.scoped("expiry: nothing paid → FAILURE (expired); a payment made later is refunded as a stray charge", () =>
    Effect.gen(function*() {
      const fake = yield* FakeRazorpay.make()
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const recovery = yield* Recovery.Recovery
        const notifications = yield* Notifications.Notifications
        const registry = yield* GatewayRegistry.GatewayRegistry
        const gateway = yield* registry.get("razorpay")
        const created = yield* payments.createPayment(order("order-4"))
        const waiting = yield* payments.processPayment(created.id)
        yield* TestClock.adjust("16 minutes")
        yield* recovery.runOnce
        const expired = yield* payments.getPayment(created.id)
        expect(expired.state).toBe("FAILURE")

        // the customer pays the old order anyway: the webhook brings a stray charge, refunded
        const late = yield* fake.pay(checkoutParams(waiting).order_id ?? "")
        const [notification] = yield* gateway.webhooks!.parse(yield* fake.webhook("payment.captured", { paymentId: late.razorpay_payment_id }))
        yield* notifications.apply(notification!)
        const refunds = yield* fake.refunds(late.razorpay_payment_id)
        expect(refunds.map((r) => r.amount)).toEqual([49_900])
      }).pipe(Effect.provide(composition(fake)))
    }).pipe(Effect.provide(NodeHttpClient.layer)))
})
