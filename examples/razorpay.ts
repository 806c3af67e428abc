/**
 * Razorpay: an order per attempt, Razorpay Checkout as the customer action, the checkout
 * signature verified on return, refunds with Razorpay's idempotency header, signed webhooks.
 *
 * Offline (CI): against FakeRazorpay on a loopback port, the customer "pays" in the fake.
 *
 *   npx tsx examples/razorpay.ts
 *
 * Test mode: with a Razorpay test key pair set, the example creates a real test-mode order and
 * prints the parameters your page opens Razorpay Checkout with; pay it in the browser with a
 * Razorpay test card, then run again with the values Checkout handed the page to settle it.
 *
 *   RAZORPAY_KEY_ID=rzp_test_… RAZORPAY_KEY_SECRET=… npx tsx examples/razorpay.ts
 *   RAZORPAY_KEY_ID=… RAZORPAY_KEY_SECRET=… RAZORPAY_ORDER_ID=order_… \
 *     RAZORPAY_PAYMENT_ID=pay_… RAZORPAY_SIGNATURE=… npx tsx examples/razorpay.ts
 */
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import type { Scope } from "effect"
import { Config, Console, Effect, Option } from "effect"
import type { Gateway } from "aegispay"
import { Money } from "aegispay"
import { Razorpay } from "aegispay/gateways"
import { FakeRazorpay } from "aegispay/testing/fakes"

const attempt = (key: string) => ({
  paymentId: "pay_demo_1",
  idempotencyKey: key,
  amount: Money.fromMinor("INR", 49_900n), // ₹499.00, exact in paise
  paymentMethod: { type: "checkout" as const },
  capture: true,
  description: "Order 1001",
  checkout: { returnUrl: "https://shop.example/razorpay/return", customParams: { orderId: "1001" } }
})

const complete = (gateway: Gateway.Gateway, key: string, reference: string, params: Readonly<Record<string, string>>) =>
  gateway.customerAction!.complete({
    paymentId: "pay_demo_1",
    idempotencyKey: key,
    reference,
    amount: attempt(key).amount,
    capture: true,
    params
  })

/** Against the fake: the whole flow, offline. */
const offline = Effect.gen(function*() {
  const fake = yield* FakeRazorpay.make()
  const gateway = yield* Razorpay.make({
    keyId: fake.keyId,
    keySecret: fake.keySecret,
    webhookSecret: fake.webhookSecret,
    apiBase: fake.url,
    merchantName: "Acme"
  })
  const key = "pay_demo_1_att_1"
  const { reference } = yield* gateway.initiate(attempt(key))
  const action = yield* gateway.process({ ...attempt(key), reference })
  yield* Console.log(`process: ${action.status}`, action.status === "action_required" ? action.action : "")

  // the customer pays in Checkout; Checkout hands the page these three values
  const returned = yield* fake.pay(reference)
  const forged = yield* Effect.flip(complete(gateway, key, reference, { ...returned, razorpay_signature: "f".repeat(64) }))
  yield* Console.log(`forged return: ${forged._tag} (nothing changed)`)
  const charged = yield* complete(gateway, key, reference, returned)
  yield* Console.log(`complete: ${charged.status} ${charged.status === "succeeded" ? charged.transactionId : ""}`)

  const refund = { transactionId: returned.razorpay_payment_id, idempotencyKey: "pay_demo_1_re_1", amount: Money.fromMinor("INR", 10_000n) }
  const first = yield* gateway.refund(refund)
  const again = yield* gateway.refund(refund) // a resend: Razorpay answers the same refund
  yield* Console.log(`refund: ${first.refundId}, resent: ${again.refundId}`)

  const hook = yield* fake.webhook("payment.captured", { paymentId: returned.razorpay_payment_id })
  const notifications = yield* gateway.webhooks!.parse(hook)
  yield* Console.log("webhook:", notifications.map((n) => `${n.type} ${n.paymentId} (event ${n.id})`))
})

/** Against Razorpay's test mode, with the keys from the environment. */
const testMode = Effect.gen(function*() {
  const gateway = yield* Razorpay.fromConfig({ merchantName: "AegisPay example" })
  const orderId = yield* Config.option(Config.string("RAZORPAY_ORDER_ID"))
  if (Option.isNone(orderId)) {
    const key = `demo_${(yield* Effect.clockWith((clock) => clock.currentTimeMillis)).toString(36)}`
    const { reference } = yield* gateway.initiate(attempt(key))
    const action = yield* gateway.process({ ...attempt(key), reference })
    yield* Console.log(`order ${reference} (idempotency key ${key}); open Razorpay Checkout with:`)
    yield* Console.log(action.status === "action_required" ? action.action : action)
    return
  }
  const params = yield* Config.all({
    razorpay_payment_id: Config.string("RAZORPAY_PAYMENT_ID"),
    razorpay_signature: Config.string("RAZORPAY_SIGNATURE")
  })
  const status = yield* gateway.getStatus({ idempotencyKey: "", reference: orderId.value })
  yield* Console.log(`status of ${orderId.value}: ${status.status}`)
  const order = yield* complete(gateway, "", orderId.value, { ...params, razorpay_order_id: orderId.value })
  yield* Console.log(`complete: ${JSON.stringify(order)}`)
})

const live = Option.isSome(Option.fromNullable(process.env.RAZORPAY_KEY_ID)) && process.env.RAZORPAY_KEY_SECRET !== undefined

const program: Effect.Effect<void, unknown, HttpClient.HttpClient | Scope.Scope> = live ? testMode : offline

program.pipe(
  Effect.scoped,
  Effect.provide(NodeHttpClient.layer),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
