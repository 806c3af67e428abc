/**
 * Per-gateway call metrics over a fixed-size sliding window: success rate and latency
 * percentiles with O(1) work per recorded call and bounded memory (see `SlidingWindow`), plus
 * Effect `Metric`s (a counter tagged by gateway, operation and outcome, a latency histogram
 * tagged by gateway) for export.
 *
 * A call counts as a success when the gateway approved it; declines and errors count against it
 * (routing by success rate wants the approval rate).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Metric, MetricBoundaries } from "effect"
import * as SlidingWindow from "../resilience/SlidingWindow.js"
import { labelSets } from "./internal/MetricLabels.js"

/**
 * How a call ended.
 *
 * @since 0.1.0
 */
export type Outcome = "approved" | "declined" | "error"

/**
 * @since 0.1.0
 */
export class GatewayMetrics extends Context.Tag("aegispay/GatewayMetrics")<GatewayMetrics, {
  readonly record: (gateway: string, operation: string, outcome: Outcome, latencyMillis: number) => Effect.Effect<void>
  /** The window summary of one gateway (empty when it has no calls yet). */
  readonly get: (gateway: string) => Effect.Effect<SlidingWindow.Summary>
  /** Every gateway's summary. */
  readonly all: Effect.Effect<ReadonlyMap<string, SlidingWindow.Summary>>
}>() {}

const calls = Metric.counter("aegispay_gateway_calls_total", {
  description: "gateway calls by gateway, operation and outcome"
})
const latency = Metric.histogram(
  "aegispay_gateway_latency_ms",
  MetricBoundaries.fromIterable(SlidingWindow.latencyBuckets),
  "gateway call latency in milliseconds"
)

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Calls kept per gateway window. Default 200. */
  readonly windowSize?: number
  /**
   * Whether calls also update the exported Effect `Metric`s (counter and histogram). Default
   * true. Turning it off leaves only the windows (what routing and health read); simulations use
   * that, as a tagged `Metric` update costs far more than the window's O(1) update.
   */
  readonly exportMetrics?: boolean
}

/**
 * Metrics keeping the last `windowSize` calls per gateway (default 200).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}) =>
  Effect.sync(() => {
    const windows = new Map<string, SlidingWindow.SlidingWindow>()
    const windowOf = (gateway: string) => {
      let window = windows.get(gateway)
      if (window === undefined) windows.set(gateway, window = SlidingWindow.make(options.windowSize ?? 200))
      return window
    }
    const exportMetrics = options.exportMetrics ?? true
    // label sets built once per combination: see MetricLabels (a tagged metric's update looks its
    // registry entry up again on every call)
    const callLabels = labelSets("gateway", "operation", "outcome")
    const latencyLabels = labelSets("gateway")
    return GatewayMetrics.of({
      record: (gateway, operation, outcome, latencyMillis) =>
        Effect.sync(() => {
          SlidingWindow.record(windowOf(gateway), outcome === "approved", latencyMillis)
          if (exportMetrics) {
            calls.unsafeUpdate(1, callLabels(gateway, operation, outcome))
            latency.unsafeUpdate(latencyMillis, latencyLabels(gateway))
          }
        }),
      get: (gateway) => Effect.sync(() => SlidingWindow.summary(windowOf(gateway))),
      all: Effect.sync(() => new Map([...windows].map(([id, w]) => [id, SlidingWindow.summary(w)])))
    })
  })

/**
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<GatewayMetrics> =>
  Layer.effect(GatewayMetrics, make(options))
