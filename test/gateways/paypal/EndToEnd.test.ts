import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, TestClock } from "effect"
import { AegisPay, GatewayRegistry, Money, Notifications, PaymentLock, PaymentService } from "aegispay"
import type { Gateway } from "aegispay"
import { PayPal } from "aegispay/gateways"
import { AegisPayTest, MemoryStorage } from "aegispay/testing"
import { FakePayPal } from "aegispay/testing/fakes"

/** AegisPay on memory storage with the PayPal adapter against a fake PayPal. */
const withPayPal = <A, E>(body: (fake: FakePayPal.FakePayPal, gateway: Gateway.Gateway) => Effect.Effect<A, E, PaymentService.PaymentService | Notifications.Notifications>) =>
  Effect.gen(function*() {
    const fake = yield* FakePayPal.make()
    const gateway = yield* PayPal.make({
      clientId: Redacted.make(fake.clientId),
      clientSecret: Redacted.make(fake.clientSecret),
      webhookId: fake.webhookId,
      environment: "sandbox",
      apiBase: fake.url,
      timeout: "5 seconds"
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const live = AegisPay.layerWith({
      gateways: GatewayRegistry.layer([gateway]),
      storage: MemoryStorage.layer,
      locks: PaymentLock.layerMemory,
      vault: AegisPayTest.layerVault
    }, { recovery: false })
    return yield* body(fake, gateway).pipe(Effect.provide(Layer.fresh(live)))
  })

const create = (payments: PaymentService.PaymentService["Type"], key: string, captureMethod: "automatic" | "manual" = "automatic") =>
  payments.createPayment({
    idempotencyKey: key,
    amount: "42.00",
    currency: "USD",
    captureMethod,
    paymentMethod: { type: "checkout", gateway: "paypal" },
    customer: { id: "cus_1", email: "ada@example.com" },
    returnUrl: "https://shop.example/return",
    cancelUrl: "https://shop.example/cancel"
  })

describe("PayPal end to end through PaymentService", () => {
  it.scoped("create → ACTION_REQUIRED (approval link) → approve → completePayment → SUCCESS; refund", () =>
    withPayPal((fake) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* create(payments, "order-e2e-1")
        const waiting = yield* payments.processPayment(created.id)
        expect(waiting.state).toBe("ACTION_REQUIRED")
        const reference = waiting.currentAttempt?.reference
        expect(reference).toBeDefined()
        expect(waiting.customerAction).toEqual({ type: "redirect", url: `${fake.url}/checkoutnow?token=${reference}` })
        // back before approving: still waiting
        expect((yield* payments.completePayment(created.id, { token: reference ?? "" })).state).toBe("ACTION_REQUIRED")
        yield* fake.approve(reference ?? "")
        const done = yield* payments.completePayment(created.id, { token: reference ?? "", PayerID: "BUYER" })
        expect(done.state).toBe("SUCCESS")
        expect(yield* fake.captureCount).toBe(1)
        // the customer reloads the return page: nothing changes
        expect((yield* payments.completePayment(created.id, { token: reference ?? "" })).state).toBe("SUCCESS")
        const refunded = yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: "refund-e2e-1", amount: "2.00" })
        expect(refunded.state).toBe("SUCCEEDED")
        expect(yield* fake.captureCount).toBe(1)
      })))

  it.scoped("manual capture: AUTHORIZED after approval, captured in part, refunded", () =>
    withPayPal((fake) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* create(payments, "order-e2e-2", "manual")
        const waiting = yield* payments.processPayment(created.id)
        yield* fake.approve(waiting.currentAttempt?.reference ?? "")
        const authorized = yield* payments.completePayment(created.id, {})
        expect(authorized.state).toBe("AUTHORIZED")
        const captured = yield* payments.capturePayment({ paymentId: created.id, amount: "30.00" })
        expect(captured.state).toBe("SUCCESS")
        const refunded = yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: "refund-e2e-2", amount: "30.00" })
        expect(refunded.state).toBe("SUCCEEDED")
      })))

  it.scoped("expiry: a payment never approved fails after PayPal's approval window, nothing captured", () =>
    withPayPal((fake) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* create(payments, "order-e2e-3")
        const waiting = yield* payments.processPayment(created.id)
        expect(waiting.state).toBe("ACTION_REQUIRED")
        yield* TestClock.adjust("3 hours")
        const expired = yield* payments.processPayment(created.id)
        expect(expired.state).toBe("FAILURE")
        // the buyer approves too late: completing changes nothing, nothing is captured
        yield* fake.approve(waiting.currentAttempt?.reference ?? "")
        expect((yield* payments.completePayment(created.id, {})).state).toBe("FAILURE")
        expect(yield* fake.captureCount).toBe(0)
      })))

  it.scoped("a verified PAYMENT.CAPTURE.COMPLETED webhook settles a payment whose capture answer was lost", () =>
    withPayPal((fake, gateway) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const notifications = yield* Notifications.Notifications
        const created = yield* create(payments, "order-e2e-4")
        const waiting = yield* payments.processPayment(created.id)
        const reference = waiting.currentAttempt?.reference ?? ""
        yield* fake.approve(reference)
        yield* fake.fail("orders.capture", { kind: "after", status: 502 })
        const unknown = yield* payments.completePayment(created.id, {})
        expect(unknown.state).not.toBe("SUCCESS")
        expect(unknown.state).not.toBe("FAILURE")
        const order = (yield* fake.order(reference)) as { purchase_units: Array<{ payments: { captures: Array<{ id: string }> } }> }
        const captureId = order.purchase_units[0]?.payments.captures[0]?.id ?? ""
        const hook = yield* fake.webhook("PAYMENT.CAPTURE.COMPLETED", yield* fake.resource("capture", captureId))
        const parsed = yield* gateway.webhooks!.parse(hook)
        for (const n of parsed) yield* notifications.apply(n)
        const settled = yield* payments.getPayment(created.id)
        expect(settled.state).toBe("SUCCESS")
        expect(settled.gatewayTransactionId).toBe(captureId)
        expect(yield* fake.captureCount).toBe(1)
      })))

  it.scoped("dispute and dashboard-refund webhooks are recorded on the payment", () =>
    withPayPal((fake, gateway) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const notifications = yield* Notifications.Notifications
        const created = yield* create(payments, "order-e2e-5")
        const waiting = yield* payments.processPayment(created.id)
        yield* fake.approve(waiting.currentAttempt?.reference ?? "")
        const done = yield* payments.completePayment(created.id, {})
        const captureId = done.gatewayTransactionId ?? ""
        const dispute = yield* fake.webhook("CUSTOMER.DISPUTE.CREATED", {
          dispute_id: "PP-D-9", reason: "UNAUTHORISED", dispute_amount: { currency_code: "USD", value: "42.00" },
          disputed_transactions: [{ seller_transaction_id: captureId }]
        })
        for (const n of yield* gateway.webhooks!.parse(dispute)) expect((yield* notifications.apply(n))._tag).toBe("Applied")
        const refund = yield* fake.webhook("PAYMENT.CAPTURE.REFUNDED", {
          id: "REFDASH9", status: "COMPLETED", amount: { currency_code: "USD", value: "5.00" },
          links: [{ href: `${fake.url}/v2/payments/captures/${captureId}`, rel: "up", method: "GET" }]
        })
        for (const n of yield* gateway.webhooks!.parse(refund)) expect((yield* notifications.apply(n))._tag).toBe("Applied")
        const after = yield* payments.getPayment(created.id)
        expect(Money.toDecimalString(after.refundedAmount)).toBe("5.00")
        // redelivered: a duplicate
        for (const n of yield* gateway.webhooks!.parse(refund)) expect((yield* notifications.apply(n))._tag).toBe("Duplicate")
      })))
})
