/**
 * `npm run worker`: the background work of AegisPay without the HTTP API, for the split deployment
 * (API processes with `AEGISPAY_WORKERS=false`, plus these): the outbox relay, the recovery
 * worker, the retention jobs and the merchant webhook deliveries, on the PostgreSQL server of
 * `DATABASE_URL` (required: the worker shares the API's database), with the same composition as
 * `npm run serve` (scripts/composition.ts: gateway, card vault and keys from the same settings).
 *
 * Several worker processes may run at once: the relay and webhook deliveries claim their rows with
 * `FOR UPDATE SKIP LOCKED` under a lease, recovery handles each payment under its payment lease,
 * retention deletes in idempotent batches (docs/OPERATIONS.md, "Kubernetes").
 *
 * A small HTTP server on `AEGISPAY_WORKER_PORT` (default 3001) answers the probes, without an API
 * key and without any payment route:
 * - `GET /health`: 200 while the process runs (liveness);
 * - `GET /ready`: 200 when the database answers and every worker of this process is running and
 *   not failing, else 503 with each check's result (the readiness of the HTTP service's `/ready`,
 *   `OpsHandlers.layerReadiness`, without the API-key store);
 * - `GET /metrics`: this process's metrics in Prometheus text (the relay's delivery lag, committed
 *   events, backlogs, recovery runs, webhook deliveries are counted here).
 *
 * SIGTERM or SIGINT: the workers stop (a relay round marks what it published as delivered,
 * leases are released), the server closes, the process exits 0. Logs: JSON lines like the
 * service's (`AEGISPAY_LOG_FORMAT=text` for logfmt). Traces and metrics go to OTLP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
 */
import { createServer } from "node:http"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option } from "effect"
import { Logging, Prometheus } from "aegispay"
import { OpsHandlers } from "aegispay/http"
import { Otel } from "aegispay/otel"
import * as Composition from "./composition.js"

const routes = Composition.workerRoutes

const settings = Config.all({
  port: Config.integer("AEGISPAY_WORKER_PORT").pipe(Config.withDefault(3001)),
  core: Composition.settings,
  logFormat: Config.literal("json", "text")("AEGISPAY_LOG_FORMAT").pipe(Config.withDefault("json"))
})

const ready = Effect.gen(function*() {
  const results = yield* Effect.flatMap(OpsHandlers.Readiness, (readiness) => readiness.run)
  const checks = Object.fromEntries(results)
  const ok = results.every(([, result]) => result === "ok")
  return yield* HttpServerResponse.json({ status: ok ? "ok" : "not_ready", checks }, { status: ok ? 200 : 503 })
})

const router = HttpRouter.empty.pipe(
  HttpRouter.get(routes[0], HttpServerResponse.json({ status: "ok" })),
  HttpRouter.get(routes[1], ready),
  HttpRouter.get(routes[2], Prometheus.httpApp)
)

const main = Effect.gen(function*() {
  const { core: coreSettings, logFormat, port } = yield* settings
  if (Option.isNone(coreSettings.databaseUrl)) {
    return yield* Effect.dieMessage("DATABASE_URL is required: the worker runs on the API's PostgreSQL database")
  }
  const core = Composition.layer(coreSettings, "all")
  const started = Console.log(
    `AegisPay worker (outbox relay, recovery, retention, merchant webhooks; ${Composition.describe(coreSettings)}); ` +
      `probes on http://127.0.0.1:${port}${routes[0]} and ${routes[1]}, metrics on ${routes[2]}`
  )
  const app = HttpServer.serve(router).pipe(
    Layer.provide(OpsHandlers.layerReadiness()),
    Layer.provide(NodeHttpServer.layer(createServer, { port })),
    Layer.provideMerge(Layer.effectDiscard(started)),
    Layer.provideMerge(core),
    Layer.provide(Otel.layerConfig),
    Layer.provide(logFormat === "json" ? Logging.layerJson : Layer.empty)
  )
  return yield* Layer.launch(app)
})

// as in serve.ts: the composition masks card numbers in Effect's default logger; runMain's pretty
// logger would print every line a second time, unmasked
NodeRuntime.runMain(main, { disablePrettyLogger: true })
