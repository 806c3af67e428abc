/**
 * `/health` (liveness), `/ready` (readiness) and `/metrics` (Prometheus text). No API key.
 *
 * Guarantees:
 * - `/health` answers 200 as long as the process serves requests; it touches nothing.
 * - `/ready` answers 200 only when every component is ready: the payment storage (the database)
 *   answers a read, the API-key store answers, every background worker of this process (outbox
 *   relay, recovery, retention, …) is running and not failing, and every extra check passes;
 *   else 503 `not_ready`. Both bodies carry `checks`, each component's `"ok"` or why it failed. A
 *   check that takes longer than the timeout (default 2 s) fails as `timed out`; checks run at
 *   once, so `/ready` answers within about the timeout.
 * - `/metrics` renders every Effect metric of the process in Prometheus text format 0.0.4.
 *
 * @since 0.2.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { Context, Duration, Effect, Layer, Metric, MetricState, Option } from "effect"
import { PaymentService } from "../orchestration/PaymentService.js"
import * as Tenant from "../domain/Tenant.js"
import * as Prometheus from "../observability/Prometheus.js"
import * as Workers from "../observability/Workers.js"
import { AegisPayApi } from "./AegisPayApi.js"
import { Unavailable } from "./ApiError.js"
import { Authenticator } from "./Auth.js"

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
 * The readiness of `/ready`: runs every check (each bounded by the timeout, all at once) and
 * reads the workers' statuses; answers each component's result, `"ok"` or why it failed.
 *
 * @since 0.2.0
 */
export class Readiness extends Context.Tag("aegispay/http/Readiness")<Readiness, {
  readonly run: Effect.Effect<ReadonlyArray<readonly [component: string, result: string]>>
}>() {}

/**
 * Options of {@link layerReadiness}.
 *
 * @since 0.2.0
 */
export interface ReadinessOptions {
  /** Checks besides the built-in ones. */
  readonly checks?: ReadonlyArray<ReadinessCheck> | undefined
  /** The longest a check may take before it counts as failed ("timed out"); default 2 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * The check `storage`: the payment storage (the database, in a SQL composition) answers a read
 * (a lookup of a payment that cannot exist, under a tenant that cannot exist).
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

const workerResult = (status: Workers.WorkerStatus): string =>
  status.state === "running"
    ? "ok"
    : status.state === "stopped"
    ? "stopped"
    : `failing (${status.consecutiveFailures} consecutive failures)`

/**
 * Readiness with the built-in components and `options.checks`:
 * - `storage` ({@link storageCheck});
 * - `apiKeys`: the API-key store answers (`Auth.Authenticator`'s `ready`, when it has one);
 * - `worker:<name>` for every background worker of this process registered in `Workers` (outbox
 *   relay, recovery, retention, …): `stopped` or `failing (n consecutive failures)` fail it.
 *
 * @since 0.2.0
 */
export const layerReadiness = (
  options: ReadinessOptions = {}
): Layer.Layer<Readiness, never, PaymentService> =>
  Layer.effect(
    Readiness,
    Effect.gen(function*() {
      const storage = yield* storageCheck
      const authenticator = yield* Effect.serviceOption(Authenticator)
      const workers = yield* Effect.serviceOption(Workers.Workers)
      const ready = Option.flatMap(authenticator, (a) => Option.fromNullable(a.ready))
      const checks: ReadonlyArray<ReadinessCheck> = [
        storage,
        ...Option.match(ready, {
          onNone: () => [],
          onSome: (check) => [{ name: "apiKeys", check: Effect.mapError(check, () => "API key store unreachable") }]
        }),
        ...(options.checks ?? [])
      ]
      const timeout = Duration.decode(options.timeout ?? "2 seconds")
      const run = Effect.all([
        Effect.forEach(checks, (c) =>
          c.check.pipe(
            Effect.timeoutFail({ duration: timeout, onTimeout: () => "timed out" }),
            Effect.match({ onFailure: (reason) => [c.name, reason] as const, onSuccess: () => [c.name, "ok"] as const })
          ), { concurrency: "unbounded" }),
        Option.match(workers, {
          onNone: () => Effect.succeed([]),
          onSome: (w) => Effect.map(w.statuses, (all) => all.map((status) => [`worker:${status.name}`, workerResult(status)] as const))
        })
      ]).pipe(Effect.map(([results, statuses]) => [...results, ...statuses]))
      return { run }
    })
  )

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
 * How `/metrics` renders; default `Prometheus.scrape` (the observability module's renderer).
 *
 * @since 0.2.0
 */
export class MetricsRenderer extends Context.Reference<MetricsRenderer>()("aegispay/http/MetricsRenderer", {
  defaultValue: (): Effect.Effect<string> => Prometheus.scrape
}) {}

/**
 * @since 0.2.0
 */
export const layerOps = HttpApiBuilder.group(AegisPayApi, "ops", (handlers) =>
  handlers
    .handle("health", () => Effect.succeed({ status: "ok" as const }))
    .handle("ready", () =>
      Effect.gen(function*() {
        const results = yield* Effect.flatMap(Readiness, (readiness) => readiness.run)
        const checks = Object.fromEntries(results)
        const failed = results.filter(([, r]) => r !== "ok")
        if (failed.length > 0) {
          return yield* Effect.fail(
            new Unavailable({ code: "not_ready", message: failed.map(([n, r]) => `${n}: ${r}`).join("; "), checks })
          )
        }
        return { status: "ok" as const, checks }
      }))
    .handle("metrics", () => Effect.flatten(MetricsRenderer)))

