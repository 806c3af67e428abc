/**
 * Tenant scoping (issue 11 item 5): every public operation on an existing payment runs for the
 * current `Tenant`; another tenant's payment is exactly the `PaymentNotFound` of a missing id, and
 * nothing changes (payment, version, events, gateway ledger). Run on memory and on PostgreSQL.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import type { Layer } from "effect"
import { Effect, Either, Redacted, Schema } from "effect"
import type { AegisPay } from "aegispay"
import {
  CardVault,
  Compensation,
  EventStore,
  GatewayRegistry,
  ManualReview,
  Notifications,
  Payment,
  PaymentError,
  PaymentLock,
  PaymentRepository,
  PaymentService,
  Recovery,
  Tenant
} from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"

type Ctx = AegisPay.Services | MockGateway.MockGateway

const encode = Schema.encodeSync(Payment.Payment)
const A = "tenant-a"
const B = "tenant-b"

/** Everything an operation could change: the stored payment, its events and the gateway ledger. */
const state = (paymentId: string) =>
  Effect.gen(function*() {
    const stored = yield* (yield* PaymentRepository.PaymentRepository).findById(paymentId)
    const events = yield* (yield* EventStore.EventStore).read(paymentId)
    const ledger = yield* (yield* MockGateway.MockGateway).ledger
    return {
      payment: stored._tag === "Some" ? encode(stored.value) : undefined,
      version: stored._tag === "Some" ? stored.value.version : undefined,
      events: events.length,
      ledger
    }
  })

/** Every public operation that takes the id of an existing payment. */
const operations: ReadonlyArray<
  readonly [name: string, run: (paymentId: string) => Effect.Effect<unknown, { readonly _tag: string }, Ctx>]
> = [
  ["getPayment", (id) => Effect.flatMap(PaymentService.PaymentService, (s) => s.getPayment(id))],
  ["processPayment", (id) => Effect.flatMap(PaymentService.PaymentService, (s) => s.processPayment(id))],
  ["capturePayment", (id) => Effect.flatMap(PaymentService.PaymentService, (s) => s.capturePayment({ paymentId: id }))],
  [
    "capturePayment (amount)",
    (id) => Effect.flatMap(PaymentService.PaymentService, (s) => s.capturePayment({ paymentId: id, amount: "1.00" }))
  ],
  ["cancelPayment", (id) => Effect.flatMap(PaymentService.PaymentService, (s) => s.cancelPayment({ paymentId: id }))],
  ["resumeOperation", (id) => Effect.flatMap(PaymentService.PaymentService, (s) => s.resumeOperation(id))],
  [
    "refundPayment",
    (id) => Effect.flatMap(PaymentService.PaymentService, (s) => s.refundPayment({ paymentId: id, idempotencyKey: "r-b" }))
  ],
  [
    "refundPayment (amount)",
    (id) =>
      Effect.flatMap(
        PaymentService.PaymentService,
        (s) => s.refundPayment({ paymentId: id, idempotencyKey: "r-b2", amount: "1.00" })
      )
  ],
  [
    "ManualReview.resolve",
    (id) =>
      Effect.flatMap(ManualReview.ManualReview, (r) =>
        r.resolve({ paymentId: id, reviewId: "rev_1", resolution: "refunded", note: "by tenant b" }))
  ],
  ["Compensation.resume", (id) => Effect.flatMap(Compensation.Compensation, (c) => c.resume(id))],
  ["Compensation.check", (id) => Effect.flatMap(Compensation.Compensation, (c) => c.check(id, "att_1"))],
  [
    "PaymentLock.withPayment",
    (id) => Effect.flatMap(PaymentLock.PaymentLock, (l) => l.withPayment(id, () => Effect.die("never runs for tenant b")))
  ]
]

/** A request of customer `cus_<test>` (tests share one database on PostgreSQL). */
const requestOf = (test: string, overrides: Parameters<typeof request>[0] = {}) =>
  request({ customer: { id: `cus_${test}`, email: "ada@example.com" }, ...overrides, idempotencyKey: `${test}-${overrides.idempotencyKey ?? "k"}` })

