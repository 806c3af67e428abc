import { Effect, Schema } from "effect"
import { EventStore, type Gateway, Payment, PaymentRepository, type PaymentRequest } from "aegispay"
import { AegisPayTest, TestCards } from "aegispay/testing"

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

export const TestLayer = AegisPayTest.layerMemory({ ids: "sequential" })

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

/** A gateway that supports everything and must never be called: for ranking tests and simulations. */
export const stubGateway = (id: string): Gateway.Gateway => ({
  id,
  capabilities: { currencies: "all", manualCapture: true },
  initiate: () => Effect.dieMessage(`${id}: not called`),
  authenticate: () => Effect.dieMessage(`${id}: not called`),
  process: () => Effect.dieMessage(`${id}: not called`),
  capture: () => Effect.dieMessage(`${id}: not called`),
  void: () => Effect.dieMessage(`${id}: not called`),
  refund: () => Effect.dieMessage(`${id}: not called`),
  getStatus: () => Effect.dieMessage(`${id}: not called`),
  healthCheck: Effect.succeed({ healthy: true, latencyMillis: 0 })
})
