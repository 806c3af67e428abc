/**
 * `/health` (liveness), `/ready` (readiness) and `/metrics` (Prometheus text). No API key.
 *
 * Guarantees:
 * - `/health` answers 200 as long as the process serves requests; it touches nothing.
 * - `/ready` answers 200 only when every component is ready: the payment storage (the database)
 *   answers a read, the API-key store answers, the outbox's oldest undelivered event is not older
 *   than the limit (SQL compositions), every background worker of this process (outbox relay,
 *   recovery, retention, …) is running, not failing and not stale (a success within a few of its
 *   intervals), and every extra check passes;
 *   else 503 `not_ready`. Both bodies carry `checks`, each component's `"ok"` or why it failed. A
 *   check that takes longer than the timeout (default 2 s) fails as `timed out`; checks run at
 *   once, so `/ready` answers within about the timeout.
 * - `/metrics` renders every Effect metric of the process in Prometheus text format 0.0.4.
 *
 * @since 0.2.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { Clock, Config, type ConfigError, Context, Duration, Effect, Layer, Metric, MetricState, Option } from "effect"
import { OutboxBacklog } from "../observability/OutboxBacklog.js"
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
  /**
   * The oldest undelivered outbox message may be at most this old (check `outbox`, where the
   * composition has an outbox: the SQL ones); `false` or zero: no check. Default: the config
   * `AEGISPAY_READY_MAX_OUTBOX_LAG`, else 60 seconds.
   */
  readonly maxOutboxLag?: Duration.DurationInput | false | undefined
  /**
   * A worker that runs in iterations is stale, and fails readiness, when its last successful
   * iteration (or its start) is older than this many of its intervals, and at least
   * `workerMinStale`. Default: the config `AEGISPAY_READY_WORKER_STALE_FACTOR`, else 5.
   */
  readonly workerStaleFactor?: number | undefined
  /** The least time without a success that makes a worker stale; default 30 seconds. */
  readonly workerMinStale?: Duration.DurationInput | undefined
}

/**
 * The readiness settings read from `Config` when {@link ReadinessOptions} leaves them out:
 * `AEGISPAY_READY_MAX_OUTBOX_LAG` (a duration, e.g. `60 seconds`; `0 seconds` turns the check off)
 * and `AEGISPAY_READY_WORKER_STALE_FACTOR` (a number ≥ 1).
 *
 * @since 0.2.0
 */
export const readinessConfig = Config.all({
  maxOutboxLag: Config.duration("AEGISPAY_READY_MAX_OUTBOX_LAG").pipe(Config.withDefault(Duration.seconds(60))),
  workerStaleFactor: Config.number("AEGISPAY_READY_WORKER_STALE_FACTOR").pipe(
    Config.validate({ message: "a number of intervals, at least 1", validation: (n) => n >= 1 }),
    Config.withDefault(5)
  )
})

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

const seconds = (millis: number) => `${Math.round(millis / 1000)} s`

const workerResult = (status: Workers.WorkerStatus, now: number, factor: number, minStale: number): string => {
  if (status.state === "stopped") return "stopped"
  if (status.state === "failing") return `failing (${status.consecutiveFailures} consecutive failures)`
  if (status.intervalMillis === undefined) return "ok"
  const limit = Math.max(factor * status.intervalMillis, minStale)
  const since = now - (status.lastSuccessAt ?? status.startedAt)
  return since > limit ? `stale (no successful iteration for ${seconds(since)}, limit ${seconds(limit)})` : "ok"
}

/**
 * Readiness with the built-in components and `options.checks`:
 * - `storage` ({@link storageCheck});
 * - `apiKeys`: the API-key store answers (`Auth.Authenticator`'s `ready`, when it has one);
 * - `outbox` (SQL compositions, `OutboxBacklog`): the oldest undelivered outbox message is at
 *   most `maxOutboxLag` old (default 60 s), else `lagging (oldest undelivered event N s old, limit
 *   M s)`: events are not reaching the relay's subscribers nor, on the same relay's database, on
 *   time. It reads the shared outbox, so it also fails on a process that runs no relay.
 * - `worker:<name>` for every background worker of this process registered in `Workers` (outbox
 *   relay, recovery, retention, …): `stopped`, `failing (n consecutive failures)`, or `stale (…)`
 *   when a worker that runs in iterations has not succeeded for `workerStaleFactor` (default 5)
 *   times its interval, and at least `workerMinStale` (30 s): a loop stuck in an iteration.
 *
 * Time is Effect's `Clock` (`TestClock` drives it in tests). Settings absent from `options` come
 * from {@link readinessConfig}; an invalid value fails the layer with a `ConfigError`.
 *
 * @since 0.2.0
 */
export const layerReadiness = (
  options: ReadinessOptions = {}
): Layer.Layer<Readiness, ConfigError.ConfigError, PaymentService> =>
  Layer.effect(
    Readiness,
    Effect.gen(function*() {
      const configured = yield* readinessConfig
      const maxLag = options.maxOutboxLag === false
        ? 0
        : Duration.toMillis(options.maxOutboxLag === undefined ? configured.maxOutboxLag : Duration.decode(options.maxOutboxLag))
      const factor = Math.max(1, options.workerStaleFactor ?? configured.workerStaleFactor)
      const minStale = Duration.toMillis(Duration.decode(options.workerMinStale ?? "30 seconds"))
      const backlog = yield* Effect.serviceOption(OutboxBacklog)
      const outbox: ReadonlyArray<ReadinessCheck> = Option.isNone(backlog) || maxLag <= 0 ? [] : [{
        name: "outbox",
        check: Effect.gen(function*() {
          const oldest = yield* backlog.value.oldestPendingAt.pipe(Effect.mapError(() => "outbox unreadable"))
          if (Option.isNone(oldest)) return
          const age = (yield* Clock.currentTimeMillis) - oldest.value
          if (age > maxLag) return yield* Effect.fail(`lagging (oldest undelivered event ${seconds(age)} old, limit ${seconds(maxLag)})`)
        })
      }]
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
        ...outbox,
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
          onSome: (w) =>
            Effect.zipWith(w.statuses, Clock.currentTimeMillis, (all, now) =>
              all.map((status) => [`worker:${status.name}`, workerResult(status, now, factor, minStale)] as const))
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

