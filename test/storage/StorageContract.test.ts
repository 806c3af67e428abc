/**
 * The storage contract, run against every backend: memory, PGlite and real PostgreSQL.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import type { Layer} from "effect";
import { DateTime, Effect, Either, Option, Redacted, Ref, Schema } from "effect"
import type { AegisPay} from "aegispay";
import { EventStore, LockManager, Payment, PaymentLock, PaymentRepository, PaymentService, Tenant } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { card, request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { embeddedOn, useSharedPglite } from "../support/SharedPglite.js"

const encode = Schema.encodeSync(Payment.Payment)

type Ctx = AegisPay.Services | MockGateway.MockGateway
type Backend =
  | { readonly sql: false; readonly layer: () => Layer.Layer<Ctx, unknown> }
  | { readonly sql: true; readonly layer: () => Layer.Layer<Ctx | SqlClient.SqlClient, unknown> }

const contract = (name: string, backend: Backend) => {
  const run = <A, E>(effect: Effect.Effect<A, E, Ctx>) =>
    Effect.runPromise(Effect.scoped(Effect.provide(effect, backend.layer())))

  const expectFolds = (paymentId: string) =>
    Effect.gen(function*() {
      const stored = Option.getOrThrow(yield* (yield* PaymentRepository.PaymentRepository).findById(paymentId))
      const rebuilt = Option.getOrThrow(yield* (yield* EventStore.EventStore).rebuild(paymentId))
      expect(encode(rebuilt)).toEqual(encode(stored))
      return stored
    })

  describe(`storage contract: ${name}`, () => {
    it("inserts once per (tenant, idempotency key); a duplicate insert writes nothing", () =>
      run(Effect.gen(function*() {
        const repository = yield* PaymentRepository.PaymentRepository
        const events = yield* EventStore.EventStore
        const payments = yield* PaymentService.PaymentService
        const p = yield* payments.createPayment(request({ idempotencyKey: "dup" }))
        const clone = Payment.initiate({
          id: "pay_other",
          tenantId: p.tenantId,
          idempotencyKey: p.idempotencyKey,
          requestFingerprint: "x",
          amount: p.amount,
          captureMethod: "automatic",
          paymentMethod: p.paymentMethod,
          customer: p.customer,
          metadata: {}
        }, DateTime.unsafeMake(0))
        const error = yield* Effect.flip(repository.insert(clone))
        expect(error._tag).toBe("DuplicateIdempotencyKey")
        expect(yield* repository.findById("pay_other")).toEqual(Option.none())
        expect(yield* events.read("pay_other")).toEqual([])
        const byKey = Option.getOrThrow(yield* repository.findByIdempotencyKey(p.tenantId, "dup"))
        expect(byKey.id).toBe(p.id)
        expect(yield* repository.findByIdempotencyKey("another-tenant", "dup")).toEqual(Option.none())
      })))

    it("updates only at the expected version; a conflict writes nothing", () =>
      run(Effect.gen(function*() {
        const repository = yield* PaymentRepository.PaymentRepository
        const events = yield* EventStore.EventStore
        const payments = yield* PaymentService.PaymentService
        const p = yield* payments.createPayment(request({ idempotencyKey: "ver" }))
        const next = Either.getOrThrow(Payment.authenticate(p, "mock", DateTime.unsafeMake(1)))
        const conflict = yield* Effect.flip(repository.update(next, p.version + 1))
        expect(conflict._tag).toBe("VersionConflict")
        if (conflict._tag === "VersionConflict") expect(conflict.actualVersion).toBe(1)
        expect((yield* events.read(p.id)).length).toBe(1)
        yield* repository.update(next, p.version)
        expect(Option.getOrThrow(yield* repository.findById(p.id)).state).toBe("AUTHENTICATED")
        expect((yield* events.read(p.id)).map((e) => e.seq)).toEqual([1, 2])
        const again = yield* Effect.flip(repository.update(next, p.version))
        expect(again._tag).toBe("VersionConflict")
      })))

    it("events fold to the stored snapshot on every path of the state machine", () =>
      run(Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const flows: Array<[string, Parameters<typeof request>[0]]> = [
          ["success", { paymentMethod: card(TestCards.success) }],
          ["decline", { paymentMethod: card(TestCards.declined) }],
          ["unknown", { paymentMethod: card(TestCards.timeoutAfterCharge) }],
          ["manual", { captureMethod: "manual" }],
          ["void", { captureMethod: "manual" }],
          ["cancel", {}]
        ]
        const states: Record<string, string> = {}
        for (const [flow, overrides] of flows) {
          const p = yield* payments.createPayment(request({ ...overrides, idempotencyKey: `fold-${flow}` }))
          if (flow === "cancel") {
            yield* payments.cancelPayment({ paymentId: p.id })
          } else {
            const processed = yield* payments.processPayment(p.id)
            yield* expectFolds(p.id)
            if (flow === "unknown") yield* payments.processPayment(p.id)
            if (flow === "manual") {
              yield* payments.capturePayment({ paymentId: p.id, amount: "80.00" })
              yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "a", amount: "30.00" })
              yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "b" })
            }
            if (flow === "void") yield* payments.cancelPayment({ paymentId: processed.id })
          }
          states[flow] = (yield* expectFolds(p.id)).state
        }
        expect(states).toEqual({
          success: "SUCCESS",
          decline: "FAILURE",
          unknown: "SUCCESS",
          manual: "SUCCESS",
          void: "CANCELLED",
          cancel: "CANCELLED"
        })
      })))

    it("finds by gateway transaction id and by state", () =>
      run(Effect.gen(function*() {
        const repository = yield* PaymentRepository.PaymentRepository
        const payments = yield* PaymentService.PaymentService
        const p = yield* payments.createPayment(request({ idempotencyKey: "tx" }))
        const done = yield* payments.processPayment(p.id)
        const found = Option.getOrThrow(yield* repository.findByGatewayTransactionId(done.gatewayTransactionId!))
        expect(found.id).toBe(p.id)
        expect(yield* repository.findByGatewayTransactionId("txn_none")).toEqual(Option.none())
        const waiting = yield* payments.createPayment(request({ idempotencyKey: "waiting" }))
        const initiated = yield* repository.findByState("INITIATED", 10)
        expect(initiated.map((x) => x.id)).toContain(waiting.id)
        expect(initiated.map((x) => x.id)).not.toContain(p.id)
        // the recovery scan: only payments last updated before the instant
        const before = DateTime.subtract(waiting.updatedAt, { millis: 1 })
        const after = DateTime.add(waiting.updatedAt, { millis: 1 })
        expect((yield* repository.findByState("INITIATED", 10, before)).map((x) => x.id)).not.toContain(waiting.id)
        expect((yield* repository.findByState("INITIATED", 10, after)).map((x) => x.id)).toContain(waiting.id)
      })))

    it("findOpen returns only payments with open work, last updated before the instant", () =>
      run(Effect.gen(function*() {
        const repository = yield* PaymentRepository.PaymentRepository
        const payments = yield* PaymentService.PaymentService
        const settled = yield* payments.processPayment((yield* payments.createPayment(request({ idempotencyKey: "settled" }))).id)
        const lost = yield* payments.createPayment(request({ idempotencyKey: "lost", paymentMethod: card(TestCards.timeoutAfterCharge) }))
        const open = yield* payments.processPayment(lost.id)
        expect(open.requiresReconciliation).toBe(true)
        const ids = (before: DateTime.Utc) => Effect.map(repository.findOpen(before, 10), (ps) => ps.map((p) => p.id))
        const later = DateTime.add(open.updatedAt, { millis: 1 })
        // (other tests of this backend may have left open payments: look at these two only)
        expect(yield* ids(later)).toContain(lost.id)
        expect(yield* ids(later)).not.toContain(settled.id)
        expect(yield* ids(DateTime.subtract(open.updatedAt, { millis: 1 }))).not.toContain(lost.id)
        expect(settled.state).toBe("SUCCESS")
        // reconciled: nothing open any more
        expect((yield* payments.processPayment(lost.id)).state).toBe("SUCCESS")
        expect(yield* ids(DateTime.add(later, { minutes: 1 }))).not.toContain(lost.id)
      })))

    it("markExamined moves open payments to the back of the recovery scan; unknown ids are ignored", () =>
      run(Effect.gen(function*() {
        const repository = yield* PaymentRepository.PaymentRepository
        const payments = yield* PaymentService.PaymentService
        const open = (key: string) =>
          Effect.flatMap(
            payments.createPayment(request({ idempotencyKey: key, paymentMethod: card(TestCards.timeoutAfterCharge) })),
            (p) => payments.processPayment(p.id)
          )
        const a = yield* open("examined-a")
        const b = yield* open("examined-b")
        const last = DateTime.max(a.updatedAt, b.updatedAt)
        const ours = (before: DateTime.Utc) =>
          Effect.map(repository.findOpen(before, 100), (ps) => ps.map((p) => p.id).filter((id) => id === a.id || id === b.id))
        yield* repository.markExamined([a.id, "no-such-payment"], DateTime.add(last, { seconds: 1 }))
        // a counts as touched one second after b's update: it comes after b, and only once that second passed
        expect(yield* ours(DateTime.add(last, { seconds: 2 }))).toEqual([b.id, a.id])
        expect(yield* ours(DateTime.add(last, { seconds: 1 }))).toEqual([b.id])
        // the payment itself is untouched
        expect((yield* repository.findById(a.id)).pipe(Option.map((p) => p.version))).toEqual(Option.some(a.version))
      })))

    it("findNeedingReview pages the payments with an open review item, of one tenant or all; resolved items leave it", () =>
      run(Effect.gen(function*() {
        const repository = yield* PaymentRepository.PaymentRepository
        const payments = yield* PaymentService.PaymentService
        const tenantId = "review-tenant"
        const reviewed: Array<Payment.Payment> = []
        for (let i = 0; i < 3; i++) {
          const p = yield* Effect.flatMap(
            payments.createPayment(request({ tenantId, idempotencyKey: `review-${i}` })),
            (created) => payments.processPayment(created.id)
          ).pipe(Tenant.with(tenantId))
          const at = p.updatedAt
          const requested = Either.getOrThrow(Payment.requestRefund(p, {
            id: `re_review_${i}`,
            amount: p.amount,
            idempotencyKey: `rk-${i}`,
            gatewayIdempotencyKey: `${p.id}_re_review_${i}`
          }, at))
          const review = Payment.andThen(requested, (current) =>
            Either.right(Payment.refundNeedsReview(current, `re_review_${i}`, "declined on resume", at)))
          yield* repository.update(Either.getOrThrow(review), p.version)
          reviewed.push(Either.getOrThrow(review).payment)
        }
        yield* Effect.flatMap(
          payments.createPayment(request({ tenantId, idempotencyKey: "review-none" })),
          (created) => payments.processPayment(created.id)
        ).pipe(Tenant.with(tenantId))
        const seen: Array<string> = []
        let cursor: string | undefined
        do {
          const page = yield* repository.findNeedingReview(tenantId, { limit: 2, cursor })
          seen.push(...page.items.map((p) => p.id))
          cursor = page.nextCursor
        } while (cursor !== undefined)
        expect([...seen].sort()).toEqual(reviewed.map((p) => p.id).sort())
        expect((yield* repository.findNeedingReview("another-tenant", { limit: 10 })).items).toEqual([])
        expect((yield* repository.findNeedingReview(undefined, { limit: 100 })).items.map((p) => p.id)).toEqual(
          expect.arrayContaining(reviewed.map((p) => p.id))
        )
        const first = reviewed[0]!
        const resolved = Either.getOrThrow(Payment.resolveReview(first, {
          reviewId: first.reviews[0]!.id,
          resolution: "not_refunded",
          note: "checked"
        }, first.updatedAt))
        yield* repository.update(resolved, first.version)
        expect((yield* repository.findNeedingReview(tenantId, { limit: 10 })).items.map((p) => p.id)).not.toContain(first.id)
        // the review events round-trip through the store: they fold to the stored snapshot
        const events = yield* EventStore.EventStore
        const encode = Schema.encodeSync(Payment.Payment)
        const rebuilt = yield* events.rebuild(first.id)
        expect(Option.map(rebuilt, encode)).toEqual(Option.map(yield* repository.findById(first.id), encode))
      })))

    it("pages a customer's payments newest first", () =>
      run(Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const ids: Array<string> = []
        for (let i = 0; i < 12; i++) {
          ids.push((yield* payments.createPayment(request({ idempotencyKey: `page-${i}`, customer: { id: "cus_page", email: "p@example.com" } }))).id)
        }
        const seen: Array<string> = []
        let cursor: string | undefined
        do {
          const page = yield* payments.getCustomerPayments({ customerId: "cus_page", limit: 5, cursor })
          seen.push(...page.items.map((p) => p.id))
          cursor = page.nextCursor
        } while (cursor !== undefined)
        expect(seen).toEqual([...ids].reverse())
      })))

    it("PaymentLock: one holder at a time, each reads what the previous holder wrote; a missing payment is PaymentNotFound", () =>
      run(Effect.gen(function*() {
        const repository = yield* PaymentRepository.PaymentRepository
        const lock = yield* PaymentLock.PaymentLock
        const payments = yield* PaymentService.PaymentService
        const p = yield* payments.createPayment(request({ idempotencyKey: "lock" }))
        const inside = yield* Ref.make(0)
        const seen = yield* Ref.make<ReadonlyArray<number>>([])
        // each holder bumps the version it read: a stale read would fail with VersionConflict
        yield* Effect.all(Array.from({ length: 12 }, () =>
          lock.withPayment(p.id, (current) =>
            Effect.gen(function*() {
              expect(yield* Ref.updateAndGet(inside, (n) => n + 1)).toBe(1)
              yield* Ref.update(seen, (all) => [...all, current.version])
              yield* Effect.yieldNow()
              const next = new Payment.Payment({ ...current, version: current.version + 1 }, true)
              yield* repository.update({ payment: next, events: [] }, current.version)
              yield* Ref.update(inside, (n) => n - 1)
            }))
        ), { concurrency: "unbounded", discard: true })
        expect([...(yield* Ref.get(seen))].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => p.version + i))
        expect((yield* Effect.flip(lock.withPayment("pay_missing", () => Effect.void)))._tag).toBe("PaymentNotFound")
        // released after the failure
        expect(yield* lock.withPayment(p.id, (current) => Effect.succeed(current.version))).toBe(p.version + 12)
      })))

    it("100 concurrent identical creates make one payment", () =>
      run(Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const results = yield* Effect.all(
          Array.from({ length: 100 }, () => payments.createPayment(request({ idempotencyKey: "race", customer: { id: "cus_race", email: "r@example.com" } }))),
          { concurrency: "unbounded" }
        )
        expect(new Set(results.map((p) => p.id)).size).toBe(1)
        const page = yield* payments.getCustomerPayments({ customerId: "cus_race", limit: 100 })
        expect(page.items.length).toBe(1)
      })))

    it("concurrent refunds never exceed the captured amount", () =>
      run(Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const p = yield* payments.createPayment(request({ idempotencyKey: "refunds" }))
        yield* payments.processPayment(p.id)
        const results = yield* Effect.all(
          Array.from({ length: 15 }, (_, i) =>
            Effect.either(payments.refundPayment({ paymentId: p.id, idempotencyKey: `r${i}`, amount: "10.00" }))),
          { concurrency: "unbounded" }
        )
        expect(results.filter((r) => r._tag === "Right").length).toBe(10)
        const after = yield* expectFolds(p.id)
        expect(after.refundedAmount.minor).toBe(10000n)
        const ledger = yield* (yield* MockGateway.MockGateway).ledger
        expect(ledger.refunds.reduce((s, r) => s + r.amount.minor, 0n)).toBe(10000n)
      })))

    if (backend.sql) {
      const layer = backend.layer
      it("refuses payment writes inside a caller's transaction (they must commit before any charge)", () =>
        Effect.runPromise(Effect.gen(function*() {
          const payments = yield* PaymentService.PaymentService
          const sql = yield* SqlClient.SqlClient
          const p = yield* payments.createPayment(request({ idempotencyKey: "in-txn" }))
          const refused = yield* Effect.flip(sql.withTransaction(payments.processPayment(p.id)))
          expect(refused._tag).toBe("StorageError")
          expect((yield* payments.getPayment(p.id)).state).toBe("INITIATED")
          expect((yield* (yield* MockGateway.MockGateway).ledger).charges.length).toBe(0)
        }).pipe(Effect.provide(layer()))))
      it("a write under a lease that was taken over is refused (fencing token) and writes nothing", () =>
        Effect.runPromise(Effect.gen(function*() {
          const payments = yield* PaymentService.PaymentService
          const repository = yield* PaymentRepository.PaymentRepository
          const sql = yield* SqlClient.SqlClient
          const p = yield* payments.createPayment(request({ idempotencyKey: "fenced" }))
          // another holder took the lease after ours (token 1) expired
          yield* sql`INSERT INTO aegis_locks (key, owner, token, locked_until)
                     VALUES (${p.id}, 'owner_other', 999999999, clock_timestamp() + interval '1 minute')`
          const next = Either.getOrThrow(Payment.authenticate(p, "mock", DateTime.unsafeMake(1)))
          const stale = yield* Effect.flip(
            Effect.locally(
              repository.update(next, p.version),
              LockManager.CurrentLease,
              Option.some({ key: p.id, token: 1n, releasedByWrite: false })
            )
          )
          expect(stale._tag).toBe("LockUnavailable")
          expect(Option.getOrThrow(yield* repository.findById(p.id)).version).toBe(1)
          const leaseRow = Effect.map(
            sql<{ held: boolean }>`SELECT locked_until > clock_timestamp() AS held FROM aegis_locks WHERE key = ${p.id}`,
            (rows) => rows[0]!.held
          )
          // a last write that fails (wrong version) rolls its release back: the lease stays held
          const holder: LockManager.Lease = { key: p.id, token: 999999999n, releasedByWrite: false }
          const conflict = yield* Effect.flip(
            Effect.locally(repository.update(next, p.version + 5, { lastWrite: true }), LockManager.CurrentLease, Option.some(holder))
          )
          expect(conflict._tag).toBe("VersionConflict")
          expect(yield* leaseRow).toBe(true)
          expect(holder.releasedByWrite).toBe(false)
          // the current holder's token passes; its last write releases the lease in the same transaction
          yield* Effect.locally(repository.update(next, p.version, { lastWrite: true }), LockManager.CurrentLease, Option.some(holder))
          expect(Option.getOrThrow(yield* repository.findById(p.id)).version).toBe(2)
          expect(yield* leaseRow).toBe(false)
          expect(holder.releasedByWrite).toBe(true)
        }).pipe(Effect.provide(layer()))))

      it("writes one event row and one outbox row per event; the database refuses refunded > captured", () =>
        Effect.runPromise(Effect.gen(function*() {
          const payments = yield* PaymentService.PaymentService
          const p = yield* payments.createPayment(request({ idempotencyKey: "rows" }))
          const done = yield* payments.processPayment(p.id)
          const sql = yield* SqlClient.SqlClient
          const counts = yield* sql<{ events: string; outbox: string }>`
            SELECT (SELECT count(*) FROM aegis_events WHERE payment_id = ${p.id}) AS events,
                   (SELECT count(*) FROM aegis_outbox WHERE payment_id = ${p.id}) AS outbox`
          expect(Number(counts[0]!.events)).toBe(done.version)
          expect(Number(counts[0]!.outbox)).toBe(done.version)
          const refused = yield* Effect.either(
            sql`UPDATE aegis_payments SET refunded_minor = captured_minor + 1 WHERE id = ${p.id}`
          )
          expect(refused._tag).toBe("Left")
        }).pipe(Effect.provide(layer()))))
    }
  })
}

contract("memory", { sql: false, layer: () => AegisPayTest.layerMemory({ ids: "sequential" }) })
// one PGlite for the whole contract (started once, as PostgreSQL's database below is created once);
// each test still builds the embedded composition on it. Random ids, as on PostgreSQL: sequential
// ids would start over in every test's composition on the shared tables.
describe("pglite", () => {
  const client = useSharedPglite()
  contract("pglite", { sql: true, layer: () => embeddedOn(client(), { ...AegisPayTest.parts(), ids: "random" }) })
})

describe.skipIf(databaseUrl === undefined)("postgres", () => {
  const databaseUrlOf = useTestDatabase("contract")
  contract("postgres", {
    sql: true,
    layer: () => AegisPayPg.layer({ ...AegisPayTest.parts(), ids: "random", url: Redacted.make(databaseUrlOf()) })
  })
})

it("the embedded database keeps its data in a folder across a restart", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "aegispay-embedded-"))
  try {
    const layer = () => AegisPayEmbedded.layer({ ...AegisPayTest.parts(), dataDir })
    const created = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request({ idempotencyKey: "durable" }))
      return (yield* payments.processPayment(p.id)).id
    }).pipe(Effect.provide(layer()))))
    const reopened = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const again = yield* payments.createPayment(request({ idempotencyKey: "durable" }))
      return { state: (yield* payments.getPayment(created)).state, sameId: again.id === created }
    }).pipe(Effect.provide(layer()))))
    expect(reopened).toEqual({ state: "SUCCESS", sameId: true })
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}, 60_000)
