/**
 * Gateway tokens, the PCI-light mode: the customer's browser gives the card to the provider's SDK
 * (Stripe.js, say), which returns a token (`pm_…`); the server pays with
 * `{ type: "gateway_token", gateway, token }`. No card number touches AegisPay, the card vault
 * is never used, and the payment is pinned to the token's gateway: when that gateway fails, the
 * payment fails, it is never sent to another gateway (where the token means nothing).
 *
 *   npx tsx examples/gateway-token.ts
 */
import { Console, Effect } from "effect"
import { PaymentService, PaymentView } from "aegispay"
import { AegisPayTest, MockGateway, TestTokens } from "aegispay/testing"

const order = (n: number, token: string) => ({
  idempotencyKey: `order-${n}`,
  amount: "25.00",
  currency: "EUR",
  // what the browser SDK of the provider registered as "stripe" returned
  paymentMethod: { type: "gateway_token" as const, gateway: "stripe", token },
  customer: { id: "cus_ada", email: "ada@example.com" }
})

const program = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const mocks = yield* MockGateway.MockGateways
  const pay = (n: number, token: string) =>
    Effect.flatMap(payments.createPayment(order(n, token)), (p) => payments.processPayment(p.id)).pipe(
      Effect.tap((p) =>
        Console.log(`order-${n}: ${p.state}${p.declineCode === undefined ? "" : ` (${p.declineCode})`} via ${
          p.attempts.map((a) => a.gateway).join(" -> ")
        }`)
      )
    )

  const paid = yield* pay(1, TestTokens.success)
  // the public view names the gateway, never the token
  yield* Console.log(`view: ${JSON.stringify(PaymentView.toJson(paid).paymentMethod)}`)
  yield* pay(2, TestTokens.declined) // failover on card_declined is configured, yet nothing goes to "adyen"

  yield* Console.log("stripe goes down (charges fail with 503); adyen is healthy:")
  yield* mocks.get("stripe")!.setAvailable(false, ["initiate", "process"])
  yield* pay(3, TestTokens.success) // FAILURE at stripe: a card would fail over, a stripe token cannot

  // a card number sent as a token is refused, and not echoed
  const refused = yield* Effect.flip(payments.createPayment(order(4, "4242424242424242")))
  yield* Console.log(`a card number as a token: ${refused._tag} at ${refused._tag === "ValidationError" ? refused.path : ""}`)

  const ledgers = yield* Effect.forEach([...mocks.values()], (m) =>
    Effect.map(m.ledger, (l) => `${m.gateway.id}: ${l.charges.length} charge(s)`))
  yield* Console.log(`ledgers: ${ledgers.join(", ")}`)
})

program.pipe(
  Effect.scoped,
  Effect.provide(AegisPayTest.layerMemory({
    ids: "sequential",
    mockGateways: [{ id: "adyen" }, { id: "stripe" }],
    service: {
      failoverDeclineCodes: ["card_declined"],
      retry: { maxRetries: 1, initialDelayMs: 50, maxDelayMs: 50, backoffMultiplier: 1 }
    }
  })),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
