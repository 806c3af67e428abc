/**
 * CPU per payment with telemetry on and off, create+process on the memory composition (the
 * cheapest path, so the relative overhead is an upper bound of the PostgreSQL path's).
 * Alternating rounds, medians.
 *
 * - off: `metrics: false`, minimum log level `None` (no line built), no correlation id;
 * - on: metrics (`AegisPayMetrics` + `PaymentTelemetry`), log level `Info` with every line
 *   rendered as JSON by `Logging.jsonLine` (masked; the text is then dropped instead of written to
 *   stdout, so the terminal does not count), and each payment under a correlation id (`Correlation`:
 *   log annotation, span attribute, kept with its events). Spans (`Effect.fn`, native tracer, no
 *   exporter) are created in both.
 *
 *   npx tsx test/bench/telemetry.ts [payments per round, default 2000] [rounds, default 5]
 */
import { Effect, Layer, Logger, LogLevel } from "effect"
import { Correlation, Logging, PaymentService } from "aegispay"
import { AegisPayTest, TestCards } from "aegispay/testing"

const n = Number(process.argv[2] ?? 2000)
const rounds = Number(process.argv[3] ?? 5)
const card = { type: "card" as const, number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "B" }

let rendered = 0
const discardJson = Logger.replace(Logger.defaultLogger, Logger.map(Logging.jsonLine, (line) => {
  rendered += line.length
}))

const round = (on: boolean, tag: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const pay = (i: number) => {
      const payment = Effect.flatMap(
        payments.createPayment({ idempotencyKey: `${tag}-${i}`, amount: "10.00", currency: "USD", paymentMethod: card, customer: { id: "c", email: "b@example.com" }, metadata: {} }),
        (p) => payments.processPayment(p.id)
      )
      return on ? Correlation.withId(`${tag}-corr-${i}`)(payment) : payment
    }
    yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => pay(-1 - i), { discard: true }) // warm-up
    const cpu = process.cpuUsage()
    yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), pay, { concurrency: 8, discard: true })
    const used = process.cpuUsage(cpu)
    return (used.user + used.system) / n
  }).pipe(
    Effect.provide(AegisPayTest.layerMemory({ metrics: on })),
    Effect.provide(on ? Layer.merge(discardJson, Logger.minimumLogLevel(LogLevel.Info)) : Logger.minimumLogLevel(LogLevel.None))
  )

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const main = Effect.gen(function*() {
  const on: Array<number> = []
  const off: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    off.push(yield* round(false, `off${r}`))
    on.push(yield* round(true, `on${r}`))
  }
  const a = median(off)
  const b = median(on)
  console.log(
    `CPU per payment (µs, median of ${rounds} rounds × ${n}): telemetry off ${a.toFixed(0)}, on ${b.toFixed(0)}, ` +
      `overhead ${((b / a - 1) * 100).toFixed(1)}% (JSON log text rendered: ${(rendered / 1024).toFixed(0)} KiB)`
  )
})

void Effect.runPromise(main)
