/**
 * A seeded simulation of AegisPay with the Stripe adapter against the fake Stripe: payments run
 * concurrently (charges, manual captures full and partial, voids, partial refunds, declines)
 * while faults are injected on random Stripe calls (a saved 5xx, a 5xx after applying, timeouts
 * and connection resets after applying, resets before, 429, answers that are not JSON or not a
 * PaymentIntent); every event the fake emitted is then delivered as a signed webhook, shuffled
 * and duplicated; recovery runs until nothing is open. Invariants, per seed:
 * - nothing stuck: no payment has open work;
 * - no double charge: at most one charge per payment in the fake's ledger, and a SUCCESS
 *   payment's charge is its transaction;
 * - ledger equals local: captured and refunded amounts in the ledger equal the payment's; a
 *   cancelled payment's authorization is voided; a failed payment holds no live charge;
 * - the stored payment equals the fold of its events.
 */
import { describe, expect, it } from "@effect/vitest"
import { Array as Arr, Effect, Random, Redacted } from "effect"
import { AegisPay, GatewayRegistry, Notifications, Payment, PaymentLock, PaymentService, Recovery } from "aegispay"
import { Stripe } from "aegispay/gateways"
import { AegisPayTest, MemoryStorage } from "aegispay/testing"
import { FakeStripe } from "aegispay/testing/fakes"
import { expectFoldEqualsSnapshot } from "../../helpers.js"
import { HttpLive } from "./support.js"

const faults: ReadonlyArray<FakeStripe.Fault> = [
  "error500", "error500AfterApply", "timeoutAfterApply", "resetAfterApply", "resetBeforeApply", "rateLimit", "notJson", "unexpectedJson"
]

const composition = (fake: FakeStripe.FakeStripe, url: string) =>
  AegisPay.layerWith({
    gateways: GatewayRegistry.layerFrom([
      Stripe.make({
        secretKey: Redacted.make(fake.secretKey),
        webhookSecret: Redacted.make(fake.webhookSecret),
        apiBase: url,
        timeout: "200 millis",
        webhookTolerance: "1 hour"
      })
    ]),
    storage: MemoryStorage.layer,
    locks: PaymentLock.layerMemory,
    vault: AegisPayTest.layerVault
  }, {
    ids: "sequential",
    service: { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2, backoffMultiplier: 1 } },
    breaker: { failureThreshold: 100_000, monitorWindow: "60 seconds", resetTimeout: "1 second", halfOpenMaxCalls: 1, successThreshold: 1 }
  })

