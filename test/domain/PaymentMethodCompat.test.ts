/**
 * Payments stored before gateway tokens existed (card only) still decode, encode to the same JSON
 * and replay; a gateway token round-trips through the event and snapshot encodings.
 * The fixtures below were produced by the code of commit 2a55105 (before gateway tokens).
 */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Either, Option, Schema } from "effect"
import { Customer, Money, Payment, PaymentEvent, PaymentMethod, PaymentService } from "aegispay"
import { request, TestLayer } from "../helpers.js"

const oldEvent = JSON.parse(
  `{"eventId":"evt_pay_old_1","paymentId":"pay_old","tenantId":"default","seq":1,"occurredAt":"2026-01-01T00:00:00.000Z","idempotencyKey":"old-1","requestFingerprint":"f00d","amount":{"currency":"USD","minor":"1050"},"captureMethod":"automatic","paymentMethod":{"type":"card","brand":"visa","bin":"424242","last4":"4242","expiryMonth":12,"expiryYear":2030,"holderName":"Ada Lovelace","fingerprint":"fp_0123","vaultToken":"card_abcd"},"customer":{"id":"cus_1","email":"ada@example.com"},"metadata":{"orderId":"1"},"_tag":"PaymentInitiated"}`
)
const oldSnapshot = JSON.parse(
  `{"id":"pay_old","tenantId":"default","idempotencyKey":"old-1","requestFingerprint":"f00d","amount":{"currency":"USD","minor":"1050"},"authorizedAmount":{"currency":"USD","minor":"0"},"capturedAmount":{"currency":"USD","minor":"0"},"refundedAmount":{"currency":"USD","minor":"0"},"state":"INITIATED","captureMethod":"automatic","paymentMethod":{"type":"card","brand":"visa","bin":"424242","last4":"4242","expiryMonth":12,"expiryYear":2030,"holderName":"Ada Lovelace","fingerprint":"fp_0123","vaultToken":"card_abcd"},"customer":{"id":"cus_1","email":"ada@example.com"},"metadata":{"orderId":"1"},"attempts":[],"refunds":[],"compensations":[],"notificationIds":[],"reviews":[],"requiresReconciliation":false,"version":1,"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z"}`
)

describe("payment method encoding", () => {
  it("an event and a snapshot of a card payment stored before gateway tokens decode, fold and encode unchanged", () => {
    const event = Schema.decodeUnknownSync(PaymentEvent.PaymentEvent)(oldEvent)
    const snapshot = Schema.decodeUnknownSync(Payment.Payment)(oldSnapshot)
    expect(snapshot.paymentMethod).toBeInstanceOf(PaymentMethod.CardToken)
    expect(snapshot.paymentMethod).toMatchObject({ type: "card", last4: "4242", vaultToken: "card_abcd" })
    const folded = Option.getOrThrow(Either.getOrThrow(Payment.fold([event])))
    expect(Schema.encodeSync(Payment.Payment)(folded)).toEqual(oldSnapshot)
    expect(Schema.encodeSync(PaymentEvent.PaymentEvent)(event)).toEqual(oldEvent)
    expect(Schema.encodeSync(Payment.Payment)(snapshot)).toEqual(oldSnapshot)
  })

  it("a gateway token round-trips through the event and snapshot encodings", () => {
    const decision = Payment.initiate({
      id: "pay_tok",
      tenantId: "default",
      idempotencyKey: "tok-1",
      requestFingerprint: "f00d",
      amount: Money.fromMinor("USD", 1050n),
      captureMethod: "automatic",
      paymentMethod: new PaymentMethod.GatewayToken({ type: "gateway_token", gateway: "stripe", token: "pm_123" }),
      customer: Schema.decodeUnknownSync(Customer.Customer)({ id: "cus_1", email: "ada@example.com" }),
      metadata: {}
    }, DateTime.unsafeMake(0))
    const encodedEvent = JSON.parse(JSON.stringify(Schema.encodeSync(PaymentEvent.PaymentEvent)(decision.events[0]!)))
    expect(encodedEvent.paymentMethod).toEqual({ type: "gateway_token", gateway: "stripe", token: "pm_123" })
    const event = Schema.decodeUnknownSync(PaymentEvent.PaymentEvent)(encodedEvent)
    expect(event._tag === "PaymentInitiated" && event.paymentMethod).toBeInstanceOf(PaymentMethod.GatewayToken)
    const encodedPayment = JSON.parse(JSON.stringify(Schema.encodeSync(Payment.Payment)(decision.payment)))
    const payment = Schema.decodeUnknownSync(Payment.Payment)(encodedPayment)
    expect(payment.paymentMethod).toEqual(decision.payment.paymentMethod)
    expect(Payment.requiredGateway(payment)).toBe("stripe")
    expect(PaymentMethod.pinnedGateway(payment.paymentMethod)).toBe("stripe")
  })

  it.effect("the request fingerprint of a card create is unchanged (a repeat of an earlier create still replays)", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      // computed by the code before gateway tokens for the same request
      expect(p.requestFingerprint).toBe("ad2b07d70486db27a7e82b81d4008e237b6914a39a3b68eddb3ab7e9ae2d6e23")
    }).pipe(Effect.provide(TestLayer)))
})
