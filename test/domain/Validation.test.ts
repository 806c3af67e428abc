import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema, TestClock } from "effect"
import { EventStore, Payment, PaymentEvent, PaymentMethod, PaymentRequest, PaymentService } from "aegispay"
import { TestCards } from "aegispay/testing"
import { card, request, TestLayer } from "../helpers.js"

const decode = (input: unknown) => PaymentRequest.decode(PaymentRequest.CreatePaymentRequest, input)
const issue = (input: unknown) => {
  const result = decode(input)
  if (Either.isRight(result)) throw new Error("expected a validation error")
  return result.left
}

describe("request validation", () => {
  it("checks the card number with Luhn and never echoes it", () => {
    expect(PaymentMethod.luhn("4242424242424242")).toBe(true)
    expect(PaymentMethod.luhn("4242424242424241")).toBe(false)
    const error = issue(request({ paymentMethod: card("4242424242424241") }))
    expect(error.path).toBe("paymentMethod.number")
    expect(error.message).toContain("Luhn")
    expect(JSON.stringify(error)).not.toContain("424242424242424")
    const typed = issue({ ...request(), paymentMethod: { ...card(), number: 4242424242424242 } })
    expect(typed.path).toBe("paymentMethod.number")
    expect(typed.message).not.toContain("4242")
    expect(issue(request({ paymentMethod: card("4242") })).path).toBe("paymentMethod.number")
    // wherever the card data sits in a malformed request, it is never echoed
    const malformed: ReadonlyArray<unknown> = [
      { ...request(), paymentMethod: `${card().number}|${card().cvv}` },
      { ...request(), paymentMethod: [card()] },
      { ...request(), paymentMethod: { ...card(), cvv: 987 } },
      { ...request(), description: 4242424242424242 },
      { ...request(), metadata: { card: { pan: card().number, cvv: "987" } } },
      [request()]
    ]
    for (const input of malformed) {
      const text = JSON.stringify(issue(input))
      expect(text).not.toContain("4242424242")
      expect(text).not.toContain("987")
    }
  })

  it("accepts spaced card numbers and detects brands", () => {
    expect(Either.isRight(decode(request({ paymentMethod: card("4242 4242 4242 4242") })))).toBe(true)
    expect(PaymentMethod.brandOf("4242424242424242")).toBe("visa")
    expect(PaymentMethod.brandOf("5555555555554444")).toBe("mastercard")
    expect(PaymentMethod.brandOf("378282246310005")).toBe("amex")
  })

  it("requires a 3 or 4 digit CVV and a holder name", () => {
    for (const cvv of ["12", "12345", "abc"]) {
      const error = issue(request({ paymentMethod: { ...card(), cvv } }))
      expect(error.path).toBe("paymentMethod.cvv")
      expect(error.message).not.toContain(cvv)
    }
    expect(Either.isRight(decode(request({ paymentMethod: { ...card(), cvv: "1234" } })))).toBe(true)
    expect(issue(request({ paymentMethod: { ...card(), holderName: "  " } })).path).toBe("paymentMethod.holderName")
    expect(issue(request({ paymentMethod: { ...card(), expiryMonth: 13 } })).path).toBe("paymentMethod.expiryMonth")
  })

  it("requires a valid customer email", () => {
    for (const email of ["nope", "a@b", "a b@example.com", "@example.com"]) {
      expect(issue(request({ customer: { id: "c", email } })).path).toBe("customer.email")
    }
  })

  it("rejects metadata that breaks the rules, naming the key", () => {
    expect(issue(request({ metadata: { "order id": "1" } })).message).toContain("order id")
    expect(issue(request({ metadata: { ["k".repeat(129)]: "1" } })).message).toContain("1 to 128")
    expect(issue(request({ metadata: { note: "x".repeat(1001) } })).message).toContain("1000")
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]))
    expect(issue(request({ metadata: tooMany })).message).toContain("at most 50")
    const nested: unknown = { ...request(), metadata: { a: { b: 1 } } }
    expect(issue(nested).path).toContain("metadata")
    expect(Either.isRight(decode(request({ metadata: { a: "x".repeat(1000), b: 1.5, c: false, ["k".repeat(128)]: 1 } }))))
      .toBe(true)
  })

  it.effect("rejects an expired card by the Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2030, 5, 15))
      const payments = yield* PaymentService.PaymentService
      const expired = yield* Effect.flip(payments.createPayment(request({
        paymentMethod: { ...card(), expiryMonth: 5, expiryYear: 2030 }
      })))
      expect(expired._tag).toBe("ValidationError")
      const stillValid = yield* payments.createPayment(request({
        idempotencyKey: "order-2",
        paymentMethod: { ...card(), expiryMonth: 6, expiryYear: 2030 }
      }))
      expect(stillValid.state).toBe("INITIATED")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("rejects amounts that are not positive or not exact, with a typed error", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      for (const [amount, currency] of [["1.005", "USD"], [1.005, "USD"], ["0", "USD"], ["-5", "USD"], ["1.5", "JPY"]] as const) {
        const error = yield* Effect.flip(payments.createPayment(request({ amount, currency })))
        expect(error._tag).toBe("ValidationError")
      }
      const unknownCurrency = yield* Effect.flip(payments.createPayment(request({ currency: "XYZ" })))
      expect(unknownCurrency._tag === "ValidationError" && unknownCurrency.path).toBe("currency")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("keeps only a token of the card: no card number or CVV in the payment or its events", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const payment = yield* payments.createPayment(request({
        paymentMethod: { ...card(TestCards.success), cvv: "987" }
      }))
      yield* payments.processPayment(payment.id)
      yield* payments.refundPayment({ paymentId: payment.id, idempotencyKey: "r1", amount: "1.00" })
      const stored = yield* payments.getPayment(payment.id)
      const events = yield* (yield* EventStore.EventStore).read(payment.id)
      expect(stored.paymentMethod).toMatchObject({ type: "card", last4: "4242", brand: "visa" })
      const encoded = [
        JSON.stringify(Schema.encodeSync(Payment.Payment)(stored)),
        JSON.stringify(Schema.encodeSync(Schema.Array(PaymentEvent.PaymentEvent))(events)),
        String(stored),
        String(events)
      ]
      for (const text of encoded) {
        expect(text).not.toContain(TestCards.success)
        expect(text).not.toContain("424242424242")
        expect(text).not.toContain("987")
      }
    }).pipe(Effect.provide(TestLayer)))
})
