/**
 * npm run bench
 *
 * 1. create+process payments per second on real PostgreSQL (DATABASE_URL; a fresh database is
 *    created and dropped) with a zero-latency gateway, at concurrency 1, 8 and 32, beside the
 *    raw-SQL floor: the same inserts and updates the project writes per payment (the same
 *    single-statement writes), issued directly on the same pool, with no orchestration.
 * 2. payments per second on the memory layers at 1k, 10k and 100k payments (each on a fresh
 *    composition, after a warm-up of 1,000 payments on it), with the process's CPU per payment
 *    (µs, user + system) and the p50/p99 latency of one payment's create+process.
 * 3. event delivery lag: from the moment a committing call (createPayment, processPayment)
 *    returns to the moment an EventBus subscriber in the same process receives each of the
 *    events it committed (through the outbox relay), during the project's PostgreSQL runs (a
 *    line per concurrency and `event delivery lag: p50 X ms  p99 Y ms` over all of them), and on
 *    the embedded PGlite (500 payments at concurrency 8; BENCH_SKIP_EMBEDDED=1 skips it). An
 *    event received before its call returned counts as 0 ms; every event must arrive in order
 *    per payment.
 *
 * 1b. statements per payment on PostgreSQL (concurrency 1, 300 payments, and concurrency 8, 1000
 *    payments; the floor and then the project): the transactions the bench's database committed
 *    during the run, per payment (`pg  statements per payment …`; BENCH_SKIP_STATEMENTS=1 skips
 *    it, about 90 s of waits for the server's statistics).
 * 4. telemetry's cost (issue 17's budget: at most +10%): Node CPU per payment on PostgreSQL at
 *    concurrency 8 with metrics, Info log lines rendered as JSON and a correlation id, against
 *    none of them, in alternating rounds (`telemetry (pg, concurrency 8): … overhead X%`;
 *    BENCH_SKIP_TELEMETRY=1 skips it). `test/bench/telemetry.ts` measures the same on the memory
 *    layers, where the base is smallest.
 *
 * BENCH_CONCURRENCIES=1,8 runs the PostgreSQL comparison at those concurrencies only (default
 * 1,8,32; without 32 the last line is `pg ratio at 32: n/a`); BENCH_RELAY=0 runs the project
 * without its outbox relay (to measure the relay's share).
 * BENCH_ONLY=mem runs the memory layers alone (no PGlite, no PostgreSQL: the last line is then
 * `pg ratio at 32: n/a`); BENCH_ONLY=statements runs 1b alone (with BENCH_SKIP_MEMORY=1 and
 * BENCH_SKIP_EMBEDDED=1: the statement counts only); BENCH_ONLY=telemetry runs 4 alone (with the
 * same two skips).
 *
 * The other runs use the minimum log level Warning: the Info line per operation (OperationLog)
 * would otherwise print two lines per payment to the console.
 *
 * The last line is `pg ratio at 32: R` (project ÷ raw floor at concurrency 32: the median of the
 * ratios of 5 rounds, each running the floor and then the project back to back).
 */
import { SqlClient } from "@effect/sql"
import { Effect, identity, Layer, Logger, LogLevel, Redacted, Schedule, Stream } from "effect"
import { randomUUID } from "node:crypto"
import type { AegisPay} from "aegispay";
import { Correlation, EventBus, Logging, type PaymentEvent, PaymentService } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, TestCards } from "aegispay/testing"

const POOL = 16
const card = { type: "card" as const, number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "B" }

const cpuPerPayment: Record<string, Array<number>> = { project: [], raw: [] }

