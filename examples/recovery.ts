/**
 * Recovery, compensation, gateway notifications and manual review, on the memory layers with two
 * mock gateways ("alpha" first, "beta" second).
 *
 * 1. A card whose gateways charge and then answer "500": the payment fails over, then fails; the
 *    recovery worker asks each gateway once and refunds both stray charges.
 * 2. A charge whose answer was lost (timeout after charging): a verified webhook settles it; the
 *    redelivery is a duplicate; an older failure changes nothing.
 * 3. A stray charge whose refund the gateway refuses: a review item for a person, resolved.
 *
 *   npx tsx examples/recovery.ts
 */
import { Console, Effect, Layer, Logger, LogLevel } from "effect"
import { CircuitBreaker, Gateway, GatewayRegistry, ManualReview, Notifications, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"

const layer = Recovery.layer({ stuckAfter: 0 }).pipe(
  Layer.provideMerge(AegisPayTest.layerMemory({
    mockGateways: [{ id: "alpha" }, { id: "beta" }],
    // the demo's errors are few and deliberate: keep the circuits closed so refunds go out at once
    // (a compensation refused by an open circuit stays PENDING for the next recovery run)
    breaker: { ...CircuitBreaker.defaults, failureThreshold: 20 },
    service: { retry: { maxRetries: 1, initialDelayMs: 5, maxDelayMs: 5, backoffMultiplier: 1 } }
  }))
)

const card = (number: string) => ({ type: "card" as const, number, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "R" })

const program = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const recovery = yield* Recovery.Recovery
  const notifications = yield* Notifications.Notifications
  const reviews = yield* ManualReview.ManualReview
  const mocks = yield* MockGateway.MockGateways
  const ledger = (id: string) => Effect.flatMap(Effect.fromNullable(mocks.get(id)), (m) => m.ledger)
  /** The recovery worker's run (stuckAfter 0: everything open is due; 5 ms so "before now" holds). */
  const recover = Effect.zipRight(Effect.sleep("5 millis"), recovery.runOnce)

  // 1. charged, yet failed: compensation
  const p1 = yield* payments.createPayment({
    idempotencyKey: "order-1",
    amount: "25.00",
    currency: "USD",
    paymentMethod: card(TestCards.errorAfterCharge),
    customer: { id: "cus_1", email: "r@example.com" }
  })
  const failed = yield* payments.processPayment(p1.id)
  const charges = (yield* ledger("alpha")).charges.length + (yield* ledger("beta")).charges.length
  yield* Console.log(`1. ${failed.state} after ${failed.attempts.map((a) => a.gateway).join(" → ")}; ledger charges: ${charges}`)
  const report = yield* recover
  const after = yield* payments.getPayment(p1.id)
  yield* Console.log(
    `   recovery: examined ${report.examined}, resolved ${report.resolved}; compensations: ${
      after.compensations.map((c) => `${c.gateway} ${c.operation} ${c.state}`).join(", ")
    }`
  )

  // 2. lost answer settled by a webhook
  const p2 = yield* payments.createPayment({
    idempotencyKey: "order-2",
    amount: "40.00",
    currency: "USD",
    paymentMethod: card(TestCards.timeoutAfterCharge),
    customer: { id: "cus_2", email: "r@example.com" }
  })
  const open = yield* payments.processPayment(p2.id)
  const attempt = open.currentAttempt
  const charge = (yield* ledger("alpha")).charges.find((c) => c.paymentId === p2.id)
  if (attempt === undefined || charge === undefined) return yield* Effect.dieMessage("expected a charge at alpha")
  const webhook = {
    id: "evt_100",
    gateway: "alpha",
    paymentId: p2.id,
    type: "charge.succeeded" as const,
    idempotencyKey: attempt.idempotencyKey,
    transactionId: charge.transactionId,
    verified: true
  }
  const first = yield* notifications.apply(webhook)
  const again = yield* notifications.apply(webhook)
  const older = yield* notifications.apply({ ...webhook, id: "evt_099", type: "charge.failed" })
  yield* Console.log(`2. ${open.state} → webhook: ${first._tag} (${first.payment.state}); redelivery: ${again._tag}; older failure: ${older._tag} (${older.payment.state})`)

  // 3. a refund the gateway refuses: manual review
  const registry = yield* GatewayRegistry.GatewayRegistry
  const alpha = yield* registry.get("alpha")
  yield* registry.register({
    ...alpha,
    refund: () => Effect.fail(new Gateway.GatewayDeclined({ gateway: "alpha", code: "charge_disputed", reason: "the charge is disputed" }))
  })
  const p3 = yield* payments.createPayment({
    idempotencyKey: "order-3",
    amount: "12.00",
    currency: "USD",
    paymentMethod: card(TestCards.errorAfterCharge),
    customer: { id: "cus_3", email: "r@example.com" }
  })
  yield* payments.processPayment(p3.id)
  yield* recover
  const listed = yield* reviews.list()
  for (const { payment, review } of listed.items) {
    yield* Console.log(`3. review ${review.id} on ${payment.id}: ${review.reason}`)
    const resolved = yield* reviews.resolve({
      paymentId: payment.id,
      reviewId: review.id,
      resolution: "refunded",
      note: "refunded by hand after the dispute",
      resolvedBy: "ops@example.com"
    })
    yield* Console.log(`   resolved: ${resolved.compensations.map((c) => `${c.gateway} ${c.state}`).join(", ")}`)
  }
  yield* Console.log(`   open review items left: ${(yield* reviews.list()).items.length}`)
})

void Effect.runPromise(program.pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Error)))
