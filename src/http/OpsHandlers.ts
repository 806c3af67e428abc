/**
 * `/health` (liveness), `/ready` (readiness) and `/metrics` (Prometheus text). No API key.
 *
 * Guarantees:
 * - `/health` answers 200 as long as the process serves requests; it touches nothing.
 * - `/ready` answers 200 only when every readiness check passes (by default: the payment storage
 *   answers a read), else 503 naming the failed checks; a check never takes longer than 2 s.
 * - `/metrics` renders every Effect metric of the process in Prometheus text format 0.0.4.
 *
 * @since 0.2.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { Context, Duration, Effect, Layer, Metric, MetricState } from "effect"
import { PaymentService } from "../orchestration/PaymentService.js"
import * as Tenant from "../domain/Tenant.js"
import { AegisPayApi } from "./AegisPayApi.js"
import { Unavailable } from "./ApiError.js"

/**
 * One readiness check: fails (with a short reason) when the process should not get traffic.
 *
 * @since 0.2.0
 */
export interface ReadinessCheck {
  readonly name: string
  readonly check: Effect.Effect<void, string>
}

/**
 * The readiness checks of `/ready`.
 *
 * @since 0.2.0
 */
export class Readiness extends Context.Tag("aegispay/http/Readiness")<Readiness, ReadonlyArray<ReadinessCheck>>() {}

/**
 * The default check: the payment storage answers a read (a lookup of a payment that cannot
 * exist, under a tenant that cannot exist).
 *
 * @since 0.2.0
 */
export const storageCheck: Effect.Effect<ReadinessCheck, never, PaymentService> = Effect.map(PaymentService, (payments) => ({
  name: "storage",
  check: payments.getPayment("pay_readiness_probe").pipe(
    Tenant.with("__readiness"),
    Effect.catchTags({
      PaymentNotFound: () => Effect.void,
      StorageError: () => Effect.fail("storage unreachable")
    }),
    Effect.asVoid
  )
}))

/**
 * Readiness from `checks` plus the storage check.
 *
 * @since 0.2.0
 */
export const layerReadiness = (checks: ReadonlyArray<ReadinessCheck> = []): Layer.Layer<Readiness, never, PaymentService> =>
  Layer.effect(Readiness, Effect.map(storageCheck, (storage) => [storage, ...checks]))

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")
const metricName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_")

/**
 * Every Effect metric of the process in Prometheus text format (counters, gauges, histograms
 * with their buckets, frequencies as counters per key).
 *
 * @since 0.2.0
 */
export const renderPrometheus: Effect.Effect<string> = Effect.map(Metric.snapshot, (pairs) => {
  const lines: Array<string> = []
  const typed = new Set<string>()
  const labels = (tags: ReadonlyArray<{ readonly key: string; readonly value: string }>, extra: ReadonlyArray<readonly [string, string]> = []) => {
    const all = [...tags.map((t) => [t.key, t.value] as const), ...extra]
    return all.length === 0 ? "" : `{${all.map(([k, v]) => `${metricName(k)}="${escapeLabel(v)}"`).join(",")}}`
  }
  const type = (name: string, kind: string) => {
    if (!typed.has(name)) {
      typed.add(name)
      lines.push(`# TYPE ${name} ${kind}`)
    }
  }
  for (const pair of pairs) {
    const name = metricName(pair.metricKey.name)
    const tags = pair.metricKey.tags
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      type(name, "counter")
      lines.push(`${name}${labels(tags)} ${Number(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      type(name, "gauge")
      lines.push(`${name}${labels(tags)} ${Number(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      type(name, "histogram")
      for (const [bound, count] of state.buckets) {
        lines.push(`${name}_bucket${labels(tags, [["le", Number.isFinite(bound) ? String(bound) : "+Inf"]])} ${count}`)
      }
      lines.push(`${name}_sum${labels(tags)} ${state.sum}`)
      lines.push(`${name}_count${labels(tags)} ${state.count}`)
    } else if (MetricState.isFrequencyState(state)) {
      type(name, "counter")
      for (const [key, count] of state.occurrences) lines.push(`${name}${labels(tags, [["key", key]])} ${count}`)
    }
  }
  return lines.join("\n") + "\n"
})

/**
 * How `/metrics` renders; default {@link renderPrometheus}.
 *
 * @since 0.2.0
 */
export class MetricsRenderer extends Context.Reference<MetricsRenderer>()("aegispay/http/MetricsRenderer", {
  defaultValue: (): Effect.Effect<string> => renderPrometheus
}) {}

/**
 * @since 0.2.0
 */
export const layerOps = HttpApiBuilder.group(AegisPayApi, "ops", (handlers) =>
  handlers
    .handle("health", () => Effect.succeed({ status: "ok" as const }))
    .handle("ready", () =>
      Effect.gen(function*() {
        const checks = yield* Readiness
        const results = yield* Effect.forEach(checks, (c) =>
          c.check.pipe(
            Effect.timeoutFail({ duration: Duration.seconds(2), onTimeout: () => "timed out" }),
            Effect.match({ onFailure: (reason) => [c.name, reason] as const, onSuccess: () => [c.name, "ok"] as const })
          ), { concurrency: "unbounded" })
        const failed = results.filter(([, r]) => r !== "ok")
        if (failed.length > 0) {
          return yield* Effect.fail(
            new Unavailable({ code: "not_ready", message: failed.map(([n, r]) => `${n}: ${r}`).join("; ") })
          )
        }
        return { status: "ok" as const, checks: Object.fromEntries(results) }
      }))
    .handle("metrics", () => Effect.flatten(MetricsRenderer)))

