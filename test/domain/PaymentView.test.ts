import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { PaymentService, PaymentView } from "aegispay"
import { request, TestLayer } from "../helpers.js"

describe("PaymentView", () => {
  it.effect("is plain JSON without internal fields, amounts as exact decimal strings", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const created = yield* payments.createPayment(request({ amount: "10.05" }))
      const done = yield* payments.processPayment(created.id)
      yield* payments.refundPayment({ paymentId: done.id, idempotencyKey: "r-1", amount: "0.05" })
      const payment = yield* payments.getPayment(done.id)
      const json = PaymentView.toJson(payment)
      const text = JSON.stringify(json)
      expect(json.amount).toEqual({ currency: "USD", amount: "10.05" })
      expect(json.refundedAmount).toEqual({ currency: "USD", amount: "0.05" })
      expect(json.state).toBe("SUCCESS")
      expect(json.paymentMethod).toEqual({ type: "card", brand: "visa", last4: "4242", expiryMonth: 12, expiryYear: 2099 })
      for (const internal of ["requestFingerprint", "vaultToken", "fingerprint", "notificationIds"]) {
        expect(text).not.toContain(internal)
      }
      expect(text).not.toContain(payment.requestFingerprint)
      if (payment.paymentMethod.type !== "card") throw new Error("a card payment was created")
      expect(text).not.toContain(payment.paymentMethod.vaultToken)
      expect(text).not.toContain(payment.paymentMethod.fingerprint)
      for (const attempt of payment.attempts) expect(text).not.toContain(attempt.idempotencyKey)
      // the JSON decodes back to the same view
      expect(Schema.decodeUnknownSync(PaymentView.PaymentView)(JSON.parse(text))).toEqual(PaymentView.fromPayment(payment))
    }).pipe(Effect.provide(TestLayer)))
})
