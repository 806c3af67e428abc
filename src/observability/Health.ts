/**
 * Gateway health: a score from 0 to 1 per gateway from its recent approval rate, its p95 latency
 * and its circuit state, and the summaries behind it.
 *
 * score = approval rate × 1 / (1 + p95 / 1 s) × (1 when CLOSED, 0.5 when HALF_OPEN, 0 when OPEN).
 * A gateway without calls yet scores by its circuit alone.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
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
