/**
 * Webhooks to merchants on the memory layers, under TestClock, against a real HTTP receiver on a
 * loopback port that fails intermittently and is down for a while: every event delivered, in
 * order per payment, signatures verify, dead letters after the last attempt, replays resend.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Queue, Redacted, Schedule, Schema, TestClock } from "effect"
import {
  EventStore,
  MerchantEvent,
  MerchantWebhooks,
  PaymentService,
  Tenant,
  WebhookDelivery,
  WebhookSignature
} from "aegispay"
import { AegisPayTest, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"
import * as Receiver from "./WebhookReceiver.js"

/** 30 s, 60 s, 120 s, then dead-lettered: 4 attempts. */
const schedule = Schedule.exponential("30 seconds").pipe(Schedule.intersect(Schedule.recurs(3)))

const layer = (options: MerchantWebhooks.Options = {}) =>
  MerchantWebhooks.layerMemory({ worker: false, retention: false, schedule, ...options }).pipe(
    Layer.provideMerge(AegisPayTest.layerMemory({ ids: "sequential" }))
  )

const decodeBody = Schema.decodeUnknownSync(Schema.parseJson(MerchantEvent.MerchantEvent))

/** Pays `n` orders for the current tenant (every third declined), refunds the first. */
const pay = (n: number, prefix: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const ids: Array<string> = []
    for (let i = 0; i < n; i++) {
      const created = yield* payments.createPayment(request({
        idempotencyKey: `${prefix}-${i}`,
        paymentMethod: card(i % 3 === 2 ? TestCards.declined : TestCards.success)
      }))
      yield* payments.processPayment(created.id)
      ids.push(created.id)
    }
    yield* payments.refundPayment({ paymentId: ids[0]!, idempotencyKey: `${prefix}-refund`, amount: "10.00" })
    return ids
  })

/** The public events of `paymentIds` an endpoint subscribed to `events` must receive, in order. */
const expected = (paymentIds: ReadonlyArray<string>, events: ReadonlyArray<MerchantEvent.Subscription>) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    const selectors = MerchantEvent.selectorsFor(events)
    const out: Array<string> = []
    for (const id of paymentIds) {
      for (const event of yield* store.read(id)) if (MerchantEvent.selects(selectors, event._tag, event)) out.push(event.eventId)
    }
    return out
  })

/** Runs rounds, moving the clock on by `step` whenever nothing is due, until `done` or `limit` rounds. */
const drive = (
  done: Effect.Effect<boolean>,
  step: Parameters<typeof TestClock.adjust>[0] = "30 seconds",
  limit = 200
) =>
  Effect.gen(function*() {
    const webhooks = yield* MerchantWebhooks.MerchantWebhooks
    for (let i = 0; i < limit; i++) {
      if (yield* done) return
      const report = yield* webhooks.runOnce
      if (report.claimed === 0) yield* TestClock.adjust(step)
    }
    throw new Error("not done within the round limit")
  })

/** Checks order per payment: a request for sequence s only after every earlier expected event was answered 2xx. */
const expectInOrder = (received: ReadonlyArray<Receiver.Received>, expectedIds: ReadonlyArray<string>) => {
  const position = new Map(expectedIds.map((id, i) => [id, i]))
  const acknowledged = new Set<string>()
  for (const r of received) {
    const body = decodeBody(r.body)
    const mine = expectedIds.filter((id) => id.startsWith(`evt_${body.paymentId}_`))
    const earlier = mine.filter((id) => position.get(id)! < position.get(body.id)!)
    for (const id of earlier) expect(acknowledged.has(id), `${body.id} sent before ${id} was delivered`).toBe(true)
    if (r.answered === "ok") acknowledged.add(body.id)
  }
}

