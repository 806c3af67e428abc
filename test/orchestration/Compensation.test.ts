/**
 * Compensation, gateway notifications and manual review, under TestClock, with two mock gateways:
 * "alpha" (registered first) can be made to charge and then answer with an error (so the payment
 * fails over to "beta" and alpha holds a stray charge), and to decline or lose refunds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted, TestClock } from "effect"
import type { CommittedEvents} from "aegispay";
import { CircuitBreaker, Compensation, EventBus, EventStore, Gateway, GatewayMetrics, GatewayRegistry, Hooks, Ids, ManualReview, Notifications, Payment, PaymentLock, PaymentRepository, PaymentService, Recovery, Router, StorageError } from "aegispay"
import { MemoryCardVault, MemoryStorage, MockGateway, TestCards } from "aegispay/testing"
import { card, expectFoldEqualsSnapshot, request } from "../helpers.js"

interface Faults {
  /** alpha applies the charge, then answers with a transient error. */
  chargeThenError: boolean
  /** What alpha does with a refund. */
  refund: "ok" | "decline" | "lose-answer"
}

class Gateways extends Context.Tag("test/Gateways")<Gateways, {
  readonly alpha: MockGateway.MockGateway["Type"]
  readonly beta: MockGateway.MockGateway["Type"]
  readonly faults: Faults
}>() {}

const noRetry = { retry: { maxRetries: 0, initialDelayMs: 0, maxDelayMs: 0, backoffMultiplier: 1 } }

/** Memory storage whose first write of a `CompensationRequested` fails (the process died right there). */
const crashBeforeCompensationWrite = Layer.effectContext(Effect.map(MemoryStorage.make, ({ eventStore, repository }) => {
  let crashed = false
  return Context.make(PaymentRepository.PaymentRepository, {
    ...repository,
    update: (decision, expectedVersion, options) => {
      if (!crashed && decision.events.some((e) => e._tag === "CompensationRequested")) {
        crashed = true
        return Effect.fail(new StorageError.StorageError({ operation: "update", reason: "process killed" }))
      }
      return repository.update(decision, expectedVersion, options)
    }
  }).pipe(Context.add(EventStore.EventStore, eventStore))
}))

const layer = (storage: Layer.Layer<PaymentRepository.PaymentRepository | EventStore.EventStore, never, CommittedEvents.CommittedEvents> = MemoryStorage.layer) => {
  const base = Layer.mergeAll(MemoryCardVault.layer(Redacted.make("k")), Ids.layerSequential)
  const gateways = Layer.effect(
    Gateways,
    Effect.gen(function*() {
      const alpha = yield* MockGateway.make({ id: "alpha" })
      const beta = yield* MockGateway.make({ id: "beta" })
      return { alpha, beta, faults: { chargeThenError: true, refund: "ok" } }
    })
  )
  const registry = Layer.effect(
    GatewayRegistry.GatewayRegistry,
    Effect.flatMap(Gateways, ({ alpha, beta, faults }) => {
      const inner = alpha.gateway
      const wrapped: Gateway.Gateway = {
        ...inner,
        process: (r) =>
          faults.chargeThenError
            ? Effect.zipRight(
              inner.process(r),
              Effect.fail(new Gateway.GatewayTransientError({ gateway: "alpha", operation: "process", reason: "500 after charging" }))
            )
            : inner.process(r),
        refund: (r) =>
          faults.refund === "decline"
            ? Effect.fail(new Gateway.GatewayDeclined({ gateway: "alpha", code: "charge_disputed", reason: "disputed" }))
            : faults.refund === "lose-answer"
            ? Effect.zipRight(
              inner.refund(r),
              Effect.fail(new Gateway.GatewayUnknownOutcome({ gateway: "alpha", operation: "refund", reason: "timed out" }))
            )
            : inner.refund(r)
      }
      return GatewayRegistry.make([wrapped, beta.gateway])
    })
  )
  return Layer.mergeAll(Notifications.layer, ManualReview.layer, Recovery.layer({ stuckAfter: "1 minute" })).pipe(
    Layer.provideMerge(Layer.mergeAll(PaymentService.layer(noRetry), Compensation.layer(noRetry))),
    Layer.provideMerge(Layer.mergeAll(
      registry,
      PaymentLock.layerMemory.pipe(Layer.provideMerge(storage)),
      CircuitBreaker.layer(),
      GatewayMetrics.layer(),
      Router.layerRegistrationOrder,
      Hooks.layer()
    )),
    Layer.provideMerge(Layer.mergeAll(gateways, EventBus.layer())),
    Layer.provideMerge(base)
  )
}

