/**
 * Test capture of what the service writes: every log line (its message, level and annotations,
 * and its JSON text as `Logger.jsonLogger` renders it, unmasked) and every span (the native
 * tracer's spans, with their attributes).
 */
import { Effect, HashMap, Layer, Logger, type LogLevel, Tracer } from "effect"

export interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
  /** The whole line as JSON (not masked: what AegisPay itself put in it). */
  readonly json: string
}

export const make = (level: LogLevel.LogLevel) => {
  const lines: Array<Line> = []
  const spans: Array<Tracer.Span> = []
  const logger = Logger.make((options) => {
    const json = Logger.jsonLogger.log(options)
    lines.push({
      level: options.logLevel.label,
      message: Array.isArray(options.message) ? options.message.map(String).join(" ") : String(options.message),
      annotations: Object.fromEntries(HashMap.toEntries(options.annotations)),
      json
    })
  })
  const native = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span: (...args) => {
      const span = native.span(...args)
      spans.push(span)
      return span
    },
    context: (f, fiber) => native.context(f, fiber)
  })
  const layer: Layer.Layer<never> = Layer.mergeAll(Logger.add(logger), Logger.minimumLogLevel(level), Layer.setTracer(tracer))
  return { lines, spans, layer }
}
