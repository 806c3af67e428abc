/**
 * The crash-injection campaign: for each kill point, child processes are SIGKILLed at that step
 * of the flow, then this process "restarts" (a fresh composition on the same database), runs the
 * recovery worker until nothing is open, delivers the outbox, and checks the invariants against
 * PostgreSQL and the SQL ledger (the gateway's ground truth).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { EventStore, Payment, PaymentRepository, Recovery } from "aegispay"
import { OutboxRelay } from "aegispay/pg"
import { nodeArgs } from "../support/Children.js"
import { killPoints, type KillPoint } from "./KillPoints.js"
import { layer, registerLedger } from "./Layers.js"

const childPath = fileURLToPath(new URL("./child.ts", import.meta.url))

export interface Violation {
  readonly point: KillPoint
  readonly invariant:
    | "at-most-one-charge"
    | "charge-accounted-for"
    | "nothing-stuck"
    | "event-has-outbox-row"
    | "version-equals-events"
    | "outbox-delivered"
    | "fold-equals-snapshot"
    | "ledger-refunds-equal-local"
  readonly paymentId: string
  readonly detail: string
}

export interface PointReport {
  readonly point: KillPoint
  /** Children killed by SIGKILL after announcing the kill point. */
  readonly kills: number
  /** Payments created by the killed children. */
  readonly payments: number
  /** Children that did not reach the kill point or did not die by SIGKILL. */
  readonly harnessErrors: ReadonlyArray<string>
  /** Recovery runs until nothing was left open. */
  readonly recoveryRuns: number
  /** Final states of the payments, e.g. `{ SUCCESS: 40 }`, and the ledger's charges and refunds. */
  readonly states: Readonly<Record<string, number>>
  readonly ledgerCharges: number
  readonly ledgerRefunds: number
  readonly violations: ReadonlyArray<Violation>
}

export interface Options {
  readonly url: string
  readonly killsPerPoint: number
  /** Payments each child processes at once (at least one reaches the point before the kill). */
  readonly paymentsPerKill?: number
  /** Children alive at once. */
  readonly parallel?: number
  readonly points?: ReadonlyArray<KillPoint>
  readonly onProgress?: (line: string) => void
}

/**
 * Starts one child (`node` with the arguments `node` before its own: see Children.ts), waits for its
 * kill-point line, SIGKILLs it; resolves how it ended.
 */
const killOnce = (node: ReadonlyArray<string>, url: string, point: KillPoint, run: string, payments: number) =>
  new Promise<{ readonly ok: boolean; readonly detail: string }>((resolve) => {
    const child = spawn(process.execPath, [...node, point, run, String(payments)], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    let marker: string | undefined
    // a guard against a child that hangs before its point, not a synchronisation
    const guard = setTimeout(() => child.kill("SIGKILL"), 120_000)
    child.stdout.on("data", (chunk) => {
      out += String(chunk)
      const line = out.split("\n").find((l) => l.startsWith("AT "))
      if (marker === undefined && line !== undefined) {
        marker = line
        child.kill("SIGKILL")
      }
    })
    child.stderr.on("data", (chunk) => (err += String(chunk)))
    child.on("exit", (code, signal) => {
      clearTimeout(guard)
      if (marker !== undefined && signal === "SIGKILL") resolve({ ok: true, detail: marker })
      else resolve({ ok: false, detail: `${run}: exit ${code} signal ${signal} marker ${marker ?? "none"}; ${out}${err}`.slice(0, 2000) })
    })
  })

/** Runs `tasks` with at most `parallel` at once. */
const pool = async <A>(tasks: ReadonlyArray<() => Promise<A>>, parallel: number): Promise<Array<A>> => {
  const results: Array<A> = new Array(tasks.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(parallel, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await tasks[i]!()
    }
  }))
  return results
}