/** A payment that failed over from alpha (which charged anyway) to beta (which charged): SUCCESS at beta. */
const strayCharge = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const p = yield* payments.createPayment(request())
  const processed = yield* payments.processPayment(p.id)
  expect(processed.state).toBe("SUCCESS")
  expect(processed.gateway).toBe("beta")
  const stray = processed.attempts[0]!
  expect(stray.gateway).toBe("alpha")
  expect(stray.status).toBe("failed")
  const { alpha } = yield* Gateways
  const charge = (yield* alpha.ledger).charges[0]!
  expect(charge.idempotencyKey).toBe(stray.idempotencyKey)
  return { payment: processed, stray, transactionId: charge.transactionId }
})

const notify = (fields: Partial<Notifications.GatewayNotification> & Pick<Notifications.GatewayNotification, "paymentId" | "idempotencyKey">) =>
  Effect.flatMap(Notifications.Notifications, (n) =>
    n.apply({ id: "evt_1", gateway: "alpha", type: "charge.succeeded", verified: true, ...fields }))

const alphaLedger = Effect.flatMap(Gateways, ({ alpha }) => alpha.ledger)
const eventTags = (paymentId: string) =>
  Effect.map(Effect.flatMap(EventStore.EventStore, (s) => s.read(paymentId)), (events) => events.map((e) => e._tag))

