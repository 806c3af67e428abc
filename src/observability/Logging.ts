/**
 * Structured JSON logs: one JSON object per line with the message, level, time, fiber, spans and
 * every annotation (request id, tenant, payment id, …), card numbers masked, secrets never shown.
 *
 * ```ts
 * program.pipe(
 *   Logging.annotate({ requestId, tenantId: "acme", paymentId }),
 *   Effect.provide(Logging.layerJson)
 * )
 * ```
 *
 * Guarantees: every line goes through `Sanitize.maskLogger` (a Luhn-valid 13–19 digit run in the
 * message or any string annotation becomes `<redacted>`); a `Redacted` value (secrets, card
 * numbers, keys) is written as `<redacted>`; AegisPay itself never logs a card number, a CVV, a
 * webhook secret or a signature.
 *
 * Levels: `Effect.log*` levels; AegisPay writes one Info line per payment operation
 * (`OperationLog`), Warning for a failed one or a failed gateway request, Error for defects and
 * failed background iterations, Debug for reads, successful gateway requests and delivered
 * webhooks. {@link layerConfig} sets the minimum level
 * (`AEGISPAY_LOG_LEVEL`) and the format (`AEGISPAY_LOG_FORMAT`) from `Config`.
 *
 * @since 0.2.0
 */
import { Config, type ConfigError, Effect, Layer, Logger, LogLevel } from "effect"
import { maskLogger } from "../domain/Sanitize.js"

/**
 * The annotations AegisPay's logs are searched by. Each one is optional.
 *
 * @since 0.2.0
 */
export interface Context {
  /** The id of the HTTP request (or job) the line belongs to. */
  readonly requestId?: string | undefined
  readonly tenantId?: string | undefined
  readonly paymentId?: string | undefined
}

/**
 * Annotates every log line of `self` with the given request id, tenant and payment id (absent
 * ones are left out).
 *
 * @since 0.2.0
 */
export const annotate = (context: Context) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const annotations: Record<string, string> = {}
  if (context.requestId !== undefined) annotations.requestId = context.requestId
  if (context.tenantId !== undefined) annotations.tenantId = context.tenantId
  if (context.paymentId !== undefined) annotations.paymentId = context.paymentId
  return Effect.annotateLogs(self, annotations)
}

/**
 * Each log line as its JSON text, card numbers masked (Effect's `Logger.jsonLogger` under
 * `Sanitize.maskLogger`): to write somewhere else than the console.
 *
 * @since 0.2.0
 */
export const jsonLine: Logger.Logger<unknown, string> = maskLogger(Logger.jsonLogger)

/**
 * {@link jsonLine} written to the console, one line each.
 *
 * @since 0.2.0
 */
export const jsonLogger = Logger.withConsoleLog(jsonLine)

/**
 * Replaces Effect's default logger (and the masking one of the compositions) with
 * {@link jsonLogger}: provide it where the program runs.
 *
 * @since 0.2.0
 */
export const layerJson = Logger.replace(Logger.defaultLogger, jsonLogger)

/**
 * The minimum log level from `AEGISPAY_LOG_LEVEL` (see {@link config}), default Info.
 *
 * @since 0.2.0
 */
export const levelConfig: Config.Config<LogLevel.LogLevel> = Config.logLevel("AEGISPAY_LOG_LEVEL").pipe(
  Config.withDefault<LogLevel.LogLevel>(LogLevel.Info)
)

/**
 * The logging settings {@link layerConfig} reads:
 * - `AEGISPAY_LOG_LEVEL`: `ALL`, `TRACE`, `DEBUG`, `INFO` (default), `WARN`, `ERROR`, `FATAL` or
 *   `OFF` (any case): lines below it are not written (nor built, for AegisPay's own lines);
 * - `AEGISPAY_LOG_FORMAT`: `json` (default: {@link jsonLogger}) or `text` (the logger already in
 *   place, e.g. the compositions' masking logfmt one).
 *
 * @since 0.2.0
 */
export const config: Config.Config<{ readonly level: LogLevel.LogLevel; readonly format: "json" | "text" }> = Config.all({
  level: levelConfig,
  format: Config.literal("json", "text")("AEGISPAY_LOG_FORMAT").pipe(Config.withDefault("json" as const))
})

/**
 * The minimum log level and the format from {@link config}: provide it where the program runs
 * (`npm run serve` does). A value that is not a level fails with a `ConfigError` at start-up.
 *
 * @since 0.2.0
 */
export const layerConfig: Layer.Layer<never, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(config, ({ format, level }) => Layer.merge(Logger.minimumLogLevel(level), format === "json" ? layerJson : Layer.empty))
)
