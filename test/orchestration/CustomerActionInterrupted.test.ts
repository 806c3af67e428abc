/**
 * Issue 13: every interruption point between a customer-action gateway call (complete, cancel)
 * and its commit. The operation runs in its caller's fiber (`shutdown: false`: the model of a
 * process dying mid-call), the gateway applies the call and the caller is interrupted before the
 * answer is committed; the next call or the recovery worker settles from the provider's truth,
 * with one charge at most.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Fiber, Layer, TestClock } from "effect"
import { AegisPay, type Gateway, GatewayRegistry, PaymentLock, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MemoryStorage, MockGateway, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"

class Hang extends Context.Tag("test/CustomerActionInterrupted/Hang")<Hang, {
  /** While set, the named call is applied by the mock, then signals and never answers. */
  current: { readonly op: "complete" | "cancel"; readonly applied: Deferred.Deferred<void> } | undefined
}>() {}

const layer = (mock: MockGateway.Options = {}) => {
  const gateways = Layer.effect(
    GatewayRegistry.GatewayRegistry,
    Effect.gen(function*() {
      const { gateway } = yield* MockGateway.MockGateway
      const hang = yield* Hang
      const ops = gateway.customerAction!
      const afterApply = <A, E>(op: "complete" | "cancel", call: Effect.Effect<A, E>) =>
        Effect.flatMap(call, (answer) => {
          const h = hang.current
          return h !== undefined && h.op === op ? Effect.zipRight(Deferred.succeed(h.applied, undefined), Effect.never) : Effect.succeed(answer)
        })
      const wrapped: Gateway.Gateway = {
        ...gateway,
        customerAction: {
          complete: (r) => afterApply("complete", ops.complete(r)),
          cancel: (r) => afterApply("cancel", ops.cancel(r))
        }
      }
      return yield* GatewayRegistry.make([wrapped])
    })
  ).pipe(
    Layer.provideMerge(MockGateway.layer(mock)),
    Layer.provideMerge(Layer.sync(Hang, () => ({ current: undefined })))
  )
  return AegisPay.layerWith(
    { gateways, storage: MemoryStorage.layer, locks: PaymentLock.layerMemory, vault: AegisPayTest.layerVault },
    { ids: "sequential", shutdown: false }
  )
}

/** Runs `operation` until the mock applied `op`, then interrupts it (the process died there). */
const dieAfter = <A, E, R>(op: "complete" | "cancel", operation: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const hang = yield* Hang
    const applied = yield* Deferred.make<void>()
    hang.current = { op, applied }
    const fiber = yield* Effect.fork(operation)
    yield* Deferred.await(applied)
    yield* Fiber.interrupt(fiber)
    hang.current = undefined
  })

const recover = Effect.flatMap(Recovery.Recovery, (r) => r.runOnce)

describe("interrupted customer-action calls", () => {
  it.effect("complete applied, then interrupted before the commit: still ACTION_REQUIRED; the next complete replays the charge", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      yield* payments.processPayment(p.id)
      yield* dieAfter("complete", payments.completePayment(p.id))
      expect((yield* payments.getPayment(p.id)).state).toBe("ACTION_REQUIRED")
      expect((yield* mock.ledger).charges.length).toBe(1)
      const done = yield* payments.completePayment(p.id)
      expect(done.state).toBe("SUCCESS")
      expect((yield* mock.ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(layer())))

  it.effect("complete applied, then interrupted before the commit: recovery's status settles it", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect), captureMethod: "manual" }))
      yield* payments.processPayment(p.id)
      yield* dieAfter("complete", payments.completePayment(p.id))
      yield* TestClock.adjust("2 minutes")
      expect(yield* recover).toMatchObject({ resolved: 1, failed: [] })
      expect((yield* payments.getPayment(p.id)).state).toBe("AUTHORIZED")
      expect((yield* mock.ledger).charges.map((c) => c.status)).toEqual(["authorized"])
    }).pipe(Effect.provide(layer())))

  it.effect("cancel of an expired payment applied, then interrupted: the next round cancels again and fails it, nothing charged", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      yield* payments.processPayment(p.id)
      yield* TestClock.adjust("61 minutes")
      yield* dieAfter("cancel", payments.processPayment(p.id))
      expect((yield* payments.getPayment(p.id)).state).toBe("ACTION_REQUIRED")
      yield* TestClock.adjust("2 minutes")
      yield* recover
      expect((yield* payments.getPayment(p.id)).state).toBe("FAILURE")
      expect((yield* mock.calls)["cancel"]).toBe(2)
      expect((yield* mock.ledger).charges).toEqual([])
    }).pipe(Effect.provide(layer())))

  it.effect("the merchant's cancel applied at the provider, then interrupted: still waiting; the retry cancels it, nothing charged", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      yield* payments.processPayment(p.id)
      yield* dieAfter("cancel", payments.cancelPayment({ paymentId: p.id }))
      expect((yield* payments.getPayment(p.id)).state).toBe("ACTION_REQUIRED")
      const cancelled = yield* payments.cancelPayment({ paymentId: p.id })
      expect(cancelled.state).toBe("CANCELLED")
      expect((yield* mock.calls)["cancel"]).toBe(2)
      expect((yield* mock.ledger).charges).toEqual([])
    }).pipe(Effect.provide(layer())))

  it.effect("the merchant's cancel applied, then interrupted; recovery after the expiry fails it, nothing charged", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      yield* payments.processPayment(p.id)
      yield* dieAfter("cancel", payments.cancelPayment({ paymentId: p.id }))
      yield* TestClock.adjust("61 minutes")
      yield* recover
      expect((yield* payments.getPayment(p.id)).state).toBe("FAILURE")
      expect((yield* mock.ledger).charges).toEqual([])
    }).pipe(Effect.provide(layer())))

  it.effect("a cancel that found a late 3-D Secure charge, interrupted before the commit: the next round settles SUCCESS", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionLateSuccess) }))
      yield* payments.processPayment(p.id)
      yield* TestClock.adjust("61 minutes")
      yield* dieAfter("cancel", payments.processPayment(p.id))
      expect((yield* mock.ledger).charges.length).toBe(1)
      yield* TestClock.adjust("2 minutes")
      yield* recover
      expect((yield* payments.getPayment(p.id)).state).toBe("SUCCESS")
      expect((yield* mock.ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(layer())))

  it.effect("a complete that never reached the provider (unavailable) changes nothing; the customer's next return completes", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.actionRedirect) }))
      yield* payments.processPayment(p.id)
      yield* mock.setAvailable(false, ["complete"])
      // retried with the same key on the retry schedule's delays (TestClock), then the error
      const call = yield* Effect.fork(Effect.flip(payments.completePayment(p.id)))
      yield* TestClock.adjust("10 minutes")
      expect((yield* Fiber.join(call))._tag).toBe("GatewayTransientError")
      expect((yield* payments.getPayment(p.id)).state).toBe("ACTION_REQUIRED")
      yield* mock.setAvailable(true)
      expect((yield* payments.completePayment(p.id)).state).toBe("SUCCESS")
      expect((yield* mock.ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(layer())))
})
