import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import { CardVault, EventStore, Gateway, GatewayRegistry, Ids, PaymentRepository, PaymentService, Tenant } from "aegispay"
import { AegisPayTest, MemoryCardVault, MockGateway, TestCards } from "aegispay/testing"
import { card, expectFoldEqualsSnapshot, request, TestLayer } from "../helpers.js"

const service = PaymentService.PaymentService
const ledger = Effect.flatMap(MockGateway.MockGateway, (m) => m.ledger)
const eventTags = (paymentId: string) =>
  Effect.flatMap(EventStore.EventStore, (store) => store.read(paymentId)).pipe(
    Effect.map((events) => events.map((e) => e._tag))
  )

describe("createPayment", () => {
  it.effect("returns the same payment for the same key and request", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const first = yield* payments.createPayment(request())
      const second = yield* payments.createPayment(request())
      expect(second.id).toBe(first.id)
      expect(first.state).toBe("INITIATED")
      expect(yield* eventTags(first.id)).toEqual(["PaymentInitiated"])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("fails with IdempotencyKeyReused when the same key comes with a different request", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const first = yield* payments.createPayment(request())
      const variants = [
        request({ amount: "100.01" }),
        request({ currency: "EUR" }),
        request({ metadata: { orderId: "2", nested_ok: true } }),
        request({ customer: { id: "cus_1", email: "other@example.com" } }),
        request({ paymentMethod: card(TestCards.successMastercard) }),
        request({ captureMethod: "manual" })
      ]
      for (const variant of variants) {
        const error = yield* Effect.flip(payments.createPayment(variant))
        expect(error._tag).toBe("IdempotencyKeyReused")
        if (error._tag === "IdempotencyKeyReused") expect(error.existingId).toBe(first.id)
      }
      // the same key in another tenant is another payment
      const other = yield* payments.createPayment(request({ tenantId: "tenant-b" })).pipe(Tenant.with("tenant-b"))
      expect(other.id).not.toBe(first.id)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("100 concurrent identical creates make exactly one payment", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const results = yield* Effect.all(
        Array.from({ length: 100 }, () => payments.createPayment(request())),
        { concurrency: "unbounded" }
      )
      expect(new Set(results.map((p) => p.id)).size).toBe(1)
      const page = yield* payments.getCustomerPayments({ customerId: "cus_1", limit: 100 })
      expect(page.items.length).toBe(1)
    }).pipe(Effect.provide(TestLayer)))
})

