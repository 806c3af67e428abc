/**
 * `/ready` per component: storage (the database), the API-key store, the workers of the process,
 * extra checks; 503 with every component's answer when one fails, within the timeout.
 */
import { Clock, type Duration, Effect, Layer, Option } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { ApiKeys, OutboxBacklog, PaymentService, StorageError, Workers } from "aegispay"
import { call, type Started, start } from "./support.js"

const servers: Array<Started> = []
const started = async (...args: Parameters<typeof start>) => {
  const server = await start(...args)
  servers.push(server)
  return server
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const ready = (server: Started) => call(server, "GET", "/ready", { key: null })

const storageDown = new StorageError.StorageError({ operation: "readiness", reason: "connection refused" })

/** The composition's PaymentService with `getPayment` replaced. */
const paymentsWith = (getPayment: PaymentService.PaymentService["Type"]["getPayment"]) =>
  Layer.effect(PaymentService.PaymentService, Effect.map(PaymentService.PaymentService, (s) => ({ ...s, getPayment })))

/** The service's clock (the real one): the backlog's times are on it. */
const realClock = Clock.make()

/** The real clock moved forward by `offset` ms (the service's `Clock`: time passes without waiting). */
class ShiftedClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  offset = 0
  private readonly base = Clock.make()
  unsafeCurrentTimeMillis = () => this.base.unsafeCurrentTimeMillis() + this.offset
  unsafeCurrentTimeNanos = () => this.base.unsafeCurrentTimeNanos() + BigInt(this.offset) * 1_000_000n
  currentTimeMillis = Effect.sync(() => this.unsafeCurrentTimeMillis())
  currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos())
  sleep = (duration: Duration.Duration) => this.base.sleep(duration)
}

describe("/ready", () => {
  it("is 200 with each component when all answer; /health stays trivial", async () => {
    const server = await started()
    const answer = await ready(server)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ status: "ok", checks: { storage: "ok", apiKeys: "ok" } })
    expect((await call(server, "GET", "/health", { key: null })).json).toEqual({ status: "ok" })
  })

  it("is 503 when the storage fails, naming it, the other components still reported", async () => {
    const server = await started({}, { overrides: paymentsWith(() => Effect.fail(storageDown)) })
    const answer = await ready(server)
    expect(answer.status).toBe(503)
    expect(answer.json.type).toBe("unavailable")
    expect(answer.json.code).toBe("not_ready")
    expect(answer.json.checks).toEqual({ storage: "storage unreachable", apiKeys: "ok" })
    expect(answer.text).not.toContain("connection refused")
    // liveness does not depend on it
    expect((await call(server, "GET", "/health", { key: null })).status).toBe(200)
  })

  it("is 503 'timed out' when the storage does not answer within the timeout", async () => {
    const server = await started({ readinessTimeout: "100 millis" }, { overrides: paymentsWith(() => Effect.never) })
    const answer = await ready(server)
    expect(answer.status).toBe(503)
    expect(answer.json.checks.storage).toBe("timed out")
  })

  it("is 503 when the API-key store fails", async () => {
    const keysDown = Layer.effect(ApiKeys.ApiKeys, Effect.map(ApiKeys.ApiKeys, (keys) => ({ ...keys, list: () => Effect.fail(storageDown) })))
    const server = await started({}, { overrides: keysDown })
    const answer = await ready(server)
    expect(answer.status).toBe(503)
    expect(answer.json.checks).toEqual({ storage: "ok", apiKeys: "API key store unreachable" })
  })

  it("reports every worker of the process: 503 while one is failing or stopped, 200 once it succeeds again", async () => {
    const server = await started()
    const relay = await server.runtime.runPromise(Effect.flatMap(Workers.Workers, (w) => w.register("outbox relay round")))
    expect((await ready(server)).json.checks["worker:outbox relay round"]).toBe("ok")
    await server.runtime.runPromise(Effect.repeatN(relay.failed, 2))
    const failing = await ready(server)
    expect(failing.status).toBe(503)
    expect(failing.json.checks["worker:outbox relay round"]).toBe("failing (3 consecutive failures)")
    await server.runtime.runPromise(relay.succeeded)
    expect((await ready(server)).status).toBe(200)
    await server.runtime.runPromise(relay.stopped)
    const stopped = await ready(server)
    expect(stopped.status).toBe(503)
    expect(stopped.json.checks["worker:outbox relay round"]).toBe("stopped")
  })

  it("is 503 while the oldest undelivered outbox event is older than the limit, 200 when it is delivered", async () => {
    let oldest = Option.none<number>()
    const server = await started(
      { readinessLimits: { maxOutboxLag: "60 seconds" } },
      { overrides: OutboxBacklog.layerFrom(Effect.sync(() => oldest)) }
    )
    expect((await ready(server)).json.checks.outbox).toBe("ok")
    oldest = Option.some(realClock.unsafeCurrentTimeMillis() - 30_000)
    expect((await ready(server)).status).toBe(200)
    oldest = Option.some(realClock.unsafeCurrentTimeMillis() - 125_000)
    const lagging = await ready(server)
    expect(lagging.status).toBe(503)
    expect(lagging.json.checks).toMatchObject({ storage: "ok", apiKeys: "ok" })
    expect(lagging.json.checks.outbox).toMatch(/^lagging \(oldest undelivered event 12[5-9] s old, limit 60 s\)$/)
    oldest = Option.none()
    expect((await ready(server)).status).toBe(200)
  })

  it("is 503 while a worker has not succeeded for its stale limit, 200 after its next success", async () => {
    const clock = new ShiftedClock()
    const server = await started(
      { readinessLimits: { workerStaleFactor: 3, workerMinStale: "1 second" } },
      { observe: Layer.setClock(clock) }
    )
    const worker = await server.runtime.runPromise(Workers.register("recovery", { interval: "10 seconds" }))
    await server.runtime.runPromise(worker.succeeded)
    expect((await ready(server)).json.checks["worker:recovery"]).toBe("ok")
    clock.offset = 29_000
    expect((await ready(server)).status).toBe(200)
    clock.offset = 45_000
    const stale = await ready(server)
    expect(stale.status).toBe(503)
    expect(stale.json.checks["worker:recovery"]).toMatch(/^stale \(no successful iteration for 4[5-9] s, limit 30 s\)$/)
    await server.runtime.runPromise(worker.succeeded)
    expect((await ready(server)).status).toBe(200)
  })

  it("runs the extra checks too", async () => {
    const server = await started({ readiness: [{ name: "relay", check: Effect.fail("not running") }] })
    const answer = await ready(server)
    expect(answer.status).toBe(503)
    expect(answer.json.message).toContain("relay: not running")
  })
})
