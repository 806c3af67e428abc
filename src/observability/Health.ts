/**
 * Gateway health: a score from 0 to 1 per gateway from its recent approval rate, its p95 latency
 * and its circuit state, and the summaries behind it.
 *
 * score = approval rate × 1 / (1 + p95 / 1 s) × (1 when CLOSED, 0.5 when HALF_OPEN, 0 when OPEN).
 * A gateway without calls yet scores by its circuit alone.
 *
 * `getMetrics` is a plain snapshot of every AegisPay Effect metric (`aegispay_*`), for logs and
 * dashboards without a metrics exporter.
 *
 * @since 0.1.0
 */
import { Effect, Metric, MetricState } from "effect"
import { GatewayRegistry } from "../gateway/GatewayRegistry.js"
import { CircuitBreakers, type State } from "../resilience/CircuitBreaker.js"
import type { Summary } from "../resilience/SlidingWindow.js"
import { GatewayMetrics } from "./GatewayMetrics.js"

/**
 * One gateway's health.
 *
 * @since 0.1.0
 */
export interface GatewayHealth extends Summary {
  readonly gateway: string
  readonly circuit: State
  readonly score: number
}

/**
 * The score of a summary and circuit state.
 *
 * @since 0.1.0
 */
export const score = (summary: Summary, circuit: State): number => {
  const circuitFactor = circuit === "CLOSED" ? 1 : circuit === "HALF_OPEN" ? 0.5 : 0
  const latencyFactor = summary.p95 === undefined ? 1 : 1 / (1 + summary.p95 / 1000)
  return (summary.successRate ?? 1) * latencyFactor * circuitFactor
}

/**
 * The health of one gateway.
 *
 * @since 0.1.0
 */
export const getGatewayMetrics = (gateway: string) =>
  Effect.gen(function*() {
    const summary = yield* (yield* GatewayMetrics).get(gateway)
    const circuit = yield* (yield* (yield* CircuitBreakers).get(gateway)).state
    return { gateway, circuit, ...summary, score: score(summary, circuit) } satisfies GatewayHealth
  })

/**
 * The health of every registered gateway, in registration order.
 *
 * @since 0.1.0
 */
export const getHealthSummary = Effect.gen(function*() {
  const gateways = yield* (yield* GatewayRegistry).all
  return yield* Effect.forEach(gateways, (g) => getGatewayMetrics(g.id))
})

/**
 * A snapshot of AegisPay's Effect metrics: counters and histograms by `name{tag=value,…}` (tags
 * sorted by key).
 *
 * @since 0.1.0
 */
export interface MetricsSnapshot {
  readonly counters: Readonly<Record<string, number>>
  readonly histograms: Readonly<Record<string, { readonly count: number; readonly sum: number; readonly min: number; readonly max: number }>>
}

/**
 * Every AegisPay metric (`aegispay_*`) now: gateway calls by gateway, operation and outcome,
 * gateway latency by gateway, processed payments by final state.
 *
 * @since 0.1.0
 */
export const getMetrics: Effect.Effect<MetricsSnapshot> = Effect.map(Metric.snapshot, (pairs) => {
  const counters: Record<string, number> = {}
  const histograms: Record<string, { count: number; sum: number; min: number; max: number }> = {}
  for (const pair of pairs) {
    if (!pair.metricKey.name.startsWith("aegispay_")) continue
    const tags = [...pair.metricKey.tags].sort((a, b) => a.key.localeCompare(b.key))
    const name = tags.length === 0
      ? pair.metricKey.name
      : `${pair.metricKey.name}{${tags.map((t) => `${t.key}=${t.value}`).join(",")}}`
    const state = pair.metricState
    if (MetricState.isCounterState(state)) counters[name] = Number(state.count)
    else if (MetricState.isHistogramState(state)) {
      histograms[name] = { count: state.count, sum: state.sum, min: state.min, max: state.max }
    }
  }
  return { counters, histograms }
})
