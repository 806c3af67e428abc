/**
 * The OpenTelemetry entry of AegisPay: traces and metrics over OTLP. Needs the optional peer
 * dependency `@effect/opentelemetry` (~0.64).
 *
 * @since 0.2.0
 */

/** @since 0.2.0 */
export * as Otel from "./observability/Otel.js"