describe("processPayment", () => {
  it.effect("INITIATED → AUTHENTICATED → PROCESSING → SUCCESS, one charge, events fold to the snapshot", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request())
      const done = yield* payments.processPayment(created.id)
      expect(done.state).toBe("SUCCESS")
      expect(done.capturedAmount.minor).toBe(10000n)
      expect(yield* eventTags(done.id)).toEqual([
        "PaymentInitiated",
        "PaymentAuthenticated",
        "PaymentProcessing",
        "PaymentSucceeded"
      ])
      const { charges } = yield* ledger
      expect(charges.length).toBe(1)
      expect(charges[0]!.idempotencyKey).toBe(done.attempts[0]!.idempotencyKey)
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(done.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("commits PROCESSING and the attempt's key before the money-moving call", () => {
    const seen: Array<{ state: string; key: string | undefined; requestKey: string }> = []
    // A gateway that, at the moment it is asked to move money, reads what is committed.
    const Spy = Layer.effect(
      GatewayRegistry.GatewayRegistry,
      Effect.gen(function*() {
        const mock = yield* MockGateway.MockGateway
        const repository = yield* PaymentRepository.PaymentRepository
        const spy: Gateway.Gateway = {
          ...mock.gateway,
          process: (req) =>
            Effect.gen(function*() {
              const stored = yield* Effect.orDie(repository.findById(req.paymentId))
              const p = Option.getOrThrow(stored)
              seen.push({ state: p.state, key: p.currentAttempt?.idempotencyKey, requestKey: req.idempotencyKey })
              return yield* mock.gateway.process(req)
            })
        }
        return yield* GatewayRegistry.make([spy])
      })
    )
    const layer = PaymentService.layer().pipe(
      Layer.provideMerge(Spy),
      Layer.provideMerge(TestLayer)
    )
    return Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request())
      yield* payments.processPayment(created.id)
      expect(seen).toHaveLength(1)
      expect(seen[0]!.state).toBe("PROCESSING")
      expect(seen[0]!.key).toBe(seen[0]!.requestKey)
    }).pipe(Effect.provide(layer))
  })

  it.effect("concurrent processPayment calls on one payment make one gateway charge", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request())
      const fibers = yield* Effect.forEach(
        Array.from({ length: 20 }),
        () => Effect.fork(Effect.either(payments.processPayment(created.id))),
        { concurrency: "unbounded" }
      )
      yield* TestClock.adjust("10 seconds") // the gateway's latency, on the TestClock
      const results = yield* Fiber.joinAll(fibers)
      const { charges } = yield* ledger
      expect(charges.length).toBe(1)
      const succeeded = results.filter((r) => r._tag === "Right")
      const refused = results.filter((r) => r._tag === "Left")
      expect(succeeded.length).toBe(1)
      for (const r of refused) expect(r._tag === "Left" && r.left._tag).toBe("InvalidTransition")
      expect((yield* payments.getPayment(created.id)).state).toBe("SUCCESS")
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential", mockGateway: { latency: "50 millis" } }))))

  it.effect("processing a terminal payment is a typed InvalidTransition", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request())
      yield* payments.processPayment(created.id)
      const error = yield* Effect.flip(payments.processPayment(created.id))
      expect(error._tag).toBe("InvalidTransition")
      if (error._tag === "InvalidTransition") expect(error.from).toBe("SUCCESS")
      const missing = yield* Effect.flip(payments.processPayment("pay_nope"))
      expect(missing._tag).toBe("PaymentNotFound")
      expect((yield* ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a decline ends in FAILURE with its code and is not retried", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const cases: ReadonlyArray<readonly [string, string]> = [[TestCards.declined, "card_declined"], [TestCards.insufficientFunds, "insufficient_funds"]]
      for (const [number, code] of cases) {
        const created = yield* payments.createPayment(request({ idempotencyKey: number, paymentMethod: card(number) }))
        const failed = yield* payments.processPayment(created.id)
        expect(failed.state).toBe("FAILURE")
        expect(failed.declineCode).toBe(code)
        expect(failed.attempts[0]!.retries).toBe(0)
        expect(yield* eventTags(created.id)).not.toContain("PaymentRetryAttempted")
        const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(created.id)
        expect(rebuilt).toEqual(stored)
      }
      expect((yield* ledger).charges.length).toBe(0)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a transient error is retried with the same key after the scheduled delay", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request({ paymentMethod: card(TestCards.retryOnce) }))
      const fiber = yield* Effect.fork(payments.processPayment(created.id))
      yield* TestClock.adjust("99 millis")
      expect(yield* Fiber.poll(fiber)).toEqual(Option.none()) // still waiting for the 100 ms backoff
      yield* TestClock.adjust("1 millis")
      const done = yield* Fiber.join(fiber)
      expect(done.state).toBe("SUCCESS")
      expect(done.attempts).toHaveLength(1)
      expect(done.attempts[0]!.retries).toBe(1)
      expect(yield* eventTags(done.id)).toContain("PaymentRetryAttempted")
      expect((yield* ledger).charges.length).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a timeout after the charge leaves PROCESSING; the next call reconciles without charging again", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request({ paymentMethod: card(TestCards.timeoutAfterCharge) }))
      const unknown = yield* payments.processPayment(created.id)
      expect(unknown.state).toBe("PROCESSING")
      expect(unknown.requiresReconciliation).toBe(true)
      expect((yield* ledger).charges.length).toBe(1)
      const resolved = yield* payments.processPayment(created.id)
      expect(resolved.state).toBe("SUCCESS")
      expect(resolved.requiresReconciliation).toBe(false)
      expect((yield* ledger).charges.length).toBe(1)
      expect(yield* eventTags(created.id)).toEqual([
        "PaymentInitiated",
        "PaymentAuthenticated",
        "PaymentProcessing",
        "PaymentOutcomeUnknown",
        "PaymentReconciled",
        "PaymentSucceeded"
      ])
    }).pipe(Effect.provide(TestLayer)))
})