const timed = async (f: () => Promise<void>, n = 1, kind?: "project" | "raw") => {
  const cpu = process.cpuUsage()
  const start = performance.now()
  await f()
  const used = process.cpuUsage(cpu)
  if (kind !== undefined) cpuPerPayment[kind]!.push((used.user + used.system) / 1000 / n)
  return (performance.now() - start) / 1000
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!

/**
 * Delivery lag of committed events: the return time of each committing call (with the payment's
 * version then: the last sequence number it committed) and the receipt time of each event.
 */
class LagProbe {
  readonly returned = new Map<string, Array<{ readonly version: number; readonly at: number }>>()
  /** Every receipt, in order, per payment (duplicates included). */
  readonly received = new Map<string, Array<{ readonly seq: number; readonly at: number }>>()
  onReturn(paymentId: string, version: number) {
    const at = performance.now()
    const calls = this.returned.get(paymentId)
    if (calls === undefined) this.returned.set(paymentId, [{ version, at }])
    else calls.push({ version, at })
  }
  onEvent(event: PaymentEvent.PaymentEvent) {
    const at = performance.now()
    const events = this.received.get(event.paymentId)
    if (events === undefined) this.received.set(event.paymentId, [{ seq: event.seq, at }])
    else events.push({ seq: event.seq, at })
  }
  /** Events committed by the calls seen so far and not yet received. */
  missing() {
    let missing = 0
    for (const [paymentId, calls] of this.returned) {
      const committed = Math.max(...calls.map((c) => c.version))
      const seen = new Set((this.received.get(paymentId) ?? []).map((e) => e.seq))
      for (let seq = 1; seq <= committed; seq++) if (!seen.has(seq)) missing++
    }
    return missing
  }
  /** Lags of first receipts; receipts out of order (a sequence number not one above the previous distinct one) and repeated. */
  lags() {
    const lags: Array<number> = []
    let early = 0
    let outOfOrder = 0
    let duplicates = 0
    for (const [paymentId, calls] of this.returned) {
      let last = 0
      for (const event of this.received.get(paymentId) ?? []) {
        if (event.seq <= last) {
          duplicates++
          continue
        }
        if (event.seq !== last + 1) outOfOrder++
        last = event.seq
        const call = calls.find((c) => c.version >= event.seq)
        if (call === undefined) continue
        if (event.at < call.at) early++
        lags.push(Math.max(0, event.at - call.at))
      }
    }
    return { lags: lags.sort((a, b) => a - b), early, outOfOrder, duplicates }
  }
  /** Waits (at most 30 s) until every committed event has arrived, then summarises. */
  summary = (label: string) =>
    Effect.gen(this, function*() {
      const start = performance.now()
      yield* Effect.sync(() => this.missing()).pipe(
        Effect.repeat({ until: (n) => n === 0 || performance.now() - start > 30_000, schedule: Schedule.spaced("5 millis") })
      )
      const { duplicates, early, lags, outOfOrder } = this.lags()
      const line = `${label}: p50 ${percentile(lags, 0.5).toFixed(1)} ms  p99 ${percentile(lags, 0.99).toFixed(1)} ms` +
        `  max ${lags[lags.length - 1]!.toFixed(1)} ms  (${lags.length} events, ${early} received before their call returned, ` +
        `${this.missing()} missing, ${outOfOrder} out of order, ${duplicates} duplicates)`
      return { lags, line }
    })
}

/** `self` with its duration (ms, wall clock) pushed to `into` when it succeeds. */
const timedInto = (into: Array<number>) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.tap(self, () => Effect.sync(() => into.push(performance.now() - start)))
  })

/**
 * create+process `n` payments at `concurrency`, on an already built runtime context; by default at
 * log level Warning, with no correlation id (`telemetry`: at Info, each payment under a
 * correlation id).
 */
const paymentsRun = (
  n: number,
  concurrency: number,
  prefix: string,
  probe?: LagProbe,
  telemetry = false,
  latencies?: Array<number>
) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const returned = (p: { readonly id: string; readonly version: number }) =>
      probe === undefined ? Effect.void : Effect.sync(() => probe.onReturn(p.id, p.version))
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
      payments.createPayment({
        idempotencyKey: `${prefix}-${i}`,
        amount: BigInt(100 + (i % 1000)),
        currency: "USD",
        paymentMethod: card,
        customer: { id: `cus_${i % 100}`, email: "bench@example.com" }
      }).pipe(
        Effect.tap(returned),
        Effect.flatMap((p) => payments.processPayment(p.id)),
        Effect.tap(returned),
        telemetry ? Correlation.withId(`${prefix}-corr-${i}`) : identity,
        latencies === undefined ? identity : timedInto(latencies)
      ), { concurrency, discard: true }).pipe(Logger.withMinimumLogLevel(telemetry ? LogLevel.Info : LogLevel.Warning))
  })

/** Subscribes to the EventBus of `ctx` for the scope, feeding whichever probe is current. */
const subscribeProbe = (current: { probe: LagProbe }) =>
  Effect.flatMap(EventBus.EventBus, (bus) =>
    Effect.flatMap(bus.subscribe(), (events) =>
      Effect.forkScoped(Stream.runForEach(events, (event) => Effect.sync(() => current.probe.onEvent(event))))))

/**
 * The writes the project makes per payment, issued directly: 3 statements (an insert and 2
 * updates), each writing the payment row, its events and their outbox rows at once, as
 * `SqlStorage` does (data-modifying CTEs, one JSON parameter for the events).
 */
