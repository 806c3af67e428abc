/**
 * Issue 12, defect 7: `afterProcess` runs once per terminal transition of a payment (SUCCESS,
 * FAILURE, CANCELLED), from the committed events, however the payment got there, and never
 * changes the result of the money operation.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Queue, TestClock } from "effect"
import { EventBus, EventStore, Notifications, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"

/** Lets the afterProcess fiber catch up (no clock involved: it only waits for events). */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

/** A layer whose afterProcess hook records `paymentId:state`; `fail` makes its runs fail while true. */
const recording = (options: { readonly failMode?: "open" | "closed"; readonly fail?: () => boolean } = {}) => {
  const runs = Effect.runSync(Queue.unbounded<string>())
  const layer = AegisPayTest.layerMemory({
    ids: "sequential",
    hooks: {
      afterProcess: [{
        name: "audit",
        failMode: options.failMode,
        run: (payment) =>
          Effect.zipRight(
            Queue.offer(runs, `${payment.id}:${payment.state}`),
            options.fail?.() === true ? Effect.fail(new Error("audit service down")) : Effect.void
          )
      }]
    }
  })
  /** Every run so far, once the hook fiber has caught up. */
  const seen = Effect.zipRight(settle, Queue.takeAll(runs))
  return { layer, seen }
}

describe("afterProcess", () => {
  it.effect("a fail-closed afterProcess failure never changes the result of the money operation", () => {
    const { layer, seen } = recording({ failMode: "closed", fail: () => true })
    return Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      const done = yield* payments.processPayment(p.id)
      expect(done.state).toBe("SUCCESS")
      expect([...(yield* seen)]).toEqual([`${p.id}:SUCCESS`])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a payment settled later runs it once, in its terminal state (not for PROCESSING)", () => {
    const { layer, seen } = recording()
    return Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.timeoutAfterCharge) }))
      expect((yield* payments.processPayment(p.id)).state).toBe("PROCESSING")
      expect([...(yield* seen)]).toEqual([])
      expect((yield* payments.processPayment(p.id)).state).toBe("SUCCESS")
      expect([...(yield* seen)]).toEqual([`${p.id}:SUCCESS`])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a payment settled by a gateway notification runs it once", () => {
    const { layer, seen } = recording()
    return Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.timeoutAfterCharge) }))
      const open = yield* payments.processPayment(p.id)
      const charge = (yield* mock.ledger).charges[0]!
      const notification = {
        id: "evt_1",
        gateway: "mock",
        type: "charge.succeeded" as const,
        verified: true,
        paymentId: p.id,
        idempotencyKey: open.attempts[0]!.idempotencyKey,
        transactionId: charge.transactionId
      }
      const notifications = yield* Notifications.Notifications
      expect((yield* notifications.apply(notification)).payment.state).toBe("SUCCESS")
      yield* notifications.apply(notification) // a redelivery: Duplicate
      expect([...(yield* seen)]).toEqual([`${p.id}:SUCCESS`])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a payment settled by the recovery worker runs it once", () => {
    const { layer, seen } = recording()
    return Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.timeoutAfterCharge) }))
      yield* payments.processPayment(p.id)
      expect([...(yield* seen)]).toEqual([])
      const recovery = yield* Recovery.make({ stuckAfter: "1 minute" })
      yield* TestClock.adjust("2 minutes")
      expect((yield* recovery.runOnce).resolved).toBe(1)
      expect((yield* payments.getPayment(p.id)).state).toBe("SUCCESS")
      expect([...(yield* seen)]).toEqual([`${p.id}:SUCCESS`])
      yield* TestClock.adjust("2 minutes")
      expect((yield* recovery.runOnce).examined).toBe(0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a manual capture runs it once, at SUCCESS (AUTHORIZED is not terminal); a void at CANCELLED", () => {
    const { layer, seen } = recording()
    return Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const captured = yield* payments.createPayment(request({ captureMethod: "manual" }))
      expect((yield* payments.processPayment(captured.id)).state).toBe("AUTHORIZED")
      const voided = yield* payments.createPayment(request({ idempotencyKey: "void", captureMethod: "manual" }))
      yield* payments.processPayment(voided.id)
      expect([...(yield* seen)]).toEqual([])
      yield* payments.capturePayment({ paymentId: captured.id })
      yield* payments.cancelPayment({ paymentId: voided.id })
      expect([...(yield* seen)].sort()).toEqual([`${captured.id}:SUCCESS`, `${voided.id}:CANCELLED`].sort())
    }).pipe(Effect.provide(layer))
  })

  it.effect("a redelivered terminal event runs it once; a failed run is forgotten, so a redelivery runs it again", () => {
    let failing = true
    const { layer, seen } = recording({ failMode: "closed", fail: () => failing })
    return Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const bus = yield* EventBus.EventBus
      const store = yield* EventStore.EventStore
      const p = yield* payments.createPayment(request())
      yield* payments.processPayment(p.id)
      expect([...(yield* seen)]).toEqual([`${p.id}:SUCCESS`]) // ran and failed (logged)
      failing = false
      const events = yield* store.read(p.id)
      yield* bus.publish(events) // the outbox relay delivers again after a crash
      expect([...(yield* seen)]).toEqual([`${p.id}:SUCCESS`]) // the failed run is run again
      yield* bus.publish(events)
      expect([...(yield* seen)]).toEqual([]) // done: deduplicated by payment and sequence
    }).pipe(Effect.provide(layer))
  })
})