describe("MerchantWebhooks (memory, TestClock, real HTTP receiver)", () => {
  it("the default schedule: 30 s ×4 capped at 12 h, 8 attempts over about 23 h 43 min", () =>
    Effect.gen(function*() {
      const delays: Array<string> = []
      for (let n = 1; n <= 8; n++) {
        const delay = yield* WebhookDelivery.delayAfter(WebhookDelivery.defaultSchedule, n, 0)
        delays.push(Option.match(delay, { onNone: () => "dead", onSome: (d) => `${d.value._tag === "Millis" ? d.value.millis / 1000 : -1}s` }))
      }
      expect(delays).toEqual(["30s", "120s", "480s", "1920s", "7680s", "30720s", "43200s", "dead"])
    }).pipe(Effect.runSync))

  it.scoped("every event delivered at least once, in order per payment, signed, through an outage and intermittent failures", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const ctx = yield* Layer.build(layer())
      const webhooks = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
      const acme = yield* webhooks.createEndpoint({ url: receiver.url("/acme"), events: ["*"] }).pipe(Tenant.with("acme"))
      const paid = yield* webhooks.createEndpoint({
        url: receiver.url("/acme-paid"),
        events: ["payment.succeeded", "refund.succeeded"]
      }).pipe(Tenant.with("acme"))
      const globex = yield* webhooks.createEndpoint({ url: receiver.url("/globex"), events: ["*"] }).pipe(Tenant.with("globex"))
      expect(Redacted.value(acme.secret)).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/)
      expect(String(acme.secret)).not.toContain("whsec_")

      const acmePayments = yield* Effect.provide(pay(6, "acme"), ctx).pipe(Tenant.with("acme"))
      const globexPayments = yield* Effect.provide(pay(2, "globex"), ctx).pipe(Tenant.with("globex"))

      // down: every head fails, its payment's later events wait behind it
      yield* receiver.setMode(() => "down")
      const first = yield* webhooks.runOnce
      expect(first.failed).toBe(first.claimed)
      // one head per (endpoint, payment): 6 + 2, and 4 on the endpoint of successes (2 of the 6 are declined)
      expect(first.claimed).toBe(6 + 4 + 2)
      expect((yield* webhooks.runOnce).claimed).toBe(0) // nothing due before the retry
      // back, failing every third request (never a delivery's third attempt: the schedule allows four)
      yield* receiver.setMode(({ attempt, index }) => (index % 3 === 0 && attempt < 3 ? "fail" : "ok"))
      const wanted = {
        acme: yield* Effect.provide(expected(acmePayments, ["*"]), ctx),
        paid: yield* Effect.provide(expected(acmePayments, ["payment.succeeded", "refund.succeeded"]), ctx),
        globex: yield* Effect.provide(expected(globexPayments, ["*"]), ctx)
      }
      const acknowledged = (path: string) =>
        Effect.map(receiver.received, (all) => new Set(all.filter((r) => r.path === path && r.answered === "ok").map((r) => r.headers["aegispay-event-id"])))
      const allDelivered = Effect.gen(function*() {
        return (yield* acknowledged("/acme")).size === wanted.acme.length &&
          (yield* acknowledged("/acme-paid")).size === wanted.paid.length &&
          (yield* acknowledged("/globex")).size === wanted.globex.length
      })
      yield* Effect.provide(drive(allDelivered), ctx)

      const received = yield* receiver.received
      for (const [path, ids, secret] of [
        ["/acme", wanted.acme, acme.secret],
        ["/acme-paid", wanted.paid, paid.secret],
        ["/globex", wanted.globex, globex.secret]
      ] as const) {
        const mine = received.filter((r) => r.path === path)
        expect([...(yield* acknowledged(path))].sort()).toEqual([...ids].sort())
        expectInOrder(mine, ids)
        for (const r of mine) {
          // signed with this endpoint's secret over the exact body; the event id header matches the body
          const verified = yield* Effect.either(MerchantWebhooks.verify(secret, r.headers, r.body))
          expect(Either.isRight(verified)).toBe(true)
          expect(decodeBody(r.body).id).toBe(r.headers["aegispay-event-id"])
          expect(r.body).not.toContain(TestCards.success)
        }
        // another endpoint's secret does not verify
        const other = path === "/globex" ? acme.secret : globex.secret
        const refused = yield* Effect.flip(MerchantWebhooks.verify(other, mine[0]!.headers, mine[0]!.body))
        expect(refused.reason).toBe("no_matching_signature")
      }
      // tenants: globex's endpoint got only globex's payments
      for (const r of received.filter((r) => r.path === "/globex")) expect(decodeBody(r.body).tenantId).toBe("globex")

      // the attempt log of a delivery that failed before it went through
      const deliveries = yield* webhooks.listDeliveries(acme.endpoint.id, { limit: 100 }).pipe(Tenant.with("acme"))
      expect(deliveries.items.every((d) => d.status === "delivered")).toBe(true)
      const retried = deliveries.items.find((d) => d.attempts > 1)!
      const attempts = yield* webhooks.listAttempts(retried.id).pipe(Tenant.with("acme"))
      expect(attempts.length).toBe(retried.attempts)
      expect(attempts[attempts.length - 1]!.outcome).toBe("delivered")
      expect(attempts[attempts.length - 1]!.httpStatus).toBe(200)
      expect(attempts.slice(0, -1).every((a) => a.outcome === "failed" && a.error !== undefined)).toBe(true)
      // another tenant sees none of it
      const hidden = yield* Effect.flip(webhooks.listAttempts(retried.id).pipe(Tenant.with("globex")))
      expect(hidden._tag).toBe("WebhookDeliveryNotFound")
    }), 60_000)

  it.scoped("dead-lettered after the last attempt, the payment's next events after it; replays resend", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const ctx = yield* Layer.build(layer())
      const webhooks = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
      const { endpoint, secret } = yield* webhooks.createEndpoint({ url: receiver.url(), events: ["*"] })
      const [paymentId] = yield* Effect.provide(pay(1, "dead"), ctx)
      const wanted = yield* Effect.provide(expected([paymentId!], ["*"]), ctx)
      yield* receiver.setMode(() => "fail")
      const dead = Effect.map(webhooks.listDeliveries(endpoint.id, { status: "dead", limit: 100 }), (page) => page.items.length)
      yield* Effect.provide(drive(Effect.map(Effect.orDie(dead), (n) => n === wanted.length)), ctx)
      // four attempts each (the schedule's three retries), the next event only after the previous was dead-lettered
      const received = yield* receiver.received
      expect(received.length).toBe(4 * wanted.length)
      expect(received.map((r) => r.headers["aegispay-event-id"])).toEqual(wanted.flatMap((id) => [id, id, id, id]))
      expect(received.map((r) => r.headers["aegispay-attempt"])).toEqual(wanted.flatMap(() => ["1", "2", "3", "4"]))
      const first = (yield* webhooks.listDeliveries(endpoint.id, { limit: 100 })).items.find((d) => d.eventId === wanted[0])!
      expect(first.status).toBe("dead")
      expect(first.lastStatus).toBe(500)
      const log = yield* webhooks.listAttempts(first.id)
      expect(log.map((a) => a.outcome)).toEqual(["failed", "failed", "failed", "dead"])
      expect(log.every((a) => a.httpStatus === 500 && a.error === "HTTP 500")).toBe(true)

      // the endpoint is fixed: replay every dead delivery, in order, with a fresh schedule
      yield* receiver.setMode(() => "ok")
      expect(yield* webhooks.replayDead(endpoint.id)).toBe(wanted.length)
      const delivered = Effect.map(webhooks.listDeliveries(endpoint.id, { status: "delivered", limit: 100 }), (page) => page.items.length)
      yield* Effect.provide(drive(Effect.map(Effect.orDie(delivered), (n) => n === wanted.length)), ctx)
      expect(yield* dead).toBe(0)
      const replayed = (yield* receiver.received).slice(4 * wanted.length)
      expect(replayed.map((r) => r.headers["aegispay-event-id"])).toEqual(wanted)
      expect(replayed.every((r) => r.headers["aegispay-attempt"] === "5")).toBe(true)
      // one delivered delivery sent again: same event id and body, a new signature
      const again = yield* webhooks.replayDelivery(first.id)
      expect(again.status).toBe("pending")
      yield* TestClock.adjust("1 second")
      expect((yield* webhooks.runOnce).delivered).toBe(1)
      const last = (yield* receiver.received).at(-1)!
      expect(last.headers["aegispay-event-id"]).toBe(wanted[0])
      expect(last.body).toBe(replayed[0]!.body)
      expect(Either.isRight(yield* Effect.either(MerchantWebhooks.verify(secret, last.headers, last.body)))).toBe(true)
    }), 60_000)

  it.scoped("endpoints: validation, disabled endpoints wait, rotation signs with the new secret, deletion", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const ctx = yield* Layer.build(layer({ requireHttps: false }))
      const webhooks = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
      const bad = [
        { url: "ftp://example.com/x", events: ["*"] as const },
        { url: "https://user:pw@example.com/x", events: ["*"] as const },
        { url: "not a url", events: ["*"] as const },
        { url: receiver.url(), events: [] as const }
      ]
      for (const input of bad) expect((yield* Effect.flip(webhooks.createEndpoint(input)))._tag).toBe("InvalidWebhookEndpoint")
      const unknownType = yield* Effect.flip(webhooks.createEndpoint({ url: receiver.url(), events: ["PaymentSucceeded" as "*"] }))
      expect(unknownType.message).toContain("unknown event types")

      const { endpoint } = yield* webhooks.createEndpoint({ url: receiver.url(), events: ["payment.succeeded"], enabled: false })
      yield* Effect.provide(pay(1, "off"), ctx)
      // disabled: no delivery is made for its events
      expect((yield* webhooks.runOnce).claimed).toBe(0)
      yield* webhooks.updateEndpoint(endpoint.id, { enabled: true })
      yield* Effect.provide(pay(1, "on"), ctx)
      const rotated = yield* webhooks.rotateSecret(endpoint.id)
      expect((yield* webhooks.runOnce).delivered).toBe(1)
      const [only] = yield* receiver.received
      expect(decodeBody(only!.body).type).toBe("payment.succeeded")
      expect(decodeBody(only!.body).data).toEqual({ captured: { currency: "USD", amount: "100.00" }, gatewayTransactionId: expect.any(String) })
      expect(Either.isRight(yield* Effect.either(MerchantWebhooks.verify(rotated.secret, only!.headers, only!.body)))).toBe(true)
      // a replayed old request is refused by the timestamp
      yield* TestClock.adjust("6 minutes")
      const stale = yield* Effect.flip(MerchantWebhooks.verify(rotated.secret, only!.headers, only!.body))
      expect(stale.reason).toBe("timestamp_outside_tolerance")
      const tampered = yield* Effect.flip(MerchantWebhooks.verify(rotated.secret, only!.headers, only!.body.replace("100.00", "999.00"), "1 hour"))
      expect(tampered.reason).toBe("no_matching_signature")
      expect((yield* Effect.flip(MerchantWebhooks.verify(rotated.secret, {}, only!.body))).reason).toBe("missing_header")

      yield* webhooks.deleteEndpoint(endpoint.id)
      expect((yield* Effect.flip(webhooks.getEndpoint(endpoint.id)))._tag).toBe("WebhookEndpointNotFound")
      expect(yield* webhooks.listEndpoints).toEqual([])
      expect(WebhookSignature.parse("t=1,v1=zz")).toBeUndefined()
    }), 60_000)

  it.live("the layer's worker, woken by the commit (poll interval one hour), delivers on its own", () =>
    Effect.scoped(Effect.gen(function*() {
      const receiver = yield* Receiver.start()
      const ctx = yield* Layer.build(layer({ worker: true, pollInterval: "1 hour" }))
      const webhooks = yield* Effect.provide(MerchantWebhooks.MerchantWebhooks, ctx)
      yield* webhooks.createEndpoint({ url: receiver.url(), events: ["payment.created", "payment.succeeded"] })
      yield* Effect.provide(pay(1, "worker"), ctx)
      const first = yield* Queue.take(receiver.requests).pipe(Effect.timeout("20 seconds"))
      const second = yield* Queue.take(receiver.requests).pipe(Effect.timeout("20 seconds"))
      expect([decodeBody(first.body).type, decodeBody(second.body).type]).toEqual(["payment.created", "payment.succeeded"])
    })), 60_000)
})
