/**
 * The correlation id on PostgreSQL: stored with the committed events (outbox row and the
 * delivery the database writes), sent as `AegisPay-Correlation-Id` by the delivery worker;
 * `OutboxBacklog.layerSql` reads the oldest undelivered outbox message (relay off here).
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, Option, Redacted } from "effect"
import { Correlation, MerchantWebhooks, OutboxBacklog, PaymentService, Tenant } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest } from "aegispay/testing"
import * as KeyManagement from "../../src/security/KeyManagement.js"
import { request } from "../helpers.js"
import { fingerprintKey, kek } from "../security/Keys.js"
import { databaseUrl, requirePostgres, useTestDatabase } from "../support/Backends.js"
import * as Receiver from "../events/WebhookReceiver.js"

if (databaseUrl === undefined && !requirePostgres) {
  console.warn("[aegispay tests] DATABASE_URL is not set: correlation on PostgreSQL SKIPPED")
}

describe.skipIf(databaseUrl === undefined)("correlation id on PostgreSQL", () => {
  const url = useTestDatabase("correlation")
  const keys = Layer.orDie(KeyManagement.layer({ current: kek("corr-1"), fingerprintKey }))

  it.live("is stored with the events and sent on their webhooks; the outbox backlog is read", () =>
    Effect.scoped(Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const ctx = yield* Layer.build(AegisPayPg.layer({
        ...AegisPayTest.parts(),
        url: Redacted.make(url()),
        maxConnections: 4,
        relay: false,
        recovery: false,
        retention: false,
        merchantWebhooks: { worker: false, retention: false, keys }
      }))
      const hooks = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
      yield* hooks.createEndpoint({ url: receiver.url("/c"), events: ["payment.created", "payment.succeeded"] }).pipe(Tenant.with("acme"))
      const before = yield* Clock.currentTimeMillis
      const paymentId = yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const p = yield* payments.createPayment(request({ idempotencyKey: "corr-sql" }))
        yield* payments.processPayment(p.id)
        return p.id
      }).pipe(Correlation.withId("checkout-42"), Tenant.with("acme"), Effect.provide(ctx))

      const sql = yield* Effect.provide(SqlClient.SqlClient, ctx)
      const outbox = yield* sql<{ c: string | null }>`SELECT payload->>'correlationId' AS c FROM aegis_outbox WHERE payment_id = ${paymentId}`
      expect(outbox.length).toBeGreaterThan(2)
      for (const row of outbox) expect(row.c).toBe("checkout-42")

      for (let i = 0; i < 5; i++) yield* hooks.runOnce
      const received = (yield* receiver.received).filter((r) => r.path === "/c")
      expect(received.map((r) => r.headers["aegispay-event-type"]).sort()).toEqual(["payment.created", "payment.succeeded"])
      for (const r of received) expect(r.headers["aegispay-correlation-id"]).toBe("checkout-42")

      // the relay is off: the oldest pending message is this test's, created after `before`
      // in the composition's context (its declared output does not name it: readiness finds it with serviceOption)
      const backlog = yield* Effect.provide(Effect.serviceOption(OutboxBacklog.OutboxBacklog), ctx)
      expect(Option.isSome(backlog)).toBe(true)
      const oldest = Option.isSome(backlog) ? yield* backlog.value.oldestPendingAt : Option.none()
      expect(Option.isSome(oldest) && oldest.value >= before - 1).toBe(true)
    })))
})
