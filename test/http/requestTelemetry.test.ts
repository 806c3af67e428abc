/**
 * What the service tells about each request: the access log line (one per request, with its
 * fields, only when Info lines are let through) and the platform's `http.server` span (made when a
 * tracer is installed, left out with Effect's built-in tracer: `AegisPayHttp.withRequestSpansWhenTraced`).
 */
import { createServer } from "node:http"
import { HttpMiddleware, HttpServer, HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, FiberRef, HashMap, Layer, Logger, LogLevel, ManagedRuntime, Redacted, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import { ApiKeys, IdempotencyStore } from "aegispay"
import { AegisPayHttp } from "aegispay/http"
import { AegisPayTest, TenancyTest, TestCards } from "aegispay/testing"

interface Line {
  readonly message: unknown
  readonly level: string
  readonly annotations: Record<string, unknown>
}

const start = async (options: { readonly level: LogLevel.LogLevel; readonly tracer?: Tracer.Tracer }) => {
  const lines: Array<Line> = []
  const capture = Logger.make<unknown, void>(({ annotations, logLevel, message }) => {
    lines.push({
      message: Array.isArray(message) ? message[0] : message,
      level: logLevel.label,
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  const app = AegisPayHttp.serve({ rateLimit: { limit: 1_000_000 } }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(TenancyTest.layerApiKeys),
    Layer.provideMerge(IdempotencyStore.layerMemory),
    Layer.provideMerge(AegisPayTest.layerMemory()),
    Layer.provide(options.tracer === undefined ? Layer.empty : Layer.setTracer(options.tracer)),
    Layer.provide(Logger.replace(Logger.defaultLogger, capture)),
    Layer.provide(Logger.minimumLogLevel(options.level))
  )
  const runtime = ManagedRuntime.make(app)
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const created = await runtime.runPromise(Effect.flatMap(ApiKeys.ApiKeys, (keys) =>
    keys.create({ tenantId: "acme", scopes: ["payments:read", "payments:write"] })))
  return {
    lines,
    base: `http://127.0.0.1:${address.port}`,
    key: Redacted.value(created.key),
    keyId: created.info.keyId,
    close: () => runtime.dispose()
  }
}

const body = JSON.stringify({
  amount: "10.00",
  currency: "USD",
  paymentMethod: { type: "card", number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "A" },
  customer: { id: "cus_1", email: "a@example.com" }
})

const accessLines = (lines: ReadonlyArray<Line>) => lines.filter((line) => line.message === "http request")

describe("access log", () => {
  it("writes one Info line per request with its id, method, path, status, duration, tenant, key and payment", async () => {
    const server = await start({ level: LogLevel.Info })
    try {
      const created = await fetch(`${server.base}/v1/payments`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.key}`, "content-type": "application/json", "idempotency-key": "log-1", "x-request-id": "req-log-1" },
        body
      })
      expect(created.status).toBe(201)
      const { id } = (await created.json()) as { id: string }
      const missing = await fetch(`${server.base}/v1/payments/pay_nope`, { headers: { authorization: `Bearer ${server.key}` } })
      expect(missing.status).toBe(404)
      const generated = missing.headers.get("x-request-id")
      expect(generated).toMatch(/^req_/)
      const health = await fetch(`${server.base}/health`)
      expect(health.status).toBe(200)

      const lines = accessLines(server.lines)
      expect(lines).toHaveLength(3)
      expect(lines.every((line) => line.level === "INFO")).toBe(true)
      expect(lines[0]!.annotations).toMatchObject({
        requestId: "req-log-1",
        method: "POST",
        path: "/v1/payments",
        status: 201,
        tenantId: "acme",
        keyId: server.keyId,
        paymentId: id
      })
      expect(typeof lines[0]!.annotations.durationMs).toBe("number")
      expect(lines[1]!.annotations).toMatchObject({
        requestId: generated,
        method: "GET",
        path: "/v1/payments/pay_nope",
        status: 404,
        tenantId: "acme",
        paymentId: "pay_nope"
      })
      expect(lines[2]!.annotations).toMatchObject({ method: "GET", path: "/health", status: 200 })
      expect(lines[2]!.annotations.tenantId).toBeUndefined()
    } finally {
      await server.close()
    }
  })

  it("writes none when the minimum level is above Info, and the answers are the same", async () => {
    const server = await start({ level: LogLevel.Warning })
    try {
      const answer = await fetch(`${server.base}/v1/payments/pay_nope`, {
        headers: { authorization: `Bearer ${server.key}`, "x-request-id": "req-quiet" }
      })
      expect(answer.status).toBe(404)
      expect(answer.headers.get("x-request-id")).toBe("req-quiet")
      expect(((await answer.json()) as { code: string }).code).toBe("payment_not_found")
      expect(accessLines(server.lines)).toHaveLength(0)
    } finally {
      await server.close()
    }
  })
})

describe("request spans", () => {
  it("are made, one per request, when a tracer is installed", async () => {
    const names: Array<string> = []
    const native = Effect.runSync(Effect.tracer)
    const recording = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        names.push(name)
        return native.span(name, parent, context, links, startTime, kind, options)
      },
      context: (f) => f()
    })
    const server = await start({ level: LogLevel.Warning, tracer: recording })
    try {
      const answer = await fetch(`${server.base}/health`)
      expect(answer.status).toBe(200)
      const again = await fetch(`${server.base}/v1/payments/pay_nope`, { headers: { authorization: `Bearer ${server.key}` } })
      expect(again.status).toBe(404)
      expect(names.filter((name) => name.startsWith("http.server"))).toEqual(["http.server GET", "http.server GET"])
    } finally {
      await server.close()
    }
  })

  it("are left out with Effect's built-in tracer (nothing would read them), kept with any other", () => {
    const disabled = (tracer?: Tracer.Tracer) => {
      const seen: Array<boolean> = []
      const request = HttpServerRequest.fromWeb(new Request("http://127.0.0.1/health"))
      const probe = Layer.effectDiscard(
        Effect.map(FiberRef.get(HttpMiddleware.currentTracerDisabledWhen), (when) => seen.push(when(request)))
      )
      const layer = AegisPayHttp.withRequestSpansWhenTraced(probe).pipe(
        Layer.provide(tracer === undefined ? Layer.empty : Layer.setTracer(tracer))
      )
      Effect.runSync(Effect.scoped(Layer.build(layer)))
      return seen
    }
    const other = Tracer.make({ span: Effect.runSync(Effect.tracer).span, context: (f) => f() })
    expect(disabled()).toEqual([true])
    expect(disabled(other)).toEqual([false])
  })
})
