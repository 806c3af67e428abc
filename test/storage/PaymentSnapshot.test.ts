/**
 * `PaymentSnapshot.encode` (the snapshot `SqlStorage` writes) is `Schema.encodeSync(Payment)`:
 * for every version of payments driven through real flows (approved, declined, manual capture,
 * partial refunds, customer action, unknown outcome, retry, metadata and checkout fields), each
 * version built from the previous one by its event, as the orchestration builds them (so new
 * versions share objects with older ones and the encoder reuses earlier encodings), and through
 * JSON and the snapshot decoder back to the same payment.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { EventStore, Payment, PaymentService } from "aegispay"
import { TestCards } from "aegispay/testing"
import * as PaymentSnapshot from "../../src/storage/PaymentSnapshot.js"
import { card, request, TestLayer } from "../helpers.js"

const schemaEncode = Schema.encodeSync(Payment.Payment)
const decode = Schema.decodeUnknownSync(Payment.Payment)

/** Every version of the payment, each applied to the previous one (shared objects). */
const versionsOf = (paymentId: string) =>
  Effect.gen(function*() {
    const events = yield* (yield* EventStore.EventStore).read(paymentId)
    const [first, ...rest] = events
    if (first === undefined || first._tag !== "PaymentInitiated") return yield* Effect.dieMessage("no PaymentInitiated")
    const versions = [Payment.start(first)]
    for (const event of rest) {
      if (event._tag === "PaymentInitiated") return yield* Effect.dieMessage("second PaymentInitiated")
      versions.push(Payment.apply(versions[versions.length - 1]!, event))
    }
    return versions
  })

const flows = Effect.gen(function*() {
  const service = yield* PaymentService.PaymentService
  const ids: Array<string> = []
  const create = (key: string, overrides: Partial<Parameters<typeof service.createPayment>[0]> = {}) =>
    Effect.tap(service.createPayment(request({ idempotencyKey: key, ...overrides })), (p) => Effect.sync(() => ids.push(p.id)))
  const process = (id: string) => Effect.either(service.processPayment(id))

  yield* Effect.flatMap(create("approved"), (p) => process(p.id))
  yield* Effect.flatMap(create("declined", { paymentMethod: card(TestCards.declined) }), (p) => process(p.id))
  yield* Effect.flatMap(create("retry", { paymentMethod: card(TestCards.retryOnce) }), (p) => process(p.id))
  yield* Effect.flatMap(create("unknown", { paymentMethod: card(TestCards.timeoutAfterCharge) }), (p) => process(p.id))
  yield* Effect.flatMap(create("action", {
    paymentMethod: card(TestCards.actionRedirect),
    returnUrl: "https://shop.example/return",
    description: "order 7",
    metadata: { order: "7", gift: true }
  }), (p) => process(p.id))
  const refunded = yield* create("refunded", { amount: "80.00" })
  yield* process(refunded.id)
  yield* Effect.either(service.refundPayment({ paymentId: refunded.id, idempotencyKey: "r1", amount: "30.00" }))
  yield* Effect.either(service.refundPayment({ paymentId: refunded.id, idempotencyKey: "r2", amount: "10.00", reason: "late" }))
  const manual = yield* create("manual", { captureMethod: "manual" })
  yield* process(manual.id)
  yield* Effect.either(service.capturePayment({ paymentId: manual.id, amount: "60.00" }))
  return ids
})

describe("PaymentSnapshot", () => {
  it.live("every version of real payments encodes exactly as the Payment schema does, and decodes back", () =>
    Effect.gen(function*() {
      const ids = yield* flows
      let versions = 0
      for (const id of ids) {
        for (const payment of yield* versionsOf(id)) {
          versions++
          const encoded = PaymentSnapshot.encode(payment)
          expect(encoded).toStrictEqual(schemaEncode(payment))
          // a second encode (every object now known) is the same
          expect(PaymentSnapshot.encode(payment)).toStrictEqual(encoded)
          const back = decode(JSON.parse(JSON.stringify(encoded)))
          expect(JSON.stringify(schemaEncode(back))).toBe(JSON.stringify(schemaEncode(payment)))
        }
      }
      // the flows reached the states this test claims to cover
      expect(versions).toBeGreaterThan(30)
      const service = yield* PaymentService.PaymentService
      const finals = yield* Effect.forEach(ids, (id) => Effect.map(service.getPayment(id), (p) => p.state))
      for (const state of ["SUCCESS", "FAILURE", "ACTION_REQUIRED"] as const) expect(finals).toContain(state)
    }).pipe(Effect.provide(TestLayer)))
})
