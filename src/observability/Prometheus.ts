/**
 * Effect's metrics in the Prometheus text exposition format 0.0.4, and an `HttpApp` serving them
 * (mount it at `/metrics`).
 *
 * - Every metric of `Metric.snapshot` (or the pairs given): counters as `counter`, gauges as
 *   `gauge`, histograms as `histogram` (`_bucket{le="…"}` cumulative, always ending with
 *   `le="+Inf"` equal to `_count`, then `_sum` and `_count`), summaries as `summary`
 *   (`{quantile="…"}`, `_sum`, `_count`), frequencies as a `counter` per occurrence (label `key`).
 * - One `# HELP` (the metric's description, else its name) and one `# TYPE` per name; series of a
 *   name together, names and series sorted, so equal metrics give byte-equal text.
 * - Names and label names are made valid (`[a-zA-Z_:][a-zA-Z0-9_:]*`, other characters become
 *   `_`); label values escape `\`, `"` and newlines; HELP text escapes `\` and newlines. A second
 *   metric kind under an already used name is left out (Prometheus would refuse the whole page).
 *
 * @since 0.2.0
 */
import type { HttpApp } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import { Effect, Metric, MetricState, Option } from "effect"
import type { MetricPair } from "effect"
import * as AegisPayMetrics from "./AegisPayMetrics.js"

/**
 * The content type of the text format 0.0.4.
 *
 * @since 0.2.0
 */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

/**
 * A valid metric name for `name`.
 *
 * @since 0.2.0
 */
export const metricName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}

/**
 * A valid label name for `name` (no `:`).
 *
 * @since 0.2.0
 */
export const labelName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`
}

/**
 * A label value escaped for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
 *
 * @since 0.2.0
 */
export const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/**
 * A sample value: `+Inf`, `-Inf`, `NaN`, or the number (bigints exactly).
 *
 * @since 0.2.0
 */
export const formatValue = (value: number | bigint): string =>
  typeof value === "bigint"
    ? value.toString()
    : Number.isNaN(value)
    ? "NaN"
    : value === Number.POSITIVE_INFINITY
    ? "+Inf"
    : value === Number.NEGATIVE_INFINITY
    ? "-Inf"
    : String(value)

type Labels = ReadonlyArray<readonly [string, string]>

const formatLabels = (labels: Labels): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`

type Kind = "counter" | "gauge" | "histogram" | "summary"

interface Family {
  readonly kind: Kind
  readonly help: string
  readonly series: Array<{ readonly key: string; readonly lines: ReadonlyArray<string> }>
}

const linesOf = (name: string, labels: Labels, state: MetricState.MetricState.Untyped): { kind: Kind; lines: Array<string> } | undefined => {
  const line = (suffix: string, extra: Labels, value: number | bigint) => `${name}${suffix}${formatLabels([...labels, ...extra])} ${formatValue(value)}`
  if (MetricState.isCounterState(state)) return { kind: "counter", lines: [line("", [], state.count)] }
  if (MetricState.isGaugeState(state)) return { kind: "gauge", lines: [line("", [], state.value)] }
  if (MetricState.isHistogramState(state)) {
    const lines = state.buckets
      .filter(([bound]) => bound !== Number.POSITIVE_INFINITY)
      .map(([bound, count]) => line("_bucket", [["le", formatValue(bound)]], count))
    lines.push(line("_bucket", [["le", "+Inf"]], state.count), line("_sum", [], state.sum), line("_count", [], state.count))
    return { kind: "histogram", lines }
  }
  if (MetricState.isSummaryState(state)) {
    const lines = state.quantiles.flatMap(([quantile, value]) =>
      Option.isSome(value) ? [line("", [["quantile", formatValue(quantile)]], value.value)] : []
    )
    lines.push(line("_sum", [], state.sum), line("_count", [], state.count))
    return { kind: "summary", lines }
  }
  if (MetricState.isFrequencyState(state)) {
    const lines = [...state.occurrences].sort(([a], [b]) => a.localeCompare(b)).map(([key, count]) => line("", [["key", key]], count))
    return { kind: "counter", lines }
  }
  return undefined
}

/**
 * The text format of `pairs` (e.g. `Metric.snapshot`'s), keeping only metrics whose name passes
 * `include` (default: all).
 *
 * @since 0.2.0
 */
export const render = (
  pairs: Iterable<MetricPair.MetricPair.Untyped>,
  options: { readonly include?: ((name: string) => boolean) | undefined } = {}
): string => {
  const families = new Map<string, Family>()
  for (const pair of pairs) {
    const key = pair.metricKey
    if (options.include !== undefined && !options.include(key.name)) continue
    const name = metricName(key.name)
    const labels: Labels = [...key.tags]
      .map((tag) => [labelName(tag.key), tag.value] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    const rendered = linesOf(name, labels, pair.metricState)
    if (rendered === undefined) continue
    let family = families.get(name)
    if (family === undefined) {
      family = { kind: rendered.kind, help: Option.getOrElse(key.description, () => key.name), series: [] }
      families.set(name, family)
    }
    if (family.kind !== rendered.kind) continue
    family.series.push({ key: formatLabels(labels), lines: rendered.lines })
  }
  const out: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!
    out.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.kind}`)
    for (const series of family.series.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) out.push(...series.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/**
 * Every metric of the process now, in the text format, after {@link AegisPayMetrics.refresh}
 * (circuit states, outbox and webhook backlogs, from the services found in context).
 *
 * @since 0.2.0
 */
export const scrape: Effect.Effect<string> = Effect.zipRight(AegisPayMetrics.refresh, Effect.map(Metric.snapshot, (pairs) => render(pairs)))

/**
 * The `/metrics` handler: `200` with {@link scrape} as `text/plain; version=0.0.4`. It needs
 * nothing; it refreshes what it finds in its context (run it where the composition is provided).
 *
 * @since 0.2.0
 */
export const httpApp: HttpApp.Default = Effect.map(scrape, (text) =>
  HttpServerResponse.text(text, { contentType, headers: { "cache-control": "no-store" } }))
