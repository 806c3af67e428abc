/**
 * Stripe: payments with Stripe.js tokens (`pm_…`) through AegisPay's Stripe adapter.
 *
 * By default it runs offline against the in-process fake Stripe (what CI runs): a charge and a
 * partial refund, a manual capture, a decline, 3-D Secure finished by the customer, and 30
 * payments under injected faults (saved 5xx, timeouts and resets after Stripe applied the
 * request) that all settle with at most one charge each.
 *
 * With `STRIPE_SECRET_KEY=sk_test_…` set it runs the first part against Stripe's test mode
 * instead (Stripe's test tokens `pm_card_visa`, `pm_card_chargeDeclinedInsufficientFunds`; not run
 * in CI). `STRIPE_WEBHOOK_SECRET` and `STRIPE_API_BASE` are read too (see docs/gateways/STRIPE.md).
 *
 *   npx tsx examples/stripe.ts
 *   STRIPE_SECRET_KEY=sk_test_… npx tsx examples/stripe.ts
 */
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Clock, Config, Console, Effect, Option, Random, Redacted } from "effect"
import { AegisPay, GatewayRegistry, PaymentLock, PaymentService, Recovery } from "aegispay"
import { Stripe } from "aegispay/gateways"
import { AegisPayTest, MemoryStorage } from "aegispay/testing"
import { FakeStripe } from "aegispay/testing/fakes"

const compose = <E>(gateway: Effect.Effect<Stripe.StripeGateway, E, HttpClient.HttpClient>) =>
  AegisPay.layerWith({
    gateways: GatewayRegistry.layerFrom([gateway]),
    storage: MemoryStorage.layer,
    locks: PaymentLock.layerMemory,
    vault: AegisPayTest.layerVault
  }, {
    service: { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5, backoffMultiplier: 2 } },
    // the chaos part injects many faults on purpose: keep the breaker from opening on them
    breaker: { failureThreshold: 1000, monitorWindow: "60 seconds", resetTimeout: "1 second", halfOpenMaxCalls: 1, successThreshold: 1 }
  })

const token = (pm: string) => ({ type: "gateway_token" as const, gateway: "stripe", token: pm })
const order = (key: string, pm: string, captureMethod: "automatic" | "manual" = "automatic") => ({
  idempotencyKey: key,
  amount: "24.99",
  currency: "USD",
  paymentMethod: token(pm),
  captureMethod,
  customer: { id: "cus_ada", email: "ada@example.com" }
})

/** The same program against the fake or against Stripe's test mode. */
const basics = (run: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const paid = yield* payments.processPayment((yield* payments.createPayment(order(`${run}-1`, "pm_card_visa"))).id)
    yield* Console.log(`charged:    ${paid.id} ${paid.state} (PaymentIntent ${paid.gatewayTransactionId})`)
    const refund = yield* payments.refundPayment({ paymentId: paid.id, idempotencyKey: `${run}-refund-1`, amount: "4.99" })
    yield* Console.log(`refunded:   4.99 USD ${refund.state} (${refund.gatewayRefundId})`)
    const held = yield* payments.processPayment((yield* payments.createPayment(order(`${run}-2`, "pm_card_visa", "manual"))).id)
    const captured = yield* payments.capturePayment({ paymentId: held.id, amount: "20.00" })
    yield* Console.log(`captured:   ${held.state} → ${captured.state}, 20.00 of 24.99`)
    const declined = yield* payments.processPayment((yield* payments.createPayment(order(`${run}-3`, "pm_card_chargeDeclinedInsufficientFunds"))).id)
    yield* Console.log(`declined:   ${declined.state} (${declined.declineCode})`)
  })

const offline = Effect.gen(function*() {
  const { fake, url } = yield* FakeStripe.serve()
  const gateway = Stripe.make({
    secretKey: Redacted.make(fake.secretKey),
    webhookSecret: Redacted.make(fake.webhookSecret),
    apiBase: url,
    timeout: "250 millis"
  })
  yield* Effect.gen(function*() {
    yield* basics("offline")
    const payments = yield* PaymentService.PaymentService
    // 3-D Secure: the payment waits for the customer, who finishes on Stripe's page
    const threeDs = yield* payments.createPayment({ ...order("offline-3ds", FakeStripe.TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/return" })
    const waiting = yield* payments.processPayment(threeDs.id)
    yield* Console.log(`3-D Secure: ${waiting.state}, send the customer to ${waiting.customerAction?.type === "redirect" ? waiting.customerAction.url : "Stripe.js"}`)
    const intent = (yield* fake.intents).find((i) => i.metadata["aegispay_payment_id"] === threeDs.id)
    if (intent !== undefined) yield* fake.finishAction(intent.id, "succeed")
    // the customer is back on the return URL: completePayment asks Stripe and settles
    yield* Console.log(`3-D Secure: ${(yield* payments.completePayment(threeDs.id)).state} after the customer finished`)

    // chaos: faults injected into the fake, recovery drives every payment to Stripe's truth
    const faults: ReadonlyArray<FakeStripe.Fault> = ["error500", "error500AfterApply", "timeoutAfterApply", "resetAfterApply", "rateLimit", "notJson"]
    const recovery = yield* Recovery.make({ stuckAfter: 0 })
    const ids: Array<string> = []
    for (let i = 0; i < 30; i++) {
      const fault = faults[yield* Random.nextIntBetween(0, faults.length * 2)]
      if (fault !== undefined) yield* fake.inject(fault, { path: "/v1/payment_intents/{intent}/confirm" })
      const p = yield* payments.createPayment(order(`chaos-${i}`, "pm_card_visa"))
      ids.push(p.id)
      yield* Effect.either(payments.processPayment(p.id))
    }
    for (let round = 0; round < 5; round++) yield* recovery.runOnce
    const states: Record<string, number> = {}
    for (const id of ids) {
      const state = (yield* payments.getPayment(id)).state
      states[state] = (states[state] ?? 0) + 1
    }
    const perPayment = new Map<string, number>()
    for (const c of (yield* fake.ledger).charges) perPayment.set(c.paymentId ?? "?", (perPayment.get(c.paymentId ?? "?") ?? 0) + 1)
    const twice = [...perPayment.values()].filter((n) => n > 1).length
    yield* Console.log(`chaos:      30 payments with faults: ${JSON.stringify(states)}, ${twice} charged twice`)
    if (twice > 0 || states.SUCCESS !== 30) return yield* Effect.dieMessage("chaos run did not settle every payment exactly once")
  }).pipe(Effect.provide(compose(gateway)), Effect.withRandom(Random.make("stripe-example")))
})

const sandbox = (secretKey: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    yield* Console.log("against Stripe test mode")
    if (Stripe.environmentOf(secretKey) !== "test") return yield* Effect.dieMessage("STRIPE_SECRET_KEY must be a test-mode key (sk_test_…)")
    yield* basics(`aegispay-example-${yield* Clock.currentTimeMillis}`).pipe(Effect.provide(compose(Stripe.fromConfig())))
  })

const program = Effect.gen(function*() {
  const key = yield* Config.option(Config.redacted("STRIPE_SECRET_KEY"))
  yield* Option.match(key, { onNone: () => offline, onSome: sandbox })
})

program.pipe(
  Effect.scoped,
  Effect.provide(NodeHttpClient.layerUndici),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exit(1)
})
