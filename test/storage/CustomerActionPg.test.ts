/**
 * Issue 13 on PostgreSQL: the new states and events round-trip through SQL storage (snapshot,
 * events, open-work flag), a customer-action payment is completed, another expires, and
 * disputes and outside refunds are recorded. Skipped with a notice without DATABASE_URL.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Layer, Option, Redacted } from "effect"
import { EventStore, Notifications, PaymentRepository, PaymentService } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"
import { card, expectFoldEqualsSnapshot, request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"

describe.skipIf(databaseUrl === undefined)("customer action on PostgreSQL", () => {
  const urlOf = useTestDatabase("customer_action")
  const layer = (customerActionTimeout: Duration.DurationInput = "1 hour") =>
    AegisPayPg.layer({
      ...AegisPayTest.parts({ mockGateway: { statusLookup: "reference" } }),
      url: Redacted.make(urlOf()),
      maxConnections: 4,
      recovery: false,
      relay: false,
      retention: false,
      service: { customerActionTimeout }
    })

  it.live("complete, disputes and outside refunds: every new event round-trips through SQL and folds", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const repository = yield* PaymentRepository.PaymentRepository
      const store = yield* EventStore.EventStore
      const notifications = yield* Notifications.Notifications
      const mock = yield* MockGateway.MockGateway

      const p = yield* payments.createPayment(request({
        idempotencyKey: "pg-action-1",
        paymentMethod: card(TestCards.actionClientSecret),
        returnUrl: "https://shop.example/return",
        lineItems: [{ quantity: 4, description: "Tea", price: "25.00" }],
        allowPending: true,
        externalReference: "ERN-77"
      }))
      const waiting = yield* payments.processPayment(p.id)
      expect(waiting.state).toBe("ACTION_REQUIRED")
      const stored = Option.getOrThrow(yield* repository.findById(p.id))
      expect(stored.customerAction).toEqual(waiting.customerAction)
      expect(stored.actionExpiresAt?.epochMillis).toBe(waiting.actionExpiresAt?.epochMillis)
      expect(stored.checkout?.lineItems?.[0]?.price.minor).toBe(2500n)
      expect(stored.reference).toBe(waiting.reference)
      // open work: found by the recovery scan once it is old enough
      const open = yield* repository.findOpen(waiting.actionExpiresAt!, 100)
      expect(open.map((x) => x.id)).toContain(p.id)

      const done = yield* payments.completePayment(p.id)
      expect(done.state).toBe("SUCCESS")
      const txn = (yield* mock.ledger).charges[0]!
      yield* notifications.apply({
        id: "evt_d1", gateway: "mock", paymentId: p.id, type: "dispute.opened", idempotencyKey: txn.idempotencyKey,
        disputeId: "dp_1", amount: "100.00", currency: "USD", verified: true
      })
      yield* notifications.apply({
        id: "evt_r1", gateway: "mock", paymentId: p.id, type: "refund.external", idempotencyKey: "dash",
        refundId: "re_dash", amount: "10.00", currency: "USD", verified: true
      })
      const after = Option.getOrThrow(yield* repository.findById(p.id))
      expect(after.refundedAmount.minor).toBe(1000n)
      expect(after.disputes?.map((d) => d.id)).toEqual(["dp_1"])
      const tags = (yield* store.read(p.id)).map((e) => e._tag)
      expect(tags).toEqual(expect.arrayContaining([
        "AttemptReferenceRecorded", "CustomerActionRequired", "PaymentSucceeded", "DisputeRecorded", "ExternalRefundRecorded"
      ]))
      const fold = yield* expectFoldEqualsSnapshot(p.id)
      expect(fold.rebuilt).toEqual(fold.stored)
    }).pipe(Effect.provide(Layer.fresh(layer()))))

  it.live("an abandoned customer action past its expiry is cancelled at the provider and fails", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      // expires at once (customerActionTimeout 0): the next call cancels it at the provider
      const abandoned = yield* payments.createPayment(request({ idempotencyKey: "pg-action-2", paymentMethod: card(TestCards.actionRedirect) }))
      expect((yield* payments.processPayment(abandoned.id)).state).toBe("ACTION_REQUIRED")
      const expired = yield* payments.processPayment(abandoned.id)
      expect(expired.state).toBe("FAILURE")
      const foldExpired = yield* expectFoldEqualsSnapshot(abandoned.id)
      expect(foldExpired.rebuilt).toEqual(foldExpired.stored)
    }).pipe(Effect.provide(Layer.fresh(layer("0 millis")))))
})
