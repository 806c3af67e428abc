/**
 * The HTTP side of `npm run load`, run in a process of its own so that the client's CPU is not
 * charged to the service. `connections` loops, each on its own keep-alive connection, start
 * create (`POST /v1/payments`, a fresh `Idempotency-Key`) then confirm
 * (`POST /v1/payments/:id/confirm`) until `seconds` have passed, and every pair started is
 * waited for, exactly as the direct measurement in load.ts does (so payments in flight at the end
 * count on both sides). Node's `http` client (no fetch): its cost per request is small and
 * stable. Prints one JSON line: `{ ops, throughput, p50, p99 }` (ops = create+confirm pairs;
 * any status other than 201 then 200 fails the run).
 *
 * Usage (by test/load/load.ts): `tsx test/load/client.ts <base url> <api key> <connections> <seconds> <run id>`
 */
import { Agent, request } from "node:http"
import { TestCards } from "aegispay/testing"

const [base, key, connectionsArg, secondsArg, runId] = process.argv.slice(2)
if (base === undefined || key === undefined || connectionsArg === undefined || secondsArg === undefined || runId === undefined) {
  console.error("usage: client.ts <base url> <api key> <connections> <seconds> <run id>")
  process.exit(2)
}
const connections = Number(connectionsArg)
const seconds = Number(secondsArg)
const agent = new Agent({ keepAlive: true, maxSockets: connections })
const url = new URL(base)
const card = { type: "card", number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "Load Test" }

const post = (path: string, headers: Record<string, string>, body?: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({
      agent,
      host: url.hostname,
      port: url.port,
      method: "POST",
      path,
      headers: { ...headers, ...(body === undefined ? { "content-length": "0" } : { "content-length": String(Buffer.byteLength(body)) }) }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

const pair = async (i: number) => {
  const created = await post("/v1/payments", {
    authorization: `Bearer ${key}`,
    "content-type": "application/json",
    "idempotency-key": `h-${runId}-${i}`
  }, JSON.stringify({ amount: "10.00", currency: "USD", paymentMethod: card, customer: { id: `cus_${i % 500}`, email: "load@example.com" } }))
  if (created.status !== 201) throw new Error(`create: ${created.status} ${created.body}`)
  const { id } = JSON.parse(created.body) as { id: string }
  const confirmed = await post(`/v1/payments/${id}/confirm`, { authorization: `Bearer ${key}` })
  if (confirmed.status !== 200) throw new Error(`confirm: ${confirmed.status} ${confirmed.body}`)
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

const main = async () => {
  const latencies: Array<number> = []
  let next = 0
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      await pair(next++)
      latencies.push(performance.now() - t0)
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  agent.destroy()
  console.log(JSON.stringify({ ops: latencies.length, throughput: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }))
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
