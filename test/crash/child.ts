/**
 * A process that is killed: it creates and processes `count` payments at once on PostgreSQL and
 * stops dead at its kill point. At the point it prints `AT <point> <reference>` and blocks (it
 * keeps its leases renewed, like a live process would) until the parent SIGKILLs it.
 *
 *   DATABASE_URL=… node --import tsx test/crash/child.ts <point> <run> <count>
 *
 * (the tests start it from a bundle of it: test/support/Children.ts)
 *
 * Kill points (a gateway wrapper or the program itself stops there):
 * - `after-attempt-commit`: PROCESSING and the attempt are committed; the charge is never sent.
 * - `after-gateway-call`: the ledger has charged; the answer never reaches the local commit.
 * - `after-local-commit`: SUCCESS is committed; its outbox rows are not delivered yet.
 * - `during-refund`: the refund is committed PENDING; the gateway refunds (odd amounts) or not
 *   (even amounts) and the answer is lost.
 */
import { Effect, Logger, LogLevel } from "effect"
import { type Gateway, PaymentService } from "aegispay"
import { card, layer, registerLedger } from "./Layers.js"
import { isKillPoint, type KillPoint } from "./KillPoints.js"

const [pointArg, run = "run", countArg = "2"] = process.argv.slice(2)
const url = process.env.DATABASE_URL
if (url === undefined) throw new Error("DATABASE_URL is required")
if (pointArg === undefined || !isKillPoint(pointArg)) throw new Error(`unknown kill point ${String(pointArg)}`)
const point: KillPoint = pointArg
const count = Number(countArg)

/** Announces the kill point, then waits to be killed. */
const stop = (reference: string) =>
  Effect.zipRight(Effect.sync(() => process.stdout.write(`AT ${point} ${reference}\n`)), Effect.never)

const wrap = (ledger: Gateway.Gateway): Gateway.Gateway => ({
  ...ledger,
  process: (request) =>
    point === "after-attempt-commit"
      ? stop(request.paymentId)
      : point === "after-gateway-call"
      ? Effect.zipRight(ledger.process(request), stop(request.paymentId))
      : ledger.process(request),
  refund: (request) =>
    point !== "during-refund"
      ? ledger.refund(request)
      : request.amount.minor % 2n === 1n
      ? Effect.zipRight(ledger.refund(request), stop(request.idempotencyKey))
      : stop(request.idempotencyKey)
})

const program = Effect.gen(function*() {
  yield* registerLedger(wrap)
  const payments = yield* PaymentService.PaymentService
  yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) =>
    Effect.gen(function*() {
      const created = yield* payments.createPayment({
        idempotencyKey: `${run}-${i}`,
        amount: BigInt(1000 + i),
        currency: "USD",
        paymentMethod: card,
        customer: { id: `cus_${run}`, email: "crash@example.com" },
        gateway: "ledger"
      })
      const processed = yield* payments.processPayment(created.id)
      if (point === "after-local-commit") return yield* stop(processed.id)
      if (point === "during-refund") {
        // odd refund amounts are applied by the gateway before the stop, even ones are not
        yield* payments.refundPayment({ paymentId: processed.id, idempotencyKey: `${run}-${i}-r`, amount: 400n + BigInt(i) })
      }
    }), { concurrency: "unbounded", discard: true })
  // every payment passed its kill point without stopping: that is a harness error
  process.stdout.write("DONE without reaching the kill point\n")
})

Effect.runPromise(program.pipe(
  Effect.provide(layer(url, "2 seconds")),
  Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))
)).then(
  () => process.exit(3),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
