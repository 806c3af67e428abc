/**
 * Webhooks to merchants on real PostgreSQL: deliveries written by the database with the committed
 * events (before any worker runs), two workers on one database against a receiver that fails
 * intermittently and is down for a while: every event delivered, in order per payment, signatures
 * verify, no attempt sent twice, no two requests of one event in flight at once; secrets only
 * sealed at rest.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Either, Layer, Redacted, Schedule, Schema } from "effect"
import { EventStore, Ids, MerchantEvent, MerchantWebhooks, Notifications, PaymentService, Tenant } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, TestCards } from "aegispay/testing"
import * as KeyManagement from "../../src/security/KeyManagement.js"
import { card, request } from "../helpers.js"
import { fingerprintKey, kek } from "../security/Keys.js"
import { databaseUrl, requirePostgres, useTestDatabase } from "../support/Backends.js"
import * as Receiver from "./WebhookReceiver.js"

if (databaseUrl === undefined && !requirePostgres) {
  console.warn("[aegispay tests] DATABASE_URL is not set: merchant webhooks on PostgreSQL SKIPPED")
}

const decodeBody = Schema.decodeUnknownSync(Schema.parseJson(MerchantEvent.MerchantEvent))

describe.skipIf(databaseUrl === undefined)("MerchantWebhooks on PostgreSQL", () => {
  const url = useTestDatabase("webhooks")
  const keys = Layer.orDie(KeyManagement.layer({ current: kek("webhooks-1"), fingerprintKey }))
  const options: MerchantWebhooks.Options = {
    worker: false,
    retention: false,
    // quick retries on the real clock: 20 ms apart, six attempts
    schedule: Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(5))),
    timeout: "5 seconds",
    batchSize: 8,
    concurrency: 4
  }

  it.live("two workers: every event delivered once, in order per payment, signed; no attempt twice, none concurrent", () =>
    Effect.scoped(Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const ctx = yield* Layer.build(AegisPayPg.layer({
        ...AegisPayTest.parts(),
        url: Redacted.make(url()),
        maxConnections: 6,
        relay: false,
        recovery: false,
        retention: false,
        merchantWebhooks: { ...options, keys }
      }))
      const a = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
      // a second worker, as another process would run it: its own pool and ids
      const b = yield* Effect.provide(
        MerchantWebhooks.MerchantWebhooks,
        yield* Layer.build(MerchantWebhooks.layerSql(options).pipe(
          Layer.provide(Layer.mergeAll(AegisPayPg.layerClient({ url: Redacted.make(url()), maxConnections: 3 }), Ids.layer, keys))
        ))
      )
      const { endpoint, secret } = yield* a.createEndpoint({ url: receiver.url(), events: ["*"] }).pipe(Tenant.with("acme"))
      const other = yield* b.createEndpoint({ url: receiver.url("/other"), events: ["payment.failed"] }).pipe(Tenant.with("globex"))

      const paymentIds = yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        return yield* Effect.forEach(Array.from({ length: 12 }, (_, i) => i), (i) =>
          Effect.flatMap(
            payments.createPayment(request({
              idempotencyKey: `sql-${i}`,
              paymentMethod: card(i % 4 === 3 ? TestCards.declined : TestCards.success)
            })),
            (p) => Effect.as(payments.processPayment(p.id), p.id)
          ), { concurrency: 4 })
      }).pipe(Effect.provide(ctx), Tenant.with("acme"))
      const store = yield* Effect.provide(EventStore.EventStore, ctx)
      const wanted: Array<string> = []
      for (const id of paymentIds) {
        for (const event of yield* store.read(id)) if (MerchantEvent.typeOf(event)._tag === "Some") wanted.push(event.eventId)
      }

      // durable: the database wrote a delivery per event with the commit, before any worker ran
      const sql = yield* Effect.provide(SqlClient.SqlClient, ctx)
      const rows = yield* sql<{ endpoint_id: string; n: string }>`
        SELECT endpoint_id, count(*) AS n FROM aegis_webhook_deliveries GROUP BY endpoint_id`
      expect(rows).toEqual([{ endpoint_id: endpoint.id, n: String(wanted.length) }])
      // the secret is only sealed at rest
      const stored = yield* sql<{ row: string }>`SELECT row_to_json(e)::text AS row FROM aegis_webhook_endpoints e`
      for (const row of stored) {
        expect(row.row).not.toContain(Redacted.value(secret))
        expect(row.row).not.toContain(Redacted.value(other.secret))
      }

      // down for the first 10 requests, then failing every fourth (never a third attempt)
      yield* receiver.setMode(({ attempt, index }) => index < 10 ? "down" : index % 4 === 0 && attempt < 3 ? "fail" : "ok")
      const acknowledged = Effect.map(receiver.received, (all) => new Set(all.filter((r) => r.answered === "ok").map((r) => r.headers["aegispay-event-id"])))
      let rounds = 0
      while ((yield* acknowledged).size < wanted.length) {
        if (++rounds > 5_000) throw new Error("not delivered within 5,000 rounds")
        yield* Effect.all([a.runOnce, b.runOnce], { concurrency: 2 })
      }

      const received = yield* receiver.received
      expect([...(yield* acknowledged)].sort()).toEqual([...wanted].sort())
      // exactly once per event with a 2xx (nobody crashed), never an attempt twice, never two at once
      const ok = received.filter((r) => r.answered === "ok").map((r) => r.headers["aegispay-event-id"])
      expect(ok.length).toBe(new Set(ok).size)
      const attempts = received.map((r) => `${r.headers["aegispay-event-id"]}#${r.headers["aegispay-attempt"]}`)
      expect(attempts.length).toBe(new Set(attempts).size)
      expect(Math.max(...received.map((r) => r.inFlightForEvent))).toBe(1)
      expect(received.some((r) => r.answered !== "ok")).toBe(true)
      // in order per payment: an event only after the payment's earlier ones were acknowledged
      const done = new Set<string>()
      for (const r of received) {
        const body = decodeBody(r.body)
        for (let seq = 1; seq < body.sequence; seq++) {
          const earlier = `evt_${body.paymentId}_${seq}`
          if (wanted.includes(earlier)) expect(done.has(earlier), `${body.id} before ${earlier}`).toBe(true)
        }
        if (r.answered === "ok") done.add(body.id)
        expect(Either.isRight(yield* Effect.either(MerchantWebhooks.verify(secret, r.headers, r.body)))).toBe(true)
      }
      // both workers worked, and every attempt is in the log
      const workers = yield* sql<{ worker: string }>`SELECT DISTINCT worker FROM aegis_webhook_attempts`
      expect(workers.length).toBe(2)
      const logged = yield* sql<{ n: string }>`SELECT count(*) AS n FROM aegis_webhook_attempts`
      expect(Number(logged[0]!.n)).toBe(received.length)
      const page = yield* a.listDeliveries(endpoint.id, { status: "delivered", limit: 100 }).pipe(Tenant.with("acme"))
      expect(page.items.length).toBe(wanted.length)
      // the other tenant's endpoint got nothing (no globex payment), and cannot see acme's deliveries
      expect((yield* Effect.flip(b.getDelivery(page.items[0]!.id).pipe(Tenant.with("globex"))))._tag).toBe("WebhookDeliveryNotFound")
    })), 120_000)
  it.live("the database selects by type and status: an endpoint of dispute.closed and payment.action_required gets those only", () =>
    Effect.scoped(Effect.gen(function*() {
      const ctx = yield* Layer.build(AegisPayPg.layer({
        ...AegisPayTest.parts(),
        url: Redacted.make(url()),
        maxConnections: 4,
        relay: false,
        recovery: false,
        retention: false,
        merchantWebhooks: { ...options, keys }
      }))
      const webhooks = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
      const { endpoint } = yield* webhooks.createEndpoint({ url: "https://shop.example/hooks", events: ["dispute.closed", "payment.action_required"] }).pipe(
        Tenant.with("acme")
      )
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const notifications = yield* Notifications.Notifications
        const waiting = yield* payments.createPayment(request({ idempotencyKey: "sel-action", paymentMethod: card(TestCards.actionRedirect) }))
        yield* payments.processPayment(waiting.id)
        const paid = yield* payments.processPayment((yield* payments.createPayment(request({ idempotencyKey: "sel-paid" }))).id)
        const about = { gateway: "mock", paymentId: paid.id, idempotencyKey: paid.currentAttempt!.idempotencyKey, verified: true } as const
        yield* notifications.apply({ ...about, id: "sel-d1", type: "dispute.opened", disputeId: "dp_9" })
        yield* notifications.apply({ ...about, id: "sel-d2", type: "dispute.closed", disputeId: "dp_9", code: "lost" })
      }).pipe(Effect.provide(ctx), Tenant.with("acme"))
      const page = yield* webhooks.listDeliveries(endpoint.id).pipe(Tenant.with("acme"))
      expect(page.items.map((d) => d.eventType).sort()).toEqual(["dispute.closed", "payment.action_required"])
    })))
})
