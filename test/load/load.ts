/**
 * `npm run load`: create + confirm throughput and latency through the HTTP service on a loopback
 * port vs the library called directly, at concurrency 8 and 64, on PGlite and (with
 * DATABASE_URL) PostgreSQL, in the same run. Bounded: LOAD_ROUNDS (default 3) rounds per
 * concurrency, each a direct run then an HTTP run of LOAD_SECONDS (default 5), after a warm-up of
 * each path (LOAD_WARMUP_SECONDS of HTTP, default 10). Shown: medians over the rounds; a ratio is
 * the median of the rounds' ratios (each compares two neighbouring runs), every round's printed.
 * LOAD_PGLITE=0 skips the PGlite part.
 * The HTTP client (node:http, keep-alive connections) runs in a process of its own
 * (test/load/client.ts); `cpu` is this process's CPU per payment: the library's or the service's.
 * API keys and tenants live in the database (SqlApiKeys, SqlTenants) with the HTTP layer's default
 * authentication cache. Access logs off (level Warning) in both modes. Last line: `http ratio: R, p99/p50 at 8: X`
 * (R: HTTP ÷ direct throughput at 64 on PostgreSQL, else PGlite; X: HTTP's p99 ÷ p50 at 8, same
 * backend; both medians over the rounds).
 */
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted } from "effect"
import { ApiKeys, type Ids, PaymentService, Tenant, Tenants } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayHttp } from "aegispay/http"
import { AegisPayPg, SqlApiKeys, SqlTenants } from "aegispay/pg"
import { AegisPayTest, TenancyTest, TestCards } from "aegispay/testing"

const seconds = Number(process.env.LOAD_SECONDS ?? "5")
const rounds = Number(process.env.LOAD_ROUNDS ?? "3")
const warmup = Number(process.env.LOAD_WARMUP_SECONDS ?? "10")
const card = { type: "card" as const, number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "Load Test" }

interface Result {
  readonly ops: number
  readonly throughput: number
  readonly p50: number
  readonly p99: number
  /** this process's CPU (user + system) per create+confirm, ms: the library's or the service's cost */
  readonly cpu: number
  /** HTTP only: the client process's CPU per create+confirm, ms (it shares the machine's cores) */
  readonly clientCpu?: number | undefined
}

type ClientResult = Omit<Result, "cpu"> & { readonly clientCpu: number }

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Per field, the median over the rounds. */
const medianResult = (results: ReadonlyArray<Result>): Result => ({
  ops: median(results.map((r) => r.ops)),
  throughput: median(results.map((r) => r.throughput)),
  p50: median(results.map((r) => r.p50)),
  p99: median(results.map((r) => r.p99)),
  cpu: median(results.map((r) => r.cpu)),
  clientCpu: results[0]?.clientCpu === undefined ? undefined : median(results.map((r) => r.clientCpu ?? 0))
})

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

const measure = async (concurrency: number, op: (i: number) => Promise<void>): Promise<Result> => {
  const latencies: Array<number> = []
  let next = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const i = next++
      const t0 = performance.now()
      await op(i)
      latencies.push(performance.now() - t0)
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  latencies.sort((a, b) => a - b)
  return {
    ops: latencies.length,
    throughput: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpu: (used.user + used.system) / 1000 / Math.max(1, latencies.length)
  }
}

/** The HTTP load, from a client process of its own (test/load/client.ts, autocannon). */
const measureHttp = (base: string, key: string, concurrency: number, runId: string, duration = seconds): Promise<Result> => {
  const cpu = process.cpuUsage()
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ["--import", "tsx", "test/load/client.ts", base, key, String(concurrency), String(duration), runId],
      { maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error !== null) return reject(new Error(`load client failed: ${error.message}\n${stderr}`))
        const used = process.cpuUsage(cpu)
        const line = stdout.trim().split("\n").pop() ?? ""
        const result = JSON.parse(line) as ClientResult
        resolve({ ...result, cpu: (used.user + used.system) / 1000 / Math.max(1, result.ops) })
      }
    ))
}

