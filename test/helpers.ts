import { DateTime, Effect, Either, Schema, TestClock } from "effect"
import {
  Customer,
  EventStore,
  type Gateway,
  Money,
  Payment,
  PaymentMethod,
  PaymentRepository,
  type PaymentRequest,
  PaymentService,
  Tenant
} from "aegispay"
import { AegisPayTest, TestCards } from "aegispay/testing"

/** A vaulted card, as a payment holds it. */
export const cardToken = new PaymentMethod.CardToken({
  type: "card",
  brand: "visa",
  bin: "424242",
  last4: "4242",
  expiryMonth: 12,
  expiryYear: 2099,
  holderName: "Ada",
  fingerprint: "fp",
  vaultToken: "card_x"
})

/** The decision that initiates payment `id` of `tenantId` (1.00 USD, the card above), to insert. */
export const initiated = (id: string, tenantId: string = Tenant.defaultId) =>
  Payment.initiate({
    id,
    tenantId,
    idempotencyKey: id,
    requestFingerprint: "f",
    amount: Money.fromMinor("USD", 100n),
    captureMethod: "automatic",
    paymentMethod: cardToken,
    customer: new Customer.Customer({ id: "c", email: Schema.decodeSync(Customer.Email)("a@example.com") }),
    metadata: {}
  }, DateTime.unsafeMake(0))

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

/** A process that crashed right after committing the attempt: PROCESSING, the gateway never called. */
export const crashedAfterAttemptCommit = (key: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const repository = yield* PaymentRepository.PaymentRepository
    const p = yield* payments.createPayment(request({ idempotencyKey: key }))
    const at = DateTime.unsafeMake(yield* TestClock.currentTimeMillis)
    const decision = Either.getOrThrow(Either.flatMap(Payment.authenticate(p, "mock", at), (first) =>
      Payment.andThen(first, (current) =>
        Payment.startAttempt(current, { id: `att_${key}`, gateway: "mock", idempotencyKey: `${p.id}_att_${key}` }, at))))
    yield* repository.update(decision, p.version)
    return decision.payment
  })
