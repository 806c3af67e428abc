/**
 * PayPal Checkout with the PayPal adapter: an order, the buyer's approval, the capture, a
 * partial refund, and a webhook verified by PayPal.
 *
 *   npx tsx examples/paypal.ts
 *
 * Offline (the default, what CI runs): against FakePayPal, an in-process fake of PayPal's REST
 * API on a loopback port; the buyer's approval is simulated.
 *
 * Sandbox: set PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET (a sandbox REST app, Developer
 * Dashboard → Apps & Credentials). The example creates an order and prints its approval link:
 * open it, log in with a sandbox buyer account, approve, then run again with
 * PAYPAL_ORDER_ID=<the order id> to capture it and refund 1.00.
 */
import { FetchHttpClient } from "@effect/platform"
import { Config, Console, Effect, Option, Redacted } from "effect"
import { Money, PaymentMethod } from "aegispay"
import type { Gateway } from "aegispay"
import { PayPal } from "aegispay/gateways"
import { FakePayPal } from "aegispay/testing/fakes"
import { randomUUID } from "node:crypto"

const request: Gateway.ProcessRequest = {
  paymentId: "pay_example_1",
  idempotencyKey: `pay_example_1_att_${randomUUID()}`,
  amount: Money.fromMinor("USD", 2500n),
  paymentMethod: new PaymentMethod.CheckoutMethod({ type: "checkout", gateway: "paypal" }),
  capture: true,
  description: "AegisPay example order",
  checkout: {
    returnUrl: "https://example.com/paypal/return",
    cancelUrl: "https://example.com/paypal/cancel",
    lineItems: [{ quantity: 1, description: "Example item", price: Money.fromMinor("USD", 2500n) }]
  }
}

/** Capture an approved order and refund part of it. */
const finish = (gateway: Gateway.Gateway, reference: string) =>
  Effect.gen(function*() {
    const charged = yield* gateway.customerAction!.complete({
      paymentId: request.paymentId,
      idempotencyKey: request.idempotencyKey,
      reference,
      amount: request.amount,
      capture: true,
      params: { token: reference }
    })
    yield* Console.log(`complete → ${JSON.stringify(charged)}`)
    if (charged.status !== "succeeded") return undefined
    const refund = yield* gateway.refund({ transactionId: charged.transactionId, idempotencyKey: `${request.idempotencyKey}_refund_1`, amount: Money.fromMinor("USD", 100n) })
    yield* Console.log(`refunded 1.00 USD → ${refund.refundId}`)
    return charged.transactionId
  })

const offline = Effect.gen(function*() {
  yield* Console.log("PayPal example against FakePayPal (offline)")
  const fake = yield* FakePayPal.make()
  const gateway = yield* PayPal.make({
    clientId: Redacted.make(fake.clientId),
    clientSecret: Redacted.make(fake.clientSecret),
    webhookId: fake.webhookId,
    environment: "sandbox",
    apiBase: fake.url
  })
  const { reference } = yield* gateway.initiate(request)
  const waiting = yield* gateway.process({ ...request, reference })
  yield* Console.log(`process → ${JSON.stringify(waiting)}`)
  // the buyer approves on PayPal's page and is sent back to the return URL
  yield* fake.approve(reference)
  const captureId = yield* finish(gateway, reference)
  if (captureId === undefined) return yield* Effect.dieMessage("not captured")
  const hook = yield* fake.webhook("PAYMENT.CAPTURE.COMPLETED", yield* fake.resource("capture", captureId))
  const notifications = yield* gateway.webhooks!.parse(hook)
  yield* Console.log(`webhook → ${JSON.stringify(notifications)}`)
  const status = yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })
  yield* Console.log(`status → ${JSON.stringify(status)}`)
  if (status.status !== "succeeded") return yield* Effect.dieMessage("unexpected status")
}).pipe(Effect.scoped)

const sandbox = (clientId: Redacted.Redacted<string>, clientSecret: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const gateway = yield* PayPal.make({ clientId, clientSecret, environment: "sandbox" })
    const orderId = yield* Config.option(Config.string("PAYPAL_ORDER_ID"))
    if (Option.isSome(orderId)) {
      yield* finish(gateway, orderId.value)
      return
    }
    const { reference } = yield* gateway.initiate(request)
    const waiting = yield* gateway.process({ ...request, reference })
    if (waiting.status === "action_required" && waiting.action.type === "redirect") {
      yield* Console.log(`Approve the order as a sandbox buyer: ${waiting.action.url}`)
      yield* Console.log(`Then run: PAYPAL_ORDER_ID=${reference} npx tsx examples/paypal.ts`)
    }
  })

const program = Effect.gen(function*() {
  const clientId = yield* Config.option(Config.redacted("PAYPAL_CLIENT_ID"))
  const clientSecret = yield* Config.option(Config.redacted("PAYPAL_CLIENT_SECRET"))
  if (Option.isSome(clientId) && Option.isSome(clientSecret)) return yield* sandbox(clientId.value, clientSecret.value)
  return yield* offline
})

Effect.runPromise(program.pipe(Effect.provide(FetchHttpClient.layer))).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