describe("capturePayment and cancelPayment", () => {
  it.effect("manual capture: AUTHORIZED, then a partial capture, never above the authorization", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request({ captureMethod: "manual" }))
      const authorized = yield* payments.processPayment(created.id)
      expect(authorized.state).toBe("AUTHORIZED")
      expect(authorized.capturedAmount.minor).toBe(0n)
      const tooMuch = yield* Effect.flip(payments.capturePayment({ paymentId: created.id, amount: "100.01" }))
      expect(tooMuch._tag).toBe("CaptureExceedsAuthorized")
      const badAmount = yield* Effect.flip(payments.capturePayment({ paymentId: created.id, amount: "1.001" }))
      expect(badAmount._tag).toBe("ValidationError")
      const captured = yield* payments.capturePayment({ paymentId: created.id, amount: "60.00" })
      expect(captured.state).toBe("SUCCESS")
      expect(captured.capturedAmount.minor).toBe(6000n)
      expect(captured.authorizedAmount.minor).toBe(10000n)
      const again = yield* Effect.flip(payments.capturePayment({ paymentId: created.id }))
      expect(again._tag).toBe("InvalidTransition")
      const charge = (yield* ledger).charges[0]!
      expect(charge.status).toBe("captured")
      expect(charge.captured.minor).toBe(6000n)
      const refund = yield* Effect.flip(payments.refundPayment({ paymentId: created.id, idempotencyKey: "r", amount: "60.01" }))
      expect(refund._tag).toBe("RefundExceedsCaptured")
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(created.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("cancel voids an authorization, cancels an unprocessed payment, and refuses a settled one", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const held = yield* payments.createPayment(request({ idempotencyKey: "held", captureMethod: "manual" }))
      yield* payments.processPayment(held.id)
      const voided = yield* payments.cancelPayment({ paymentId: held.id })
      expect(voided.state).toBe("CANCELLED")
      expect((yield* ledger).charges[0]!.status).toBe("voided")

      const fresh = yield* payments.createPayment(request({ idempotencyKey: "fresh" }))
      expect((yield* payments.cancelPayment({ paymentId: fresh.id, reason: "customer left" })).state).toBe("CANCELLED")
      expect((yield* Effect.flip(payments.processPayment(fresh.id)))._tag).toBe("InvalidTransition")

      const paid = yield* payments.createPayment(request({ idempotencyKey: "paid" }))
      yield* payments.processPayment(paid.id)
      expect((yield* Effect.flip(payments.cancelPayment({ paymentId: paid.id })))._tag).toBe("InvalidTransition")
      expect((yield* Effect.flip(payments.capturePayment({ paymentId: voided.id })))._tag).toBe("InvalidTransition")
    }).pipe(Effect.provide(TestLayer)))
})

describe("refundPayment", () => {
  it.effect("partial and repeated refunds, idempotent per key, never above the captured amount", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request())
      yield* payments.processPayment(created.id)
      const r1 = yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: "r1", amount: "30.00" })
      expect(r1.state).toBe("SUCCEEDED")
      const replay = yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: "r1", amount: "30.00" })
      expect(replay.id).toBe(r1.id)
      const reused = yield* Effect.flip(payments.refundPayment({ paymentId: created.id, idempotencyKey: "r1", amount: "31.00" }))
      expect(reused._tag).toBe("IdempotencyKeyReused")
      yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: "r2", amount: "50.00" })
      const over = yield* Effect.flip(payments.refundPayment({ paymentId: created.id, idempotencyKey: "r3", amount: "20.01" }))
      expect(over._tag).toBe("RefundExceedsCaptured")
      const rest = yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: "r4" })
      expect(rest.amount.minor).toBe(2000n)
      const payment = yield* payments.getPayment(created.id)
      expect(payment.refundedAmount.minor).toBe(10000n)
      const { refunds } = yield* ledger
      expect(refunds.map((r) => r.amount.minor)).toEqual([3000n, 5000n, 2000n])
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(created.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("refunding an unpaid payment is a typed error", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request({ paymentMethod: card(TestCards.declined) }))
      yield* payments.processPayment(created.id)
      const error = yield* Effect.flip(payments.refundPayment({ paymentId: created.id, idempotencyKey: "r" }))
      expect(error._tag).toBe("InvalidTransition")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("concurrent refunds never exceed the captured amount", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const created = yield* payments.createPayment(request())
      yield* payments.processPayment(created.id)
      const results = yield* Effect.all(
        Array.from({ length: 25 }, (_, i) =>
          Effect.either(payments.refundPayment({ paymentId: created.id, idempotencyKey: `r${i}`, amount: "10.00" }))),
        { concurrency: "unbounded" }
      )
      const ok = results.filter((r) => r._tag === "Right")
      expect(ok.length).toBe(10)
      for (const r of results) if (r._tag === "Left") expect(r.left._tag).toBe("RefundExceedsCaptured")
      const payment = yield* payments.getPayment(created.id)
      expect(payment.refundedAmount.minor).toBe(10000n)
      const total = (yield* ledger).refunds.reduce((sum, r) => sum + r.amount.minor, 0n)
      expect(total).toBe(10000n)
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential", mockGateway: { latency: "0 millis" } }))))
})

