/**
 * Consumer check 3: the Promise facade from a program that imports nothing from Effect, in
 * production mode with its keys from the environment (AEGISPAY_KEK, AEGISPAY_KEK_ID,
 * AEGISPAY_FINGERPRINT_KEY), on the embedded database, with its own Promise gateway.
 */
import { AegisPay, InvalidAmountError, type PaymentGateway } from "aegispay/facade"

const charges = new Map<string, string>()
const inHouse: PaymentGateway = {
  capabilities: { currencies: ["USD", "EUR"] },
  async process(request) {
    const id = charges.get(request.idempotencyKey) ?? `txn_${charges.size + 1}`
    charges.set(request.idempotencyKey, id)
    return { status: "succeeded", transactionId: id }
  },
  async refund(request) {
    return { refundId: `re_${request.idempotencyKey}` }
  },
  async getStatus(request) {
    const id = charges.get(request.idempotencyKey)
    return id === undefined ? { status: "not_found" } : { status: "succeeded", transactionId: id }
  }
}

const aegisPay = new AegisPay({ mode: "production", routing: { strategy: "HIGHEST_SUCCESS_RATE" } })
try {
  await aegisPay.registerGateway("inhouse", inHouse)
  const payment = await aegisPay.createPayment({
    idempotencyKey: `facade-${process.pid}`,
    amount: "12.34",
    currency: "EUR",
    paymentMethod: { type: "card", number: "4242424242424242", expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Ada" },
    customer: { id: "cus_consumer", email: "ada@example.com" }
  })
  const done = await aegisPay.processPayment({ paymentId: payment.id })
  if (done.state !== "SUCCESS" || done.capturedAmount.minor !== 1234n) throw new Error(`unexpected ${done.state} ${done.capturedAmount.amount}`)
  const refused = await aegisPay.capturePayment({ paymentId: payment.id, amount: { minor: 0.5 } }).catch((e: unknown) => e)
  if (!(refused instanceof InvalidAmountError)) throw new Error("a fractional minor amount was not refused")
  console.log(`consumer facade: ${done.id} ${done.state} ${done.capturedAmount.amount} ${done.capturedAmount.currency}`)
} finally {
  await aegisPay.close()
}
