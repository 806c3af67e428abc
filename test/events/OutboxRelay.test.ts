/**
 * The transactional outbox and its relay on real PostgreSQL (and the embedded PGlite).
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Cause, type Clock, Deferred, Effect, Exit, Fiber, Layer, Logger, LogLevel, Metric, MetricState, Option, Queue, Redacted, Ref, Schedule, Stream } from "effect"
import { AegisPayMetrics, EventBus, Ids, Inbox, type PaymentEvent, PaymentService } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayPg, Migrations, OutboxRelay, OutboxSignal, SqlStorage } from "aegispay/pg"
import { AegisPayTest, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { olderTransactionsEnded, pagesReadBy } from "../support/DeadRows.js"

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

/**
 * `payments` payments with `perPayment` pending messages each, due now, named `pay_<prefix>_<i>`
 * (zero-padded: payment-id order is creation order). The payloads are not events: each one fails
 * to decode when published and waits for its retry (the relay's own cost, nothing published).
 */
const pendingMessages = (sql: SqlClient.SqlClient, prefix: string, payments: number, perPayment: number) =>
  sql`INSERT INTO aegis_outbox (event_id, payment_id, seq, type, payload, status, available_at, created_at)
    SELECT 'evt_' || ${prefix} || '_' || i || '_' || s, 'pay_' || ${prefix} || '_' || lpad(i::text, 6, '0'), s, 'PaymentInitiated',
      jsonb_build_object('pad', repeat('x', 300)), 'pending', now(), now()
    FROM generate_series(1, ${payments}::int) AS i, generate_series(1, ${perPayment}::int) AS s`

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

it.live("PGlite: a commit wakes the in-process relay (NOTIFY does not cross connections there; poll interval one hour)", () =>
  Effect.scoped(Effect.gen(function*() {
    const ctx = yield* Layer.build(AegisPayEmbedded.layer({ ...AegisPayTest.parts(), ids: "sequential", relay: { pollInterval: "1 hour" } }))
    const bus = yield* Effect.provide(EventBus.EventBus, ctx)
    const stream = yield* bus.subscribe()
    const received = yield* Queue.unbounded<PaymentEvent.PaymentEvent>()
    yield* Effect.forkScoped(Stream.runForEach(stream, (e) => Queue.offer(received, e)))
    const payments = yield* Effect.provide(PaymentService.PaymentService, ctx)
    const created = yield* payments.createPayment(request({ idempotencyKey: "wake-embedded" }))
    // the first event: delivered by the relay's first round or by a wake-up
    expect((yield* Queue.take(received).pipe(Effect.timeout("20 seconds"))).seq).toBe(1)
    // the round that delivered it has claimed already: only a wake-up can deliver what follows
    const processed = yield* payments.processPayment(created.id)
    const rest = yield* Queue.takeBetween(received, processed.version - 1, processed.version - 1).pipe(
      Effect.timeout("20 seconds")
    )
    expect([...rest].map((e) => e.seq)).toEqual(Array.from({ length: processed.version - 1 }, (_, i) => i + 2))
  })), 60_000)

