/**
 * Issue 13: payments that wait for the customer (ACTION_REQUIRED) or for the provider
 * (provider-pending), completed, expired, settled late; status by the provider's reference.
 * Memory layers and the mock gateway under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Either, TestClock } from "effect"
import { EventStore, Notifications, Payment, PaymentRepository, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MockGateway, TestCards, TestTokens } from "aegispay/testing"
import { card, crashedAfterAttemptCommit, expectFoldEqualsSnapshot, request } from "../helpers.js"

const layer = (mock: MockGateway.Options = {}) => AegisPayTest.layerMemory({ ids: "sequential", mockGateway: mock })

const tags = (paymentId: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => store.read(paymentId)).pipe(Effect.map((events) => events.map((e) => e._tag)))

const recover = Effect.flatMap(Recovery.Recovery, (r) => r.runOnce)

const expectFold = (paymentId: string) =>
  Effect.map(expectFoldEqualsSnapshot(paymentId), ({ rebuilt, stored }) => expect(stored).toEqual(rebuilt))

describe("customer action", () => {
  it.effect("3-D Secure redirect: ACTION_REQUIRED with the action, reference and expiry; completePayment settles it once", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      const waiting = yield* payments.processPayment(p.id)
      expect(waiting.state).toBe("ACTION_REQUIRED")
      expect(waiting.customerAction?.type).toBe("redirect")
      expect(waiting.reference).toBe(`pi_${waiting.currentAttempt?.idempotencyKey}`)
      expect(waiting.actionExpiresAt?.epochMillis).toBe(60 * 60 * 1000)
      expect((yield* mock.ledger).charges).toEqual([])
      yield* expectFold(p.id)

      // asking again before the customer is back changes nothing (and writes nothing)
      const asked = yield* payments.processPayment(p.id)
      expect([asked.state, asked.version]).toEqual(["ACTION_REQUIRED", waiting.version])

      const done = yield* payments.completePayment(p.id, { from: "return-page" })
      expect(done.state).toBe("SUCCESS")
      expect(done.customerAction).toBeUndefined()
      expect(done.actionExpiresAt).toBeUndefined()
      expect((yield* mock.ledger).charges.map((c) => c.paymentId)).toEqual([p.id])
      // a reload of the return page
      const again = yield* payments.completePayment(p.id)
      expect(again.version).toBe(done.version)
      expect((yield* mock.ledger).charges.length).toBe(1)
      expect(yield* tags(p.id)).toEqual([
        "PaymentInitiated",
        "PaymentAuthenticated",
        "PaymentProcessing",
        "CustomerActionRequired",
        "PaymentSucceeded"
      ])
      yield* expectFold(p.id)
    }).pipe(Effect.provide(layer())))

  it.effect("client secret with manual capture: complete authorizes; a customer not finished keeps it waiting", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({
        paymentMethod: { type: "gateway_token", gateway: "mock", token: TestTokens.actionClientSecret },
        captureMethod: "manual"
      }))
      const waiting = yield* payments.processPayment(p.id)
      expect(waiting.customerAction).toEqual({ type: "client_secret", clientSecret: `${waiting.reference}_secret` })
      const notYet = yield* payments.completePayment(p.id, { result: "not_finished" })
      expect([notYet.state, notYet.version]).toEqual(["ACTION_REQUIRED", waiting.version])
      const done = yield* payments.completePayment(p.id)
      expect(done.state).toBe("AUTHORIZED")
      const captured = yield* payments.capturePayment({ paymentId: p.id })
      expect(captured.state).toBe("SUCCESS")
    }).pipe(Effect.provide(layer())))

  it.effect("a declined authentication fails the payment; nothing was charged", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      yield* payments.processPayment(p.id)
      const failed = yield* payments.completePayment(p.id, { result: "declined" })
      expect([failed.state, failed.declineCode]).toEqual(["FAILURE", "authentication_failed"])
      expect((yield* mock.ledger).charges).toEqual([])
    }).pipe(Effect.provide(layer())))

  it.effect("the customer finishes at the provider without coming back: the next status (recovery) settles it", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      const waiting = yield* payments.processPayment(p.id)
      expect(yield* mock.customerCompletes(waiting.reference ?? "")).toBe(true)
      yield* TestClock.adjust("2 minutes")
      const report = yield* recover
      expect(report).toMatchObject({ examined: 1, resolved: 1, failed: [] })
      expect((yield* payments.getPayment(p.id)).state).toBe("SUCCESS")
      yield* expectFold(p.id)
    }).pipe(Effect.provide(layer())))

  it.effect("expiry: recovery leaves a waiting payment alone before its expiry, then cancels it at the provider and fails it", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      const waiting = yield* payments.processPayment(p.id)
      yield* TestClock.adjust("30 minutes")
      expect(yield* recover).toMatchObject({ examined: 1, stillOpen: 1 })
      expect((yield* payments.getPayment(p.id)).version).toBe(waiting.version)
      expect((yield* mock.calls)["cancel"]).toBeUndefined()
      yield* TestClock.adjust("31 minutes")
      expect(yield* recover).toMatchObject({ examined: 1, resolved: 1 })
      const expired = yield* payments.getPayment(p.id)
      expect([expired.state, expired.declineCode]).toEqual(["FAILURE", "canceled"])
      expect(expired.failureReason).toMatch(/^expired/)
      expect((yield* mock.calls)["cancel"]).toBe(1)
      expect((yield* mock.ledger).charges).toEqual([])
      // the customer's late return changes nothing
      expect((yield* payments.completePayment(p.id)).state).toBe("FAILURE")
      yield* expectFold(p.id)
    }).pipe(Effect.provide(layer())))

  it.effect("a 3-D Secure success that lands as the expired payment is cancelled settles it as SUCCESS, never FAILURE", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionLateSuccess) }))
      yield* payments.processPayment(p.id)
      yield* TestClock.adjust("61 minutes")
      yield* recover
      const settled = yield* payments.getPayment(p.id)
      expect(settled.state).toBe("SUCCESS")
      expect((yield* mock.ledger).charges.map((c) => c.status)).toEqual(["captured"])
      yield* expectFold(p.id)
    }).pipe(Effect.provide(layer())))

  it.effect("the gateway's own expiry is kept; customerActionTimeout is the default", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      const waiting = yield* payments.processPayment(p.id)
      expect(waiting.actionExpiresAt?.epochMillis).toBe(15 * 60 * 1000)
    }).pipe(Effect.provide(layer({ actionExpiresIn: "15 minutes" }))))

  it.effect("customerActionTimeout sets the default expiry", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      const waiting = yield* payments.processPayment(p.id)
      expect(waiting.actionExpiresAt?.epochMillis).toBe(10 * 60 * 1000)
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential", service: { customerActionTimeout: "10 minutes" } }))))
})

describe("provider-pending", () => {
  it.effect("allowPending: the payment waits (PROCESSING, providerPending), is polled without writes, settles by status", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.pending), allowPending: true }))
      const pending = yield* payments.processPayment(p.id)
      expect([pending.state, pending.providerPending]).toEqual(["PROCESSING", true])
      expect(pending.actionExpiresAt?.epochMillis).toBe(24 * 60 * 60 * 1000)
      yield* TestClock.adjust("2 minutes")
      expect(yield* recover).toMatchObject({ stillOpen: 1 })
      expect((yield* payments.getPayment(p.id)).version).toBe(pending.version)
      expect(yield* mock.settlePending(pending.reference ?? "", "succeeded")).toBe(true)
      yield* TestClock.adjust("2 minutes")
      expect(yield* recover).toMatchObject({ resolved: 1 })
      const done = yield* payments.getPayment(p.id)
      expect([done.state, done.providerPending]).toEqual(["SUCCESS", undefined])
      yield* expectFold(p.id)
    }).pipe(Effect.provide(layer())))

  it.effect("without allowPending the adapter answers an unknown outcome; the status then records the wait", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.pending) }))
      const unknown = yield* payments.processPayment(p.id)
      expect([unknown.state, unknown.requiresReconciliation]).toEqual(["PROCESSING", true])
      const pending = yield* payments.processPayment(p.id)
      expect([pending.requiresReconciliation, pending.providerPending]).toEqual([false, true])
      yield* mock.settlePending(pending.reference ?? "", "failed")
      const failed = yield* payments.processPayment(p.id)
      expect(failed.state).toBe("FAILURE")
      expect((yield* mock.ledger).charges).toEqual([])
    }).pipe(Effect.provide(layer())))
})

describe("status by reference", () => {
  it.effect("a reference gateway: the reference is committed on its own before process; a key gateway writes once", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      const done = yield* payments.processPayment(p.id)
      expect(done.state).toBe("SUCCESS")
      expect(done.currentAttempt?.reference).toBe(`pi_${done.currentAttempt?.idempotencyKey}`)
      expect(yield* tags(p.id)).toEqual([
        "PaymentInitiated",
        "PaymentAuthenticated",
        "PaymentProcessing",
        "AttemptReferenceRecorded",
        "PaymentSucceeded"
      ])
    }).pipe(Effect.provide(layer({ statusLookup: "reference" }))))

  it.effect("a key gateway keeps the single write after the charge (no reference event)", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      yield* payments.processPayment(p.id)
      expect(yield* tags(p.id)).toEqual(["PaymentInitiated", "PaymentAuthenticated", "PaymentProcessing", "PaymentSucceeded"])
    }).pipe(Effect.provide(layer())))

  it.effect("a crash between initiate and the reference commit: re-initiated with the same key, charged once", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const crashed = yield* crashedAfterAttemptCommit("crash-1")
      const attempt = crashed.currentAttempt!
      // the dead process had asked initiate: the provider holds a reference nobody recorded
      const initiated = yield* mock.gateway.initiate({
        paymentId: crashed.id, idempotencyKey: attempt.idempotencyKey, amount: crashed.amount,
        paymentMethod: crashed.paymentMethod, capture: true
      })
      const done = yield* payments.processPayment(crashed.id)
      expect(done.state).toBe("SUCCESS")
      expect(done.currentAttempt?.reference).toBe(initiated.reference)
      expect((yield* mock.ledger).charges.map((c) => c.idempotencyKey)).toEqual([attempt.idempotencyKey])
      yield* expectFold(crashed.id)
    }).pipe(Effect.provide(layer({ statusLookup: "reference" }))))

  it.effect("a crash after process applied, before its commit: the status by reference settles it, no second charge", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const repository = yield* PaymentRepository.PaymentRepository
      const mock = yield* MockGateway.MockGateway
      const crashed = yield* crashedAfterAttemptCommit("crash-2")
      const attempt = crashed.currentAttempt!
      const base = { paymentId: crashed.id, idempotencyKey: attempt.idempotencyKey, amount: crashed.amount, paymentMethod: crashed.paymentMethod, capture: true }
      const { reference } = yield* mock.gateway.initiate(base)
      const at = DateTime.unsafeMake(yield* TestClock.currentTimeMillis)
      const recorded = Either.getOrThrow(Payment.recordReference(crashed, reference, at))
      yield* repository.update(recorded, crashed.version)
      yield* mock.gateway.process({ ...base, reference })
      const done = yield* payments.processPayment(crashed.id)
      expect(done.state).toBe("SUCCESS")
      expect((yield* mock.ledger).charges.length).toBe(1)
      expect((yield* mock.calls)["process"]).toBe(1)
    }).pipe(Effect.provide(layer({ statusLookup: "reference" }))))
})

describe("notifications of waiting payments", () => {
  it.effect("a verified charge.succeeded of the waiting attempt settles it; disputes and outside refunds are recorded", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const notifications = yield* Notifications.Notifications
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      const waiting = yield* payments.processPayment(p.id)
      yield* mock.customerCompletes(waiting.reference ?? "")
      const charged = (yield* mock.ledger).charges[0]!
      const parsed = yield* mock.gateway.webhooks!.parse(mock.signWebhook({
        id: "evt_1",
        paymentId: p.id,
        type: "charge.succeeded",
        idempotencyKey: charged.idempotencyKey,
        transactionId: charged.transactionId
      }))
      const applied = yield* notifications.apply(parsed[0]!)
      expect([applied._tag, applied.payment.state]).toEqual(["Applied", "SUCCESS"])
      expect(applied.payment.compensations).toEqual([])

      const dispute = yield* notifications.apply({
        id: "evt_2", gateway: "mock", paymentId: p.id, type: "dispute.opened", idempotencyKey: charged.idempotencyKey,
        disputeId: "dp_1", amount: "100.00", currency: "USD", reason: "fraudulent", verified: true
      })
      expect(dispute.payment.disputes?.map((d) => [d.id, d.state, d.amount?.minor])).toEqual([["dp_1", "OPEN", 10000n]])
      const closed = yield* notifications.apply({
        id: "evt_3", gateway: "mock", paymentId: p.id, type: "dispute.closed", idempotencyKey: charged.idempotencyKey,
        disputeId: "dp_1", code: "won", verified: true
      })
      expect(closed.payment.disputes?.map((d) => [d.state, d.outcome])).toEqual([["CLOSED", "won"]])

      const outside = { id: "evt_4", gateway: "mock", paymentId: p.id, type: "refund.external" as const, idempotencyKey: "dashboard",
        refundId: "re_dash_1", amount: "30.00", currency: "USD" as const, verified: true }
      const refunded = yield* notifications.apply(outside)
      expect(refunded.payment.refundedAmount.minor).toBe(3000n)
      expect(refunded.payment.refunds.map((r) => [r.state, r.external])).toEqual([["SUCCEEDED", true]])
      expect((yield* notifications.apply(outside))._tag).toBe("Duplicate")
      // the same provider refund under another event id: recorded once
      expect((yield* notifications.apply({ ...outside, id: "evt_5" }))._tag).toBe("Ignored")
      // more than is left: capped at the captured amount
      const capped = yield* notifications.apply({ ...outside, id: "evt_6", refundId: "re_dash_2", amount: "90.00" })
      expect(capped.payment.refundedAmount.minor).toBe(10000n)
      const more = yield* notifications.apply({ ...outside, id: "evt_7", refundId: "re_dash_3", amount: "1.00" })
      expect(more._tag).toBe("Ignored")
      // nothing left to refund through AegisPay either
      const refund = yield* Effect.either(payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "1.00" }))
      expect(refund._tag).toBe("Left")
      yield* expectFold(p.id)
    }).pipe(Effect.provide(layer())))

  it.effect("charge.expired of the waiting attempt fails it; a bad mock signature is rejected", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const notifications = yield* Notifications.Notifications
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      const waiting = yield* payments.processPayment(p.id)
      const signed = mock.signWebhook({ id: "evt_x", paymentId: p.id, type: "charge.expired", idempotencyKey: waiting.currentAttempt!.idempotencyKey })
      const rejected = yield* Effect.either(mock.gateway.webhooks!.parse({ ...signed, headers: { "x-mock-signature": "00" } }))
      expect(rejected._tag === "Left" && rejected.left._tag).toBe("WebhookRejected")
      const parsed = yield* mock.gateway.webhooks!.parse(signed)
      const applied = yield* notifications.apply(parsed[0]!)
      expect([applied.payment.state, applied.payment.declineCode]).toEqual(["FAILURE", "expired"])
    }).pipe(Effect.provide(layer())))
})

describe("checkout payment method", () => {
  const twoGateways = AegisPayTest.layerMemory({
    ids: "sequential",
    mockGateways: [
      { id: "cards", capabilities: { currencies: "all", manualCapture: true, paymentMethods: ["card", "gateway_token"] } },
      { id: "hosted", capabilities: { currencies: "all", manualCapture: true, paymentMethods: ["checkout"] } }
    ]
  })

  it.effect("routing sends a checkout only to gateways that take checkouts, a card only to card gateways", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const checkout = yield* payments.createPayment(request({
        idempotencyKey: "co-1",
        paymentMethod: { type: "checkout" },
        returnUrl: "https://shop.example/return",
        cancelUrl: "https://shop.example/cancel",
        lineItems: [
          { quantity: 2, description: "Tea", price: "25.00", url: "https://shop.example/tea" },
          { quantity: 1, description: "Pot", price: "50.00" }
        ],
        externalReference: "ERN-1"
      }))
      expect(checkout.checkout?.lineItems?.map((l) => l.price.minor)).toEqual([2500n, 5000n])
      const waiting = yield* payments.processPayment(checkout.id)
      expect([waiting.gateway, waiting.state, waiting.customerAction?.type]).toEqual(["hosted", "ACTION_REQUIRED", "redirect"])
      const cardPayment = yield* payments.createPayment(request({ idempotencyKey: "card-1" }))
      expect((yield* payments.processPayment(cardPayment.id)).gateway).toBe("cards")
    }).pipe(Effect.provide(twoGateways)))

  it.effect("line items must add up to the amount; prices are exact in the currency", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mismatch = yield* Effect.flip(payments.createPayment(request({
        paymentMethod: { type: "checkout" },
        lineItems: [{ quantity: 1, description: "Tea", price: "99.00" }]
      })))
      expect([mismatch._tag, mismatch._tag === "ValidationError" && mismatch.path]).toEqual(["ValidationError", "lineItems"])
      const inexact = yield* Effect.flip(payments.createPayment(request({
        paymentMethod: { type: "checkout" },
        lineItems: [{ quantity: 1, description: "Tea", price: "100.001" }]
      })))
      expect(inexact._tag === "ValidationError" && inexact.path).toBe("lineItems.0.price")
      const badUrl = yield* Effect.flip(payments.createPayment(request({ returnUrl: "javascript:alert(1)" })))
      expect(badUrl._tag === "ValidationError" && badUrl.path).toBe("returnUrl")
      const zero = yield* Effect.flip(payments.createPayment(request({
        paymentMethod: { type: "checkout" },
        lineItems: [{ quantity: 0, description: "Tea", price: "100.00" }]
      })))
      expect(zero._tag === "ValidationError" && zero.path).toBe("lineItems.0.quantity")
    }).pipe(Effect.provide(twoGateways)))

  it.effect("a checkout naming a gateway goes only there; a checkout with no such gateway is NoGatewayAvailable", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: { type: "checkout", gateway: "cards" } }))
      const error = yield* Effect.flip(payments.processPayment(p.id))
      expect(error._tag).toBe("NoGatewayAvailable")
    }).pipe(Effect.provide(twoGateways)))
})

