/**
 * `npm run load`: create + confirm throughput and latency through the HTTP service on a loopback
 * port vs the library called directly, at concurrency 8 and 64, on PGlite and (with
 * DATABASE_URL) PostgreSQL, in the same run. Bounded: LOAD_SECONDS per measurement (default 5).
 * Access logs off (level Warning) in both modes. Last line: `http ratio: R, p99/p50 at 8: X`
 * (R: HTTP ÷ direct throughput at 64 on PostgreSQL, else PGlite; X: HTTP at 8, same backend).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted } from "effect"
import { ApiKeys, type IdempotencyStore, type Ids, PaymentService, Tenant } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPayHttp } from "aegispay/http"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, TenancyTest, TestCards } from "aegispay/testing"

const seconds = Number(process.env.LOAD_SECONDS ?? "5")
const card = { type: "card" as const, number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "Load Test" }

interface Result {
  readonly ops: number
  readonly throughput: number
  readonly p50: number
  readonly p99: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

const measure = async (concurrency: number, op: (i: number) => Promise<void>): Promise<Result> => {
  const latencies: Array<number> = []
  let next = 0
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
  latencies.sort((a, b) => a - b)
  return { ops: latencies.length, throughput: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}

const run = async (name: string, core: Layer.Layer<PaymentService.PaymentService | IdempotencyStore.IdempotencyStore | Ids.Ids, unknown>) => {
  const app = AegisPayHttp.serve({ rateLimit: { limit: 1_000_000_000 } }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(TenancyTest.layerApiKeys),
    Layer.provideMerge(core),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )
  // the composition's own types are wide; the runtime only needs what the program uses
  const runtime = ManagedRuntime.make(app as Layer.Layer<PaymentService.PaymentService | ApiKeys.ApiKeys | HttpServer.HttpServer, unknown>)
  try {
    const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (s) => s.address))
    if (address._tag !== "TcpAddress") throw new Error("no TCP address")
    const base = `http://127.0.0.1:${address.port}`
    const key = Redacted.value((await runtime.runPromise(Effect.flatMap(ApiKeys.ApiKeys, (k) => k.create({ tenantId: "load", scopes: ["payments:write"] })))).key)
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
    const http = (c: number) => async (i: number) => {
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json", "idempotency-key": `h-${run}-${c}-${i}` }
      const created = await fetch(`${base}/v1/payments`, {
        method: "POST", headers,
        body: JSON.stringify({ amount: "10.00", currency: "USD", paymentMethod: card, customer: { id: `cus_${i % 500}`, email: "load@example.com" } })
      })
      const body = await created.json() as { id: string }
      if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(body)}`)
      const confirmed = await fetch(`${base}/v1/payments/${body.id}/confirm`, { method: "POST", headers: { authorization: `Bearer ${key}` } })
      await confirmed.arrayBuffer()
      if (confirmed.status !== 200) throw new Error(`confirm: ${confirmed.status}`)
    }
    await measure(8, direct(0)) // warm-up
    const out: Record<string, Result> = {}
    for (const c of [8, 64]) {
      out[`direct ${c}`] = await measure(c, direct(c))
      out[`http ${c}`] = await measure(c, http(c))
    }
    for (const [label, r] of Object.entries(out)) {
      console.log(`${name.padEnd(10)} ${label.padEnd(10)} ${r.throughput.toFixed(1).padStart(8)} ops/s  p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms  (${r.ops} create+confirm)`)
    }
    for (const c of [8, 64]) console.log(`${name.padEnd(10)} ratio at ${c}: ${(out[`http ${c}`]!.throughput / out[`direct ${c}`]!.throughput).toFixed(2)}`)
    return out
  } finally {
    await runtime.dispose()
  }
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "aegispay-load-"))
  const results: Record<string, Record<string, Result>> = {}
  try {
    results.pglite = await run("pglite", AegisPayEmbedded.layer({ ...AegisPayTest.parts(), dataDir: dir, recovery: false }))
    const url = process.env.DATABASE_URL
    if (url !== undefined && url !== "") {
      results.postgres = await run("postgres", AegisPayPg.layer({ ...AegisPayTest.parts(), url: Redacted.make(url), schema: `aegispay_load_${process.pid}`, recovery: false }))
    } else {
      console.log("DATABASE_URL is not set: the PostgreSQL run is SKIPPED")
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const chosen = results.postgres ?? results.pglite!
  const ratio = chosen["http 64"]!.throughput / chosen["direct 64"]!.throughput
  const tail = chosen["http 8"]!.p99 / chosen["http 8"]!.p50
  console.log(`http ratio: ${ratio.toFixed(2)}, p99/p50 at 8: ${tail.toFixed(2)}`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
