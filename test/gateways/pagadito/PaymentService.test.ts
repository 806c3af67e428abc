/**
 * End to end: AegisPay's PaymentService with the Pagadito adapter against the fake Pagadito over
 * real HTTP. A checkout payment waits in ACTION_REQUIRED with Pagadito's checkout URL; the
 * customer pays and comes back (completePayment) → SUCCESS; a VERIFYING payment stays
 * provider-pending until Pagadito's review ends (webhook or status); an abandoned checkout
 * fails; past its expiry a payment fails only once Pagadito says the checkout expired.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, TestClock } from "effect"
import { AegisPay, GatewayRegistry, Notifications, PaymentLock, PaymentService, Recovery } from "aegispay"
import { Pagadito } from "aegispay/gateways"
import { AegisPayTest, MemoryStorage } from "aegispay/testing"
import { FakePagadito } from "aegispay/testing/fakes"
import { HttpLive } from "./support.js"

/** AegisPay on memory storage with one gateway: Pagadito against the fake. */
const composition = (fake: FakePagadito.FakePagadito, endpoint: string) =>
  AegisPay.layerWith({
    gateways: GatewayRegistry.layerFrom([
      Pagadito.make({
        uid: Redacted.make(fake.uid),
        wsk: Redacted.make(fake.wsk),
        sandbox: true,
        apiBase: endpoint,
        timeout: "5 seconds",
        webhookCertificate: fake.certificatePem
      })
    ]),
    storage: MemoryStorage.layer,
    locks: PaymentLock.layerMemory,
    vault: AegisPayTest.layerVault
  }, {
    ids: "sequential",
    service: { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2, backoffMultiplier: 1 } }
  })

const order = (key: string, extra: { readonly allowPending?: boolean } = {}) => ({
  idempotencyKey: key,
  amount: "30.50",
  currency: "USD",
  paymentMethod: { type: "checkout" as const },
  customer: { id: "cus_1", email: "ada@example.com" },
  description: "Order 1001",
  externalReference: `ERN-${key}`,
  lineItems: [
    { quantity: 2, description: "Café Pacamara 1 lb", price: "10.00" },
    { quantity: 1, description: "Envío", price: "10.50" }
  ],
  metadata: { customer: "cus_1" },
  ...(extra.allowPending === undefined ? {} : { allowPending: extra.allowPending })
})

const withAegisPay = <A, E, R>(body: (fake: FakePagadito.FakePagadito) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fake = yield* FakePagadito.serve()
    const endpoint = yield* fake.endpoint
    return yield* body(fake).pipe(Effect.provide(composition(fake, endpoint)))
  }).pipe(Effect.provide(HttpLive))

