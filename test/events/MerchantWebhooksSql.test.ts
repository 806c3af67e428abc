/**
 * Webhooks to merchants on real PostgreSQL: deliveries written by the database with the committed
 * events (before any worker runs), two workers on one database against a receiver that fails
 * intermittently and is down for a while: every event delivered, in order per payment, signatures
 * verify, no attempt sent twice, no two requests of one event in flight at once; secrets only
 * sealed at rest.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { DateTime, Duration, Effect, Either, Fiber, Layer, Option, Redacted, Schedule, Schema } from "effect"
import { EventStore, Ids, MerchantEvent, MerchantWebhooks, Notifications, PaymentService, Tenant } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, TestCards } from "aegispay/testing"
import * as KeyManagement from "../../src/security/KeyManagement.js"
import * as SqlStore from "../../src/internal/webhooks/sqlStore.js"
import { card, request } from "../helpers.js"
import { fingerprintKey, kek } from "../security/Keys.js"
import { databaseUrl, requirePostgres, useTestDatabase } from "../support/Backends.js"
import { olderTransactionsEnded, pagesReadBy } from "../support/DeadRows.js"
import { awaitLockWaiter, holdRowLock } from "../support/Interruption.js"
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

  /** The composition with merchant webhooks (no worker runs here), without relay, recovery or retention. */
  const withWebhooks = (maxConnections: number) =>
    AegisPayPg.layer({
      ...AegisPayTest.parts(),
      url: Redacted.make(url()),
      maxConnections,
      relay: false,
      recovery: false,
      retention: false,
      merchantWebhooks: { ...options, keys }
    })

  it.live("two workers: every event delivered once, in order per payment, signed; no attempt twice, none concurrent", () =>
    Effect.scoped(Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const ctx = yield* Layer.build(withWebhooks(6))
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
      const ctx = yield* Layer.build(withWebhooks(4))
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

  /**
   * The composition (migrated; no worker, relay or recovery runs), its webhooks service, and the
   * SQL store on a client of one connection, with the table pages one claim reads.
   */
  const oneSession = Effect.gen(function*() {
    const ctx = yield* Layer.build(withWebhooks(4))
    const webhooks = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
    const single = yield* Layer.build(AegisPayPg.layerClient({ url: Redacted.make(url()), maxConnections: 1 }))
    const on = yield* Effect.provide(SqlClient.SqlClient, single)
    const store = yield* Effect.provide(SqlStore.make, single)
    const claim = (owner: string, limit: number) =>
      Effect.flatMap(DateTime.now, (now) => store.claim(owner, now, limit, Duration.seconds(30)))
    /** The table pages one claim reads, and what it claimed. */
    const claimPages = (owner: string, limit: number) =>
      Effect.map(pagesReadBy(on, "aegis_webhook_deliveries", claim(owner, limit)), ({ pages, result }) => ({ pages, claimed: result }))
    /** A new endpoint of tenant acme for payment.succeeded, at `https://shop.example/<path>`. */
    const endpointAt = (path: string) =>
      Effect.map(
        webhooks.createEndpoint({ url: `https://shop.example/${path}`, events: ["payment.succeeded"] }).pipe(Tenant.with("acme")),
        (created) => created.endpoint
      )
    // what the earlier tests left pending is claimed and leased (30 s) here, out of the way
    yield* claim("earlier-tests", 10_000)
    return { webhooks, on, store, claim, claimPages, endpointAt }
  })

  /** `n` pending deliveries to `endpointId` (tenant acme), due since `dueSince` ago, ids prefixed `prefix`. */
  const pending = (on: SqlClient.SqlClient, endpointId: string, prefix: string, n: number, dueSince: string) =>
    on`INSERT INTO aegis_webhook_deliveries (endpoint_id, tenant_id, event_id, payment_id, seq, type, payload, status, next_attempt_at, created_at)
      SELECT ${endpointId}, 'acme', ${`evt_${prefix}_`} || i, ${`pay_${prefix}_`} || i, 1, 'payment.succeeded',
        jsonb_build_object('pad', repeat('x', 300)), 'pending', now() - ${dueSince}::interval, now()
      FROM generate_series(1, ${n}) AS i`

  it.live("a claim does not keep reading settled deliveries that are not vacuumed yet: once one claim has passed them, the next reads almost nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const { claimPages, endpointAt, on } = yield* oneSession
      const endpoint = yield* endpointAt("vacuum")
      // 4,000 deliveries settled since the last vacuum (none runs during this test): the due index
      // still points at their old row versions
      yield* pending(on, endpoint.id, "vacuum", 4000, "1 minute")
      yield* on`UPDATE aegis_webhook_deliveries SET status = 'delivered', delivered_at = now() WHERE event_id LIKE 'evt_vacuum_%'`
      // their old versions are dead to every transaction once those running meanwhile end
      yield* olderTransactionsEnded(on)
      const first = yield* claimPages("vacuum-worker", 8)
      const second = yield* claimPages("vacuum-worker", 8)
      expect([first.claimed.length, second.claimed.length]).toEqual([0, 0])
      // the first claim visits the settled rows once, marking their index entries dead as it goes;
      // later claims skip those entries (a bitmap scan would visit every page each time)
      expect(first.pages).toBeGreaterThan(100)
      expect(second.pages * 3).toBeLessThan(first.pages)
    })), 60_000)

  it.live("a disabled endpoint's backlog is paused: claims do not walk over it; enabled again, it is delivered; a replay while disabled waits too", () =>
    Effect.scoped(Effect.gen(function*() {
      const { claim, claimPages, endpointAt, on, store, webhooks } = yield* oneSession
      const off = yield* endpointAt("paused")
      const live = yield* endpointAt("live")
      // 20,000 deliveries of the endpoint about to be disabled, due before the other's 5
      yield* pending(on, off.id, "paused", 20_000, "1 hour")
      yield* pending(on, live.id, "live", 5, "1 minute")
      yield* webhooks.updateEndpoint(off.id, { enabled: false }).pipe(Tenant.with("acme"))
      const paused = (endpointId: string) =>
        Effect.map(
          on<{ n: string }>`SELECT count(*)::text AS n FROM aegis_webhook_deliveries WHERE endpoint_id = ${endpointId} AND paused`,
          (rows) => Number(rows[0]!.n)
        )
      expect(yield* paused(off.id)).toBe(20_000)
      yield* olderTransactionsEnded(on)

      // Pausing wrote new versions of the backlog's rows: the first claim passes the index entries
      // of the old ones once (marking them dead, as after any settlement); from then on a claim
      // reads a few pages, not the backlog's (a thousand or so: the walk would visit each of its
      // rows, the previous statement's bitmap scan every page of them, on every claim).
      const first = yield* claimPages("pause-worker", 8)
      expect(first.claimed.map((c) => c.delivery.endpointId)).toEqual(Array.from({ length: 5 }, () => live.id))
      const next = yield* claimPages("pause-worker", 8)
      expect(next.claimed).toEqual([])
      expect(first.pages).toBeGreaterThan(500)
      expect(next.pages).toBeLessThan(300)
      expect(next.pages * 5).toBeLessThan(first.pages)

      // enabled again: its deliveries are resumed and claimed, oldest first
      yield* webhooks.updateEndpoint(off.id, { enabled: true }).pipe(Tenant.with("acme"))
      expect(yield* paused(off.id)).toBe(0)
      const resumed = yield* claim("pause-worker", 8)
      expect(resumed.map((c) => c.delivery.endpointId)).toEqual(Array.from({ length: 8 }, () => off.id))

      // a dead delivery replayed while its endpoint is disabled is paused, and resumed with it
      // (the endpoint's other deliveries settled, so that it is the only one left)
      const deadId = resumed[0]!.delivery.id
      yield* on`UPDATE aegis_webhook_deliveries SET status = CASE WHEN id = ${deadId} THEN 'dead' ELSE 'delivered' END,
        lease_owner = NULL, leased_until = NULL WHERE endpoint_id = ${off.id}`
      yield* webhooks.updateEndpoint(off.id, { enabled: false }).pipe(Tenant.with("acme"))
      const replayed = yield* store.replay("acme", deadId, yield* DateTime.now)
      expect(Option.map(replayed, (d) => d.status)).toEqual(Option.some("pending"))
      expect(yield* paused(off.id)).toBe(1)
      expect(yield* claim("pause-worker", 8)).toEqual([])
      yield* webhooks.updateEndpoint(off.id, { enabled: true }).pipe(Tenant.with("acme"))
      expect((yield* claim("pause-worker", 8)).map((c) => c.delivery.id)).toEqual([deadId])
    })), 60_000)

  it.live("paused follows the status whoever writes it: a delivery disabled in flight and then settled is not paused; made pending again by a plain update, it is paused only while its endpoint is disabled", () =>
    Effect.scoped(Effect.gen(function*() {
      const { claim, endpointAt, on, webhooks } = yield* oneSession
      const endpoint = yield* endpointAt("in-flight")
      yield* pending(on, endpoint.id, "flight", 1, "1 minute")
      const [inFlight] = yield* claim("flight-worker", 8)
      expect(inFlight!.delivery.endpointId).toBe(endpoint.id)
      const state = Effect.map(
        on<{ status: string; paused: boolean }>`SELECT status, paused FROM aegis_webhook_deliveries WHERE id = ${inFlight!.delivery.id}`,
        (rows) => rows[0]
      )
      // disabled while its attempt runs: paused; the attempt ends (dead): no longer paused
      yield* webhooks.updateEndpoint(endpoint.id, { enabled: false }).pipe(Tenant.with("acme"))
      expect(yield* state).toEqual({ status: "pending", paused: true })
      yield* on`UPDATE aegis_webhook_deliveries SET status = 'dead', lease_owner = NULL, leased_until = NULL WHERE id = ${inFlight!.delivery.id}`
      expect(yield* state).toEqual({ status: "dead", paused: false })
      // made pending again the way an earlier release replays (it knows nothing of paused)
      const replayed = on`UPDATE aegis_webhook_deliveries SET status = 'pending', next_attempt_at = now() - interval '1 second'
        WHERE id = ${inFlight!.delivery.id}`
      yield* replayed
      expect(yield* state).toEqual({ status: "pending", paused: true })
      expect(yield* claim("flight-worker", 8)).toEqual([])
      yield* on`UPDATE aegis_webhook_deliveries SET status = 'dead' WHERE id = ${inFlight!.delivery.id}`
      yield* webhooks.updateEndpoint(endpoint.id, { enabled: true }).pipe(Tenant.with("acme"))
      yield* replayed
      expect(yield* state).toEqual({ status: "pending", paused: false })
      expect((yield* claim("flight-worker", 8)).map((c) => c.delivery.id)).toEqual([inFlight!.delivery.id])
    })), 60_000)

  it.live("a replay racing a disable of its endpoint: no deadlock (the replay takes the endpoint's lock before the delivery's); the delivery ends paused", () =>
    Effect.scoped(Effect.gen(function*() {
      const { endpointAt, on, store, webhooks } = yield* oneSession
      // the lock holder's session and the observer's (outside the composition and the store's session)
      const sql = yield* Effect.provide(SqlClient.SqlClient, yield* Layer.build(AegisPayPg.layerClient({ url: Redacted.make(url()), maxConnections: 2 })))
      const endpoint = yield* endpointAt("race")
      // two pending deliveries: the disable locks "a"'s before "b"'s (a payment's events in order)
      yield* on`INSERT INTO aegis_webhook_deliveries (endpoint_id, tenant_id, event_id, payment_id, seq, type, payload, status, next_attempt_at, created_at)
        VALUES (${endpoint.id}, 'acme', 'evt_race_a', 'pay_race_a', 1, 'payment.succeeded', '{}', 'pending', now(), now()),
               (${endpoint.id}, 'acme', 'evt_race_b', 'pay_race_b', 1, 'payment.succeeded', '{}', 'pending', now(), now())`
      const ids = yield* on<{ id: string; payment_id: string }>`
        SELECT id::text AS id, payment_id FROM aegis_webhook_deliveries WHERE endpoint_id = ${endpoint.id} ORDER BY payment_id`
      const [a, b] = ids.map((row) => row.id)
      // "a" held by another transaction: the disable's trigger waits there, its snapshot taken
      const release = yield* holdRowLock(sql, sql`SELECT id FROM aegis_webhook_deliveries WHERE id = ${a!} FOR UPDATE`)
      const disable = yield* Effect.fork(webhooks.updateEndpoint(endpoint.id, { enabled: false }).pipe(Tenant.with("acme")))
      yield* awaitLockWaiter(sql)
      // meanwhile "b" is settled dead, then replayed: the replay waits for the endpoint the disable holds
      yield* on`UPDATE aegis_webhook_deliveries SET status = 'dead' WHERE id = ${b!}`
      const replay = yield* Effect.fork(Effect.flatMap(DateTime.now, (now) => store.replay("acme", b!, now)))
      yield* awaitLockWaiter(sql, 2)
      // the disable goes on to "b" (had the replay locked "b" first, each would wait for the other)
      yield* release
      yield* Fiber.join(disable)
      const replayed = yield* Fiber.join(replay)
      expect(Option.map(replayed, (d) => d.status)).toEqual(Option.some("pending"))
      const rows = yield* on<{ id: string; paused: boolean }>`
        SELECT id::text AS id, paused FROM aegis_webhook_deliveries WHERE endpoint_id = ${endpoint.id} ORDER BY payment_id`
      expect(rows).toEqual([{ id: a, paused: true }, { id: b, paused: true }])
    })), 60_000)
})