const rawRun = (n: number, concurrency: number, prefix: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const snapshot = JSON.stringify({ bench: true, pad: "x".repeat(1500) })
    const eventsOf = (id: string, seqs: ReadonlyArray<number>) => {
      const events = JSON.stringify(seqs.map((seq) => ({
        event_id: `${id}_${seq}`,
        payment_id: id,
        seq,
        type: "E",
        payload: { bench: true, pad: "y".repeat(400) },
        occurred_at: new Date().toISOString()
      })))
      return sql`, events AS (
          INSERT INTO aegis_events (event_id, payment_id, seq, type, payload, occurred_at)
          SELECT e.event_id, e.payment_id, e.seq, e.type, e.payload, e.occurred_at
          FROM jsonb_to_recordset(${events}::jsonb)
            AS e(event_id text, payment_id text, seq integer, type text, payload jsonb, occurred_at timestamptz)
          WHERE EXISTS (SELECT 1 FROM written)
          RETURNING event_id, payment_id, seq, type, payload, occurred_at
        ), outbox AS (
          INSERT INTO aegis_outbox (event_id, payment_id, seq, type, payload, status, available_at, created_at)
          SELECT event_id, payment_id, seq, type, payload, 'delivered', occurred_at, occurred_at FROM events
        )`
    }
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
      Effect.gen(function*() {
        const id = `${prefix}_${i}`
        yield* sql`WITH written AS (
          INSERT INTO aegis_payments ${
          sql.insert({
            id,
            tenant_id: "default",
            idempotency_key: id,
            customer_id: `cus_${i % 100}`,
            state: "INITIATED",
            gateway_transaction_id: null,
            currency: "USD",
            amount_minor: "100",
            captured_minor: "0",
            refunded_minor: "0",
            version: 1,
            snapshot,
            created_at: new Date(),
            updated_at: new Date()
          })
        } ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id
        ) ${eventsOf(id, [1])} SELECT id FROM written`
        for (const [version, state] of [[3, "PROCESSING"], [4, "SUCCESS"]] as const) {
          yield* sql`WITH written AS (
            UPDATE aegis_payments SET state = ${state}, version = ${version}, open_work = ${state === "PROCESSING"},
              snapshot = ${snapshot}, updated_at = now()
            WHERE id = ${id} AND version = ${version === 3 ? 1 : 3} RETURNING id
          ) ${eventsOf(id, version === 3 ? [2, 3] : [4])} SELECT id FROM written`
        }
      }), { concurrency, discard: true })
  })