describe("captures and voids whose answer was lost", () => {
  it.effect("a capture is committed before it is sent; a lost answer leaves it pending and only it can be resent", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      let lose = true
      yield* registry.register({
        ...mock.gateway,
        capture: (req) =>
          lose
            ? Effect.zipRight(
              mock.gateway.capture(req),
              Effect.fail(new Gateway.GatewayUnknownOutcome({ gateway: "mock", operation: "capture", reason: "timeout" }))
            )
            : mock.gateway.capture(req)
      })
      const p = yield* payments.createPayment(request({ captureMethod: "manual" }))
      yield* payments.processPayment(p.id)
      const lost = yield* Effect.flip(payments.capturePayment({ paymentId: p.id, amount: "50.00" }))
      expect(lost._tag).toBe("GatewayUnknownOutcome")
      const pending = yield* payments.getPayment(p.id)
      expect(pending.state).toBe("AUTHORIZED")
      expect(pending.pendingOperation?.amount.minor).toBe(5000n)
      expect((yield* Effect.flip(payments.capturePayment({ paymentId: p.id, amount: "100.00" })))._tag).toBe("OperationPending")
      expect((yield* Effect.flip(payments.cancelPayment({ paymentId: p.id })))._tag).toBe("OperationPending")
      lose = false
      const captured = yield* payments.capturePayment({ paymentId: p.id }) // resends the pending 50.00, same key
      expect(captured.state).toBe("SUCCESS")
      expect(captured.capturedAmount.minor).toBe(5000n)
      expect(captured.pendingOperation).toBeUndefined()
      const charge = (yield* mock.ledger).charges[0]!
      expect([charge.status, charge.captured.minor]).toEqual(["captured", 5000n])
      const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(p.id)
      expect(rebuilt).toEqual(stored)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a declined capture ends the pending operation and leaves the authorization usable", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      let decline = true
      yield* registry.register({
        ...mock.gateway,
        capture: (req) =>
          decline
            ? Effect.fail(new Gateway.GatewayDeclined({ gateway: "mock", code: "processing_error", reason: "no" }))
            : mock.gateway.capture(req)
      })
      const p = yield* payments.createPayment(request({ captureMethod: "manual" }))
      yield* payments.processPayment(p.id)
      expect((yield* Effect.flip(payments.capturePayment({ paymentId: p.id })))._tag).toBe("GatewayDeclined")
      expect((yield* payments.getPayment(p.id)).pendingOperation).toBeUndefined()
      decline = false
      expect((yield* payments.cancelPayment({ paymentId: p.id })).state).toBe("CANCELLED")
      expect((yield* mock.ledger).charges[0]!.status).toBe("voided")
    }).pipe(Effect.provide(TestLayer)))
})

describe("refunds whose answer was lost", () => {
  it.effect("a refund left PENDING by an unknown outcome is never failed by a later transient error", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      let mode: "ok" | "appliedThenTimeout" | "down" = "ok"
      yield* registry.register({
        ...mock.gateway,
        refund: (req) =>
          mode === "ok"
            ? mock.gateway.refund(req)
            : mode === "down"
            ? Effect.fail(new Gateway.GatewayTransientError({ gateway: "mock", operation: "refund", reason: "503" }))
            : Effect.zipRight(
              mock.gateway.refund(req),
              Effect.fail(new Gateway.GatewayUnknownOutcome({ gateway: "mock", operation: "refund", reason: "timeout" }))
            )
      })
      const p = yield* payments.createPayment(request())
      yield* payments.processPayment(p.id)
      mode = "appliedThenTimeout"
      expect((yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "40.00" })).state).toBe("PENDING")
      mode = "down"
      const resumed = yield* Effect.fork(payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "40.00" }))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(resumed)).state).toBe("PENDING") // not FAILED: the money may have moved
      mode = "ok"
      const over = yield* Effect.flip(payments.refundPayment({ paymentId: p.id, idempotencyKey: "r2", amount: "60.01" }))
      expect(over._tag).toBe("RefundExceedsCaptured") // the pending 40 stays reserved
      expect((yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "40.00" })).state).toBe("SUCCEEDED")
      const ledger = (yield* mock.ledger).refunds.reduce((sum, r) => sum + r.amount.minor, 0n)
      const final = yield* payments.getPayment(p.id)
      expect(final.refundedAmount.minor).toBe(ledger)
      expect(ledger).toBe(4000n)
    }).pipe(Effect.provide(TestLayer)))
})

