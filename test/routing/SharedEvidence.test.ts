/**
 * Learning shared across processes (`SharedEvidence`), several exchanges on one store standing
 * for several processes: on the memory store, on PGlite and on PostgreSQL (the SQL store of
 * `SqlRoutingEvidence`), each exchange with its own ADAPTIVE router.
 *
 * - every outcome reaches every other process exactly once and never comes back to its own
 *   (counted with `memory: Infinity`, so a learner's counts are exact sums), also when an append
 *   fails and is retried;
 * - a late starter loads the newest evidence (bounded by `startObservations`), routes from it
 *   before its first decision, and reads nothing twice afterwards;
 * - pruning deletes the rows older than `retention`, and a late starter does not load them;
 * - the layer runs the exchange as a supervised loop reported to `Workers`, and flushes once more
 *   when it ends.
 */
import type { Vitest } from "@effect/vitest"
import { describe, expect, it, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, Schedule, Scope, TestClock } from "effect"
import type { Payment } from "aegispay"
import { AdaptiveRouting, GatewayMetrics, Router, SharedEvidence, StorageError, Workers } from "aegispay"
import { AegisPayEmbedded, Embedded } from "aegispay/embedded"
import { AegisPayTest } from "aegispay/testing"
import { Migrations, SqlRoutingEvidence } from "aegispay/pg"
import { stubGateway } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { cardPayment } from "../support/RoutingPayments.js"

const [a, b] = [stubGateway("a"), stubGateway("b")]
const usd = cardPayment("USD", "visa", "40.00")
const eur = cardPayment("EUR", "mastercard", "400.00")
const exact = { memory: Infinity, changeThreshold: Infinity, probeInterval: Infinity, exploration: 0 }

/** One "process": an exchange on `store` and an ADAPTIVE router attached to it. */
const processOn = (store: SharedEvidence.Store, options: SharedEvidence.Options = {}) =>
  Effect.gen(function*() {
    const evidence = yield* SharedEvidence.make(store, options)
    let learner: AdaptiveRouting.State | undefined
    const spy = SharedEvidence.SharedEvidence.of({
      ...evidence,
      attach: (state) => {
        learner = state
        return evidence.attach(state)
      }
    })
    const router = yield* Router.make({ strategy: "ADAPTIVE", adaptive: exact }).pipe(
      Effect.provideService(SharedEvidence.SharedEvidence, spy),
      Effect.provide(GatewayMetrics.layer())
    )
    if (learner === undefined) throw new Error("the router did not attach its learner")
    const state = learner
    /** Observations of `gateway` in this learner, all contexts (exact with `memory: Infinity`). */
    const samples = (gateway: string) => AdaptiveRouting.estimate(state, gateway, usd).samples
    const observe = (payment: Payment.Payment, gateway: string, approvals: number, declines: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < approvals; i++) yield* router.observe(payment, gateway, "approved")
        for (let i = 0; i < declines; i++) yield* router.observe(payment, gateway, i % 2 === 0 ? "declined" : "error")
      })
    return { evidence, router, samples, observe }
  })

/** A store whose `append` fails the first `failures` times it is called by `process`. */
const flaky = (store: SharedEvidence.Store, process: number, failures: number): SharedEvidence.Store => {
  let left = failures
  return {
    ...store,
    append: (p, increments) =>
      p === process && left-- > 0
        ? Effect.fail(new StorageError.StorageError({ operation: "test.append", reason: "refused" }))
        : store.append(p, increments)
  }
}

const sumOf = (entries: ReadonlyArray<SharedEvidence.Entry>, process: number) =>
  entries.filter((e) => e.process === process).reduce((n, e) => n + e.successes + e.failures, 0)

interface Backend<R> {
  readonly store: Effect.Effect<SharedEvidence.Store, never, R>
  /** Makes every row already stored older than an hour. */
  readonly backdate: Effect.Effect<void, unknown, R>
}

