/**
 * `PaymentSnapshot.writtenFor`: on the SQL storage, a payment this process wrote and saw committed
 * is not decoded again when read back unchanged (the lock-and-read of the next operation, a
 * lookup): the object itself comes back. A row changed by anyone else (a new version, or the same
 * version rewritten at another time) is decoded from the database as before.
 */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { PaymentService } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayTest } from "aegispay/testing"
import { request } from "../helpers.js"

const Embedded = AegisPayEmbedded.layer({ ...AegisPayTest.parts(), recovery: false, retention: false })

describe("payments written by this process", () => {
  it.scoped("come back as the same object while unchanged; a row changed elsewhere is read from the database", () =>
    Effect.gen(function*() {
      const ctx = yield* Layer.build(Embedded)
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const sql = yield* SqlClient.SqlClient
        const created = yield* payments.createPayment(request({ idempotencyKey: "written-1" }))
        expect(yield* payments.getPayment(created.id)).toBe(created)
        // the lock-and-read of processPayment starts from the object written by the create
        const processed = yield* payments.processPayment(created.id)
        expect(processed.version).toBeGreaterThan(created.version)
        expect(yield* payments.getPayment(created.id)).toBe(processed)

        // another writer's version: decoded, with its content
        yield* sql`UPDATE aegis_payments SET version = version + 1, snapshot = jsonb_set(jsonb_set(snapshot,
          '{version}', to_jsonb(version + 1)), '{metadata}', '{"by": "elsewhere"}') WHERE id = ${created.id}`
        const elsewhere = yield* payments.getPayment(created.id)
        expect(elsewhere).not.toBe(processed)
        expect(elsewhere.version).toBe(processed.version + 1)
        expect(elsewhere.metadata).toEqual({ by: "elsewhere" })

        // the same version this process wrote, rewritten at another time (a restored row): decoded
        const next = yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: "r1", amount: "1.00" })
        const after = yield* payments.getPayment(created.id)
        expect(after.version).toBeGreaterThan(elsewhere.version)
        expect(after.metadata).toEqual({ by: "elsewhere" })
        expect(next.state).toBe("SUCCEEDED")
        yield* sql`UPDATE aegis_payments SET snapshot = jsonb_set(snapshot, '{updatedAt}', '"2001-01-01T00:00:00.000Z"') WHERE id = ${created.id}`
        const restored = yield* payments.getPayment(created.id)
        expect(restored).not.toBe(after)
        expect(restored.version).toBe(after.version)
        expect(restored.updatedAt.epochMillis).toBe(Date.UTC(2001, 0, 1))
      }).pipe(Effect.provide(ctx))
    }), 60_000)
})
