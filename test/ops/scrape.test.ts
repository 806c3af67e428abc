/**
 * A real scrape: Prometheus (the Debian package) on a loopback port scrapes the HTTP service
 * (started in-process on port 0, memory composition) every second while a short load runs; then
 * Prometheus's HTTP API must answer the payment metrics with the values the load produced.
 * Bounded in time: every wait polls with a deadline.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { TestCards } from "aegispay/testing"
import { call, cardBody, start, type Started } from "../http/support.js"
import { locate } from "./Prometheus.js"
import { freePort } from "../support/Ports.js"

const prometheusBin = locate("prometheus")

/** Polls `probe` until it answers a value (not `undefined`) or `millis` pass; the last error is kept. */
const eventually = async <A>(what: string, millis: number, probe: () => Promise<A | undefined>): Promise<A> => {
  const deadline = performance.now() + millis
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (performance.now() > deadline) throw new Error(`${what}: not within ${millis} ms (${String(last)})`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe.skipIf(prometheusBin === undefined)("a real Prometheus scrape", () => {
  let server: Started
  let prometheus: ChildProcess
  let dir: string
  let api: string
  const log: Array<string> = []

  beforeAll(async () => {
    server = await start()
    dir = mkdtempSync(join(tmpdir(), "aegispay-prom-"))
    const target = new URL(server.baseUrl).host
    writeFileSync(join(dir, "prometheus.yml"), [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: aegispay",
      "    metrics_path: /metrics",
      `    static_configs: [{ targets: ["${target}"] }]`,
      ""
    ].join("\n"))
    const port = await freePort()
    api = `http://127.0.0.1:${port}`
    prometheus = spawn(prometheusBin!, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h"
    ], { stdio: ["ignore", "pipe", "pipe"] })
    prometheus.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString("utf8")))
    await eventually("Prometheus ready", 20_000, async () => (await fetch(`${api}/-/ready`)).ok ? true : undefined)
  }, 40_000)

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once("exit", resolve))
      prometheus.kill("SIGTERM")
      await exited
    }
    await server?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }, 30_000)

  /** The value of an instant query that answers one sample (undefined while it answers none). */
  const query = async (promql: string): Promise<number | undefined> => {
    const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`)
    const body = await response.json() as { status: string; data: { result: Array<{ value: [number, string] }> } }
    if (body.status !== "success") throw new Error(JSON.stringify(body))
    const [first] = body.data.result
    return first === undefined ? undefined : Number(first.value[1])
  }
  /** Polls until `promql` answers `expected`. */
  const expectQuery = (promql: string, expected: number) =>
    eventually(`${promql} = ${expected}`, 20_000, async () => (await query(promql)) === expected ? true : undefined)

  it("the load's payments arrive in Prometheus with their values", async () => {
    // the target is up before the load starts
    await expectQuery(`up{job="aegispay"}`, 1)
    const outcomes = { success: 0, failure: 0 }
    const create = async (i: number, number: string) => {
      const created = await call(server, "POST", "/v1/payments", { body: cardBody(number), headers: { "idempotency-key": `scrape-${i}` } })
      expect(created.status).toBe(201)
      const confirmed = await call(server, "POST", `/v1/payments/${created.json.id}/confirm`)
      if (confirmed.json.state === "SUCCESS") outcomes.success++
      else if (confirmed.status === 402) outcomes.failure++ // declined: 402 with the error
    }
    // 30 approved, 10 declined, 4 at a time; then 5 idempotent replays
    const numbers = Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? TestCards.declined : TestCards.success))
    for (let i = 0; i < numbers.length; i += 4) await Promise.all(numbers.slice(i, i + 4).map((n, j) => create(i + j, n)))
    for (let i = 0; i < 5; i++) {
      expect((await call(server, "POST", "/v1/payments", { body: cardBody(TestCards.success), headers: { "idempotency-key": `scrape-${i * 4}` } })).status)
        .toBeLessThan(300)
    }
    expect(outcomes).toEqual({ success: 30, failure: 10 })

    await expectQuery(`sum(aegispay_payments_created_total{job="aegispay",currency="USD",method="card"})`, 40)
    await expectQuery(`sum(aegispay_payments_finished_total{job="aegispay",state="SUCCESS",gateway="mock"})`, 30)
    await expectQuery(`sum(aegispay_payments_finished_total{job="aegispay",state="FAILURE",gateway="mock"})`, 10)
    await expectQuery(`sum(aegispay_payment_duration_ms_count{job="aegispay"})`, 40)
    await expectQuery(`sum(aegispay_idempotency_replays_total{job="aegispay"})`, 5)
    await expectQuery(`sum(aegispay_gateway_calls_total{job="aegispay",operation="process",outcome="approved"})`, 30)
    await expectQuery(`max(aegispay_circuit_state{job="aegispay",gateway="mock"})`, 0)
    // a rule's expression evaluates on the scraped data: the approval rate of the load
    const rate = await query(
      `sum(aegispay_payments_finished_total{state=~"SUCCESS|AUTHORIZED"}) / sum(aegispay_payments_finished_total{state=~"SUCCESS|AUTHORIZED|FAILURE"})`
    )
    expect(rate).toBe(0.75)

    // every series name of the service's page arrived in Prometheus
    const page = await (await fetch(`${server.baseUrl}/metrics`)).text()
    const served = [...new Set([...page.matchAll(/^(aegispay_[a-z_]+)[{ ]/gm)].map((m) => m[1]!))]
    expect(served.length).toBeGreaterThan(10)
    await eventually("every served name ingested", 20_000, async () => {
      const names = await fetch(`${api}/api/v1/label/__name__/values`).then((r) => r.json() as Promise<{ data: Array<string> }>)
      return served.every((name) => names.data.includes(name)) ? true : undefined
    })
  }, 60_000)
})
