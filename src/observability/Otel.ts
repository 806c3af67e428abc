/**
 * Traces and metrics to an OpenTelemetry collector over OTLP/HTTP (JSON), through
 * `@effect/opentelemetry` (an optional peer dependency: this module is only in the `aegispay/otel`
 * entry, never loaded by the core entry).
 *
 * ```ts
 * import { Otel } from "aegispay/otel"
 * program.pipe(Effect.provide(AegisPayLive), Effect.provide(Otel.layerConfig))
 * ```
 *
 * - Spans: every `Effect.fn` / `Effect.withSpan` of AegisPay (`PaymentService.processPayment`,
 *   gateway calls, `MerchantWebhooks.runOnce`, …) and the application's own; exported to
 *   `<endpoint>/v1/traces`.
 * - Metrics: every Effect metric (the ones `/metrics` shows), exported to `<endpoint>/v1/metrics`
 *   every `metricsInterval`.
 * - Logs are not exported here (stay with `Logging.layerJson` on stdout, masked).
 * - Nothing is exported, and nothing is loaded but this module, when no endpoint is configured.
 *
 * @since 0.2.0
 */
import { FetchHttpClient } from "@effect/platform"
import * as OtlpMetrics from "@effect/opentelemetry/OtlpMetrics"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { ConfigError } from "effect"

/**
 * Settings of {@link layer}.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The collector's base URL, e.g. `http://127.0.0.1:4318` (`/v1/traces`, `/v1/metrics` are added). */
  readonly endpoint: string
  /** `service.name` of every span and metric; default `aegispay`. */
  readonly serviceName?: string | undefined
  readonly serviceVersion?: string | undefined
  /** Headers of every export request (e.g. an API key): kept `Redacted`. */
  readonly headers?: Redacted.Redacted<Readonly<Record<string, string>>> | undefined
  /** How often spans are exported; default 5 s. */
  readonly tracesInterval?: Duration.DurationInput | undefined
  /** How often metrics are exported; default 10 s. */
  readonly metricsInterval?: Duration.DurationInput | undefined
}

/**
 * Exports traces and metrics to `options.endpoint` for the lifetime of the layer (flushed when it
 * ends), over `fetch`.
 *
 * @since 0.2.0
 */
export const layer = (options: Options): Layer.Layer<never> => {
  const base = options.endpoint.replace(/\/+$/, "")
  const resource = {
    serviceName: options.serviceName ?? "aegispay",
    ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion })
  }
  const headers = options.headers === undefined ? {} : { headers: Redacted.value(options.headers) }
  return Layer.mergeAll(
    OtlpTracer.layer({ url: `${base}/v1/traces`, resource, ...headers, exportInterval: options.tracesInterval ?? "5 seconds" }),
    OtlpMetrics.layer({ url: `${base}/v1/metrics`, resource, ...headers, exportInterval: options.metricsInterval ?? "10 seconds" })
  ).pipe(Layer.provide(Layer.merge(FetchHttpClient.layer, OtlpSerialization.layerJson)))
}

const parseHeaders = (text: string): Record<string, string> =>
  Object.fromEntries(text.split(",").flatMap((pair) => {
    const at = pair.indexOf("=")
    return at <= 0 ? [] : [[decodeURIComponent(pair.slice(0, at).trim()), decodeURIComponent(pair.slice(at + 1).trim())]]
  }))

/**
 * The settings from `Config`, the standard OpenTelemetry variables: `OTEL_EXPORTER_OTLP_ENDPOINT`
 * (none: no export), `OTEL_SERVICE_NAME` (default `aegispay`), `OTEL_SERVICE_VERSION`,
 * `OTEL_EXPORTER_OTLP_HEADERS` (`key=value,…`, redacted), `OTEL_METRIC_EXPORT_INTERVAL`
 * (milliseconds, default 10,000).
 *
 * @since 0.2.0
 */
export const config: Config.Config<Option.Option<Options>> = Config.all({
  endpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("aegispay")),
  serviceVersion: Config.option(Config.string("OTEL_SERVICE_VERSION")),
  headers: Config.option(Config.redacted("OTEL_EXPORTER_OTLP_HEADERS")),
  metricsInterval: Config.integer("OTEL_METRIC_EXPORT_INTERVAL").pipe(Config.withDefault(10_000))
}).pipe(Config.map((c) =>
  Option.map(c.endpoint, (endpoint): Options => ({
    endpoint,
    serviceName: c.serviceName,
    serviceVersion: Option.getOrUndefined(c.serviceVersion),
    headers: Option.getOrUndefined(Option.map(c.headers, (h) => Redacted.make(parseHeaders(Redacted.value(h))))),
    metricsInterval: Duration.millis(c.metricsInterval)
  }))
))

/**
 * {@link layer} from {@link config}; nothing at all when `OTEL_EXPORTER_OTLP_ENDPOINT` is not set.
 *
 * @since 0.2.0
 */
export const layerConfig: Layer.Layer<never, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(config, Option.match({ onNone: () => Layer.empty, onSome: layer }))
)
