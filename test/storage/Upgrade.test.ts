/**
 * Upgrading a database made by the last release (wave 1, commit 2c9d59a): the dump in
 * test/fixtures/wave1.sql was written by that release's own code (see the file's header). The
 * current composition migrates it forward when built; every old payment still reads, its stored
 * snapshot still equals the fold of its events, the old outbox still delivers, refunds of old
 * payments work and new payments run beside them.
 *
 * The wave-1 vault kept card numbers in process memory: the old card payments can never be
 * charged again (a payment left INITIATED there cannot be processed now). That is expected.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Schedule } from "effect"
import { PaymentService } from "aegispay"
import { Migrations } from "aegispay/pg"
import { expectFoldEqualsSnapshot, request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { currentOn, loadWave1, wave1States } from "../support/Wave1.js"

describe.skipIf(databaseUrl === undefined)("Upgrade from wave 1 on PostgreSQL", () => {
  const urlOf = useTestDatabase("upgrade")

  it.live("a wave-1 database migrates forward; its payments read, replay, deliver and refund", () =>
    Effect.gen(function*() {
      yield* loadWave1(urlOf())
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const payments = yield* PaymentService.PaymentService
        const migrated = yield* sql<{ migration_id: number }>`SELECT migration_id FROM aegis_migrations ORDER BY 1`
        const all = yield* Migrations.loader
        expect(migrated.map((r) => r.migration_id)).toEqual(all.map(([id]) => id))
        // the wave-1 database got the test ledger's tables from 0002, empty: 0012 dropped them
        expect(yield* sql`SELECT 1 FROM pg_class WHERE relname LIKE 'aegis_test_ledger%'`).toEqual([])

        const rows = yield* sql<{ id: string; idempotency_key: string; state: string }>`
          SELECT id, idempotency_key, state FROM aegis_payments ORDER BY created_at`
        expect(Object.fromEntries(rows.map((r) => [r.idempotency_key, r.state]))).toEqual(wave1States)

        // every old payment: snapshot = fold of its events, and the public read works
        for (const row of rows) {
          const { rebuilt, stored } = yield* expectFoldEqualsSnapshot(row.id)
          expect(rebuilt).toEqual(stored)
          const read = yield* payments.getPayment(row.id)
          expect(read.state).toBe(row.state)
        }
        const byKey = new Map(rows.map((r) => [r.idempotency_key, r.id]))

        // the old outbox (25 rows still pending in the dump) is delivered by the current relay
        yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM aegis_outbox WHERE status <> 'delivered'`.pipe(
          Effect.flatMap((r) => r[0]?.n === 0 ? Effect.void : Effect.fail("outbox not drained" as const)),
          Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(20))))
        )

        // a refund of an old SUCCESS payment (no card needed)
        const oldId = byKey.get("w1-success-2")!
        const refund = yield* payments.refundPayment({ paymentId: oldId, idempotencyKey: "after-upgrade", amount: "20.00" })
        expect(refund.state).toBe("SUCCEEDED")
        const refunded = yield* payments.getPayment(oldId)
        expect(refunded.refundedAmount.minor).toBe(2000n)
        const afterRefund = yield* expectFoldEqualsSnapshot(oldId)
        expect(afterRefund.rebuilt).toEqual(afterRefund.stored)
        // a payment refunded partly in wave 1 gets refunded again
        const partly = byKey.get("w1-success")!
        yield* payments.refundPayment({ paymentId: partly, idempotencyKey: "after-upgrade-2" })
        expect((yield* payments.getPayment(partly)).refundedAmount.minor).toBe(4999n)

        // the wave-1 vault kept cards in memory: an old card payment never processed cannot be now
        const initiated = byKey.get("w1-initiated")!
        const lost = yield* Effect.flip(payments.processPayment(initiated))
        expect(lost._tag).toBe("GatewayMisconfigured")
        expect((yield* payments.getPayment(initiated)).state).toBe("INITIATED")
        // ... it can be cancelled (or left: it moves no money)
        expect((yield* payments.cancelPayment({ paymentId: initiated })).state).toBe("CANCELLED")
        const afterLost = yield* expectFoldEqualsSnapshot(initiated)
        expect(afterLost.rebuilt).toEqual(afterLost.stored)

        // a new payment beside the old ones
        const created = yield* payments.createPayment(request({ idempotencyKey: "after-upgrade" }))
        const processed = yield* payments.processPayment(created.id)
        expect(processed.state).toBe("SUCCESS")
        const fresh = yield* expectFoldEqualsSnapshot(created.id)
        expect(fresh.rebuilt).toEqual(fresh.stored)
        // the customer's list holds old and new payments
        const page = yield* payments.getCustomerPayments({ customerId: "cus_ada", limit: 50 })
        expect(page.items.length).toBe(12)
      }).pipe(Effect.provide(currentOn(urlOf())), Effect.scoped)
    }), 60_000)
})