const LedgerRow = Schema.Struct({
  payment_id: Schema.String,
  transaction_id: Schema.String,
  amount_minor: Schema.Union(Schema.BigInt, Schema.BigIntFromNumber),
  status: Schema.String,
  captured_minor: Schema.Union(Schema.BigInt, Schema.BigIntFromNumber),
  refunded_minor: Schema.Union(Schema.BigInt, Schema.BigIntFromNumber)
})
const IdRow = Schema.Struct({ id: Schema.String })
const encodePayment = Schema.encodeSync(Payment.Payment)

/**
 * The restart: recovery until nothing is open (bounded), then the outbox delivered. Answers the
 * number of recovery runs.
 */
export const recoverAndDeliver = Effect.gen(function*() {
  const recovery = yield* Recovery.make({ stuckAfter: 0, batchSize: 500, concurrency: 8 })
  let runs = 0
  for (; runs < 20; runs++) {
    const report = yield* recovery.runOnce
    if (report.examined === 0) break
  }
  while ((yield* OutboxRelay.deliverBatch("crash-restart", () => Effect.void, { batchSize: 500 })) > 0) {
    // deliver until the outbox is empty
  }
  return runs
})

/** Checks every invariant against the database; `prefix` selects the payments of one point. */
export const check = (point: KillPoint, prefix: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const repository = yield* PaymentRepository.PaymentRepository
    const events = yield* EventStore.EventStore
    const violations: Array<Violation> = []
    const states: Record<string, number> = {}
    const report = (invariant: Violation["invariant"], paymentId: string, detail: string) =>
      violations.push({ point, invariant, paymentId, detail })
    const ids = (yield* Schema.decodeUnknown(Schema.Array(IdRow))(
      yield* sql`SELECT id FROM aegis_payments WHERE idempotency_key LIKE ${`${prefix}%`} ORDER BY id`
    )).map((r) => r.id)
    const ledger = yield* Schema.decodeUnknown(Schema.Array(LedgerRow))(
      yield* sql`SELECT payment_id, transaction_id, amount_minor, status, captured_minor, refunded_minor
                 FROM aegis_test_ledger WHERE outcome = 'charged' AND payment_id IN ${sql.in(ids.length > 0 ? ids : [""])}`
    )
    for (const id of ids) {
      const stored = yield* repository.findById(id)
      if (stored._tag === "None") {
        report("fold-equals-snapshot", id, "payment missing")
        continue
      }
      const payment = stored.value
      states[payment.state] = (states[payment.state] ?? 0) + 1
      const charges = ledger.filter((c) => c.payment_id === id)
      if (charges.length > 1) report("at-most-one-charge", id, `${charges.length} ledger charges`)
      for (const charge of charges) {
        const own = payment.gatewayTransactionId === charge.transaction_id &&
          (payment.state === "SUCCESS" || payment.state === "AUTHORIZED") && charge.amount_minor === payment.amount.minor
        const compensated = payment.compensations.some((c) => c.state === "REFUNDED") &&
          (charge.status === "voided" || charge.refunded_minor === charge.captured_minor)
        if (!own && !compensated) {
          report("charge-accounted-for", id, `ledger ${charge.transaction_id} (${charge.status}) vs payment ${payment.state}`)
        }
        if (own) {
          const refunded = payment.refunds.filter((r) => r.state === "SUCCEEDED").reduce((sum, r) => sum + r.amount.minor, 0n)
          if (refunded !== charge.refunded_minor) {
            report("ledger-refunds-equal-local", id, `ledger refunded ${charge.refunded_minor}, payment ${refunded}`)
          }
        }
      }
      if (Payment.hasOpenWork(payment)) report("nothing-stuck", id, `still open in ${payment.state}`)
      const rebuilt = yield* events.rebuild(id)
      if (rebuilt._tag === "None" || JSON.stringify(encodePayment(rebuilt.value)) !== JSON.stringify(encodePayment(payment))) {
        report("fold-equals-snapshot", id, "the events do not fold to the stored snapshot")
      }
    }
    const missingOutbox = yield* Schema.decodeUnknown(Schema.Array(IdRow))(yield* sql`
      SELECT e.payment_id AS id FROM aegis_events e LEFT JOIN aegis_outbox o ON o.event_id = e.event_id
      WHERE o.event_id IS NULL AND e.payment_id IN ${sql.in(ids.length > 0 ? ids : [""])}`)
    for (const row of missingOutbox) report("event-has-outbox-row", row.id, "an event without its outbox row")
    const mismatched = yield* Schema.decodeUnknown(Schema.Array(IdRow))(yield* sql`
      SELECT p.id FROM aegis_payments p
      WHERE p.id IN ${sql.in(ids.length > 0 ? ids : [""])}
        AND p.version <> (SELECT count(*) FROM aegis_events e WHERE e.payment_id = p.id)`)
    for (const row of mismatched) report("version-equals-events", row.id, "version differs from the number of events")
    const undelivered = yield* Schema.decodeUnknown(Schema.Array(IdRow))(yield* sql`
      SELECT payment_id AS id FROM aegis_outbox WHERE status <> 'delivered' AND payment_id IN ${sql.in(ids.length > 0 ? ids : [""])}`)
    for (const row of undelivered) report("outbox-delivered", row.id, "an outbox row not delivered after the restart")
    return {
      payments: ids.length,
      states,
      ledgerCharges: ledger.length,
      ledgerRefunds: ledger.filter((c) => c.refunded_minor > 0n).length,
      violations
    }
  })