/** Runs `f` with the URL of a fresh database on the server of `url`, dropped afterwards. */
const withFreshDatabase = async <A>(url: string, f: (target: string) => Promise<A>): Promise<A> => {
  const admin = AegisPayPg.layerClient({ url: Redacted.make(url), maxConnections: 1 })
  const name = `aegis_bench_${randomUUID().slice(0, 8)}`
  await Effect.runPromise(Effect.provide(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE DATABASE ${name}`)), admin))
  const target = new URL(url)
  target.pathname = `/${name}`
  try {
    return await f(target.toString())
  } finally {
    await Effect.runPromise(
      Effect.provide(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)), admin)
    )
  }
}

/** The PostgreSQL runs' concurrencies (BENCH_CONCURRENCIES=1,8 runs only those). */
const concurrencies = (process.env.BENCH_CONCURRENCIES ?? "1,8,32").split(",").map(Number)

const pgBench = (url: string, only: string | undefined) => withFreshDatabase(url, async (target) => {
  const results: Array<{ concurrency: number; project: number; raw: number; ratio: number }> = []
  const allLags: Array<number> = []
  const layer = AegisPayPg.layer({ ...AegisPayTest.parts(),
    url: Redacted.make(target),
    maxConnections: POOL,
    relay: process.env.BENCH_RELAY === "0" ? false : {}
  })
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const ctx = yield* Layer.build(layer)
    const run = <A, E>(e: Effect.Effect<A, E, AegisPay.Services | SqlClient.SqlClient>) =>
      Effect.runPromise(Effect.provide(e, ctx))
    const current = { probe: new LagProbe() }
    yield* Effect.provide(subscribeProbe(current), ctx)
    yield* Effect.promise(() => run(paymentsRun(200, 8, "warm"))) // warm-up: JIT, pool, plans
    yield* Effect.promise(() => run(rawRun(200, 8, "warm")))
    if (process.env.BENCH_SKIP_STATEMENTS !== "1") {
      // Statements per payment: the transactions this database committed during a run (every
      // statement outside a transaction commits once), per payment; the composition's background
      // work during the run (the relay's rounds) counts too. A backend reports its counts at most
      // once a second while busy and within 10 s once idle, hence the waits.
      const commits = Effect.gen(function*() {
        yield* Effect.sleep("11 seconds")
        const sql = yield* SqlClient.SqlClient
        yield* sql`SELECT pg_stat_clear_snapshot()`
        const rows = yield* sql<{ n: string }>`SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()`
        return Number(rows[0]?.n ?? "0")
      })
      const perPayment = (n: number, effect: Effect.Effect<void, unknown, AegisPay.Services | SqlClient.SqlClient>) =>
        Effect.promise(() =>
          run(Effect.gen(function*() {
            const before = yield* commits
            yield* effect
            // the readings' own statements in between (about 3) are left out
            return ((yield* commits) - before - 3) / n
          }))
        )
      for (const [concurrency, n] of [[1, 300], [8, 1000]] as const) {
        const floor = yield* perPayment(n, rawRun(n, concurrency, `stmt_raw${concurrency}`))
        const project = yield* perPayment(n, paymentsRun(n, concurrency, `stmt_p${concurrency}`))
        console.log(
          `pg  statements per payment (concurrency ${concurrency}, ${n} payments, committed transactions): project ${
            project.toFixed(2)
          }, raw floor ${floor.toFixed(2)}`
        )
      }
    }
    for (const concurrency of only === "statements" ? [] : concurrencies) {
      const n = concurrency === 1 ? 300 : 1500
      const rounds = concurrency === 1 ? 3 : 5
      const project: Array<number> = []
      const raw: Array<number> = []
      current.probe = new LagProbe()
      for (let round = 0; round < rounds; round++) {
        raw.push(n / (yield* Effect.promise(() => timed(() => run(rawRun(n, concurrency, `raw${concurrency}_${round}`)), n, "raw"))))
        project.push(
          n / (yield* Effect.promise(() =>
            timed(() => run(paymentsRun(n, concurrency, `p${concurrency}_${round}`, current.probe)), n, "project")
          ))
        )
      }
      // each round runs the floor, then the project, back to back: the median of the rounds'
      // ratios is robust to the database's drift between rounds (checkpoints, autovacuum)
      const ratio = median(project.map((p, i) => p / raw[i]!))
      results.push({ concurrency, project: median(project), raw: median(raw), ratio })
      console.log(
        `pg  concurrency ${String(concurrency).padStart(2)}: project ${median(project).toFixed(0).padStart(6)} payments/s` +
          `   raw floor ${median(raw).toFixed(0).padStart(6)} payments/s   ratio ${ratio.toFixed(2)}` +
          `   (medians of ${rounds} rounds, ${n} payments each, pool ${POOL}; round ratios ${
            project.map((p, i) => (p / raw[i]!).toFixed(2)).join(" ")
          })`
      )
      const { lags, line } = yield* current.probe.summary(`pg  concurrency ${String(concurrency).padStart(2)}: event delivery lag`)
      allLags.push(...lags)
      console.log(line)
    }
    allLags.sort((a, b) => a - b)
    console.log(
      `event delivery lag: p50 ${percentile(allLags, 0.5).toFixed(1)} ms  p99 ${percentile(allLags, 0.99).toFixed(1)} ms` +
        `  (PostgreSQL, all project runs above, ${allLags.length} events)`
    )
  })))
  return results
})

/**
 * Issue 17's budget: Node CPU per payment on PostgreSQL (concurrency 8) with telemetry off and on,
 * alternating rounds on one database, medians.
 * - off: `metrics: false`, log level Warning (no line is written: the payments succeed);
 * - on: metrics (the default), log level Info with every line rendered as JSON (`Logging.jsonLine`,
 *   masked) into a discarding sink (what a log shipper reads is the application's cost, not the
 *   library's), and each payment under a correlation id (log annotation, span attribute, stored with
 *   its events).
 */
const telemetryBench = (url: string) => withFreshDatabase(url, async (target) => {
  let rendered = 0
  const discardJson = Logger.replace(Logger.defaultLogger, Logger.map(Logging.jsonLine, (line) => {
    rendered += line.length
  }))
  const layerOf = (metrics: boolean) =>
    AegisPayPg.layer({ ...AegisPayTest.parts(), url: Redacted.make(target), maxConnections: POOL, metrics })
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const off = yield* Layer.build(layerOf(false))
    const on = yield* Layer.build(layerOf(true))
    // the logger is a FiberRef: provided to each run (a built context carries services only)
    const run = (telemetry: boolean, n: number, prefix: string) =>
      Effect.runPromise(
        telemetry
          ? paymentsRun(n, 8, prefix, undefined, true).pipe(Effect.provide(on), Effect.provide(discardJson))
          : Effect.provide(paymentsRun(n, 8, prefix), off)
      )
    yield* Effect.promise(() => run(false, 200, "toff-warm"))
    yield* Effect.promise(() => run(true, 200, "ton-warm"))
    rendered = 0
    const cpu = { off: [] as Array<number>, on: [] as Array<number> }
    const n = 800
    const rounds = 5
    for (let round = 0; round < rounds; round++) {
      for (const telemetry of [false, true]) {
        const used = process.cpuUsage()
        yield* Effect.promise(() => run(telemetry, n, `t${telemetry ? "on" : "off"}${round}`))
        const delta = process.cpuUsage(used)
        cpu[telemetry ? "on" : "off"].push((delta.user + delta.system) / 1000 / n)
      }
    }
    const a = median(cpu.off)
    const b = median(cpu.on)
    console.log(
      `telemetry (pg, concurrency 8): node cpu per payment off ${a.toFixed(2)} ms, on ${b.toFixed(2)} ms, ` +
        `overhead ${((b / a - 1) * 100).toFixed(1)}% (medians of ${rounds} alternating rounds × ${n}; ` +
        `${(rendered / (rounds * n)).toFixed(0)} bytes of JSON log per payment)`
    )
  })))
})

const memoryBench = async () => {
  for (const n of [1_000, 10_000, 100_000]) {
    const latencies: Array<number> = []
    const { cpu, seconds } = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const ctx = yield* Layer.build(AegisPayTest.layerMemory())
      yield* Effect.provide(paymentsRun(1_000, 8, "mwarm"), ctx) // warm-up: JIT, caches
      const cpu = process.cpuUsage()
      const start = performance.now()
      yield* Effect.provide(paymentsRun(n, 8, "m", undefined, false, latencies), ctx)
      return { seconds: (performance.now() - start) / 1000, cpu: process.cpuUsage(cpu) }
    })))
    latencies.sort((a, b) => a - b)
    console.log(
      `mem ${String(n).padStart(7)} payments: ${(n / seconds).toFixed(0).padStart(6)} payments/s (concurrency 8)` +
        `   cpu ${((cpu.user + cpu.system) / n).toFixed(0)} µs/payment` +
        `   create+process p50 ${percentile(latencies, 0.5).toFixed(2)} ms  p99 ${percentile(latencies, 0.99).toFixed(2)} ms`
    )
  }
}

/** Delivery lag on the embedded PGlite, where the relay is woken in-process after each commit. */
const embeddedLag = () =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const ctx = yield* Layer.build(AegisPayEmbedded.layer({ ...AegisPayTest.parts() }))
    const current = { probe: new LagProbe() }
    yield* Effect.provide(subscribeProbe(current), ctx)
    yield* Effect.provide(paymentsRun(100, 8, "warm"), ctx)
    current.probe = new LagProbe()
    yield* Effect.provide(paymentsRun(500, 8, "lag", current.probe), ctx)
    console.log((yield* current.probe.summary("embedded (PGlite) concurrency 8: event delivery lag")).line)
  })))

const main = async () => {
  const only = process.env.BENCH_ONLY
  if (process.env.BENCH_SKIP_MEMORY !== "1") await memoryBench()
  if (only === "mem") {
    console.log("pg ratio at 32: n/a")
    return
  }
  if (process.env.BENCH_SKIP_EMBEDDED !== "1") await embeddedLag()
  const url = process.env.DATABASE_URL
  if (url === undefined) {
    console.log("DATABASE_URL is not set: PostgreSQL benchmark skipped")
    console.log("pg ratio at 32: n/a")
    return
  }
  if (only === "telemetry") {
    await telemetryBench(url)
    console.log("pg ratio at 32: n/a")
    return
  }
  const results = await pgBench(url, only)
  if (only === "statements") {
    console.log("pg ratio at 32: n/a")
    return
  }
  if (process.env.BENCH_SKIP_TELEMETRY !== "1") await telemetryBench(url)
  console.log(
    `node cpu per payment (median over all pg runs): project ${median(cpuPerPayment.project!).toFixed(2)} ms, raw floor ${
      median(cpuPerPayment.raw!).toFixed(2)
    } ms`
  )
  const at32 = results.find((r) => r.concurrency === 32)
  console.log(`pg ratio at 32: ${at32 === undefined ? "n/a" : at32.ratio.toFixed(2)}`)
}

main().then(() => process.exit(0), (error) => {
  console.error(error, JSON.stringify(error?.cause ?? error, null, 1)?.slice(0, 2000))
  process.exit(1)
})
