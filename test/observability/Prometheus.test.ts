/**
 * The Prometheus text format of Effect's metrics: exact text for a known set of metrics, label
 * escaping, histogram buckets; the `/metrics` handler with AegisPay's own metrics; OTLP export to a
 * loopback collector; JSON logs masked.
 */
import { describe, expect, it } from "@effect/vitest"
import { HttpApp } from "@effect/platform"
import { Effect, FiberRef, HashSet, Layer, Logger, Metric, MetricBoundaries, Redacted } from "effect"
import { AegisPayMetrics, Logging, PaymentService, Prometheus } from "aegispay"
import { Otel } from "aegispay/otel"
import { AegisPayTest, TestCards } from "aegispay/testing"
import { card, request } from "../helpers.js"
import * as Receiver from "../events/WebhookReceiver.js"

const only = (prefix: string) => Effect.map(Metric.snapshot, (pairs) => Prometheus.render(pairs, { include: (name) => name.startsWith(prefix) }))

describe("Prometheus", () => {
  it.effect("exact text: counters, gauges and histograms, grouped and sorted, labels escaped", () =>
    Effect.gen(function*() {
      const requests = Metric.counter("t1_requests_total", { description: "requests\nby route \\ method" })
      yield* Metric.increment(Metric.tagged(Metric.tagged(requests, "route", "/b"), "method", "GET"))
      yield* Metric.incrementBy(Metric.tagged(Metric.tagged(requests, "route", "/a \"quoted\"\nline\\x"), "method", "POST"), 3)
      yield* Metric.set(Metric.gauge("t1_temperature", { description: "a gauge" }), -1.5)
      const latency = Metric.histogram("t1_latency_ms", MetricBoundaries.fromIterable([10, 100]), "latency").pipe(
        Metric.tagged("gateway", "mock")
      )
      for (const value of [5, 10, 50, 1000]) yield* Metric.update(latency, value)
      yield* Metric.increment(Metric.tagged(Metric.counter("t1-odd.name", { bigint: true }), "0bad-label", "v"))
      expect(yield* only("t1")).toBe([
        "# HELP t1_latency_ms latency",
        "# TYPE t1_latency_ms histogram",
        "t1_latency_ms_bucket{gateway=\"mock\",le=\"10\"} 2",
        "t1_latency_ms_bucket{gateway=\"mock\",le=\"100\"} 3",
        "t1_latency_ms_bucket{gateway=\"mock\",le=\"+Inf\"} 4",
        "t1_latency_ms_sum{gateway=\"mock\"} 1065",
        "t1_latency_ms_count{gateway=\"mock\"} 4",
        "# HELP t1_odd_name t1-odd.name",
        "# TYPE t1_odd_name counter",
        "t1_odd_name{_0bad_label=\"v\"} 1",
        "# HELP t1_requests_total requests\\nby route \\\\ method",
        "# TYPE t1_requests_total counter",
        "t1_requests_total{method=\"GET\",route=\"/b\"} 1",
        "t1_requests_total{method=\"POST\",route=\"/a \\\"quoted\\\"\\nline\\\\x\"} 3",
        "# HELP t1_temperature a gauge",
        "# TYPE t1_temperature gauge",
        "t1_temperature -1.5",
        ""
      ].join("\n"))
    }))

  it.effect("an empty histogram still has its +Inf bucket; summaries and frequencies", () =>
    Effect.gen(function*() {
      yield* Metric.update(Metric.histogram("t2_empty", MetricBoundaries.fromIterable([1]), "empty"), 0).pipe(Effect.when(() => false))
      const freq = Metric.frequency("t2_outcomes", { description: "outcomes" })
      yield* Metric.update(freq, "ok")
      yield* Metric.update(freq, "ok")
      yield* Metric.update(freq, "err")
      expect(yield* only("t2_outcomes")).toBe([
        "# HELP t2_outcomes outcomes",
        "# TYPE t2_outcomes counter",
        "t2_outcomes{key=\"err\"} 1",
        "t2_outcomes{key=\"ok\"} 2",
        ""
      ].join("\n"))
      expect(Prometheus.formatValue(Number.POSITIVE_INFINITY)).toBe("+Inf")
      expect(Prometheus.formatValue(Number.NaN)).toBe("NaN")
      expect(Prometheus.formatValue(12345678901234567890n)).toBe("12345678901234567890")
      expect(Prometheus.escapeLabelValue("a\\b\"c\nd")).toBe("a\\\\b\\\"c\\nd")
    }))

  it.scoped("/metrics: payments by state (ACTION_REQUIRED included), gateway calls, circuits, served as text format 0.0.4", () =>
    Effect.gen(function*() {
      const ctx = yield* Layer.build(AegisPayTest.layerMemory({ ids: "sequential" }))
      yield* Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        for (const [i, number] of [TestCards.success, TestCards.declined, TestCards.actionRedirect].entries()) {
          const p = yield* payments.createPayment(request({ idempotencyKey: `prom-${i}`, paymentMethod: card(number) }))
          yield* payments.processPayment(p.id)
        }
      }).pipe(Effect.provide(ctx))
      // the metrics layer counts from the EventBus in its own fiber: let it catch up
      for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
      const handler = HttpApp.toWebHandler(Prometheus.httpApp.pipe(Effect.provide(ctx)))
      const response = yield* Effect.promise(() => handler(new Request("http://localhost/metrics")))
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
      const text = yield* Effect.promise(() => response.text())
      expect(text).toMatch(/^# TYPE aegispay_payment_transitions_total counter$/m)
      expect(text).toMatch(/^aegispay_payment_transitions_total\{state="SUCCESS"\} [1-9]\d*$/m)
      expect(text).toMatch(/^aegispay_payment_transitions_total\{state="FAILURE"\} [1-9]\d*$/m)
      expect(text).toMatch(/^aegispay_payment_transitions_total\{state="ACTION_REQUIRED"\} [1-9]\d*$/m)
      expect(text).toMatch(/^aegispay_gateway_calls_total\{gateway="mock",operation="process",outcome="approved"\} [1-9]\d*$/m)
      expect(text).toMatch(/^aegispay_gateway_latency_ms_bucket\{gateway="mock",le="\+Inf"\} [1-9]\d*$/m)
      expect(text).toMatch(/^aegispay_circuit_state\{gateway="mock"\} 0$/m)
      expect(text).toMatch(/^# TYPE aegispay_outbox_lag_ms histogram$/m)
      expect(text).not.toContain(TestCards.success)
      const metrics = text.split("\n").filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2])
      expect(new Set(metrics).size).toBe(metrics.length)
      void AegisPayMetrics
    }))
})

