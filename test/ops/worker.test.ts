/**
 * The split deployment on a real PostgreSQL database of its own, with exactly the environment of
 * the Kubernetes manifests (ops/k8s: ConfigMap, Secret example with generated keys and the test
 * database's URL, each Deployment's own env; only the ports are moved to free ones):
 *
 * - `scripts/worker.ts` starts with the worker Deployment's environment and becomes ready; a
 *   payment made with the library in this process (the API's composition: no workers here) has its
 *   outbox delivered by the worker (every row `delivered`) and its `payment.succeeded` webhook
 *   delivered to a local receiver; on SIGTERM the worker exits 0.
 * - `scripts/serve.ts` starts with the API Deployment's environment (`AEGISPAY_WORKERS=false`):
 *   `/health` and `/ready` answer 200 and `/ready` reports no worker; on SIGTERM it exits 0.
 *
 * A missing required variable in the manifests would stop either process with a ConfigError.
 * Skipped with a notice without DATABASE_URL (a failure with REQUIRE_POSTGRES=1).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Effect, Exit, Layer, ManagedRuntime, Queue, Scope } from "effect"
import { MerchantWebhooks, PaymentService, Tenant } from "aegispay"
import { TestCards } from "aegispay/testing"
import * as Composition from "../../scripts/composition.js"
import * as Receiver from "../events/WebhookReceiver.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { nodeArgs } from "../support/Children.js"
import { k8s, root } from "./Deployment.js"
import { freePort } from "../support/Ports.js"

interface Started {
  readonly child: ChildProcess
  readonly output: Array<string>
  readonly exited: Promise<number | null>
}

/** Starts `script` as the tests start their child processes (bundled once, test/support/Children.ts). */
const start = async (script: string, env: Record<string, string>): Promise<Started> => {
  const child = spawn(process.execPath, [...await nodeArgs(join(root, script))], {
    cwd: root,
    // the manifest's environment and nothing else of this process's (PATH and HOME for Node)
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const output: Array<string> = []
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")))
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return { child, output, exited }
}

/** Polls `probe` until it answers a value or `millis` pass, failing at once if the process exited. */
const eventually = async <A>(what: string, millis: number, started: Started | undefined, probe: () => Promise<A | undefined>): Promise<A> => {
  const deadline = performance.now() + millis
  let last: unknown
  for (;;) {
    if (started !== undefined && started.child.exitCode !== null) {
      throw new Error(`${what}: the process exited with ${started.child.exitCode}:\n${started.output.join("")}`)
    }
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (performance.now() > deadline) throw new Error(`${what}: not within ${millis} ms (${String(last)})\n${started?.output.join("") ?? ""}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const getJson = async (url: string) => {
  const response = await fetch(url)
  return { status: response.status, body: await response.json() as { status: string; checks?: Record<string, string> } }
}

/** SIGTERM, then the exit code (within `millis`). */
const stop = async (started: Started, millis: number) => {
  started.child.kill("SIGTERM")
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${millis} ms after SIGTERM:\n${started.output.join("")}`)), millis)
  })
  try {
    return await Promise.race([started.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

const STARTUP = 150_000

describe.skipIf(databaseUrl === undefined)("the split deployment (ops/k8s environment) on PostgreSQL", () => {
  const url = useTestDatabase("deploy")
  const manifests = k8s()
  // the Secret example's names with generated values (keys) and the test database
  const secrets: Record<string, string> = {}
  /** A Deployment's environment: the manifests', secrets filled in, `port` moved to a free port. */
  const environment = (deployment: string, portVariable: string, port: number) => {
    const env = manifests.environment(deployment)
    for (const name of Object.keys(manifests.secret.stringData ?? {})) env[name] = secrets[name]!
    env[portVariable] = String(port)
    return env
  }
  let worker: Started | undefined
  let api: Started | undefined
  let workerPort = 0
  let apiPort = 0
  let apiEnv: Record<string, string> = {}
  let scope: Scope.CloseableScope | undefined

  beforeAll(async () => {
    for (const name of Object.keys(manifests.secret.stringData ?? {})) {
      secrets[name] = name === "DATABASE_URL" ? url() : name.endsWith("_ID") ? "kek-deploy-test" : randomBytes(32).toString("base64")
    }
    ;[workerPort, apiPort] = [await freePort(), await freePort()]
    apiEnv = environment("aegispay-api", "PORT", apiPort)
    // both start at once (each migrates under the migrations' advisory lock)
    ;[worker, api] = await Promise.all([
      start("scripts/worker.ts", environment("aegispay-worker", "AEGISPAY_WORKER_PORT", workerPort)),
      start("scripts/serve.ts", apiEnv)
    ])
    scope = await Effect.runPromise(Scope.make())
  }, 60_000)

  afterAll(async () => {
    for (const started of [worker, api]) {
      if (started !== undefined && started.child.exitCode === null && started.child.signalCode === null) {
        started.child.kill("SIGKILL")
        await started.exited
      }
    }
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  }, 30_000)

  it("the worker delivers the outbox and the merchant webhook of a payment made elsewhere, then exits 0 on SIGTERM", async () => {
    const ready = await eventually("worker /ready", STARTUP, worker, async () => {
      const { body, status } = await getJson(`http://127.0.0.1:${workerPort}/ready`)
      return status === 200 ? body : undefined
    })
    expect(Object.keys(ready.checks ?? {})).toEqual(expect.arrayContaining([
      "storage",
      "worker:outbox relay round",
      "worker:aegispay recovery",
      "worker:aegispay retention",
      "worker:merchant webhooks"
    ]))
    expect((await fetch(`http://127.0.0.1:${workerPort}/health`)).status).toBe(200)
    // no payment route on the worker
    expect((await fetch(`http://127.0.0.1:${workerPort}/v1/payments`)).status).toBe(404)

    // the API's composition in this process, from the API Deployment's environment: no workers
    const provider = ConfigProvider.fromMap(new Map(Object.entries(apiEnv)))
    const settings = await Effect.runPromise(Effect.withConfigProvider(Composition.settings, provider))
    const runtime = ManagedRuntime.make(
      Composition.layer(settings, "none").pipe(Layer.provide(Layer.setConfigProvider(provider)))
    )
    try {
      const receiver = await Effect.runPromise(Receiver.start().pipe(Scope.extend(scope!)))
      const paymentId = await runtime.runPromise(Effect.gen(function*() {
        const webhooks = yield* MerchantWebhooks.MerchantWebhooks
        yield* webhooks.createEndpoint({ url: receiver.url("/deploy"), events: ["payment.succeeded"] })
        const payments = yield* PaymentService.PaymentService
        const payment = yield* payments.createPayment({
          idempotencyKey: "deploy-1",
          amount: "12.34",
          currency: "USD",
          paymentMethod: { type: "card", number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "Dee Ploy" },
          customer: { id: "cus_deploy", email: "deploy@example.com" }
        })
        const done = yield* payments.processPayment(payment.id)
        expect(done.state).toBe("SUCCESS")
        return payment.id
      }).pipe(Tenant.with("deploy")))

      // the relay runs in the worker only: every outbox row of the payment ends delivered
      const outbox = await eventually("outbox delivered", 60_000, worker, () =>
        runtime.runPromise(Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ status: string }>`SELECT status FROM aegis_outbox WHERE payment_id = ${paymentId}`
          return rows.length >= 4 && rows.every((r) => r.status === "delivered") ? rows.length : undefined
        })))
      expect(outbox).toBeGreaterThanOrEqual(4)

      // and the worker delivered the merchant webhook, signed
      const received = await Effect.runPromise(Queue.take(receiver.requests).pipe(Effect.timeout("60 seconds")))
      expect(received.path).toBe("/deploy")
      expect(received.headers["aegispay-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]+$/)
      const event = JSON.parse(received.body) as { type: string; data: { id?: string; payment?: { id: string } } }
      expect(event.type).toBe("payment.succeeded")
      expect(received.body).toContain(paymentId)
    } finally {
      await runtime.dispose()
    }

    expect(await stop(worker!, 60_000)).toBe(0)
  }, STARTUP + 180_000)

  it("the API runs without workers (AEGISPAY_WORKERS=false), is ready, and exits 0 on SIGTERM", async () => {
    const ready = await eventually("API /ready", STARTUP, api, async () => {
      const { body, status } = await getJson(`http://127.0.0.1:${apiPort}/ready`)
      return status === 200 ? body : undefined
    })
    // the outbox lag check applies to API-only pods too (docs/OPERATIONS.md, readiness)
    expect(ready.checks).toEqual({ storage: "ok", apiKeys: "ok", outbox: "ok" })
    expect((await fetch(`http://127.0.0.1:${apiPort}/health`)).status).toBe(200)
    expect(api!.output.join("")).toContain("no workers: AEGISPAY_WORKERS=false")
    expect(await stop(api!, 60_000)).toBe(0)
  }, STARTUP + 90_000)
})
