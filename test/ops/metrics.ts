/**
 * The metric names the library exports, from a real `/metrics` page (`Prometheus.scrape`) after a
 * workload that touches every kind of metric (success, decline with failover, manual capture, a
 * retried attempt, an unknown outcome recovered, an idempotency replay and conflict, a circuit opening), plus the
 * gauges only SQL compositions set (read from the database at each scrape; named in
 * `AegisPayMetrics`). Histograms count under their `_bucket`, `_sum` and `_count` series.
 */
import { readdirSync, readFileSync } from "node:fs"
import { Effect, Fiber, Layer, TestClock, TestContext } from "effect"
import { Prometheus, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"

/**
 * Metrics this workload cannot reach, each checked to be defined in `src/`: the gauges SQL
 * compositions set from the database at each scrape (`AegisPayMetrics.refresh`), the merchant
 * webhook deliveries (they need a merchant endpoint; `WebhookDelivery`), compensations and manual
 * reviews (a stray charge returned, a refund that cannot be; `PaymentTelemetry`).
 */
export const outsideWorkload = {
  gauges: [
    "aegispay_outbox_pending",
    "aegispay_outbox_oldest_pending_seconds",
    "aegispay_webhook_deliveries_pending",
    "aegispay_webhook_oldest_due_seconds",
    "aegispay_manual_review_open"
  ],
  counters: ["aegispay_webhook_deliveries_total", "aegispay_compensations_total", "aegispay_manual_reviews_total"],
  histograms: ["aegispay_webhook_latency_ms"]
} as const

const sources = (dir: URL): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(new URL(`${entry.name}/`, dir))
      : entry.name.endsWith(".ts") ? [readFileSync(new URL(entry.name, dir), "utf8")] : []
  )

/** Whether `src/` defines the metric `name` (as `Metric.<kind>("name"` or `MetricKey.<kind>("name"`). */
const definedInSource = (kind: "counter" | "gauge" | "histogram", name: string): boolean => {
  const pattern = new RegExp(`Metric(?:Key)?\\.${kind}\\(\\s*"${name}"`)
  return sources(new URL("../../src/", import.meta.url)).some((text) => pattern.test(text))
}

const outsideNames = (): Array<string> => {
  const out: Array<string> = []
  for (const name of outsideWorkload.gauges) if (definedInSource("gauge", name)) out.push(name)
  for (const name of outsideWorkload.counters) if (definedInSource("counter", name)) out.push(name)
  for (const name of outsideWorkload.histograms) {
    if (definedInSource("histogram", name)) out.push(`${name}_bucket`, `${name}_sum`, `${name}_count`)
  }
  return out
}

const workload = Effect.gen(function*() {
  const payments = yield* PaymentService.PaymentService
  const gateways = yield* MockGateway.MockGateways
  const ok = yield* payments.createPayment(request({ idempotencyKey: "names-ok" }))
  yield* payments.processPayment(ok.id)
  yield* payments.createPayment(request({ idempotencyKey: "names-ok" }))
  yield* Effect.either(payments.createPayment(request({ idempotencyKey: "names-ok", amount: "1.00" })))
  const manual = yield* payments.createPayment(request({ idempotencyKey: "names-manual", captureMethod: "manual" }))
  yield* payments.processPayment(manual.id)
  const declined = yield* payments.createPayment(request({ idempotencyKey: "names-declined", paymentMethod: card(TestCards.declined) }))
  yield* Effect.either(payments.processPayment(declined.id))
  const unknown = yield* payments.createPayment(request({ idempotencyKey: "names-unknown", paymentMethod: card(TestCards.timeoutAfterCharge) }))
  const fiber = yield* Effect.fork(Effect.either(payments.processPayment(unknown.id)))
  yield* TestClock.adjust("1 minute")
  yield* Fiber.join(fiber)
  yield* TestClock.adjust("2 minutes")
  yield* (yield* Recovery.Recovery).runOnce
  const retried = yield* payments.createPayment(request({ idempotencyKey: "names-retry", paymentMethod: card(TestCards.retryOnce) }))
  const retrying = yield* Effect.fork(Effect.either(payments.processPayment(retried.id)))
  yield* TestClock.adjust("1 second")
  yield* Fiber.join(retrying)
  yield* gateways.get("alpha")!.setAvailable(false)
  const open = yield* payments.createPayment(request({ idempotencyKey: "names-open" }))
  const opened = yield* Effect.fork(Effect.either(payments.processPayment(open.id)))
  yield* TestClock.adjust("1 second")
  yield* Fiber.join(opened)
  for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
  return yield* Prometheus.scrape
})

const layer = Recovery.layer({ stuckAfter: "1 minute" }).pipe(Layer.provideMerge(AegisPayTest.layerMemory({
  ids: "sequential",
  mockGateways: [{ id: "alpha" }, { id: "beta" }],
  service: { failoverDeclineCodes: ["card_declined"], retry: { maxRetries: 1, initialDelayMs: 10, maxDelayMs: 10, backoffMultiplier: 1 } },
  breaker: { failureThreshold: 1, resetTimeout: "1 hour" }
})))

let names: Promise<ReadonlyArray<string>> | undefined

/** Every series name of the page (histograms as `_bucket`, `_sum`, `_count`), plus {@link outsideWorkload}. */
export const exportedMetricNames = (): Promise<ReadonlyArray<string>> =>
  names ??= Effect.runPromise(workload.pipe(Effect.provide(layer), Effect.provide(TestContext.TestContext))).then((text) => [
    ...new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )/gm)].map((m) => m[1]!)),
    ...outsideNames()
  ].sort())

const keywords = new Set([
  "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
  "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "le", "inf", "nan"
])

/**
 * The metric names a PromQL expression reads: identifiers not followed by `(` (functions), not
 * inside `{…}` or `[…]` or quotes, not keywords; `$__rate_interval`-style Grafana variables are
 * left out.
 */
export const metricNamesIn = (expr: string): ReadonlyArray<string> => {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "\"\"")
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/\[[^\]]*\]/g, "[]")
    .replace(/\$\w+/g, "")
    .replace(/\boffset\s+-?\w+/gi, "")
    .replace(/(^|[^a-zA-Z0-9_:])\d[\w.]*/g, "$1")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
  const names = new Set<string>()
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    const [, name, call] = m
    if (call !== undefined || keywords.has(name!.toLowerCase())) continue
    names.add(name!)
  }
  return [...names]
}
