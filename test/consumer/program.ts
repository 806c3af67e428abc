/** The payment flow both consumer programs run: create, process, refund; fails unless SUCCESS. */
import { Effect } from "effect"
import { PaymentService } from "aegispay"

export const program = (label: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const created = yield* payments.createPayment({
      idempotencyKey: `consumer-${label}`,
      amount: "10.05",
      currency: "USD",
      paymentMethod: {
        type: "card",
        number: "4242424242424242",
        expiryMonth: 12,
        expiryYear: 2030,
        cvv: "123",
        holderName: "Consumer Test"
      },
      customer: { id: "cus_consumer", email: "consumer@example.com" }
    })
    const done = yield* payments.processPayment(created.id)
    if (done.state !== "SUCCESS") return yield* Effect.dieMessage(`expected SUCCESS, got ${done.state}`)
    yield* payments.refundPayment({ paymentId: done.id, idempotencyKey: `refund-${label}`, amount: "0.05" })
    return done
  })