const suite = <R>(it: Vitest.MethodsNonLive<R>, backend: Backend<R>) => {
  it.effect("every outcome reaches every other process exactly once and never its own, a failed append included", () =>
    Effect.gen(function*() {
      const base = yield* backend.store
      // process numbers are handed out in order: the first process's appends fail twice
      const first = yield* base.register
      const store = flaky(base, first + 1, 2)
      const ps = [yield* processOn(store), yield* processOn(store), yield* processOn(store)]
      const reports: Array<Array<SharedEvidence.Report>> = [[], [], []]
      const exchange = (i: number) => Effect.map(Effect.either(ps[i]!.evidence.exchange), (r) => r._tag === "Right" && reports[i]!.push(r.right))
      const own = [{ a: 0, b: 0 }, { a: 0, b: 0 }, { a: 0, b: 0 }]
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 3; i++) {
          const [approvals, declines] = [3 + round + i, 1 + ((round * (i + 1)) % 4)]
          yield* ps[i]!.observe(round % 2 === 0 ? usd : eur, i === 2 ? "b" : "a", approvals, declines)
          yield* ps[i]!.observe(usd, "b", i, 1)
          own[i]![i === 2 ? "b" : "a"] += approvals + declines
          own[i]!.b += i + 1
        }
        // exchanges in a different order each round, some processes skipping rounds
        for (const i of [round % 3, (round + 1) % 3, (round + 2) % 3]) if ((round + i) % 4 !== 3) yield* exchange(i)
      }
      // two more exchanges each: the first flushes what is left, the second reads it everywhere
      for (let k = 0; k < 2; k++) for (let i = 0; i < 3; i++) yield* exchange(i)
      const total = { a: own[0]!.a + own[1]!.a + own[2]!.a, b: own[0]!.b + own[1]!.b + own[2]!.b }
      for (let i = 0; i < 3; i++) {
        expect({ a: ps[i]!.samples("a"), b: ps[i]!.samples("b") }, `process ${i}'s learner`).toEqual(total)
        const applied = reports[i]!.reduce((n, r) => n + r.appliedObservations, 0)
        const flushed = reports[i]!.reduce((n, r) => n + r.flushedObservations, 0)
        const others = [0, 1, 2].filter((j) => j !== i).reduce((n, j) => n + own[j]!.a + own[j]!.b, 0)
        expect(applied, `process ${i} applied`).toBe(others)
        expect(flushed, `process ${i} flushed`).toBe(own[i]!.a + own[i]!.b)
      }
      // the store holds each process's outcomes once (the failed appends were retried, not doubled)
      const stored = yield* base.since(0, 100_000)
      expect(stored.entries.map((e) => e.seq)).toEqual(stored.entries.map((e) => e.seq).sort((x, y) => x - y))
      for (let i = 0; i < 3; i++) expect(sumOf(stored.entries, ps[i]!.evidence.process)).toBe(own[i]!.a + own[i]!.b)
    }))

  it.effect("a late starter loads the newest evidence before its first decision, bounded, and reads nothing twice", () =>
    Effect.gen(function*() {
      const store = yield* backend.store
      const teacher = yield* processOn(store)
      // ten flushes of ten outcomes: a approves 5 of 10, b 9 of 10 (USD)
      for (let k = 0; k < 10; k++) {
        yield* teacher.observe(usd, k % 2 === 0 ? "a" : "b", k % 2 === 0 ? 5 : 9, k % 2 === 0 ? 5 : 1)
        yield* teacher.evidence.exchange
      }
      // a fresh process prefers a gateway it never observed (a); one that starts late knows b is better
      const fresh = yield* processOn(yield* SharedEvidence.makeMemoryStore)
      expect((yield* fresh.router.rank(usd, [a, b]))[0]!.id).toBe("a")
      const late = yield* processOn(store)
      expect(late.samples("a") + late.samples("b")).toBe(100)
      expect((yield* late.router.rank(usd, [a, b]))[0]!.id).toBe("b")
      // nothing is read twice; what follows is read once
      expect((yield* late.evidence.exchange).appliedObservations).toBe(0)
      yield* teacher.observe(usd, "b", 7, 0)
      yield* teacher.evidence.exchange
      expect((yield* late.evidence.exchange).appliedObservations).toBe(7)
      expect(late.samples("b")).toBe(57)
      // bounded: with startObservations 35, the newest rows whose newer rows hold fewer than 35
      // outcomes: 7 + 10 + 10 + 10 (the row that crosses the bound is loaded)
      const bounded = yield* processOn(store, { startObservations: 35 })
      expect(bounded.samples("a") + bounded.samples("b")).toBe(37)
    }))

  it.effect("pruning deletes the rows older than retention; a late starter does not load them", () =>
    Effect.gen(function*() {
      const store = yield* backend.store
      const writer = yield* processOn(store, { retention: "15 minutes", pruneInterval: 0 })
      yield* writer.observe(eur, "a", 4, 2)
      yield* writer.observe(usd, "b", 3, 1)
      expect((yield* writer.evidence.exchange).flushedRows).toBe(2)
      yield* backend.backdate
      yield* writer.observe(usd, "a", 1, 1)
      const report = yield* writer.evidence.exchange
      expect([report.flushedRows, report.pruned]).toEqual([1, 2])
      const left = yield* store.since(0, 1_000)
      expect(left.entries.map((e) => [e.gateway, e.currency, e.successes, e.failures])).toEqual([["a", "USD", 1, 1]])
      const late = yield* processOn(store)
      expect([late.samples("a"), late.samples("b")]).toEqual([2, 0])
    }))
}