const simulate = (seed: string, count: number) =>
  Effect.gen(function*() {
    const { fake, url } = yield* FakeStripe.serve()
    return yield* Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const notifications = yield* Notifications.Notifications
      const stripe = yield* (yield* GatewayRegistry.GatewayRegistry).get("stripe")
      const recovery = yield* Recovery.make({ stuckAfter: 0 })
      const maybeFault = Effect.gen(function*() {
        if ((yield* Random.next) < 0.35) {
          const fault = faults[yield* Random.nextIntBetween(0, faults.length)]
          if (fault !== undefined) yield* fake.inject(fault, { method: "POST" })
        }
      })

      // one payment's life, run concurrently with others
      const life = (i: number) =>
        Effect.gen(function*() {
          const roll = yield* Random.next
          const manual = roll < 0.3
          const token = roll > 0.9 ? FakeStripe.TestPaymentMethods.declined : FakeStripe.TestPaymentMethods.visa
          const created = yield* payments.createPayment({
            idempotencyKey: `${seed}-${i}`,
            amount: `${10 + i}.00`,
            currency: "USD",
            paymentMethod: { type: "gateway_token", gateway: "stripe", token },
            captureMethod: manual ? "manual" : "automatic",
            customer: { id: `cus_${i % 7}`, email: "sim@example.com" }
          })
          yield* maybeFault
          yield* Effect.either(payments.processPayment(created.id))
          const now = yield* payments.getPayment(created.id)
          if (now.state === "AUTHORIZED") {
            yield* maybeFault
            if ((yield* Random.next) < 0.7) yield* Effect.either(payments.capturePayment({ paymentId: created.id, amount: `${5 + i}.00` }))
            else yield* Effect.either(payments.cancelPayment({ paymentId: created.id }))
          }
          const later = yield* payments.getPayment(created.id)
          if (later.state === "SUCCESS" && (yield* Random.next) < 0.6) {
            yield* maybeFault
            yield* Effect.either(payments.refundPayment({ paymentId: created.id, idempotencyKey: `${seed}-${i}-r1`, amount: "2.00" }))
          }
          return created.id
        })
      const ids = yield* Effect.forEach(Arr.range(0, count - 1), life, { concurrency: 4 })

      // every event Stripe sent, signed, shuffled and some twice
      const events = yield* fake.events
      const deliveries = yield* Random.shuffle([...events, ...events.filter((_, n) => n % 3 === 0)])
      for (const event of deliveries) {
        const parsed = yield* Effect.either(Effect.flatMap(fake.sign(event), (w) => stripe.webhooks!.parse(w)))
        if (parsed._tag === "Right") for (const n of parsed.right) yield* Effect.either(notifications.apply(n))
      }

      // recovery until nothing is open (captures and refunds left pending are resumed too)
      for (let round = 0; round < 12; round++) {
        const all = yield* Effect.forEach(ids, (id) => payments.getPayment(id))
        if (!all.some(Payment.hasOpenWork)) break
        yield* recovery.runOnce
      }
      const all = yield* Effect.forEach(ids, (id) => payments.getPayment(id))
      const folds = yield* Effect.forEach(ids, expectFoldEqualsSnapshot)
      return { all, folds, ledger: yield* fake.ledger, injected: events.length }
    }).pipe(Effect.provide(composition(fake, url)), Effect.withRandom(Random.make(seed)))
  })

describe("Stripe simulation", () => {
  for (const seed of ["stripe-sim-1", "stripe-sim-2", "stripe-sim-3"]) {
    it.live(`seed ${seed}: 24 concurrent payments under faults settle with the ledger equal to the payments`, () =>
      Effect.gen(function*() {
        const { all, folds, ledger } = yield* simulate(seed, 24)
        expect(all.filter(Payment.hasOpenWork).map((p) => `${p.id} ${p.state} ${JSON.stringify({ op: p.pendingOperation, refunds: p.refunds.map((r) => r.state), rec: p.requiresReconciliation, checks: p.attempts.map((a) => a.needsStatusCheck) })}`)).toEqual([])
        for (const { stored, rebuilt } of folds) expect(stored).toEqual(rebuilt)
        const charges = new Map<string, Array<FakeStripe.Ledger["charges"][number]>>()
        for (const c of ledger.charges) charges.set(c.paymentId ?? "?", [...(charges.get(c.paymentId ?? "?") ?? []), c])
        expect([...charges.entries()].filter(([, cs]) => cs.length > 1).map(([id]) => id)).toEqual([])
        for (const p of all) {
          const charge = charges.get(p.id)?.[0]
          switch (p.state) {
            case "SUCCESS":
              expect(charge?.intentId).toBe(p.gatewayTransactionId)
              expect(charge?.captured).toBe(p.capturedAmount.minor)
              expect(charge?.refunded).toBe(p.refundedAmount.minor)
              break
            case "CANCELLED":
              if (charge !== undefined) expect(charge.voided || charge.refunded === charge.captured).toBe(true)
              break
            case "FAILURE":
              if (charge !== undefined) expect(charge.voided || charge.refunded === charge.captured).toBe(true)
              break
            case "AUTHORIZED":
              expect(charge?.captured).toBe(0n)
              expect(charge?.voided).toBe(false)
              break
            default:
              expect.unreachable(`${p.id} left ${p.state}`)
          }
        }
        expect(all.filter((p) => p.state === "SUCCESS").length).toBeGreaterThan(0)
      }).pipe(Effect.provide(HttpLive), Effect.scoped), 120_000)
  }
})
