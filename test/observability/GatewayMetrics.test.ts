/**
 * Gateway metrics: the sliding window summary and the exported Effect metrics.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Metric, MetricState } from "effect"
import { GatewayMetrics, Health, PaymentService } from "aegispay"
import { AegisPayTest } from "aegispay/testing"
import { request } from "../helpers.js"

const exported = (name: string, tags: Record<string, string>) =>
  Effect.map(Metric.snapshot, (pairs) =>
    pairs.filter((p) =>
      p.metricKey.name === name &&
      Object.entries(tags).every(([k, v]) => p.metricKey.tags.some((t) => t.key === k && t.value === v)) &&
      p.metricKey.tags.length === Object.keys(tags).length
    ).map((p) => p.metricState))

it.effect("records every call in the window and in the exported counter and histogram, tagged", () =>
  Effect.gen(function*() {
    const metrics = yield* GatewayMetrics.make()
    for (const [outcome, latency] of [["approved", 10], ["approved", 30], ["declined", 20], ["error", 40]] as const) {
      yield* metrics.record("gm-test", "process", outcome, latency)
    }
    const summary = yield* metrics.get("gm-test")
    expect(summary.requests).toBe(4)
    expect(summary.successRate).toBe(0.5)
    const approved = yield* exported("aegispay_gateway_calls_total", { gateway: "gm-test", operation: "process", outcome: "approved" })
    const errors = yield* exported("aegispay_gateway_calls_total", { gateway: "gm-test", operation: "process", outcome: "error" })
    expect(approved.map((s) => MetricState.isCounterState(s) ? Number(s.count) : NaN)).toEqual([2])
    expect(errors.map((s) => MetricState.isCounterState(s) ? Number(s.count) : NaN)).toEqual([1])
    const latency = yield* exported("aegispay_gateway_latency_ms", { gateway: "gm-test" })
    expect(latency.map((s) => MetricState.isHistogramState(s) ? [s.count, s.sum] : [])).toEqual([[4, 100]])
  }))

it.effect("exportMetrics: false keeps only the window", () =>
  Effect.gen(function*() {
    const metrics = yield* GatewayMetrics.make({ exportMetrics: false })
    yield* metrics.record("gm-quiet", "process", "approved", 5)
    expect((yield* metrics.get("gm-quiet")).requests).toBe(1)
    expect(yield* exported("aegispay_gateway_latency_ms", { gateway: "gm-quiet" })).toEqual([])
  }))

it.effect("Health.getMetrics: a snapshot of the AegisPay metrics after processing, by name and sorted tags", () =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const before = yield* Health.getMetrics
    const p = yield* payments.createPayment(request({ idempotencyKey: "metrics-1" }))
    yield* payments.processPayment(p.id)
    const after = yield* Health.getMetrics
    const delta = (name: string) => (after.counters[name] ?? 0) - (before.counters[name] ?? 0)
    expect(delta("aegispay_payments_processed_total{state=SUCCESS}")).toBe(1)
    expect(delta("aegispay_gateway_calls_total{gateway=mock,operation=process,outcome=approved}")).toBe(1)
    expect(after.histograms["aegispay_gateway_latency_ms{gateway=mock}"]!.count).toBeGreaterThanOrEqual(2)
    expect(Object.keys(after.counters).every((k) => k.startsWith("aegispay_"))).toBe(true)
  }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))))
