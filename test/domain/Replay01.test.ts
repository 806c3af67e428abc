/**
 * Issue 13, item 8: events and snapshots written by release 0.1 (before customer actions) still
 * decode, fold and encode unchanged. `test/fixtures/v0.1-payments.json` was written by the code of
 * commit 178c404 (the 0.1 domain): a success with a refund and a notification, a manual capture,
 * a decline, an unknown outcome reconciled, a void, a gateway token, a failover whose stray
 * charges were compensated. (A database written by wave 1 is replayed by
 * test/storage/Upgrade.test.ts from test/fixtures/wave1.sql.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, Option, Schema } from "effect"
import * as fs from "node:fs"
import { Payment, PaymentEvent } from "aegispay"

const fixture = JSON.parse(fs.readFileSync(new URL("../fixtures/v0.1-payments.json", import.meta.url), "utf8")) as {
  readonly payments: ReadonlyArray<{ readonly snapshot: unknown; readonly events: ReadonlyArray<unknown> }>
}

describe("release 0.1 payments", () => {
  it("every 0.1 event decodes and encodes unchanged; the fold equals the 0.1 snapshot, encoded byte for byte", () => {
    expect(fixture.payments.length).toBe(7)
    for (const stored of fixture.payments) {
      const events = stored.events.map((e) => Schema.decodeUnknownSync(PaymentEvent.PaymentEvent)(e))
      expect(events.map((e) => Schema.encodeSync(PaymentEvent.PaymentEvent)(e))).toEqual(stored.events)
      const folded = Option.getOrThrow(Either.getOrThrow(Payment.fold(events)))
      expect(Schema.encodeSync(Payment.Payment)(folded)).toEqual(stored.snapshot)
      const snapshot = Schema.decodeUnknownSync(Payment.Payment)(stored.snapshot)
      expect(Schema.encodeSync(Payment.Payment)(snapshot)).toEqual(stored.snapshot)
      // nothing of 0.2 appears on a 0.1 payment
      expect([snapshot.customerAction, snapshot.actionExpiresAt, snapshot.providerPending, snapshot.disputes, snapshot.checkout])
        .toEqual([undefined, undefined, undefined, undefined, undefined])
    }
  })

  it("0.1 payments keep working with the 0.2 commands: an old SUCCESS records an outside refund and a dispute", () => {
    const success = fixture.payments.find((p) => (p.snapshot as { readonly state: string }).state === "SUCCESS")!
    const events = success.events.map((e) => Schema.decodeUnknownSync(PaymentEvent.PaymentEvent)(e))
    const folded = Option.getOrThrow(Either.getOrThrow(Payment.fold(events)))
    const disputed = Payment.recordDispute(folded, { disputeId: "dp", gateway: "alpha", status: "opened" }, folded.updatedAt)
    const refunded = Payment.recordExternalRefund(disputed.payment, {
      refundId: "ext_1",
      gateway: "alpha",
      gatewayRefundId: "re_dash",
      amount: folded.refundable
    }, folded.updatedAt)!
    expect(refunded.payment.refundedAmount.minor).toBe(folded.capturedAmount.minor)
    const all = [...events, ...disputed.events, ...refunded.events]
    const encoded = all.map((e) => Schema.encodeSync(PaymentEvent.PaymentEvent)(e))
    const again = Option.getOrThrow(Either.getOrThrow(Payment.fold(encoded.map((e) => Schema.decodeUnknownSync(PaymentEvent.PaymentEvent)(e)))))
    expect(Schema.encodeSync(Payment.Payment)(again)).toEqual(Schema.encodeSync(Payment.Payment)(refunded.payment))
  })
})
