/**
 * The HTTP side of `npm run load`, run in a process of its own so that the client's CPU is not
 * charged to the service. `connections` loops, each on its own keep-alive connection, start
 * create (`POST /v1/payments`, a fresh `Idempotency-Key`) then confirm
 * (`POST /v1/payments/:id/confirm`) until `seconds` have passed, and every pair started is
 * waited for, exactly as the direct measurement in load.ts does (so payments in flight at the end
 * count on both sides). A minimal HTTP/1.1 client on `node:net` (one keep-alive socket per
 * loop, see `Connection`), so that the client takes as little of the shared cores as it can. Prints one JSON line: `{ ops, throughput, p50, p99, clientCpu }` (clientCpu: this process's CPU per pair, ms) (ops = create+confirm pairs;
 * any status other than 201 then 200 fails the run).
 *
 * Usage (by test/load/load.ts): `tsx test/load/client.ts <base url> <api key> <connections> <seconds> <run id>`
 */
import { connect, type Socket } from "node:net"
import { TestCards } from "aegispay/testing"

const [base, key, connectionsArg, secondsArg, runId] = process.argv.slice(2)
if (base === undefined || key === undefined || connectionsArg === undefined || secondsArg === undefined || runId === undefined) {
  console.error("usage: client.ts <base url> <api key> <connections> <seconds> <run id>")
  process.exit(2)
}
const connections = Number(connectionsArg)
const seconds = Number(secondsArg)
const url = new URL(base)
const card = { type: "card", number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "Load Test" }

/**
 * One keep-alive HTTP/1.1 connection, one request at a time: the request written as one buffer,
 * the response read by its `content-length` (the service always sends one; anything else fails
 * the run). A minimal client on purpose: it shares the machine's two cores with the service and
 * PostgreSQL, and Node's `http` client cost about 0.9 ms of CPU per request here.
 */
class Connection {
  private readonly socket: Socket
  private buffer: Buffer = Buffer.alloc(0)
  private pending: { readonly resolve: (r: { status: number; body: string }) => void; readonly reject: (e: Error) => void } | undefined
  private failure: Error | undefined

  constructor() {
    this.socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true })
    this.socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
      this.parse()
    })
    const fail = (e: Error) => {
      this.failure = e
      this.pending?.reject(e)
      this.pending = undefined
    }
    this.socket.on("error", fail)
    this.socket.on("close", () => fail(new Error("connection closed by the server")))
  }

  private parse() {
    const end = this.buffer.indexOf("\r\n\r\n")
    if (end < 0 || this.pending === undefined) return
    const head = this.buffer.toString("latin1", 0, end)
    const status = Number(head.slice(9, 12))
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)
    if (length === null) {
      this.pending.reject(new Error(`response without content-length: ${head}`))
      this.pending = undefined
      return
    }
    const total = end + 4 + Number(length[1])
    if (this.buffer.length < total) return
    const body = this.buffer.toString("utf8", end + 4, total)
    this.buffer = this.buffer.subarray(total)
    const { resolve } = this.pending
    this.pending = undefined
    resolve({ status, body })
  }

  post(path: string, headers: string, body = ""): Promise<{ status: number; body: string }> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject }
      this.socket.write(
        `POST ${path} HTTP/1.1\r\nhost: ${url.host}\r\nconnection: keep-alive\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      )
    })
  }

  close() {
    this.socket.destroy()
  }
}

const auth = `authorization: Bearer ${key}\r\n`

const pair = async (connection: Connection, i: number) => {
  const created = await connection.post("/v1/payments", `${auth}content-type: application/json\r\nidempotency-key: h-${runId}-${i}\r\n`, JSON.stringify({ amount: "10.00", currency: "USD", paymentMethod: card, customer: { id: `cus_${i % 500}`, email: "load@example.com" } }))
  if (created.status !== 201) throw new Error(`create: ${created.status} ${created.body}`)
  const { id } = JSON.parse(created.body) as { id: string }
  const confirmed = await connection.post(`/v1/payments/${id}/confirm`, auth)
  if (confirmed.status !== 200) throw new Error(`confirm: ${confirmed.status} ${confirmed.body}`)
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

const main = async () => {
  const latencies: Array<number> = []
  let next = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(Array.from({ length: connections }, async () => {
    const connection = new Connection()
    try {
      while (performance.now() < end) {
        const t0 = performance.now()
        await pair(connection, next++)
        latencies.push(performance.now() - t0)
      }
    } finally {
      connection.close()
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  latencies.sort((a, b) => a - b)
  console.log(JSON.stringify({ ops: latencies.length, throughput: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), clientCpu: (used.user + used.system) / 1000 / Math.max(1, latencies.length) }))
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