describe("Otel", () => {
  it.scoped("exports spans and metrics to an OTLP/HTTP collector on loopback; nothing without an endpoint", () =>
    Effect.gen(function*() {
      const collector = yield* Receiver.start()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Metric.increment(Metric.counter("t3_otel_total"))
        yield* Effect.void.pipe(Effect.withSpan("t3.span"))
      }).pipe(Effect.provide(Otel.layer({ endpoint: collector.url("/"), serviceName: "aegis-test", headers: Redacted.make({ "x-key": "k" }) }))))
      const paths = (yield* collector.received).map((r) => r.path)
      expect(paths).toContain("/v1/traces")
      expect(paths).toContain("/v1/metrics")
      const traces = (yield* collector.received).find((r) => r.path === "/v1/traces")!
      expect(traces.body).toContain("t3.span")
      expect(traces.body).toContain("aegis-test")
      expect(traces.headers["x-key"]).toBe("k")
      // no endpoint configured: an empty layer
      yield* Effect.scoped(Layer.build(Otel.layerConfig))
    }), 30_000)
})

describe("Logging", () => {
  it.effect("JSON lines with request id, tenant and payment id; card numbers and secrets never shown", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.map(Logging.jsonLine, (line) => void lines.push(line))
      yield* Effect.logInfo(`card ${TestCards.success} declined`).pipe(
        Effect.annotateLogs({ secret: Redacted.make("whsec_abc"), note: `pan=${TestCards.success}` }),
        Logging.annotate({ requestId: "req_1", tenantId: "acme", paymentId: "pay_1" }),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      expect(lines.length).toBe(1)
      const line = JSON.parse(lines[0]!) as Record<string, unknown>
      expect(line.message).toBe("card <redacted> declined")
      expect(line.annotations).toMatchObject({ requestId: "req_1", tenantId: "acme", paymentId: "pay_1", note: "pan=<redacted>" })
      expect(lines[0]).not.toContain("whsec_abc")
      expect(lines[0]).not.toContain(TestCards.success)
    }))

  it.effect("a composition keeps the logger the program chose (outermost), instead of adding its masking default", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.map(Logging.jsonLine, (line) => void lines.push(line))
      const chosen = Logger.replace(Logger.defaultLogger, capture)
      const before = yield* FiberRef.get(FiberRef.currentLoggers).pipe(Effect.provide(chosen))
      const loggers = yield* FiberRef.get(FiberRef.currentLoggers).pipe(
        Effect.tap(() => Effect.logInfo("inside")),
        Effect.provide(AegisPayTest.layerMemory()),
        Effect.provide(chosen)
      )
      expect(HashSet.has(loggers, capture)).toBe(true)
      expect(HashSet.size(loggers)).toBe(HashSet.size(before))
      expect(lines.length).toBe(1)
      // without a chosen logger, the composition masks the default one
      const masked = yield* FiberRef.get(FiberRef.currentLoggers).pipe(
        Effect.provide(AegisPayTest.layerMemory()),
        Effect.provide(Logger.replace(Logger.defaultLogger, Logger.defaultLogger))
      )
      expect(HashSet.has(masked, Logger.defaultLogger)).toBe(false)
    }))
})