describe("Compensation", () => {
  it.effect("a stray charge reported by a verified notification is refunded once; the redelivery is a Duplicate", () =>
    Effect.gen(function*() {
      const { payment, stray, transactionId } = yield* strayCharge
      const result = yield* notify({ paymentId: payment.id, idempotencyKey: stray.idempotencyKey, transactionId })
      expect(result._tag).toBe("Applied")
      expect(result.payment.state).toBe("SUCCESS") // the payment itself is untouched
      expect(result.payment.compensations.map((c) => [c.attemptId, c.operation, c.state])).toEqual([
        [stray.id, "refund", "REFUNDED"]
      ])
      const ledger = yield* alphaLedger
      expect(ledger.refunds.map((r) => r.amount.minor)).toEqual([payment.amount.minor])
      expect(ledger.charges[0]!.refunded.minor).toBe(payment.amount.minor)

      const again = yield* notify({ paymentId: payment.id, idempotencyKey: stray.idempotencyKey, transactionId })
      expect(again._tag).toBe("Duplicate")
      const other = yield* notify({ id: "evt_2", paymentId: payment.id, idempotencyKey: stray.idempotencyKey, transactionId })
      expect(other._tag).toBe("Ignored") // another delivery id, same fact: compensated already
      expect((yield* alphaLedger).refunds.length).toBe(1)
      expect(yield* eventTags(payment.id)).toContain("CompensationSucceeded")
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(payment.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(layer())))

  it.effect("an unverified notification changes nothing by itself: the gateway's status is asked, then the stray charge is refunded", () =>
    Effect.gen(function*() {
      const { payment, stray } = yield* strayCharge
      const result = yield* notify({ paymentId: payment.id, idempotencyKey: stray.idempotencyKey, verified: false })
      expect(result._tag).toBe("Checked")
      expect(result.payment.compensations.map((c) => c.state)).toEqual(["REFUNDED"])
      expect(result.payment.notificationIds).toEqual([]) // unverified: not recorded
      expect((yield* alphaLedger).refunds.length).toBe(1)
      // checking again finds it compensated: no second refund
      yield* notify({ paymentId: payment.id, idempotencyKey: stray.idempotencyKey, verified: false })
      expect((yield* alphaLedger).refunds.length).toBe(1)
    }).pipe(Effect.provide(layer())))

  it.effect("a refused compensation opens a review item (ManualReviewRequired); resolving it records the decision once", () =>
    Effect.gen(function*() {
      const { payment, stray, transactionId } = yield* strayCharge
      const { faults } = yield* Gateways
      faults.refund = "decline"
      const result = yield* notify({ paymentId: payment.id, idempotencyKey: stray.idempotencyKey, transactionId })
      expect(result.payment.compensations.map((c) => c.state)).toEqual(["MANUAL_REVIEW"])
      expect(yield* eventTags(payment.id)).toContain("ManualReviewRequired")

      const reviews = yield* ManualReview.ManualReview
      const listed = yield* reviews.list()
      expect(listed.items.map((i) => [i.payment.id, i.review.compensationId])).toEqual([
        [payment.id, result.payment.compensations[0]!.id]
      ])
      expect(listed.items[0]!.review.reason).toContain("refused")
      const reviewId = listed.items[0]!.review.id

      const invalid = yield* Effect.flip(reviews.resolve({ paymentId: payment.id, reviewId, resolution: "refunded", note: " " }))
      expect(invalid._tag).toBe("ValidationError")
      const resolved = yield* reviews.resolve({
        paymentId: payment.id,
        reviewId,
        resolution: "refunded",
        note: "refunded by hand in the alpha dashboard",
        resolvedBy: "ops@example.com",
        gatewayRefundId: "re_manual_1"
      })
      expect(resolved.compensations.map((c) => [c.state, c.gatewayRefundId])).toEqual([["REFUNDED", "re_manual_1"]])
      expect(resolved.reviews.map((r) => [r.state, r.resolution, r.resolvedBy])).toEqual([["RESOLVED", "refunded", "ops@example.com"]])
      expect((yield* reviews.list()).items).toEqual([])
      const twice = yield* Effect.flip(reviews.resolve({ paymentId: payment.id, reviewId, resolution: "refunded", note: "again" }))
      expect(twice._tag).toBe("ReviewNotOpen")
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(payment.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(layer())))

  it.effect("a compensation whose answer was lost stays PENDING and the recovery worker resends it with the same key", () =>
    Effect.gen(function*() {
      const { payment, stray, transactionId } = yield* strayCharge
      const { faults } = yield* Gateways
      faults.refund = "lose-answer"
      const result = yield* notify({ paymentId: payment.id, idempotencyKey: stray.idempotencyKey, transactionId })
      expect(result.payment.compensations.map((c) => c.state)).toEqual(["PENDING"])
      faults.refund = "ok"
      yield* TestClock.adjust("2 minutes")
      const report = yield* Effect.flatMap(Recovery.Recovery, (r) => r.runOnce)
      expect(report).toMatchObject({ examined: 1, resolved: 1 })
      const after = yield* Effect.flatMap(PaymentService.PaymentService, (s) => s.getPayment(payment.id))
      expect(after.compensations.map((c) => c.state)).toEqual(["REFUNDED"])
      const ledger = yield* alphaLedger
      expect(ledger.refunds.length).toBe(1) // the resend carried the same key: refunded once
      expect(ledger.charges[0]!.refunded.minor).toBe(payment.amount.minor)
    }).pipe(Effect.provide(layer())))
})

describe("Compensation without notifications", () => {
  const runRecovery = Effect.flatMap(Recovery.Recovery, (r) => r.runOnce)

  it.effect("the recovery worker asks the gateway about an attempt failed over after errors, once, and refunds its stray charge", () =>
    Effect.gen(function*() {
      const { payment, stray } = yield* strayCharge
      expect(stray.needsStatusCheck).toBe(true)
      expect(Payment.hasOpenWork(payment)).toBe(true)
      yield* TestClock.adjust("2 minutes")
      expect(yield* runRecovery).toMatchObject({ examined: 1, resolved: 1, stillOpen: 0 })
      const after = yield* Effect.flatMap(PaymentService.PaymentService, (s) => s.getPayment(payment.id))
      expect(after.state).toBe("SUCCESS")
      expect(after.attempts[0]!.needsStatusCheck).toBe(false)
      expect(after.compensations.map((c) => c.state)).toEqual(["REFUNDED"])
      expect((yield* alphaLedger).charges[0]!.refunded.minor).toBe(payment.amount.minor)
      expect(yield* eventTags(payment.id)).toEqual(expect.arrayContaining(["AttemptStatusChecked", "CompensationRequested"]))
      yield* TestClock.adjust("2 minutes")
      expect(yield* runRecovery).toMatchObject({ examined: 0 }) // checked once
    }).pipe(Effect.provide(layer())))

  // found by the simulation: npx tsx test/sim/sim.ts --seed 750 --payments 200 (before the fix)
  it.effect("a crash between the status check and the compensation's commit loses neither: the next run compensates", () =>
    Effect.gen(function*() {
      const { payment } = yield* strayCharge
      yield* TestClock.adjust("2 minutes")
      expect(yield* runRecovery).toMatchObject({ examined: 1, failed: [{ paymentId: payment.id, error: "StorageError" }] })
      const crashed = yield* Effect.flatMap(PaymentService.PaymentService, (s) => s.getPayment(payment.id))
      expect(Payment.hasOpenWork(crashed)).toBe(true) // the status check was not recorded without its compensation
      yield* TestClock.adjust("2 minutes")
      expect(yield* runRecovery).toMatchObject({ examined: 1, resolved: 1 })
      const after = yield* Effect.flatMap(PaymentService.PaymentService, (s) => s.getPayment(payment.id))
      expect(after.compensations.map((c) => c.state)).toEqual(["REFUNDED"])
      expect((yield* alphaLedger).charges[0]!.refunded.minor).toBe(payment.amount.minor)
    }).pipe(Effect.provide(layer(crashBeforeCompensationWrite))))

  it.effect("a crash at the compensation's write keeps no record of the notification that revealed the charge: its redelivery compensates", () =>
    Effect.gen(function*() {
      const { payment, stray, transactionId } = yield* strayCharge
      const first = yield* Effect.flip(notify({ paymentId: payment.id, idempotencyKey: stray.idempotencyKey, transactionId }))
      expect(first._tag).toBe("StorageError")
      const redelivered = yield* notify({ paymentId: payment.id, idempotencyKey: stray.idempotencyKey, transactionId })
      expect(redelivered._tag).toBe("Applied") // not a Duplicate
      expect(redelivered.payment.compensations.map((c) => c.state)).toEqual(["REFUNDED"])
      expect((yield* alphaLedger).charges[0]!.refunded.minor).toBe(payment.amount.minor)
      expect((yield* eventTags(payment.id)).filter((t) => t === "NotificationReceived").length).toBe(1)
    }).pipe(Effect.provide(layer(crashBeforeCompensationWrite))))

  it.effect("a payment that failed after errors, although its gateway charged, is refunded by the recovery worker", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const { beta } = yield* Gateways
      yield* beta.setAvailable(false)
      const p = yield* payments.createPayment(request())
      const failed = yield* payments.processPayment(p.id)
      expect(failed.state).toBe("FAILURE") // alpha answered with an error, beta is down
      expect(failed.attempts.map((a) => [a.gateway, a.needsStatusCheck])).toEqual([["alpha", true], ["beta", true]])
      expect((yield* alphaLedger).charges.length).toBe(1) // …but alpha charged
      yield* beta.setAvailable(true)
      yield* TestClock.adjust("2 minutes")
      expect(yield* runRecovery).toMatchObject({ examined: 1, resolved: 1 })
      const after = yield* payments.getPayment(p.id)
      expect(after.state).toBe("FAILURE")
      expect(after.compensations.map((c) => [c.gateway, c.state])).toEqual([["alpha", "REFUNDED"]])
      expect((yield* alphaLedger).charges[0]!.refunded.minor).toBe(p.amount.minor)
      expect((yield* beta.ledger).charges).toEqual([])
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(p.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(layer())))

  it.effect("an attempt failed over after errors that its gateway never applied is checked once and nothing is refunded", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const { alpha } = yield* Gateways
      yield* alpha.setAvailable(false, ["process"])
      const p = yield* payments.createPayment(request())
      const processed = yield* payments.processPayment(p.id)
      expect(processed.gateway).toBe("beta")
      expect(processed.attempts[0]!.needsStatusCheck).toBe(true)
      yield* TestClock.adjust("2 minutes")
      expect(yield* runRecovery).toMatchObject({ examined: 1, resolved: 1 })
      const after = yield* payments.getPayment(p.id)
      expect(after.compensations).toEqual([])
      expect(Payment.hasOpenWork(after)).toBe(false)
      expect((yield* alphaLedger).charges).toEqual([])
    }).pipe(Effect.provide(layer())))
})

describe("Notifications", () => {
  it.effect("a verified success settles a payment whose answer was lost, without asking; an older failure never moves it back", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const { faults, alpha } = yield* Gateways
      faults.chargeThenError = false
      const p = yield* payments.createPayment(request({ paymentMethod: card(TestCards.timeoutAfterCharge) }))
      const processing = yield* payments.processPayment(p.id)
      expect(processing.state).toBe("PROCESSING")
      const attempt = processing.currentAttempt!
      const charge = (yield* alpha.ledger).charges[0]!
      const before = yield* alpha.calls

      // delivered out of order: the success first, then an older failure
      const success = yield* notify({ paymentId: p.id, idempotencyKey: attempt.idempotencyKey, transactionId: charge.transactionId })
      expect(success._tag).toBe("Applied")
      expect(success.payment.state).toBe("SUCCESS")
      expect(success.payment.gatewayTransactionId).toBe(charge.transactionId)
      const failure = yield* notify({ id: "evt_0", type: "charge.failed", paymentId: p.id, idempotencyKey: attempt.idempotencyKey })
      expect(failure._tag).toBe("Ignored")
      expect(failure.payment.state).toBe("SUCCESS")
      expect((yield* alpha.calls).getStatus ?? 0).toBe(before.getStatus ?? 0)
      expect((yield* alpha.ledger).charges.length).toBe(1)
      expect(failure.payment.compensations).toEqual([]) // its own charge is never compensated
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(p.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(layer())))

  it.effect("a verified refund result settles a refund whose answer was lost", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const { faults } = yield* Gateways
      faults.chargeThenError = false
      const p = yield* payments.createPayment(request())
      yield* payments.processPayment(p.id)
      faults.refund = "lose-answer"
      const refund = yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "5.00" })
      expect(refund.state).toBe("PENDING")
      const result = yield* notify({
        type: "refund.succeeded",
        paymentId: p.id,
        idempotencyKey: refund.gatewayIdempotencyKey,
        refundId: "re_gw_1"
      })
      expect(result._tag).toBe("Applied")
      expect(result.payment.refunds.map((r) => [r.state, r.gatewayRefundId])).toEqual([["SUCCEEDED", "re_gw_1"]])
      expect(result.payment.refundedAmount.minor).toBe(500n)
      const late = yield* notify({ id: "evt_9", type: "refund.failed", paymentId: p.id, idempotencyKey: refund.gatewayIdempotencyKey })
      expect(late._tag).toBe("Ignored")
      expect(late.payment.refunds[0]!.state).toBe("SUCCEEDED")
    }).pipe(Effect.provide(layer())))

  it.effect("malformed notifications are a ValidationError; unknown references are recorded as ignored; a missing payment is PaymentNotFound", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      const bad = yield* Effect.flip(notify({ paymentId: p.id, idempotencyKey: "k", type: "charge.exploded" as "charge.failed" }))
      expect(bad._tag).toBe("ValidationError")
      const empty = yield* Effect.flip(notify({ id: "", paymentId: p.id, idempotencyKey: "k" }))
      expect(empty._tag).toBe("ValidationError")
      const unknown = yield* notify({ paymentId: p.id, idempotencyKey: "nobody", transactionId: "tx" })
      expect(unknown._tag).toBe("Ignored")
      expect(unknown.payment.state).toBe("INITIATED")
      const missing = yield* Effect.flip(notify({ paymentId: "pay_nope", idempotencyKey: "k" }))
      expect(missing._tag).toBe("PaymentNotFound")
    }).pipe(Effect.provide(layer())))
})

describe("ManualReview of refunds", () => {
  it.effect("a resumed refund the gateway declines goes to review; resolving it not_refunded releases its reservation", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const { faults } = yield* Gateways
      faults.chargeThenError = false
      const p = yield* payments.createPayment(request())
      yield* payments.processPayment(p.id)
      faults.refund = "lose-answer"
      const first = yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1" })
      expect(first.state).toBe("PENDING")
      faults.refund = "decline"
      const resumed = yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1" })
      expect(resumed.state).toBe("MANUAL_REVIEW")
      const reviews = yield* ManualReview.ManualReview
      const [item] = (yield* reviews.list({ tenantId: p.tenantId })).items
      expect(item?.review.refundId).toBe(first.id)
      expect((yield* reviews.list({ tenantId: "someone-else" })).items).toEqual([])
      const resolved = yield* reviews.resolve({
        paymentId: p.id,
        reviewId: item!.review.id,
        resolution: "not_refunded",
        note: "the gateway confirms nothing was refunded"
      })
      expect(resolved.refunds[0]!.state).toBe("FAILED")
      expect(resolved.refundable.minor).toBe(p.amount.minor)
      expect(resolved.refundedAmount.minor).toBe(0n)
    }).pipe(Effect.provide(layer())))
})
