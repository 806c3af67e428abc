/**
 * The merchant cancels a payment that waits for its customer (ACTION_REQUIRED): the provider
 * decides. Its confirmed cancel makes it CANCELLED; a charge the customer made meanwhile is
 * recorded (and an authorization voided); a provider that still waits changes nothing.
 * Memory layers and the mock gateway under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { EventStore, GatewayRegistry, type PaymentRequest, PaymentService } from "aegispay"
import { AegisPayTest, MockGateway, TestCards, TestTokens } from "aegispay/testing"
import { card, expectFoldEqualsSnapshot, request } from "../helpers.js"

const layer = () => AegisPayTest.layerMemory({ ids: "sequential" })

const tags = (paymentId: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => store.read(paymentId)).pipe(Effect.map((events) => events.map((e) => e._tag)))

const expectFold = (paymentId: string) =>
  Effect.map(expectFoldEqualsSnapshot(paymentId), ({ rebuilt, stored }) => expect(stored).toEqual(rebuilt))

const waitingPayment = (
  paymentMethod: PaymentRequest.CreatePaymentRequest["paymentMethod"] = card(TestCards.actionRedirect),
  captureMethod: "automatic" | "manual" = "automatic"
) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const p = yield* payments.createPayment(request({ paymentMethod, captureMethod }))
    const waiting = yield* payments.processPayment(p.id)
    expect(waiting.state).toBe("ACTION_REQUIRED")
    return waiting
  })

describe("cancelling a payment that waits for its customer", () => {
  it.effect("the provider cancels the checkout: CANCELLED, its attempt failed, nothing charged, a late return changes nothing", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const waiting = yield* waitingPayment()
      const cancelled = yield* payments.cancelPayment({ paymentId: waiting.id, reason: "order withdrawn" })
      expect([cancelled.state, cancelled.failureReason]).toEqual(["CANCELLED", "order withdrawn"])
      expect(cancelled.customerAction).toBeUndefined()
      expect(cancelled.actionExpiresAt).toBeUndefined()
      expect(cancelled.currentAttempt?.status).toBe("failed")
      expect((yield* mock.calls)["cancel"]).toBe(1)
      expect((yield* mock.ledger).charges).toEqual([])
      expect((yield* tags(waiting.id)).slice(-2)).toEqual(["PaymentReconciled", "PaymentCancelled"])
      // the customer comes back anyway: nothing is charged, nothing changes
      const late = yield* payments.completePayment(waiting.id)
      expect([late.state, late.version]).toEqual(["CANCELLED", cancelled.version])
      expect((yield* mock.ledger).charges).toEqual([])
      // cancelling again is refused: it is terminal
      const again = yield* Effect.flip(payments.cancelPayment({ paymentId: waiting.id }))
      expect(again._tag).toBe("InvalidTransition")
      yield* expectFold(waiting.id)
    }).pipe(Effect.provide(layer())))

  it.effect("the customer paid just before: the charge is recorded (SUCCESS) and the cancel is refused; refund it instead", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const waiting = yield* waitingPayment(card(TestCards.actionLateSuccess))
      const refused = yield* Effect.flip(payments.cancelPayment({ paymentId: waiting.id }))
      expect(refused).toMatchObject({ _tag: "InvalidTransition", from: "SUCCESS", to: "CANCELLED" })
      expect((yield* payments.getPayment(waiting.id)).state).toBe("SUCCESS")
      expect((yield* mock.ledger).charges.map((c) => c.status)).toEqual(["captured"])
      yield* expectFold(waiting.id)
    }).pipe(Effect.provide(layer())))

  it.effect("manual capture, the customer authorized meanwhile: the authorization is voided → CANCELLED", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const waiting = yield* waitingPayment({ type: "gateway_token", gateway: "mock", token: TestTokens.actionClientSecret }, "manual")
      expect(yield* mock.customerCompletes(waiting.reference ?? "")).toBe(true)
      const cancelled = yield* payments.cancelPayment({ paymentId: waiting.id })
      expect(cancelled.state).toBe("CANCELLED")
      expect((yield* mock.ledger).charges.map((c) => c.status)).toEqual(["voided"])
      expect(yield* tags(waiting.id)).toContain("PaymentAuthorized")
      yield* expectFold(waiting.id)
    }).pipe(Effect.provide(layer())))

  it.effect("a gateway without a cancel call: CheckoutNotCancelled while the customer may still pay; nothing changes", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      // the same gateway without customer-action calls: only its status can be read
      const { customerAction: _, ...withoutActions } = mock.gateway
      yield* registry.register(withoutActions)
      const waiting = yield* waitingPayment()
      const refused = yield* Effect.flip(payments.cancelPayment({ paymentId: waiting.id }))
      expect(refused).toMatchObject({ _tag: "CheckoutNotCancelled", paymentId: waiting.id, gateway: "mock" })
      expect(refused.message).toContain("cannot cancel")
      const unchanged = yield* payments.getPayment(waiting.id)
      expect([unchanged.state, unchanged.version]).toEqual(["ACTION_REQUIRED", waiting.version])
      // once the customer has paid, the same call records the charge and refuses (a SUCCESS)
      expect(yield* mock.customerCompletes(waiting.reference ?? "")).toBe(true)
      expect(yield* Effect.flip(payments.cancelPayment({ paymentId: waiting.id }))).toMatchObject({ _tag: "InvalidTransition", from: "SUCCESS" })
      expect((yield* payments.getPayment(waiting.id)).state).toBe("SUCCESS")
    }).pipe(Effect.provide(layer())))
})
