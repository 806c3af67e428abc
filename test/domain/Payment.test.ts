import { describe, expect, it } from "@effect/vitest"
import { DateTime, Either, Option, Schema } from "effect"
import * as fc from "fast-check"
import { Customer, Money, Payment, PaymentState } from "aegispay"
import { cardToken } from "../helpers.js"

const token = cardToken

const created = (captureMethod: "automatic" | "manual") =>
  Payment.initiate({
    id: "pay_1",
    tenantId: "t",
    idempotencyKey: "k",
    requestFingerprint: "f",
    amount: Money.fromMinor("USD", 10_000n),
    captureMethod,
    paymentMethod: token,
    customer: new Customer.Customer({ id: "c", email: Schema.decodeSync(Customer.Email)("a@example.com") }),
    metadata: {}
  }, DateTime.unsafeMake(0))

type Command = (p: Payment.Payment, at: DateTime.Utc, n: number) => Either.Either<Payment.Decision, unknown>

const commands: ReadonlyArray<Command> = [
  (p, at) => Payment.authenticate(p, "mock", at),
  (p, at, n) => Payment.startAttempt(p, { id: `att_${n}`, gateway: "mock", idempotencyKey: `k_${n}` }, at),
  (p, at) => Payment.recordRetry(p, "503", at),
  (p, at) => Payment.outcomeUnknown(p, "timeout", at),
  (p, at) => Payment.reconciled(p, "not_found", at),
  (p, at, n) => Payment.succeed(p, `txn_${n}`, at),
  (p, at, n) => Payment.authorize(p, `txn_${n}`, at),
  (p, at) => Payment.fail(p, "declined", "card_declined", at),
  (p, at, n) => Payment.capture(p, Money.fromMinor("USD", BigInt(1 + (n % 10_000))), at),
  (p, at) => Payment.cancel(p, "merchant", at),
  (p, at, n) => Payment.requestOperation(p, n % 2 === 0 ? "capture" : "void", Money.fromMinor("USD", BigInt(1 + (n % 10_000))), `op_${n}`, at),
  (p, at) => Payment.operationFailed(p, "declined", at),
  (p, at, n) => Payment.failover(p, "503", { id: `att_f${n}`, gateway: "beta", idempotencyKey: `kf_${n}` }, at),
  (p, at, n) =>
    Payment.requestRefund(p, {
      id: `re_${n}`,
      amount: Money.fromMinor("USD", BigInt(1 + (n * 37) % 6_000)),
      idempotencyKey: `r_${n}`,
      gatewayIdempotencyKey: `g_${n}`
    }, at),
  (p, at, n) => {
    const pending = p.refunds.find((r) => r.state === "PENDING")
    return pending === undefined
      ? Either.left("no pending refund")
      : Either.right(n % 2 === 0 ? Payment.refundSucceeded(p, pending.id, `gr_${n}`, at) : Payment.refundFailed(p, pending.id, "no", at))
  },
  (p, at) => Payment.fail(p, "gateway unavailable", undefined, at, true),
  (p, at, n) => Payment.failover(p, "503", { id: `att_g${n}`, gateway: "gamma", idempotencyKey: `kg_${n}` }, at, true),
  // a stray charge of some earlier attempt, compensated
  (p, at, n) => {
    const attempt = p.attempts[n % Math.max(1, p.attempts.length)]
    return attempt === undefined
      ? Either.left("no attempt")
      : Payment.requestCompensation(p, {
        id: `comp_${n}`,
        attempt,
        gatewayTransactionId: `txs_${n}`,
        operation: n % 2 === 0 ? "refund" : "void",
        idempotencyKey: `kc_${n}`,
        reason: "stray"
      }, at)
  },
  (p, at, n) => {
    const pending = p.compensations.find((c) => c.state === "PENDING")
    return pending === undefined
      ? Either.left("no pending compensation")
      : Either.right(n % 2 === 0 ? Payment.compensationSucceeded(p, pending.id, `grc_${n}`, at) : Payment.compensationNeedsReview(p, pending.id, "refused", at))
  },
  (p, at) => {
    const pending = p.refunds.find((r) => r.state === "PENDING")
    return pending === undefined ? Either.left("no pending refund") : Either.right(Payment.refundNeedsReview(p, pending.id, "declined on resume", at))
  },
  (p, at, n) => {
    const open = p.reviews.find((r) => r.state === "OPEN")
    return open === undefined
      ? Either.left("no open review")
      : Payment.resolveReview(p, { reviewId: open.id, resolution: n % 2 === 0 ? "refunded" : "not_refunded", note: "checked" }, at)
  },
  (p, at, n) => {
    const attempt = p.attempts.find((a) => a.needsStatusCheck)
    return attempt === undefined ? Either.left("nothing to check") : Either.right(Payment.attemptStatusChecked(p, attempt.id, n % 2 === 0 ? "failed" : "not_found", at))
  },
  (p, at, n) =>
    Either.right(Payment.recordNotification({ payment: p, events: [] }, {
      notificationId: `gw:evt_${n % 7}`,
      gateway: "gw",
      notificationType: "charge.succeeded",
      outcome: "ignored",
      detail: "test"
    }, at))
]

const encode = Schema.encodeSync(Payment.Payment)

describe("Payment aggregate", () => {
  it("property: along any sequence of commands, the snapshot equals the fold of the events and invariants hold", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(commands.length - 1), fc.nat(1_000_000)), { maxLength: 40 }),
        (manual, steps) => {
          let { events, payment } = created(manual ? "manual" : "automatic")
          const log = [...events]
          let clock = 0
          for (const [index, n] of steps) {
            const before = payment
            const result = commands[index]!(payment, DateTime.unsafeMake(++clock * 1000), n)
            if (Either.isLeft(result)) {
              continue // refused commands change nothing
            }
            payment = result.right.payment
            events = result.right.events
            log.push(...events)
            // terminal states are never left; transitions follow the table
            if (before.state !== payment.state) {
              expect(PaymentState.isTerminal(before.state)).toBe(false)
              expect(PaymentState.canTransition(before.state, payment.state)).toBe(true)
            }
            expect(payment.version).toBe(log.length)
            expect(payment.refundedAmount.minor <= payment.capturedAmount.minor).toBe(true)
            expect(payment.refundable.minor >= 0n).toBe(true)
            expect(payment.capturedAmount.minor <= payment.amount.minor).toBe(true)
          }
          const folded = Either.getOrThrow(Payment.fold(log))
          expect(encode(Option.getOrThrow(folded))).toEqual(encode(payment))
          expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1))
        }
      ),
      { numRuns: 500 }
    )
  })

  it("refuses a malformed event log with a typed error", () => {
    const { events, payment } = created("automatic")
    const next = Either.getOrThrow(Payment.authenticate(payment, "mock", DateTime.unsafeMake(1)))
    expect(Either.getOrThrow(Payment.fold([]))).toEqual(Option.none())
    const missingStart = Payment.fold(next.events)
    expect(Either.isLeft(missingStart) && missingStart.left._tag).toBe("MalformedEventLog")
    const repeated = Payment.fold([...events, ...events])
    expect(Either.isLeft(repeated)).toBe(true)
    const gap = Payment.fold([...events, ...next.events, ...next.events])
    expect(Either.isLeft(gap)).toBe(true)
  })
})
