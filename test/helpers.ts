import { Effect, Schema } from "effect"
import { AegisPay, EventStore, Payment, PaymentRepository, type PaymentRequest } from "aegispay"
import { TestCards } from "aegispay/testing"

export const card = (number: string = TestCards.success) => ({
  type: "card" as const,
  number,
  expiryMonth: 12,
  expiryYear: 2099,
  cvv: "123",
  holderName: "Ada Lovelace"
})

export const request = (
  overrides: Partial<PaymentRequest.CreatePaymentRequest> = {}
): PaymentRequest.CreatePaymentRequest => ({
  idempotencyKey: "order-1",
  amount: "100.00",
  currency: "USD",
  paymentMethod: card(),
  customer: { id: "cus_1", email: "ada@example.com" },
  metadata: { orderId: "1", nested_ok: true },
  ...overrides
})

export const TestLayer = AegisPay.layerMemory({ ids: "sequential" })

const encode = Schema.encodeSync(Payment.Payment)

/** Checks that the stored snapshot equals the fold of the payment's events. */
export const expectFoldEqualsSnapshot = (paymentId: string) =>
  Effect.gen(function*() {
    const repository = yield* PaymentRepository.PaymentRepository
    const events = yield* EventStore.EventStore
    const stored = yield* repository.findById(paymentId)
    const rebuilt = yield* events.rebuild(paymentId)
    if (stored._tag === "None" || rebuilt._tag === "None") throw new Error("payment missing")
    return { stored: encode(stored.value), rebuilt: encode(rebuilt.value) }
  })