describe("refunds answered with an error", () => {
  // found by the simulation: npx tsx test/sim/sim.ts --seed 8 --payments 200
  it.effect("a refund the gateway applied, then answered with errors, stays PENDING and is settled by the resend, never FAILED", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const mock = yield* MockGateway.MockGateway
      const registry = yield* GatewayRegistry.GatewayRegistry
      let errorAfterApplying = true
      yield* registry.register({
        ...mock.gateway,
        refund: (req) =>
          errorAfterApplying
            ? Effect.zipRight(
              mock.gateway.refund(req),
              Effect.fail(new Gateway.GatewayTransientError({ gateway: "mock", operation: "refund", reason: "500 after refunding" }))
            )
            : mock.gateway.refund(req)
      })
      const p = yield* payments.createPayment(request())
      yield* payments.processPayment(p.id)
      const first = yield* Effect.fork(payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "40.00" }))
      yield* TestClock.adjust("10 seconds") // past every retry
      expect((yield* Fiber.join(first)).state).toBe("PENDING") // not FAILED: the money went back
      expect((yield* mock.ledger).refunds.length).toBe(1)
      errorAfterApplying = false
      expect((yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "40.00" })).state).toBe("SUCCEEDED")
      expect((yield* mock.ledger).refunds.length).toBe(1) // the resend carried the same key
      expect((yield* payments.getPayment(p.id)).refundedAmount.minor).toBe(4000n)
    }).pipe(Effect.provide(TestLayer)))
})

describe("getPayment and getCustomerPayments", () => {
  it.effect("pages a customer's payments newest first without gaps or repeats", () =>
    Effect.gen(function*() {
      const payments = yield* service
      const ids: Array<string> = []
      for (let i = 0; i < 25; i++) ids.push((yield* payments.createPayment(request({ idempotencyKey: `o${i}` }))).id)
      yield* payments.createPayment(request({ idempotencyKey: "other", customer: { id: "cus_2", email: "b@example.com" } }))
      const seen: Array<string> = []
      let cursor: string | undefined
      const sizes: Array<number> = []
      do {
        const page = yield* payments.getCustomerPayments({ customerId: "cus_1", limit: 10, cursor })
        sizes.push(page.items.length)
        seen.push(...page.items.map((p) => p.id))
        cursor = page.nextCursor
      } while (cursor !== undefined)
      expect(sizes).toEqual([10, 10, 5])
      expect(seen).toEqual([...ids].reverse())
      const bad = yield* Effect.flip(payments.getCustomerPayments({ customerId: "cus_1", limit: 0 }))
      expect(bad._tag).toBe("ValidationError")
      expect((yield* payments.getPayment(ids[0]!)).id).toBe(ids[0])
      expect((yield* Effect.flip(payments.getPayment("pay_missing")))._tag).toBe("PaymentNotFound")
    }).pipe(Effect.provide(TestLayer)))
})

describe("services", () => {
  it.effect("Ids are unique and reproducible", () =>
    Effect.gen(function*() {
      const ids = yield* Ids.Ids
      const a = yield* ids.next("pay")
      const b = yield* ids.next("pay")
      expect(a).not.toBe(b)
      expect(a.startsWith("pay_")).toBe(true)
    }).pipe(Effect.provide(Ids.layer)))

  it.effect("the vault gives the same token for the same card and reveals it only by token", () =>
    Effect.gen(function*() {
      const vault = yield* CardVault.CardVault
      const input = { ...card(), number: Redacted.make(TestCards.success), cvv: Redacted.make("123") }
      const a = yield* vault.tokenize(input)
      const b = yield* vault.tokenize(input)
      expect(a.vaultToken).toBe(b.vaultToken)
      expect(a.fingerprint).toBe(b.fingerprint)
      expect(Redacted.value((yield* vault.reveal(a.vaultToken)).number)).toBe(TestCards.success)
      expect((yield* Effect.flip(vault.reveal("card_nope")))._tag).toBe("CardNotInVault")
    }).pipe(Effect.provide(MemoryCardVault.layer(Redacted.make("k")))))
})