describe("PaymentService with the Pagadito adapter", () => {
  it.scoped("create → ACTION_REQUIRED (checkout URL) → the customer pays → completePayment → SUCCESS", () =>
    withAegisPay((fake) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment(order("order-1"))
        const waiting = yield* payments.processPayment(created.id)
        expect(waiting.state).toBe("ACTION_REQUIRED")
        const token = waiting.reference ?? ""
        expect(waiting.customerAction).toEqual({ type: "redirect", url: expect.stringContaining(`token=${token}`) })
        const transaction = Option.getOrThrow(yield* fake.transaction(token))
        expect(transaction).toMatchObject({
          ern: "ERN-order-1",
          amount: "30.50",
          customParams: { param1: created.id, param2: waiting.currentAttempt?.idempotencyKey, param3: "cus_1" }
        })
        // back before paying: still waiting
        const params = yield* fake.returnParams(token)
        expect((yield* payments.completePayment(created.id, params)).state).toBe("ACTION_REQUIRED")
        yield* fake.pay(token)
        const done = yield* payments.completePayment(created.id, params)
        expect(done.state).toBe("SUCCESS")
        expect(done.gatewayTransactionId).toBe(Option.getOrThrow(yield* fake.transaction(token)).reference)
        // the verified webhook arriving afterwards changes nothing
        const notifications = yield* Notifications.Notifications
        const gateway = yield* Effect.flatMap(GatewayRegistry.GatewayRegistry, (r) => r.get("pagadito"))
        const parsed = yield* gateway.webhooks!.parse(yield* fake.notification(token))
        const applied = yield* notifications.apply(parsed[0]!)
        expect(applied.payment.state).toBe("SUCCESS")
        expect((yield* fake.transactions).filter((t) => t.status === "COMPLETED")).toHaveLength(1)
      })))

  it.scoped("VERIFYING with allow-pending: provider-pending until Pagadito's review ends; the signed webhook settles it", () =>
    withAegisPay((fake) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment(order("order-2", { allowPending: true }))
        const waiting = yield* payments.processPayment(created.id)
        const token = waiting.reference ?? ""
        yield* fake.pay(token, { pending: true })
        const pending = yield* payments.completePayment(created.id, yield* fake.returnParams(token))
        expect(pending.providerPending).toBe(true)
        expect(pending.state).not.toBe("SUCCESS")
        expect(pending.state).not.toBe("FAILURE")
        yield* fake.approve(token)
        const gateway = yield* Effect.flatMap(GatewayRegistry.GatewayRegistry, (r) => r.get("pagadito"))
        const parsed = yield* gateway.webhooks!.parse(yield* fake.notification(token))
        expect(parsed).toMatchObject([{ type: "charge.succeeded", verified: true }])
        const applied = yield* Effect.flatMap(Notifications.Notifications, (n) => n.apply(parsed[0]!))
        expect(applied.payment.state).toBe("SUCCESS")

        // without a webhook: the recovery worker's status read settles it once Pagadito approves
        const second = yield* payments.createPayment(order("order-2b", { allowPending: true }))
        const token2 = (yield* payments.processPayment(second.id)).reference ?? ""
        yield* fake.pay(token2, { pending: true })
        expect((yield* payments.completePayment(second.id, {})).providerPending).toBe(true)
        const recovery = yield* Recovery.make({ stuckAfter: 0 })
        yield* TestClock.adjust("1 minute")
        yield* recovery.runOnce
        expect((yield* payments.getPayment(second.id)).providerPending).toBe(true)
        yield* fake.approve(token2)
        yield* TestClock.adjust("1 minute")
        yield* recovery.runOnce
        expect((yield* payments.getPayment(second.id)).state).toBe("SUCCESS")
      })))

  it.scoped("an abandoned checkout (CANCELED) fails the payment; nothing was charged", () =>
    withAegisPay((fake) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const created = yield* payments.createPayment(order("order-3"))
        const waiting = yield* payments.processPayment(created.id)
        yield* fake.cancel(waiting.reference ?? "")
        const failed = yield* payments.completePayment(created.id, {})
        expect([failed.state, failed.declineCode]).toEqual(["FAILURE", "canceled"])
      })))

  it.scoped("expiry: past it, the payment fails only once Pagadito says the checkout expired; a late payment settles", () =>
    withAegisPay((fake) =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const recovery = yield* Recovery.make({ stuckAfter: 0 })
        const a = yield* payments.createPayment(order("order-4"))
        const waitingA = yield* payments.processPayment(a.id)
        const b = yield* payments.createPayment(order("order-5"))
        const waitingB = yield* payments.processPayment(b.id)
        yield* TestClock.adjust("16 minutes")
        // Pagadito has not expired them yet: still waiting
        yield* recovery.runOnce
        expect((yield* payments.getPayment(a.id)).state).toBe("ACTION_REQUIRED")
        yield* fake.expire(waitingA.reference ?? "")
        yield* fake.pay(waitingB.reference ?? "")
        yield* TestClock.adjust("2 minutes")
        yield* recovery.runOnce
        const expired = yield* payments.getPayment(a.id)
        expect([expired.state, expired.declineCode]).toEqual(["FAILURE", "expired"])
        expect((yield* payments.getPayment(b.id)).state).toBe("SUCCESS")
      })))
})