/** Tenant A's payments, one in each state an operation could act on. */
const seed = (test: string) => Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const initiated = yield* payments.createPayment(requestOf(test, { idempotencyKey: "initiated" }))
  const authorized = yield* payments.processPayment(
    (yield* payments.createPayment(requestOf(test, { idempotencyKey: "authorized", captureMethod: "manual" }))).id
  )
  const succeeded = yield* payments.processPayment(
    (yield* payments.createPayment(requestOf(test, { idempotencyKey: "succeeded" }))).id
  )
  expect([initiated.state, authorized.state, succeeded.state]).toEqual(["INITIATED", "AUTHORIZED", "SUCCESS"])
  expect(succeeded.tenantId).toBe(A)
  return [initiated, authorized, succeeded] as const
}).pipe(Tenant.with(A))

/**
 * The lease row of a payment on PostgreSQL (none on memory): it must not move when another tenant
 * asks for the payment.
 */
const leaseOf = (paymentId: string) =>
  Effect.flatMap(Effect.serviceOption(SqlClient.SqlClient), (sql) =>
    sql._tag === "None"
      ? Effect.succeed([])
      : sql.value<{ readonly token: string; readonly owner: string }>`
          SELECT token::text AS token, owner FROM aegis_locks WHERE key = ${paymentId}`)

