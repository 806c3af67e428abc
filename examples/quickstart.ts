/**
 * Quick start: create, process, capture and refund a handful of payments on the embedded
 * PostgreSQL (PGlite, in process, no server), including a decline, an idempotent repeat and a
 * gateway timeout after the charge.
 *
 *   npm run demo              # the demo's table
 *   npm run demo -- --logs    # with AegisPay's own log lines (one per operation, docs/OPERATIONS.md)
 */
import { Console, Effect, Logger, LogLevel } from "effect"
import { type Payment, PaymentService } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"

const card = (number: string) => ({
  type: "card" as const,
  number,
  expiryMonth: 12,
  expiryYear: 2099,
  cvv: "123",
  holderName: "Ada Lovelace"
})
const customer = { id: "cus_ada", email: "ada@example.com", name: "Ada Lovelace" }

const program = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const line = (label: string, p: Payment.Payment) =>
    Console.log(`${label.padEnd(34)} ${p.id}  ${p.amount.toString().padStart(12)}  captured ${p.capturedAmount.toString().padStart(12)}  ${p.state}${p.failureReason ? `  (${p.failureReason})` : ""}`)

  // 1. A card payment, charged at once.
  const order = {
    idempotencyKey: "order-1001",
    amount: "49.99",
    currency: "USD",
    paymentMethod: card(TestCards.success),
    customer,
    metadata: { orderId: "1001", channel: "web" }
  }
  const order1 = yield* payments.createPayment(order)
  yield* line("order-1001 processed", yield* payments.processPayment(order1.id))

  // 2. The same request again (a client retry): the same payment, no second charge.
  const again = yield* payments.createPayment(order)
  yield* Console.log(`order-1001 repeated                 same payment: ${again.id === order1.id}`)

  // 3. The same key with a different amount is refused.
  const reused = yield* payments.createPayment({ ...order, amount: "59.99" }).pipe(Effect.flip)
  yield* Console.log(`order-1001 with another amount      ${reused._tag}`)

  // 4. A decline.
  const declined = yield* payments.createPayment({
    idempotencyKey: "order-1002",
    amount: "120.00",
    currency: "EUR",
    paymentMethod: card(TestCards.insufficientFunds),
    customer
  })
  yield* line("order-1002 processed", yield* payments.processPayment(declined.id))

  // 5. Manual capture in yen: authorize 5,000, capture 4,200.
  const hotel = yield* payments.createPayment({
    idempotencyKey: "booking-77",
    amount: 5000,
    currency: "JPY",
    captureMethod: "manual",
    paymentMethod: card(TestCards.successMastercard),
    customer
  })
  yield* line("booking-77 authorized", yield* payments.processPayment(hotel.id))
  yield* line("booking-77 captured 4200", yield* payments.capturePayment({ paymentId: hotel.id, amount: "4200" }))

  // 6. Two partial refunds of order-1001, then one too many.
  yield* payments.refundPayment({ paymentId: order1.id, idempotencyKey: "rf-1", amount: "10.00" })
  yield* payments.refundPayment({ paymentId: order1.id, idempotencyKey: "rf-2", amount: "20.00" })
  const tooMuch = yield* payments.refundPayment({ paymentId: order1.id, idempotencyKey: "rf-3", amount: "30.00" })
    .pipe(Effect.flip)
  const refunded = yield* payments.getPayment(order1.id)
  yield* Console.log(`order-1001 refunded                 ${refunded.refundedAmount} of ${refunded.capturedAmount}; third refund: ${tooMuch._tag}`)

  // 7. The gateway times out after charging: the payment stays PROCESSING, then reconciles.
  const slow = yield* payments.createPayment({
    idempotencyKey: "order-1003",
    amount: "15.00",
    currency: "GBP",
    paymentMethod: card(TestCards.timeoutAfterCharge),
    customer
  })
  yield* line("order-1003 timed out", yield* payments.processPayment(slow.id))
  yield* line("order-1003 reconciled", yield* payments.processPayment(slow.id))

  // 8. An amount the currency cannot hold is refused, not rounded.
  const bad = yield* payments.createPayment({
    idempotencyKey: "order-1004",
    amount: 1.005,
    currency: "USD",
    paymentMethod: card(TestCards.success),
    customer
  }).pipe(Effect.flip)
  yield* Console.log(`1.005 USD                           ${bad._tag}: ${bad.message}`)

  const ledger = yield* (yield* MockGateway.MockGateway).ledger
  const page = yield* payments.getCustomerPayments({ customerId: customer.id })
  yield* Console.log(`customer ${customer.id} has ${page.items.length} payments; the gateway ledger holds ${ledger.charges.length} charges and ${ledger.refunds.length} refunds`)
})

// AegisPay writes one line per payment operation (Info; Warning for a typed error) through the
// application's logger. The demo prints its own table, so it shows those lines only with --logs.
const logLevel = process.argv.includes("--logs") ? LogLevel.Info : LogLevel.None

program.pipe(
  Effect.provide(AegisPayEmbedded.layer({ ...AegisPayTest.parts(), ids: "sequential" })),
  Logger.withMinimumLogLevel(logLevel),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