describe.skipIf(databaseUrl === undefined)("outbox on PostgreSQL", () => {
  const databaseUrlOf = useTestDatabase("outbox")
  // The services without a relay: the tests run their own relays.
  const withoutRelay = () =>
    AegisPayTest.layerWith(SqlStorage.layer.pipe(Layer.provideMerge(Migrations.layer)), { ids: "random" }).pipe(
      Layer.provideMerge(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 8 }))
    )

  /** The services without a relay, over an empty outbox; their in-process `OutboxSignal`. */
  const emptyOutbox = Effect.gen(function*() {
    const ctx = yield* Layer.build(withoutRelay())
    const sql = yield* Effect.provide(SqlClient.SqlClient, ctx)
    yield* sql`DELETE FROM aegis_outbox`
    const signal = Option.getOrThrow(yield* Effect.provide(Effect.serviceOption(OutboxSignal.OutboxSignal), ctx))
    return { ctx, sql, signal }
  })

  /** How many outbox messages are not delivered (pending or dead). */
  const undeliveredCount = (sql: SqlClient.SqlClient) =>
    Effect.map(sql<{ n: string }>`SELECT count(*) AS n FROM aegis_outbox WHERE status <> 'delivered'`, (rows) => Number(rows[0]!.n))

  /** Waits (bounded, no sleep) until `n` relays are registered on the signal. */
  const relaysRegistered = (signal: OutboxSignal.OutboxSignal["Type"], n: number) =>
    signal.relays.pipe(Effect.repeat({ until: (k) => k === n, schedule: Schedule.spaced("10 millis") }), Effect.timeout("20 seconds"))

  /**
   * A connection of its own (`single`, its client `on`) and claims on it, each with the outbox
   * table pages it read (`pagesReadBy`: the claim and the counts share that one session).
   */
  const countedClaims = Effect.gen(function*() {
    const single = yield* Layer.build(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 1 }))
    const on = yield* Effect.provide(SqlClient.SqlClient, single)
    const claim = <E>(owner: string, publish: (event: PaymentEvent.PaymentEvent) => Effect.Effect<void, E>, options?: OutboxRelay.Options) =>
      Effect.map(
        pagesReadBy(on, "aegis_outbox", Effect.provide(OutboxRelay.deliverBatch(owner, publish, options), single)),
        ({ pages, result }) => ({ claimed: result, pages })
      )
    return { single, on, claim }
  })

  it.live("three relays at once deliver every event exactly once (no crash), in order per payment; an inbox dedupes", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, sql } = yield* emptyOutbox
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
      const remaining = yield* undeliveredCount(sql).pipe(
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
      const { ctx, sql } = yield* emptyOutbox
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

  it.live("a publisher that dies, throws or outlasts publishTimeout fails its message, which is retried and dead-lettered with why; the relay goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, sql } = yield* emptyOutbox
      yield* Effect.provide(makePayments(1, "dies"), ctx)
      const publish = (event: PaymentEvent.PaymentEvent): Effect.Effect<void> => {
        if (event._tag === "PaymentProcessing") throw new Error("thrown, not returned")
        return event._tag === "PaymentAuthenticated"
          ? Effect.die(new Error("subscriber bug"))
          : event._tag === "PaymentInitiated"
          ? Effect.never
          : Effect.void
      }
      const round = Effect.provide(
        OutboxRelay.deliverBatch("relay-dies", publish, { retryDelay: "0 millis", maxAttempts: 2, publishTimeout: "20 millis" }),
        ctx
      )
      let handled = 1
      while (handled > 0) handled = yield* round
      const rows = yield* sql<{ type: string; status: string; attempts: number; last_error: string | null }>`
        SELECT type, status, attempts, last_error FROM aegis_outbox ORDER BY seq`
      // the first message never publishes: dead after two timeouts; the payment's others then go on,
      // the second dies twice
      expect(rows[0]).toMatchObject({ type: "PaymentInitiated", status: "dead", attempts: 2, last_error: "publish timed out after 20ms" })
      expect(rows[1]).toMatchObject({ type: "PaymentAuthenticated", status: "dead", attempts: 2 })
      expect(rows[1]!.last_error).toMatch(/^publisher died: .*subscriber bug/s)
      // a publisher that throws (instead of returning an effect) is one that dies
      expect(rows[2]).toMatchObject({ type: "PaymentProcessing", status: "dead", attempts: 2 })
      expect(rows[2]!.last_error).toMatch(/^publisher died: .*thrown, not returned/s)
      expect(rows.slice(3).every((r) => r.status === "delivered")).toBe(true)
      expect(rows.length).toBeGreaterThan(3)
    })), 60_000)

  /** Events a relay publishes, in a queue. */
  const collector = Effect.map(Queue.unbounded<PaymentEvent.PaymentEvent>(), (queue) => ({
    queue,
    publish: (event: PaymentEvent.PaymentEvent) => Queue.offer(queue, event)
  }))

  const takeUntil = (queue: Queue.Dequeue<PaymentEvent.PaymentEvent>, paymentId: string, seq: number) =>
    Queue.take(queue).pipe(
      Effect.repeat({ until: (e) => e.paymentId === paymentId && e.seq === seq }),
      Effect.timeout("20 seconds")
    )

  /** Waits until a connection of the database LISTENs on the outbox channel (its last statement). */
  const listening = (sql: SqlClient.SqlClient) =>
    sql<{ n: string }>`
      SELECT count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND query = 'LISTEN "aegis_outbox"'`.pipe(
      Effect.repeat({ until: (rows) => Number(rows[0]!.n) > 0, schedule: Schedule.spaced("10 millis") }),
      Effect.timeout("20 seconds")
    )

  it.live("a relay in another process is woken by NOTIFY (poll interval one hour)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, sql } = yield* emptyOutbox
      // the relay's "process": its own pool and nothing else, so no local wake-up from the writes below
      const relayCtx = yield* Layer.build(
        Layer.merge(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 2 }), Ids.layer)
      )
      const payments = yield* Effect.provide(PaymentService.PaymentService, ctx)
      const first = yield* payments.createPayment(request({ idempotencyKey: "notify-0" }))
      const { publish, queue } = yield* collector
      yield* Effect.forkScoped(Effect.provide(OutboxRelay.run(publish, { pollInterval: "1 hour" }), relayCtx))
      // the relay's first round delivers the first payment's event, so it has claimed before the next commit
      yield* takeUntil(queue, first.id, 1)
      // and its LISTEN is in place (the listening connection's last statement)
      yield* listening(sql)
      const second = yield* payments.createPayment(request({ idempotencyKey: "notify-1" }))
      const event = yield* takeUntil(queue, second.id, 1)
      expect(event._tag).toBe("PaymentInitiated")
    })), 60_000)

  it.live("payment commits do not NOTIFY: a process with a relay of its own sends none, one without wakes the others after its commits", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, signal, sql } = yield* emptyOutbox
      // another process's LISTEN, counting what this one sends; a marker NOTIFY of the test's own
      // is received after every notification committed before it (delivery follows commit order)
      const listener = yield* Layer.build(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 2 }))
      const pg = yield* Effect.provide(PgClient.PgClient, listener)
      const heard = yield* Queue.unbounded<string>()
      yield* Effect.forkScoped(Stream.runForEach(pg.listen("aegis_outbox"), (payload) => Queue.offer(heard, payload)))
      yield* listening(sql)
      const untilMarker = (marker: string) =>
        Effect.gen(function*() {
          yield* sql`SELECT pg_notify('aegis_outbox', ${marker})`
          const before: Array<string> = []
          while (true) {
            const payload = yield* Queue.take(heard).pipe(Effect.timeout("20 seconds"))
            if (payload === marker) return before
            before.push(payload)
          }
        })
      yield* untilMarker("start")
      // 1. a relay runs in the writing process (registered before any commit): its commits wake
      // it in-process, and nothing is sent to other processes
      const { publish } = yield* collector
      // (forked in the test's scope, which outlives it: the relay counts while its fiber runs)
      const relay = yield* Effect.fork(Effect.provide(OutboxRelay.run(publish, { listen: false }), ctx))
      yield* relaysRegistered(signal, 1)
      yield* Effect.provide(makePayments(10, "notify-local"), ctx)
      expect(yield* untilMarker("local")).toEqual([])
      // 2. no relay runs there any more: its commits wake the relays of other processes
      yield* Fiber.interrupt(relay)
      expect(yield* signal.relays).toBe(0)
      yield* Effect.provide(makePayments(10, "notify-remote"), ctx)
      const payload = yield* Queue.take(heard).pipe(Effect.timeout("20 seconds"))
      expect(payload).toBe("inserted")
    })), 60_000)

  it.live("the relay's statements commit without waiting for their flush, and only they: its connection goes back to the pool as it came", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, sql } = yield* emptyOutbox
      yield* Effect.provide(makePayments(3, "relaxed"), ctx)
      const total = yield* Effect.provide(outboxCount, ctx)
      // one connection: the relay's statements and the checks below run on the same session
      const single = yield* Layer.build(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 1 }))
      const on = yield* Effect.provide(SqlClient.SqlClient, single)
      const setting = Effect.map(on<{ s: string }>`SELECT current_setting('synchronous_commit') AS s`, (rows) => rows[0]!.s)
      expect(yield* setting).toBe("on")
      const { publish, queue } = yield* collector
      // a claim (with its own record of nothing), then a claim that records the first one's deliveries
      let claimed = 0
      while (claimed < total) claimed += yield* Effect.provide(OutboxRelay.deliverBatch("relay-relaxed", publish, { batchSize: 2 }), single)
      expect(yield* Queue.size(queue)).toBe(total)
      // every claim and record took effect (each writes only once its commit is relaxed) ...
      const delivered = yield* sql<{ n: string }>`SELECT count(*) AS n FROM aegis_outbox WHERE status = 'delivered'`
      expect(Number(delivered[0]!.n)).toBe(total)
      // ... and the setting ended with each statement's transaction: a payment written on this
      // connection next still waits for its flush
      expect(yield* setting).toBe("on")

      // inside a caller's transaction the relay leaves the setting alone (it would hold for the
      // caller's whole transaction, the caller's own writes included)
      yield* Effect.provide(makePayments(1, "relaxed-tx"), ctx)
      const inside = yield* on.withTransaction(Effect.gen(function*() {
        const handled = yield* Effect.provide(OutboxRelay.deliverBatch("relay-relaxed-tx", publish), single)
        return { handled, setting: yield* setting }
      }))
      expect(inside.handled).toBeGreaterThan(0)
      expect(inside.setting).toBe("on")
    })), 60_000)

  it.live("all of a payment's committed events are delivered in one go, in order (poll interval one hour)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx } = yield* emptyOutbox
      const payments = yield* Effect.provide(PaymentService.PaymentService, ctx)
      // three payments with several events each (create, process, two partial refunds), committed
      // before the relay starts: its first round is the only one before the hour-long poll
      const ids = yield* Effect.forEach([1, 2, 3], (i) =>
        Effect.gen(function*() {
          const created = yield* payments.createPayment(request({ idempotencyKey: `drain-${i}` }))
          yield* payments.processPayment(created.id)
          yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: `drain-${i}-r1`, amount: "10.00" })
          yield* payments.refundPayment({ paymentId: created.id, idempotencyKey: `drain-${i}-r2`, amount: "10.00" })
          return created.id
        }))
      const total = yield* Effect.provide(outboxCount, ctx)
      expect(total).toBeGreaterThanOrEqual(ids.length * 6)
      const { publish, queue } = yield* collector
      yield* Effect.forkScoped(Effect.provide(OutboxRelay.run(publish, { pollInterval: "1 hour", listen: false }), ctx))
      const events = yield* Queue.takeBetween(queue, total, total).pipe(Effect.timeout("20 seconds"))
      expectOrderedPerPayment([...events])
      expect(new Set([...events].map((e) => e.paymentId))).toEqual(new Set(ids))
    })), 60_000)

  it.live("a round's deliveries are recorded by the next claim, which still takes the payment's next events at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, sql } = yield* emptyOutbox
      const payments = yield* Effect.provide(PaymentService.PaymentService, ctx)
      const created = yield* payments.createPayment(request({ idempotencyKey: "carried-0" }))
      const firstPublished = yield* Deferred.make<void>()
      const processed = yield* Deferred.make<void>()
      const { publish, queue } = yield* collector
      // the first event's publication waits until the payment's next events are committed: its
      // delivery is then recorded by the next round's claim, which must skip it (its snapshot
      // still shows it pending) and take the events after it; no poll would deliver them (1 hour)
      const waiting = (event: PaymentEvent.PaymentEvent) =>
        event.seq === 1
          ? Effect.zipRight(Effect.zipRight(Deferred.succeed(firstPublished, undefined), Deferred.await(processed)), publish(event))
          : publish(event)
      yield* Effect.forkScoped(Effect.provide(OutboxRelay.run(waiting, { pollInterval: "1 hour", listen: false }), ctx))
      yield* Deferred.await(firstPublished)
      const done = yield* payments.processPayment(created.id)
      yield* Deferred.succeed(processed, undefined)
      const events = yield* Queue.takeBetween(queue, done.version, done.version).pipe(Effect.timeout("20 seconds"))
      expect([...events].map((e) => e.seq)).toEqual(Array.from({ length: done.version }, (_, i) => i + 1))
      // every message is recorded delivered (the last round's on its own, when no round followed)
      yield* undeliveredCount(sql).pipe(Effect.repeat({ until: (n) => n === 0, schedule: Schedule.spaced("10 millis") }), Effect.timeout("20 seconds"))
      const delivered = yield* sql<{ n: string }>`SELECT count(*) AS n FROM aegis_outbox WHERE status = 'delivered' AND payment_id = ${created.id}`
      expect(Number(delivered[0]!.n)).toBe(done.version)
    })), 60_000)

  it.live("OutboxSignal.flush: once it answers true, every message due before it is published and recorded delivered (poll one hour, batches of 2); false with no relay, and when the relay stops first", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, signal, sql } = yield* emptyOutbox
      expect(yield* signal.flush).toBe(false)
      yield* Effect.provide(makePayments(3, "flush"), ctx)
      const total = yield* Effect.provide(outboxCount, ctx)
      expect(total).toBeGreaterThanOrEqual(9)
      // committed, not due yet: the relay's rounds find nothing to claim
      yield* sql`UPDATE aegis_outbox SET available_at = now() + interval '1 hour'`
      const { publish, queue } = yield* collector
      const relay = yield* Effect.forkScoped(
        Effect.provide(OutboxRelay.run(publish, { pollInterval: "1 hour", listen: false, batchSize: 2 }), ctx)
      )
      yield* relaysRegistered(signal, 1)
      // a flush now: a round after it found nothing, and the relay waits for its hour-long poll
      expect(yield* signal.flush.pipe(Effect.timeout("20 seconds"))).toBe(true)
      expect(yield* Queue.size(queue)).toBe(0)
      // due now, and nothing wakes the relay but the flush: several rounds of 2 until none is left
      yield* sql`UPDATE aegis_outbox SET available_at = now()`
      expect(yield* signal.flush.pipe(Effect.timeout("20 seconds"))).toBe(true)
      const events = yield* Queue.takeAll(queue)
      expect(events.length).toBe(total)
      expectOrderedPerPayment([...events])
      expect(yield* undeliveredCount(sql)).toBe(0)
      yield* Fiber.interrupt(relay)
      expect(yield* signal.relays).toBe(0)

      // a relay stopped while a flush waits for it: the flush answers false
      const publishing = yield* Deferred.make<void>()
      const stuck = yield* Effect.forkScoped(Effect.provide(
        OutboxRelay.run(() => Effect.zipRight(Deferred.succeed(publishing, undefined), Effect.never), { pollInterval: "1 hour", listen: false }),
        ctx
      ))
      yield* Effect.provide(makePayments(1, "flush-stuck"), ctx)
      yield* relaysRegistered(signal, 1)
      const waiting = yield* Effect.fork(signal.flush)
      yield* Deferred.await(publishing).pipe(Effect.timeout("20 seconds"))
      yield* Fiber.interrupt(stuck)
      expect(yield* Fiber.join(waiting).pipe(Effect.timeout("20 seconds"))).toBe(false)
    })), 60_000)

  it.live("a message is due at once by the database's clock: an application clock an hour ahead does not hide it from a flush", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, signal } = yield* emptyOutbox
      const { publish, queue } = yield* collector
      yield* Effect.forkScoped(Effect.provide(OutboxRelay.run(publish, { pollInterval: "1 hour", listen: false }), ctx))
      yield* relaysRegistered(signal, 1)
      const live = yield* Effect.clock
      const ahead: Clock.Clock = {
        ...live,
        unsafeCurrentTimeMillis: () => live.unsafeCurrentTimeMillis() + 3_600_000,
        currentTimeMillis: Effect.sync(() => live.unsafeCurrentTimeMillis() + 3_600_000),
        unsafeCurrentTimeNanos: () => live.unsafeCurrentTimeNanos() + 3_600_000_000_000n,
        currentTimeNanos: Effect.sync(() => live.unsafeCurrentTimeNanos() + 3_600_000_000_000n)
      }
      yield* Effect.provide(makePayments(2, "skew"), ctx).pipe(Effect.withClock(ahead))
      const total = yield* Effect.provide(outboxCount, ctx)
      expect(yield* signal.flush.pipe(Effect.timeout("20 seconds"))).toBe(true)
      expect((yield* Queue.takeAll(queue)).length).toBe(total)
    })), 60_000)

  it.live("OutboxSignal.flush after a failed round: the messages that round claimed stay leased to the relay, unpublished, so it answers false", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, signal, sql } = yield* emptyOutbox
      // the statement recording a publication failure marked "refused-by-test" fails: so does its round
      yield* sql`CREATE OR REPLACE FUNCTION aegis_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.last_error LIKE '%refused-by-test%' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`
      yield* sql`CREATE TRIGGER aegis_test_refuse BEFORE UPDATE ON aegis_outbox FOR EACH ROW EXECUTE FUNCTION aegis_test_refuse()`
      yield* Effect.addFinalizer(() => sql`DROP TRIGGER IF EXISTS aegis_test_refuse ON aegis_outbox`.pipe(Effect.orDie))
      yield* Effect.provide(makePayments(3, "flush-doubt"), ctx)
      const total = yield* Effect.provide(outboxCount, ctx)
      yield* sql`UPDATE aegis_outbox SET available_at = now() + interval '1 hour'`
      // the first message of the second payment published fails (once), and recording that fails
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const { publish, queue } = yield* collector
      const refusing = (event: PaymentEvent.PaymentEvent) =>
        Effect.flatMap(
          Ref.modify(seen, (ids) => ids.includes(event.paymentId) ? [ids.length, ids] : [ids.length + 1, [...ids, event.paymentId]]),
          (payments) => event.seq === 1 && payments === 2 ? Effect.fail("refused-by-test") : publish(event)
        )
      yield* Effect.forkScoped(Effect.provide(
        OutboxRelay.run(refusing, { pollInterval: "1 hour", listen: false, backoff: "10 millis" }).pipe(
          Logger.withMinimumLogLevel(LogLevel.None)
        ),
        ctx
      ))
      yield* relaysRegistered(signal, 1)
      expect(yield* signal.flush.pipe(Effect.timeout("20 seconds"))).toBe(true)
      yield* sql`UPDATE aegis_outbox SET available_at = now()`
      // the round fails after publishing the first payment; its claim of the other two stays leased
      // to the relay for 30 s: the next claim finds nothing, and the relay cannot vouch for them
      expect(yield* signal.flush.pipe(Effect.timeout("20 seconds"))).toBe(false)
      const published = yield* Queue.takeAll(queue)
      expect(published.length).toBeLessThan(total)
      expect(yield* undeliveredCount(sql)).toBe(total - published.length)
    })), 60_000)

  it.live("a claim publishes only the unbroken run of a payment's messages; what follows a gap is released", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, sql } = yield* emptyOutbox
      yield* Effect.provide(makePayments(1, "gap"), ctx)
      const total = yield* Effect.provide(outboxCount, ctx)
      expect(total).toBeGreaterThanOrEqual(4)
      // the third message is not due yet: the first two go, the rest waits (unleased) behind it
      yield* sql`UPDATE aegis_outbox SET available_at = now() + interval '1 hour' WHERE seq = 3`
      const published = yield* Ref.make<Array<number>>([])
      const publish = (event: PaymentEvent.PaymentEvent) => Ref.update(published, (all) => [...all, event.seq])
      const round = Effect.provide(OutboxRelay.deliverBatch("relay-gap", publish), ctx)
      yield* round
      expect(yield* Ref.get(published)).toEqual([1, 2])
      const rows = yield* sql<{ seq: number; status: string; leased: boolean }>`
        SELECT seq, status, leased_until IS NOT NULL AS leased FROM aegis_outbox ORDER BY seq`
      expect(rows.map((r) => [r.seq, r.status, r.leased])).toEqual(
        rows.map((r) => [r.seq, r.seq <= 2 ? "delivered" : "pending", false])
      )
      // once it is due, the rest follows in one round
      yield* sql`UPDATE aegis_outbox SET available_at = now() WHERE seq = 3`
      yield* round
      expect(yield* Ref.get(published)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    })), 60_000)

  it.live("a claim does not keep reading delivered messages that are not vacuumed yet: once one claim has passed them, the next reads almost nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql } = yield* emptyOutbox
      // 4,000 messages delivered since the last vacuum (none runs during this test): the pending
      // indexes still point at their old row versions
      yield* sql`INSERT INTO aegis_outbox (event_id, payment_id, seq, type, payload, status, available_at, created_at)
        SELECT 'evt_vacuum_' || i, 'pay_vacuum_' || i, 1, 'PaymentInitiated', jsonb_build_object('pad', repeat('x', 300)),
          'pending', now(), now()
        FROM generate_series(1, 4000) AS i`
      yield* sql`UPDATE aegis_outbox SET status = 'delivered', delivered_at = now()`
      const { claim, on } = yield* countedClaims
      // the delivered rows' old versions are dead to every transaction once those running meanwhile end
      yield* olderTransactionsEnded(on)
      const claimPages = Effect.map(claim("relay-vacuum", () => Effect.void), ({ claimed, pages }) => {
        expect(claimed).toBe(0)
        return pages
      })
      const table = yield* on<{ pages: string }>`
        SELECT (pg_relation_size('aegis_outbox') / current_setting('block_size')::int)::text AS pages`
      const first = yield* claimPages
      const second = yield* claimPages
      // the first claim visits the delivered rows once, marking their index entries dead as it
      // goes; later claims skip those entries (a bitmap scan would visit every page each time)
      // (a few may still be read again: 16 pages in one CI run; a bitmap scan reads all of them on
      // every claim)
      expect(second).toBeLessThan(60)
      expect(first).toBeGreaterThan(10 * second)
      expect(Number(table[0]!.pages)).toBeGreaterThan(50)
    })), 60_000)

  it.live("a claim's cost does not grow with the backlog: over 3,000 pending payments, a claim of 10 does not read a page per pending payment", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql } = yield* emptyOutbox
      // 3,000 payments with 3 pending messages each (a backlog after a relay outage)
      yield* pendingMessages(sql, "backlog", 3000, 3)
      const counted = yield* countedClaims
      const on = counted.on
      const published: Array<string> = []
      const claim = counted.claim("relay-backlog", (event) => Effect.sync(() => published.push(`${event.paymentId}/${event.seq}`)), {
        batchSize: 10
      })
      // the earlier tests' rows, deleted above, are passed (and their index entries marked) once
      yield* olderTransactionsEnded(on)
      yield* claim
      // (the payloads are not events: each message fails to decode and waits for its retry, which
      // is the relay's own cost of a claim, without publishing anything)
      const first = yield* claim
      const second = yield* claim
      // 10 heads and 10 of their later messages (at most batchSize of those)
      expect([first.claimed, second.claimed]).toEqual([20, 20])
      expect(published).toEqual([])
      // the walk stops once 10 payments are held: a few hundred pages, for the claim and the 10
      // failed messages' updates; before, it walked all 3,000 pending payments on every claim,
      // reading a heap page for each (3,300 or so per claim)
      expect(first.pages).toBeLessThan(1000)
      expect(second.pages).toBeLessThan(1000)
    })), 60_000)

  it.live("a publisher that fails for every message (a broker outage): a claim does not walk the messages waiting for their retry", () =>
    Effect.scoped(Effect.gen(function*() {
      const { sql } = yield* emptyOutbox
      // 2,000 payments with 3 pending messages each
      yield* pendingMessages(sql, "outage", 2000, 3)
      const counted = yield* countedClaims
      const { on, single } = counted
      // the outage: every head is claimed and fails (its payload is no event), to be retried in an hour
      const failing = yield* Effect.provide(
        OutboxRelay.deliverBatch("relay-outage", () => Effect.void, { batchSize: 2000, retryDelay: "1 hour" }),
        single
      )
      expect(failing).toBe(4000) // 2,000 heads and 2,000 of their later messages (batchSize of those)
      const waiting = yield* sql<{ heads: string; later: string }>`
        SELECT count(*) FILTER (WHERE seq = 1 AND attempts = 1 AND available_at > now() + interval '50 minutes') AS heads,
          count(*) FILTER (WHERE seq > 1 AND available_at > now() + interval '50 minutes') AS later
        FROM aegis_outbox WHERE status = 'pending'`
      // every later message waits with its payment's head
      expect(waiting.map((r) => [Number(r.heads), Number(r.later)])).toEqual([[2000, 4000]])
      // meanwhile, 5 new payments (their messages are events-to-be: they fail too, which is the
      // relay's own cost of a claim, without publishing anything)
      yield* pendingMessages(sql, "new", 5, 2)
      const claim = counted.claim("relay-outage", () => Effect.void, { batchSize: 10, retryDelay: "1 hour" })
      // the failures left an index entry per old row version: the first claim passes (and marks) them
      yield* olderTransactionsEnded(on)
      const first = yield* claim
      expect(first.claimed).toBe(10)
      yield* pendingMessages(sql, "newer", 5, 2)
      yield* olderTransactionsEnded(on)
      const second = yield* claim
      expect(second.claimed).toBe(10)
      // a claim walks the due messages only: 180–270 table pages for the claim, the 5 failures'
      // updates and the record; with the previous walk (every pending payment's head, due or not)
      // 3,852 on the same setup, failures pushing later messages back included
      expect(second.pages).toBeLessThan(600)
    })), 60_000)

  it.live("a message committed while its payment's earlier one waits for a retry waits with it (never due before it); the backlog gauge counts it from its commit", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, sql } = yield* emptyOutbox
      const payments = yield* Effect.provide(PaymentService.PaymentService, ctx)
      const created = yield* payments.createPayment(request({ idempotencyKey: "late-message" }))
      // the publisher is down: PaymentInitiated fails and waits an hour for its retry
      const failed = yield* Effect.provide(
        OutboxRelay.deliverBatch("relay-late", () => Effect.fail("broker down"), { retryDelay: "1 hour" }),
        ctx
      )
      expect(failed).toBe(1)
      yield* payments.processPayment(created.id)
      const rows = yield* sql<{ seq: number; waits: boolean; attempts: number }>`
        SELECT seq, available_at > now() + interval '50 minutes' AS waits, attempts FROM aegis_outbox
        WHERE payment_id = ${created.id} ORDER BY seq`
      // the events of the processing were committed after the failure: they wait with the first
      expect(rows.length).toBeGreaterThan(1)
      expect(rows.map((r) => [r.seq, r.waits])).toEqual(rows.map((r) => [r.seq, true]))
      expect(rows[0]!.attempts).toBe(1)
      // so a claim finds nothing due
      const claimed = yield* Effect.provide(OutboxRelay.deliverBatch("relay-late", () => Effect.void), ctx)
      expect(claimed).toBe(0)
      // the backlog gauge counts a waiting message's age from its commit, not from its retry (the
      // retry time is in the future for all of them: the outbox-backlog alert would never fire)
      yield* sql`UPDATE aegis_outbox SET created_at = created_at - interval '10 minutes' WHERE payment_id = ${created.id}`
      yield* Effect.provide(AegisPayMetrics.refresh, ctx)
      const oldest = (yield* Metric.snapshot).find((pair) => pair.metricKey.name === "aegispay_outbox_oldest_pending_seconds")
      const value = oldest !== undefined && MetricState.isGaugeState(oldest.metricState) ? Number(oldest.metricState.value) : -1
      expect(value).toBeGreaterThanOrEqual(600)
      expect(value).toBeLessThan(900)
    })), 60_000)

  it.live("a database error while recording deliveries is logged at Error with its cause; the relay goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ctx, sql } = yield* emptyOutbox
      // while test_fail_delivery has a row, marking a message delivered fails in the database
      yield* Effect.acquireRelease(
        Effect.gen(function*() {
          yield* sql`CREATE TABLE test_fail_delivery (on_ boolean)`
          yield* sql`
            CREATE FUNCTION test_fail_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.status = 'delivered' AND EXISTS (SELECT 1 FROM test_fail_delivery) THEN
                RAISE EXCEPTION 'injected delivery failure';
              END IF;
              RETURN NEW;
            END $$`
          yield* sql`CREATE TRIGGER test_fail_delivery BEFORE UPDATE ON aegis_outbox
            FOR EACH ROW EXECUTE FUNCTION test_fail_delivery()`
          yield* sql`INSERT INTO test_fail_delivery VALUES (true)`
        }),
        () =>
          Effect.orDie(Effect.gen(function*() {
            yield* sql`DROP TRIGGER IF EXISTS test_fail_delivery ON aegis_outbox`
            yield* sql`DROP FUNCTION IF EXISTS test_fail_delivery()`
            yield* sql`DROP TABLE IF EXISTS test_fail_delivery`
          }))
      )
      const logged = yield* Deferred.make<string>()
      const errors = Logger.make(({ cause, logLevel, message }) => {
        if (LogLevel.greaterThanEqual(logLevel, LogLevel.Error) && Cause.pretty(cause).includes("injected delivery failure")) {
          Deferred.unsafeDone(logged, Exit.succeed(String(message)))
        }
      })
      const payments = yield* Effect.provide(PaymentService.PaymentService, ctx)
      const first = yield* payments.createPayment(request({ idempotencyKey: "mark-0" }))
      const { publish, queue } = yield* collector
      yield* Effect.forkScoped(
        OutboxRelay.run(publish, { pollInterval: "100 millis", lease: "2 seconds", publishTimeout: "100 millis" }).pipe(
          Effect.provide(ctx),
          Effect.provide(Logger.add(errors))
        )
      )
      yield* takeUntil(queue, first.id, 1)
      yield* Deferred.await(logged).pipe(Effect.timeout("20 seconds"))
      yield* sql`DELETE FROM test_fail_delivery`
      // the relay is still running: a new payment's event is delivered, and the first one again
      // (published, but its delivery was never recorded) once its lease has expired
      const second = yield* payments.createPayment(request({ idempotencyKey: "mark-1" }))
      yield* takeUntil(queue, second.id, 1)
      const undelivered = undeliveredCount(sql)
      yield* undelivered.pipe(
        Effect.repeat({ until: (n) => n === 0, schedule: Schedule.spaced("50 millis") }),
        Effect.timeout("20 seconds")
      )
      expect(yield* undelivered).toBe(0)
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