const suite = (name: string, layer: () => Layer.Layer<Ctx, unknown>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, Ctx>) =>
    Effect.runPromise(Effect.scoped(Effect.provide(effect, layer())))

  describe(`tenant scoping: ${name}`, () => {
    it("every operation of tenant B on tenant A's payment is the PaymentNotFound of a missing id, and changes nothing", () =>
      run(Effect.gen(function*() {
        const mine = yield* seed("ops")
        for (const [operation, op] of operations) {
          const missing = yield* Effect.flip(op("pay_missing")).pipe(Tenant.with(B))
          expect(missing, operation).toEqual(new PaymentError.PaymentNotFound({ paymentId: "pay_missing" }))
          for (const payment of mine) {
            const before = yield* state(payment.id)
            const lease = yield* leaseOf(payment.id)
            const error = yield* Effect.flip(op(payment.id)).pipe(Tenant.with(B))
            // no lease taken (nor waited for): the lock row is untouched
            expect(yield* leaseOf(payment.id), `${operation}: lease`).toEqual(lease)
            // the very error a missing id gives: same class, fields and message
            expect(error, `${operation} on ${payment.state}`).toEqual(new PaymentError.PaymentNotFound({ paymentId: payment.id }))
            expect(error).toBeInstanceOf(PaymentError.PaymentNotFound)
            expect(Object.keys(error).sort()).toEqual(Object.keys(missing).sort())
            if (error instanceof PaymentError.PaymentNotFound && missing instanceof PaymentError.PaymentNotFound) {
              expect(error.message).toBe(missing.message.replace("pay_missing", payment.id))
            }
            expect(yield* state(payment.id), `${operation} on ${payment.state}`).toEqual(before)
          }
        }
        // without a tenant, operations run for "default": still not tenant A's payments
        const [initiated] = mine
        const unset = yield* Effect.flip(Effect.flatMap(PaymentService.PaymentService, (s) => s.getPayment(initiated.id)))
        expect(unset).toEqual(new PaymentError.PaymentNotFound({ paymentId: initiated.id }))
        // a missing id takes no lease either
        expect(yield* leaseOf("pay_missing")).toEqual([])
      })), 60_000)

    it("tenant A's own operations work on its payments (and see its gateway's card)", () =>
      run(Effect.gen(function*() {
        const [initiated, authorized, succeeded] = yield* seed("own")
        const payments = yield* PaymentService.PaymentService
        const ops = Effect.gen(function*() {
          expect((yield* payments.getPayment(initiated.id)).id).toBe(initiated.id)
          expect((yield* payments.capturePayment({ paymentId: authorized.id })).state).toBe("SUCCESS")
          expect((yield* payments.cancelPayment({ paymentId: initiated.id })).state).toBe("CANCELLED")
          const refund = yield* payments.refundPayment({ paymentId: succeeded.id, idempotencyKey: "r-a", amount: "1.00" })
          expect(refund.state).toBe("SUCCEEDED")
          const error = yield* Effect.flip((yield* ManualReview.ManualReview).resolve({
            paymentId: succeeded.id,
            reviewId: "rev_1",
            resolution: "refunded",
            note: "n"
          }))
          expect(error._tag).toBe("ReviewNotOpen") // past the tenant check: the item does not exist
        }).pipe(Tenant.with(A))
        yield* ops
        // the card was stored for tenant A (and the gateway charged with it): no other tenant reads it
        const vault = yield* CardVault.CardVault
        const method = succeeded.paymentMethod
        if (method.type !== "card") return yield* Effect.dieMessage("a card payment was expected")
        expect(Either.isRight(yield* Effect.either(vault.reveal(method.vaultToken, A)))).toBe(true)
        expect(Either.isLeft(yield* Effect.either(vault.reveal(method.vaultToken, B)))).toBe(true)
      })), 60_000)

    it("lists show the current tenant's payments only", () =>
      run(Effect.gen(function*() {
        yield* seed("lists")
        const payments = yield* PaymentService.PaymentService
        const customerId = "cus_lists"
        const ofA = yield* payments.getCustomerPayments({ customerId }).pipe(Tenant.with(A))
        expect(ofA.items.length).toBe(3)
        expect((yield* payments.getCustomerPayments({ customerId, tenantId: A }).pipe(Tenant.with(A))).items.length).toBe(3)
        expect((yield* payments.getCustomerPayments({ customerId }).pipe(Tenant.with(B))).items).toEqual([])
        expect((yield* payments.getCustomerPayments({ customerId, tenantId: A }).pipe(Tenant.with(B))).items)
          .toEqual([])
        expect((yield* payments.getCustomerPayments({ customerId })).items).toEqual([])
        const reviews = yield* ManualReview.ManualReview
        expect((yield* reviews.list({ tenantId: A }).pipe(Tenant.with(B))).items).toEqual([])
      })), 60_000)

    it("createPayment is for the current tenant: a body naming another tenant is refused; keys are per tenant", () =>
      run(Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const a = yield* payments.createPayment(request({ idempotencyKey: "shared" })).pipe(Tenant.with(A))
        expect(a.idempotencyKey).toBe("shared")
        expect(a.tenantId).toBe(A)
        const refused = yield* Effect.flip(payments.createPayment(request({ idempotencyKey: "shared", tenantId: A })))
          .pipe(Tenant.with(B))
        expect(refused._tag).toBe("ValidationError")
        if (refused._tag === "ValidationError") expect(refused.path).toBe("tenantId")
        const b = yield* payments.createPayment(request({ idempotencyKey: "shared" })).pipe(Tenant.with(B))
        expect(b.id).not.toBe(a.id)
        expect(b.tenantId).toBe(B)
        // naming the current tenant explicitly is the same request
        const again = yield* payments.createPayment(request({ idempotencyKey: "shared", tenantId: B })).pipe(Tenant.with(B))
        expect(again.id).toBe(b.id)
        // single-tenant programs: no tenant set is the tenant "default"
        const plain = yield* payments.createPayment(request({ idempotencyKey: "plain" }))
        expect(plain.tenantId).toBe(Tenant.defaultId)
        expect((yield* payments.processPayment(plain.id)).state).toBe("SUCCESS")
      })), 60_000)

    it("gateway notifications and recovery act across tenants, each payment as its own tenant", () =>
      run(Effect.gen(function*() {
        const [, , succeeded] = yield* seed("notify")
        const notifications = yield* Notifications.Notifications
        const attempt = succeeded.currentAttempt!
        const result = yield* notifications.apply({
          id: "evt_1",
          gateway: attempt.gateway,
          paymentId: succeeded.id,
          type: "charge.succeeded",
          idempotencyKey: attempt.idempotencyKey,
          transactionId: succeeded.gatewayTransactionId,
          verified: true
        })
        expect(result.payment.tenantId).toBe(A)
        expect(result.payment.notificationIds).toContain(`${attempt.gateway}:evt_1`)
        // recovery drives a stuck payment of tenant A on (as tenant A) without being told the tenant
        const stuck = yield* Effect.gen(function*() {
          const payments = yield* PaymentService.PaymentService
          const p = yield* payments.createPayment(requestOf("notify", {
            idempotencyKey: "stuck",
            paymentMethod: card(TestCards.timeoutAfterCharge)
          }))
          return yield* payments.processPayment(p.id)
        }).pipe(Tenant.with(A))
        expect(stuck.state).toBe("PROCESSING")
        yield* Effect.sleep("10 millis")
        const recovery = yield* Recovery.make({ stuckAfter: "1 millis" })
        const report = yield* recovery.runOnce
        expect(report.failed).toEqual([])
        expect((yield* (yield* PaymentService.PaymentService).getPayment(stuck.id).pipe(Tenant.with(A))).state).toBe("SUCCESS")
      })), 60_000)
  })
}