describe("SharedEvidence on the memory store", () => {
  layer(Layer.empty)((it) => {
    suite(it, {
      store: SharedEvidence.makeMemoryStore,
      backdate: TestClock.adjust("1 hour")
    })
  })

  it.effect("the layer runs the exchange every interval (reported to Workers) and flushes once more when it ends", () =>
    Effect.gen(function*() {
      const store = yield* SharedEvidence.makeMemoryStore
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        Router.layer({ strategy: "ADAPTIVE", adaptive: exact }).pipe(
          Layer.provideMerge(SharedEvidence.layer(Effect.succeed(store), { interval: "1 second" })),
          Layer.provideMerge(Layer.merge(GatewayMetrics.layer(), Workers.layer))
        ),
        scope
      )
      const router = context.unsafeMap.get(Router.Router.key) as Router.Router["Type"]
      const workers = context.unsafeMap.get(Workers.Workers.key) as Workers.Workers["Type"]
      const peer = yield* processOn(store)
      yield* router.observe(usd, "b", "approved")
      yield* TestClock.adjust("1 second")
      yield* peer.evidence.exchange
      expect(peer.samples("b")).toBe(1)
      expect((yield* workers.statuses).map((s) => [s.name, s.state])).toEqual([["aegispay routing evidence", "running"]])
      // observed, then the scope ends before the next interval: flushed by the last exchange
      yield* router.observe(usd, "b", "declined")
      yield* Scope.close(scope, Exit.void)
      yield* peer.evidence.exchange
      expect(peer.samples("b")).toBe(2)
      expect((yield* workers.statuses).map((s) => s.state)).toEqual(["stopped"])
    }))
})

const migrated = <E>(client: Layer.Layer<SqlClient.SqlClient, E>) => Layer.provideMerge(Migrations.layer, client)
const sqlBackend: Backend<SqlClient.SqlClient> = {
  // each test on an empty table
  store: Effect.flatMap(SqlClient.SqlClient, (sql) => sql`TRUNCATE aegis_routing_evidence`).pipe(
    Effect.orDie,
    Effect.zipRight(SqlRoutingEvidence.makeStore)
  ),
  backdate: Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE aegis_routing_evidence SET created_at = created_at - interval '1 hour'`)
}

describe("routingEvidence in the embedded composition", () => {
  const composition = (routingEvidence?: boolean) =>
    AegisPayEmbedded.layer({
      ...AegisPayTest.parts(),
      relay: false,
      recovery: false,
      retention: false,
      routing: { strategy: "ADAPTIVE" },
      ...(routingEvidence === undefined ? {} : { routingEvidence })
    })
  const workerNames = Effect.flatMap(Workers.Workers, (w) => Effect.map(w.statuses, (ss) => ss.map((st) => st.name)))

  it.live("off by default (one process); on when asked: its loop in Workers, its rows in the table", () =>
    Effect.gen(function*() {
      expect(yield* workerNames.pipe(Effect.provide(composition()), Effect.scoped)).not.toContain("aegispay routing evidence")
      const rows = yield* Effect.gen(function*() {
        expect(yield* workerNames).toContain("aegispay routing evidence")
        yield* (yield* Router.Router).observe(usd, "alpha", "approved")
        // flushed by the loop within its interval (1 s): polled, with a deadline
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ gateway: string; successes: number }>`SELECT gateway, successes FROM aegis_routing_evidence`.pipe(
          Effect.filterOrFail((found) => found.length > 0, () => new Error("not flushed yet")),
          Effect.retry(Schedule.spaced("100 millis")),
          Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("no row flushed within 30 s") })
        )
      }).pipe(Effect.provide(composition(true)), Effect.scoped)
      expect(rows).toEqual([{ gateway: "alpha", successes: 1 }])
    }), 120_000)
})

describe("SharedEvidence on PGlite (SqlRoutingEvidence)", () => {
  layer(migrated(Embedded.layerClient()), { timeout: 60_000 })((it) => {
    suite(it, sqlBackend)
  })
})

describe.skipIf(databaseUrl === undefined)("SharedEvidence on PostgreSQL (SqlRoutingEvidence)", () => {
  const url = useTestDatabase("routing_evidence")
  layer(
    migrated(Layer.unwrapEffect(Effect.sync(() => PgClient.layer({ url: Redacted.make(url()), maxConnections: 4 })))),
    { timeout: 60_000 }
  )((it) => {
    suite(it, sqlBackend)
  })
})