const run = async (name: string, core: Layer.Layer<PaymentService.PaymentService | Ids.Ids, unknown>) => {
  const app = AegisPayHttp.serve({ rateLimit: { limit: 1_000_000_000 } }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    // API keys and tenants in the database, as a real installation has them (SqlApiKeys)
    Layer.provideMerge(Layer.mergeAll(SqlApiKeys.layer, SqlTenants.layer).pipe(Layer.provide(TenancyTest.layerPepper))),
    Layer.provideMerge(core),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )
  // the composition's own types are wide; the runtime only needs what the program uses
  const runtime = ManagedRuntime.make(
    app as Layer.Layer<PaymentService.PaymentService | ApiKeys.ApiKeys | Tenants.Tenants | HttpServer.HttpServer, unknown>
  )
  try {
    const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (s) => s.address))
    if (address._tag !== "TcpAddress") throw new Error("no TCP address")
    const base = `http://127.0.0.1:${address.port}`
    const key = Redacted.value((await runtime.runPromise(Effect.gen(function*() {
      yield* (yield* Tenants.Tenants).create({ id: "load", name: "Load test" }).pipe(Effect.catchTag("TenantExists", () => Effect.void))
      return yield* (yield* ApiKeys.ApiKeys).create({ tenantId: "load", scopes: ["payments:write"] })
    }))).key)
    const run = `${process.pid}-${Math.round(performance.now())}`
    const direct = (c: number) => (i: number) =>
      runtime.runPromise(Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const p = yield* payments.createPayment({
          idempotencyKey: `d-${run}-${c}-${i}`, amount: "10.00", currency: "USD", paymentMethod: card,
          customer: { id: `cus_${i % 500}`, email: "load@example.com" }
        })
        yield* payments.processPayment(p.id)
      }).pipe(Tenant.with("load")))
    // warm-up: the JIT needs some thousands of requests before the HTTP path runs at its speed
    await measure(8, direct(0))
    await measureHttp(base, key, 8, `${run}-w`, warmup)
    // rounds alternate direct and HTTP at each concurrency: the database drifts between runs
    // (table growth, checkpoints, autovacuum) and the VM's speed varies, so each round's ratio
    // compares two neighbouring runs; the figures shown are medians over the rounds
    const out: Record<string, Result> = {}
    const ratios: Record<number, Array<number>> = {}
    const tails: Array<number> = []
    for (const c of [8, 64]) {
      const direct_: Array<Result> = []
      const http_: Array<Result> = []
      for (let round = 0; round < rounds; round++) {
        const d = await measure(c, direct(c * 1000 + round))
        const h = await measureHttp(base, key, c, `${run}-${c}-${round}`)
        direct_.push(d)
        http_.push(h)
        ;(ratios[c] ??= []).push(h.throughput / d.throughput)
        if (c === 8) tails.push(h.p99 / h.p50)
      }
      out[`direct ${c}`] = medianResult(direct_)
      out[`http ${c}`] = medianResult(http_)
    }
    for (const [label, r] of Object.entries(out)) {
      console.log(`${name.padEnd(10)} ${label.padEnd(10)} ${r.throughput.toFixed(1).padStart(8)} ops/s  p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms  cpu ${r.cpu.toFixed(2).padStart(5)} ms/payment${r.clientCpu === undefined ? "" : `, client ${r.clientCpu.toFixed(2)}`}  (${r.ops} create+confirm, medians of ${rounds} rounds)`)
    }
    for (const c of [8, 64]) {
      console.log(`${name.padEnd(10)} ratio at ${c}: ${median(ratios[c]!).toFixed(2)}  (rounds: ${ratios[c]!.map((x) => x.toFixed(2)).join(" ")})`)
    }
    console.log(`${name.padEnd(10)} http p99/p50 at 8: ${median(tails).toFixed(2)}  (rounds: ${tails.map((x) => x.toFixed(2)).join(" ")})`)
    return { ratio: median(ratios[64]!), tail: median(tails) }
  } finally {
    await runtime.dispose()
  }
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "aegispay-load-"))
  const results: Record<string, { readonly ratio: number; readonly tail: number }> = {}
  try {
    if (process.env.LOAD_PGLITE !== "0") results.pglite = await run("pglite", AegisPayEmbedded.layer({ ...AegisPayTest.parts(), dataDir: dir, recovery: false }))
    const url = process.env.DATABASE_URL
    if (url !== undefined && url !== "") {
      results.postgres = await run("postgres", AegisPayPg.layer({ ...AegisPayTest.parts(), url: Redacted.make(url), schema: `aegispay_load_${process.pid}`, recovery: false }))
    } else {
      console.log("DATABASE_URL is not set: the PostgreSQL run is SKIPPED")
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const { ratio, tail } = results.postgres ?? results.pglite!
  console.log(`http ratio: ${ratio.toFixed(2)}, p99/p50 at 8: ${tail.toFixed(2)}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