suite("memory", () => AegisPayTest.layerMemory({ ids: "sequential" }))

describe.skipIf(databaseUrl === undefined)("postgres", () => {
  const databaseUrlOf = useTestDatabase("tenants")
  suite(
    "postgres",
    () => AegisPayPg.layer({ ...AegisPayTest.parts(), ids: "random", url: Redacted.make(databaseUrlOf()) })
  )
})

describe("per-tenant gateways", () => {
  const gateway = (id: string) =>
    MockGateway.make({ id }).pipe(Effect.map((m) => m.gateway))

  it.effect("a tenant's gateways are added to, or replace by id, the global ones, for that tenant only", () =>
    Effect.gen(function*() {
      const registry = yield* GatewayRegistry.make([yield* gateway("g1"), yield* gateway("g2")])
      const g2a = yield* gateway("g2")
      const ownA = yield* gateway("own")
      yield* registry.register(ownA, { tenantId: A })
      yield* registry.register(g2a, { tenantId: A })
      const idsOf = (list: ReadonlyArray<{ readonly id: string }>) => list.map((g) => g.id)
      expect(idsOf(yield* registry.forTenant(A).all)).toEqual(["g1", "g2", "own"])
      expect((yield* registry.forTenant(A).all)[1]).toBe(g2a)
      expect(yield* registry.forTenant(A).get("g2")).toBe(g2a)
      expect(yield* registry.forTenant(A).get("own")).toBe(ownA)
      // other tenants and the global view never see them
      expect(idsOf(yield* registry.forTenant(B).all)).toEqual(["g1", "g2"])
      expect(yield* registry.forTenant(B).get("g2")).not.toBe(g2a)
      expect((yield* Effect.flip(registry.forTenant(B).get("own")))._tag).toBe("GatewayNotFound")
      expect(idsOf(yield* registry.all)).toEqual(["g1", "g2"])
      // a later global registration reaches every tenant's list
      yield* registry.register(yield* gateway("g3"))
      expect(idsOf(yield* registry.forTenant(A).all)).toEqual(["g1", "g2", "g3", "own"])
      // a later global gateway with the id of a tenant's own one: the tenant keeps its own, in the global place
      yield* registry.register(yield* gateway("own"))
      expect(idsOf(yield* registry.forTenant(A).all)).toEqual(["g1", "g2", "g3", "own"])
      expect(yield* registry.forTenant(A).get("own")).toBe(ownA)
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))))

  it.effect("a tenant's payments are charged, captured and refunded through the tenant's own gateway instance", () =>
    Effect.gen(function*() {
      const registry = yield* GatewayRegistry.GatewayRegistry
      const global = yield* MockGateway.MockGateway
      const own = yield* MockGateway.make({ id: global.gateway.id })
      yield* registry.register(own.gateway, { tenantId: A })
      const payments = yield* PaymentService.PaymentService
      const ofA = yield* Effect.gen(function*() {
        const p = yield* payments.createPayment(request({ idempotencyKey: "a", captureMethod: "manual" }))
        yield* payments.processPayment(p.id)
        yield* payments.capturePayment({ paymentId: p.id })
        yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r", amount: "1.00" })
        return p
      }).pipe(Tenant.with(A))
      const ofB = yield* Effect.flatMap(payments.createPayment(request({ idempotencyKey: "b" })), (p) => payments.processPayment(p.id))
        .pipe(Tenant.with(B))
      const ownLedger = yield* own.ledger
      const globalLedger = yield* global.ledger
      expect(ownLedger.charges.map((c) => [c.paymentId, c.status])).toEqual([[ofA.id, "captured"]])
      expect(ownLedger.refunds.length).toBe(1)
      expect(globalLedger.charges.map((c) => c.paymentId)).toEqual([ofB.id])
      expect(globalLedger.refunds).toEqual([])
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))))
})
