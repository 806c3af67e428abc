/**
 * npm run bench
 *
 * 1. create+process payments per second on real PostgreSQL (DATABASE_URL; a fresh database is
 *    created and dropped) with a zero-latency gateway, at concurrency 1, 8 and 32, beside the
 *    raw-SQL floor: the same inserts and updates the project writes per payment (the same
 *    single-statement writes), issued directly on the same pool, with no orchestration.
 * 2. payments per second on the memory layers at 1k, 10k and 100k payments.
 *
 * The last line is `pg ratio at 32: R` (project ÷ raw floor at concurrency 32: the median of the
 * ratios of 5 rounds, each running the floor and then the project back to back).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import type { AegisPay} from "aegispay";
import { PaymentService } from "aegispay"
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

/** create+process `n` payments at `concurrency`, on an already built runtime context. */
const paymentsRun = (n: number, concurrency: number, prefix: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
      Effect.flatMap(
        payments.createPayment({
          idempotencyKey: `${prefix}-${i}`,
          amount: BigInt(100 + (i % 1000)),
          currency: "USD",
          paymentMethod: card,
          customer: { id: `cus_${i % 100}`, email: "bench@example.com" }
        }),
        (p) => payments.processPayment(p.id)
      ), { concurrency, discard: true })
  })

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

const pgBench = async (url: string) => {
  const admin = AegisPayPg.layerClient({ url: Redacted.make(url), maxConnections: 1 })
  const name = `aegis_bench_${randomUUID().slice(0, 8)}`
  await Effect.runPromise(Effect.provide(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE DATABASE ${name}`)), admin))
  const target = new URL(url)
  target.pathname = `/${name}`
  const results: Array<{ concurrency: number; project: number; raw: number; ratio: number }> = []
  try {
    const layer = AegisPayPg.layer({ ...AegisPayTest.parts(),
      url: Redacted.make(target.toString()),
      maxConnections: POOL,
      relay: process.env.BENCH_RELAY === "0" ? false : {}
    })
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const ctx = yield* Layer.build(layer)
      const run = <A, E>(e: Effect.Effect<A, E, AegisPay.Services | SqlClient.SqlClient>) =>
        Effect.runPromise(Effect.provide(e, ctx))
      yield* Effect.promise(() => run(paymentsRun(200, 8, "warm"))) // warm-up: JIT, pool, plans
      yield* Effect.promise(() => run(rawRun(200, 8, "warm")))
      for (const concurrency of [1, 8, 32]) {
        const n = concurrency === 1 ? 300 : 1500
        const rounds = concurrency === 1 ? 3 : 5
        const project: Array<number> = []
        const raw: Array<number> = []
        for (let round = 0; round < rounds; round++) {
          raw.push(n / (yield* Effect.promise(() => timed(() => run(rawRun(n, concurrency, `raw${concurrency}_${round}`)), n, "raw"))))
          project.push(
            n / (yield* Effect.promise(() => timed(() => run(paymentsRun(n, concurrency, `p${concurrency}_${round}`)), n, "project")))
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
      }
    })))
  } finally {
    await Effect.runPromise(
      Effect.provide(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)), admin)
    )
  }
  return results
}

const memoryBench = async () => {
  for (const n of [1_000, 10_000, 100_000]) {
    const seconds = await timed(() =>
      Effect.runPromise(paymentsRun(n, 8, "m").pipe(Effect.provide(AegisPayTest.layerMemory())))
    )
    console.log(`mem ${String(n).padStart(7)} payments: ${(n / seconds).toFixed(0).padStart(6)} payments/s (concurrency 8)`)
  }
}

const main = async () => {
  if (process.env.BENCH_SKIP_MEMORY !== "1") await memoryBench()
  const url = process.env.DATABASE_URL
  if (url === undefined) {
    console.log("DATABASE_URL is not set: PostgreSQL benchmark skipped")
    console.log("pg ratio at 32: n/a")
    return
  }
  const results = await pgBench(url)
  console.log(
    `node cpu per payment (median over all pg runs): project ${median(cpuPerPayment.project!).toFixed(2)} ms, raw floor ${
      median(cpuPerPayment.raw!).toFixed(2)
    } ms`
  )
  const at32 = results.find((r) => r.concurrency === 32)!
  console.log(`pg ratio at 32: ${at32.ratio.toFixed(2)}`)
}

main().then(() => process.exit(0), (error) => {
  console.error(error, JSON.stringify(error?.cause ?? error, null, 1)?.slice(0, 2000))
  process.exit(1)
})
