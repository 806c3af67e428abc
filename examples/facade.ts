/**
 * The seed's quick start on the Promise facade (`aegispay/facade`), for programs that do not
 * write Effect. Changes from the seed, each required by exactness or safety:
 * - `amount: "100.00"` (a decimal string; `{ minor: 10000n }` also works) instead of the float
 *   `100.0`: floats are refused with `InvalidAmountError` (shown below);
 * - `await` on `registerGateway` (it is asynchronous: awaiting it surfaces bad credentials);
 * - the card expires in 2030 (the seed's 2025 card is expired);
 * - the mock gateway is the test kit's (development mode only), and the vault keys are generated
 *   in memory with a loud warning because none were given (production mode refuses that);
 * - `close()` at the end releases the database and the workers.
 *
 *   npx tsx examples/facade.ts
 */
import {
  AegisPay,
  GatewayType,
  InvalidAmountError,
  PaymentNotFoundError,
  PaymentState,
  RoutingStrategy
} from "aegispay/facade"

// 1. Initialize SDK (development mode: the embedded database in memory)
const aegisPay = new AegisPay({
  mode: "development",
  routing: {
    strategy: RoutingStrategy.HIGHEST_SUCCESS_RATE
  },
  retry: {
    maxRetries: 3,
    initialDelayMs: 1000
  }
})

// Subscribe to payment lifecycle events
aegisPay.on("PaymentSucceeded", (event) => {
  console.log(`event: payment ${event.paymentId} succeeded (${event.eventId})`)
})

try {
  // 2. Register payment gateways
  await aegisPay.registerGateway(GatewayType.MOCK, {
    apiKey: "your_api_key",
    apiSecret: "your_api_secret"
  })

  // 3. Create a payment (idempotent)
  const request = {
    idempotencyKey: "order_123_payment",
    amount: "100.00",
    currency: "USD",
    paymentMethod: {
      type: "card",
      number: "4242424242424242",
      expiryMonth: 12,
      expiryYear: 2030,
      cvv: "123",
      holderName: "John Doe"
    },
    customer: {
      id: "cust_123",
      email: "john.doe@example.com",
      name: "John Doe"
    }
  } as const
  const payment = await aegisPay.createPayment(request)

  // 4. Process the payment
  const result = await aegisPay.processPayment({
    paymentId: payment.id
  })

  // 5. Check result
  if (result.state === PaymentState.SUCCESS) {
    console.log(`Payment successful! ${result.capturedAmount.amount} ${result.capturedAmount.currency} via ${result.gateway}`)
  } else {
    console.log("Payment failed:", result.failureReason)
  }

  // Idempotency: the same request again is the same payment, no second charge
  const samePayment = await aegisPay.createPayment(request)
  console.log(`same payment for the same key: ${samePayment.id === payment.id}`)

  // Exactness: a float is refused, not rounded
  await aegisPay.createPayment({ ...request, idempotencyKey: "order_124_payment", amount: 100.1 as unknown as string })
    .catch((error: unknown) => {
      if (error instanceof InvalidAmountError) console.log(`float refused: ${error.code}`)
      else throw error
    })

  // A partial refund, with an exact amount in minor units
  const refund = await aegisPay.refundPayment({ paymentId: payment.id, idempotencyKey: "refund_1", amount: { minor: 2500n } })
  console.log(`refund ${refund.state}: ${refund.amount.amount} ${refund.amount.currency}`)

  // Typed errors: instanceof and code
  await aegisPay.getPayment("pay_missing").catch((error: unknown) => {
    if (error instanceof PaymentNotFoundError) console.log(`${error.code}: ${error.paymentId}`)
    else throw error
  })

  const health = await aegisPay.getHealthSummary()
  console.log(`gateway health: ${health.map((h) => `${h.gateway} ${h.circuit} score ${h.score.toFixed(2)}`).join(", ")}`)
} finally {
  await aegisPay.close()
}