/** The restarted process: the same composition as the children, without kill points. */
export const restarted = (url: string) =>
  Layer.effectDiscard(registerLedger()).pipe(
    Layer.provideMerge(layer(url, "2 seconds")),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Error))
  )

/** Runs the whole campaign on the (migrated or empty) database at `options.url`. */
export const runCampaign = async (options: Options): Promise<ReadonlyArray<PointReport>> => {
  const reports: Array<PointReport> = []
  const campaign = `c${randomUUID().slice(0, 8)}`
  // migrate once, before any child starts
  await Effect.runPromise(Effect.scoped(Layer.build(restarted(options.url))))
  const node = await nodeArgs(childPath)
  for (const point of options.points ?? killPoints) {
    const prefix = `${campaign}-${point}-`
    const outcomes = await pool(
      Array.from({ length: options.killsPerPoint }, (_, k) => () =>
        killOnce(node, options.url, point, `${prefix}${k}`, options.paymentsPerKill ?? 2)),
      options.parallel ?? 4
    )
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const recoveryRuns = yield* recoverAndDeliver
        return { recoveryRuns, ...(yield* check(point, prefix)) }
      }).pipe(Effect.provide(restarted(options.url)))
    )
    const report: PointReport = {
      point,
      kills: outcomes.filter((o) => o.ok).length,
      payments: result.payments,
      harnessErrors: outcomes.filter((o) => !o.ok).map((o) => o.detail),
      recoveryRuns: result.recoveryRuns,
      states: result.states,
      ledgerCharges: result.ledgerCharges,
      ledgerRefunds: result.ledgerRefunds,
      violations: result.violations
    }
    options.onProgress?.(
      `${point.padEnd(22)} kills ${String(report.kills).padStart(4)}   payments ${String(report.payments).padStart(4)}` +
        `   ledger charges ${String(report.ledgerCharges).padStart(4)}   refunded ${String(report.ledgerRefunds).padStart(3)}` +
        `   states ${Object.entries(report.states).map(([k, v]) => `${k} ${v}`).join(", ")}` +
        `   recovery runs ${report.recoveryRuns}   violations ${report.violations.length}` +
        (report.harnessErrors.length > 0 ? `   harness errors ${report.harnessErrors.length}` : "")
    )
    reports.push(report)
  }
  return reports
}
