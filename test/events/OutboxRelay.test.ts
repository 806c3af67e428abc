/**
 * The transactional outbox and its relay on real PostgreSQL (and the embedded PGlite).
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Deferred, Effect, Fiber, Layer, Redacted, Ref, Schedule, Stream } from "effect"
import { EventBus, Inbox, type PaymentEvent, PaymentService } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayPg, Migrations, OutboxRelay, SqlStorage } from "aegispay/pg"
import { AegisPayTest, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"

const makePayments = (n: number, prefix: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
      Effect.flatMap(
        payments.createPayment(request({
          idempotencyKey: `${prefix}-${i}`,
          paymentMethod: card(i % 5 === 0 ? TestCards.declined : TestCards.success)
        })),
        (p) => payments.processPayment(p.id)
      ), { concurrency: 8, discard: true })
  })

const outboxCount = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql<{ n: string }>`SELECT count(*) AS n FROM aegis_outbox`, (rows) => Number(rows[0]!.n)))

const expectOrderedPerPayment = (events: ReadonlyArray<PaymentEvent.PaymentEvent>) => {
  const last = new Map<string, number>()
  for (const e of events) {
    expect(e.seq).toBe((last.get(e.paymentId) ?? 0) + 1)
    last.set(e.paymentId, e.seq)
  }
}

it.live("PGlite: the relay delivers every committed event to the EventBus, in order per payment", () =>
  Effect.scoped(Effect.gen(function*() {
    const ctx = yield* Layer.build(AegisPayEmbedded.layer({ ...AegisPayTest.parts(), ids: "sequential" }))
    const bus = yield* Effect.provide(EventBus.EventBus, ctx)
    const stream = yield* bus.subscribe()
    yield* Effect.provide(makePayments(10, "embedded"), ctx)
    const total = yield* Effect.provide(outboxCount, ctx)
    const events = yield* Stream.runCollect(Stream.take(stream, total))
    expectOrderedPerPayment([...events])
    expect(new Set([...events].map((e) => e.eventId)).size).toBe(total)
  })), 60_000)

describe.skipIf(databaseUrl === undefined)("outbox on PostgreSQL", () => {
  const databaseUrlOf = useTestDatabase("outbox")
  // The services without a relay: the tests run their own relays.
  const withoutRelay = () =>
    AegisPayTest.layerWith(SqlStorage.layer.pipe(Layer.provideMerge(Migrations.layer)), { ids: "random" }).pipe(
      Layer.provideMerge(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 8 }))
    )

  it.live("three relays at once deliver every event exactly once (no crash), in order per payment; an inbox dedupes", () =>
    Effect.scoped(Effect.gen(function*() {
      const ctx = yield* Layer.build(withoutRelay())
      const sql = yield* Effect.provide(SqlClient.SqlClient, ctx)
      yield* sql`DELETE FROM aegis_outbox`
      yield* Effect.provide(makePayments(60, "relays"), ctx)
      const total = yield* Effect.provide(outboxCount, ctx)
      const delivered = yield* Ref.make<ReadonlyArray<PaymentEvent.PaymentEvent>>([])
      const done = yield* Deferred.make<void>()
      const publish = (event: PaymentEvent.PaymentEvent) =>
        Ref.updateAndGet(delivered, (all) => [...all, event]).pipe(
          Effect.flatMap((all) => all.length >= total ? Deferred.succeed(done, undefined) : Effect.void)
        )
      const relays = yield* Effect.forEach([1, 2, 3], () =>
        Effect.fork(Effect.provide(OutboxRelay.run(publish, { batchSize: 7, pollInterval: "50 millis" }), ctx)))
      yield* Deferred.await(done)
      // the last publication is recorded right after it; observe that, bounded
      const undelivered = Effect.map(
        sql<{ n: string }>`SELECT count(*) AS n FROM aegis_outbox WHERE status <> 'delivered'`,
        (rows) => Number(rows[0]!.n)
      )
      const remaining = yield* undelivered.pipe(
        Effect.repeat(Schedule.recurUntil((n: number) => n === 0).pipe(Schedule.addDelay(() => "10 millis"))),
        Effect.timeout("10 seconds")
      )
      expect(remaining).toBe(0)
      yield* Effect.forEach(relays, Fiber.interrupt)
      const events = yield* Ref.get(delivered)
      expect(events.length).toBe(total)
      expect(new Set(events.map((e) => e.eventId)).size).toBe(total)
      expectOrderedPerPayment(events)

      // A consumer's inbox runs its handler once per event id, also when delivery repeats.
      const inbox = yield* Effect.provide(Inbox.makeSql("test-consumer"), ctx)
      const handled = yield* Ref.make(0)
      for (const e of [...events, ...events]) {
        yield* Effect.provide(inbox.handle(e, Ref.update(handled, (n) => n + 1)), ctx)
      }
      expect(yield* Ref.get(handled)).toBe(total)
    })), 120_000)

  it.live("a message that keeps failing is dead-lettered with its error; the payment's later messages go on", () =>
    Effect.scoped(Effect.gen(function*() {
      const ctx = yield* Layer.build(withoutRelay())
      const sql = yield* Effect.provide(SqlClient.SqlClient, ctx)
      yield* sql`DELETE FROM aegis_outbox`
      yield* Effect.provide(makePayments(1, "dead"), ctx)
      const total = yield* Effect.provide(outboxCount, ctx)
      const delivered = yield* Ref.make<Array<string>>([])
      const publish = (event: PaymentEvent.PaymentEvent) =>
        event._tag === "PaymentAuthenticated"
          ? Effect.fail("subscriber down")
          : Ref.update(delivered, (all) => [...all, event._tag])
      // rounds until nothing is left to claim (retryDelay 0: a failed message is due again at once)
      const round = Effect.provide(
        OutboxRelay.deliverBatch("relay-test", publish, { retryDelay: "0 millis", maxAttempts: 3 }),
        ctx
      )
      let handled = 1
      while (handled > 0) handled = yield* round
      const rows = yield* sql<{ type: string; status: string; attempts: number; last_error: string | null }>`
        SELECT type, status, attempts, last_error FROM aegis_outbox ORDER BY seq`
      expect(rows.length).toBe(total)
      const dead = rows.filter((r) => r.status === "dead")
      expect(dead.map((r) => [r.type, r.attempts, r.last_error])).toEqual([["PaymentAuthenticated", 3, "subscriber down"]])
      expect(yield* Ref.get(delivered)).toEqual(rows.filter((r) => r.status === "delivered").map((r) => r.type))
      expect(rows.filter((r) => r.status === "delivered").length).toBe(total - 1)
    })), 60_000)
})

it.effect("the memory inbox skips duplicates, also concurrent ones, and retries after a failure", () =>
  Effect.gen(function*() {
    const inbox = yield* Inbox.makeMemory(10)
    const runs = yield* Ref.make(0)
    const event = { eventId: "evt_1" }
    const results = yield* Effect.all(Array.from({ length: 5 }, () => inbox.handle(event, Ref.update(runs, (n) => n + 1))), {
      concurrency: "unbounded"
    })
    expect(results.filter(Boolean).length).toBe(1)
    expect(yield* Ref.get(runs)).toBe(1)
    const failed = yield* Effect.either(inbox.handle({ eventId: "evt_2" }, Effect.fail("boom")))
    expect(failed._tag).toBe("Left")
    expect(yield* inbox.handle({ eventId: "evt_2" }, Effect.void)).toBe(true)
  }))
