/**
 * One OS process of the shared-learning test: the production composition on PostgreSQL
 * (`AegisPayPg.layer`) with ADAPTIVE routing over two mock gateways, alpha and beta. Prints one
 * JSON line per event (epoch milliseconds of Effect's `Clock` in `at`) and runs until it is killed.
 *
 *   DATABASE_URL=… node --import tsx test/multiprocess/routingWorker.ts <role>   (the test runs it bundled: test/support/Children.ts)
 *
 * - `teacher`: on a line on stdin, feeds USD outcomes (alpha approves 60%, beta 96%) to its
 *   router every 100 ms; reports when it routes EUR to alpha (evidence only a follower has);
 * - `follower-eur`: on a line on stdin, feeds EUR outcomes (alpha 96%, beta 60%); reports when it
 *   routes USD to beta;
 * - `follower`: feeds nothing; reports when it routes USD to beta;
 * - `late`: started last; reports when it routes USD to beta.
 *
 * Every role reports, when ready, how it routes its context before feeding (`first`).
 *
 * "Routes X to g": g is first in at least 18 of 20 consecutive rankings (ADAPTIVE draws).
 */
import { Clock, Effect, Redacted } from "effect"
import { GatewayRegistry, Router } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest } from "aegispay/testing"
import { cardPayment } from "../support/RoutingPayments.js"

const startedAt = performance.now()
const role = process.argv[2] ?? "follower"
const url = process.env.DATABASE_URL
if (url === undefined) throw new Error("DATABASE_URL is required")

const usd = cardPayment("USD", "visa", "40.00")
const eur = cardPayment("EUR", "visa", "40.00")
const say = (event: Record<string, unknown>) =>
  Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => process.stdout.write(`${JSON.stringify({ role, at, ...event })}\n`)))

/** The parent's `go` line on stdin: feeding starts when every process is ready. */
const go = Effect.async<void>((resume) => {
  process.stdin.once("data", () => resume(Effect.void))
})

const program = Effect.gen(function*() {
  const router = yield* Router.Router
  const candidates = yield* (yield* GatewayRegistry.GatewayRegistry).all
  yield* say({ event: "ready", startupMillis: Math.round(performance.now() - startedAt) })
  const share = (payment: typeof usd, gateway: string) =>
    Effect.map(
      Effect.forEach(Array.from({ length: 20 }), () => router.rank(payment, candidates)),
      (ranks) => ranks.filter((r) => r[0]?.id === gateway).length / 20
    )
  const [watch, target] = role === "teacher" ? [eur, "alpha"] : [usd, "beta"]
  // how it routes before any evidence of this run (a follower: alpha, never observed, first)
  yield* say({ event: "first", share: yield* share(watch, target) })
  if (role === "teacher" || role === "follower-eur") yield* go
  // outcomes of one 100 ms tick: 25 per gateway, `good` approving 24, the other 15
  const feed = (payment: typeof usd, good: string, bad: string) =>
    Effect.forEach(Array.from({ length: 25 }, (_, i) => i), (i) =>
      Effect.zipRight(
        router.observe(payment, good, i < 24 ? "approved" : "declined"),
        router.observe(payment, bad, i < 15 ? "approved" : "declined")
      ), { discard: true })
  let converged = false
  let fed = false
  while (true) {
    if (role === "teacher") yield* feed(usd, "beta", "alpha")
    if (role === "follower-eur") yield* feed(eur, "alpha", "beta")
    if (!fed && (role === "teacher" || role === "follower-eur")) {
      fed = true
      yield* say({ event: "feeding" })
    }
    if (!converged) {
      const s = yield* share(watch, target)
      if (s >= 0.9) {
        converged = true
        yield* say({ event: "converged", share: s, sinceStartMillis: Math.round(performance.now() - startedAt) })
      }
    }
    yield* Effect.sleep("100 millis")
  }
})

const layer = AegisPayPg.layer({
  ...AegisPayTest.parts({ mockGateways: [{ id: "alpha" }, { id: "beta" }] }),
  relay: false,
  recovery: false,
  retention: false,
  routing: { strategy: "ADAPTIVE" },
  url: Redacted.make(url),
  maxConnections: 2
})

Effect.runPromise(program.pipe(Effect.provide(layer), Effect.scoped)).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
