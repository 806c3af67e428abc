/**
 * A merchant's webhook receiver for tests: a real HTTP server on a loopback port (port 0), whose
 * answer to each request the test decides (`ok` 200, `fail` 500, `down`: the connection is cut
 * before any answer), recording every request with its headers and exact body.
 */
import { HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Layer, Queue, Ref } from "effect"
import type { Scope } from "effect"
import { createServer } from "node:http"

export type Mode = "ok" | "fail" | "down"

/** What a decision sees of a request: its path, its index among all requests, its attempt number. */
export interface Request {
  readonly path: string
  readonly index: number
  readonly attempt: number
}

export interface Received {
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly answered: Mode
  /** Requests of the same event in flight at once when this one arrived (itself included). */
  readonly inFlightForEvent: number
}

export interface Receiver {
  readonly url: (path?: string) => string
  /** Decides the answer to the next request (default: always `ok`). */
  readonly setMode: (decide: (request: Request) => Mode) => Effect.Effect<void>
  readonly received: Effect.Effect<ReadonlyArray<Received>>
  /** Every request, as it arrives. */
  readonly requests: Queue.Dequeue<Received>
}

/** Starts a receiver for the scope. `hold`, when given, runs before each answer (e.g. a latch). */
export const start = (hold?: Effect.Effect<void>): Effect.Effect<Receiver, never, Scope.Scope> =>
  Effect.gen(function*() {
    const decide = yield* Ref.make<(request: Request) => Mode>(() => "ok")
    const log = yield* Ref.make<ReadonlyArray<Received>>([])
    const requests = yield* Queue.unbounded<Received>()
    const inFlight = new Map<string, number>()
    let index = 0
    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* request.text
      const path = new URL(request.url, "http://receiver").pathname
      const headers: Record<string, string> = {}
      for (const [key, value] of Object.entries(request.headers)) headers[key] = value
      const eventId = headers["aegispay-event-id"] ?? ""
      const concurrent = (inFlight.get(eventId) ?? 0) + 1
      inFlight.set(eventId, concurrent)
      const mode = (yield* Ref.get(decide))({ path, index: index++, attempt: Number(headers["aegispay-attempt"] ?? "0") })
      const received: Received = { path, headers, body, answered: mode, inFlightForEvent: concurrent }
      yield* Ref.update(log, (all) => [...all, received])
      yield* Queue.offer(requests, received)
      if (hold !== undefined) yield* hold
      inFlight.set(eventId, (inFlight.get(eventId) ?? 1) - 1)
      if (mode === "down") {
        NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
        return HttpServerResponse.empty({ status: 503 })
      }
      return mode === "ok" ? HttpServerResponse.text("ok") : HttpServerResponse.text("boom", { status: 500 })
    }).pipe(Effect.orDie)
    const context = yield* Layer.build(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })).pipe(
      Effect.orDie
    )
    yield* HttpServer.serveEffect(app).pipe(Effect.provide(context))
    const address = yield* HttpServer.HttpServer.pipe(Effect.map((server) => server.address), Effect.provide(context))
    const port = address._tag === "TcpAddress" ? address.port : 0
    return {
      url: (path = "/hooks") => `http://127.0.0.1:${port}${path}`,
      setMode: (f) => Ref.set(decide, f),
      received: Ref.get(log),
      requests
    }
  })
