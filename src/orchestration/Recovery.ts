/**
 * Recovery of payments left unfinished by a crash, a lost gateway answer or a stopped process.
 *
 * `runOnce` finds payments with open work (`Payment.hasOpenWork`) neither changed nor examined
 * by recovery for `stuckAfter` (an indexed scan: settled payments are never read), least recently
 * touched first, records that it examined them (`PaymentRepository.markExamined`), and drives each one on
 * through the ordinary {@link PaymentService} operations, so recovery follows exactly the rules
 * of the first call:
 * - **AUTHENTICATED** (a crash before the attempt was committed): processing continues; the
 *   attempt is committed before any money moves.
 * - **PROCESSING** (a crash after the attempt commit, or an unknown outcome): the gateway is asked
 *   for the attempt's status by its idempotency key and the payment moves to the gateway's truth.
 *   Where the gateway never saw the request, the same attempt is sent again with the same key
 *   (never a new key: a delayed original could otherwise also be applied).
 * - **Waiting for the customer or the provider** (ACTION_REQUIRED, or PROCESSING provider-pending):
 *   the gateway is asked for the attempt's status (by its reference); a charge settles the
 *   payment, a definite failure fails it, a wait changes nothing. Past the payment's expiry the
 *   gateway is asked to cancel (`customerAction.cancel`): the payment fails only when the
 *   provider answers `failed` or `not_found`; a late charge (3-D Secure finished late) settles
 *   it as SUCCESS or AUTHORIZED; a provider that still waits is asked again on the next run.
 * - **A pending capture or void**: that very operation is sent again with its key.
 * - **A refund left PENDING**: it is resumed with its own key (the gateway dedupes by it).
 * - **A compensation left PENDING** (the return of a stray charge): it is resent with its own key.
 * - **A failed-over attempt that may have been applied** (it ended in transient errors): its
 *   gateway's status is asked once; a charge it reports is returned by compensation.
 *
 * Each payment is handled under its {@link PaymentLock} (a lease on PostgreSQL), so several
 * workers, in one process or many, never handle the same payment at once; a worker that finds
 * the payment already resolved moves on. One payment's failure never stops the others: it is
 * counted in the report and retried on the next run. A defect in one payment's recovery (a bug
 * in a gateway adapter or a hook) is logged at Error with its cause and reported as `"Defect"`;
 * it never interrupts the recovery of other payments (possibly in the middle of a gateway call).
 *
 * `layerWorker` runs `runOnce` on a `Schedule` for the lifetime of its scope. Every run is counted
 * (`PaymentTelemetry`: `aegispay_recovery_runs_total`, `aegispay_recovery_payments_total`,
 * `aegispay_recovery_last_found`).
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, DateTime, Duration, Effect, Layer, Schedule } from "effect"
import * as Payment from "../domain/Payment.js"
import * as Tenant from "../domain/Tenant.js"
import * as Background from "../internal/Background.js"
import * as PaymentTelemetry from "../observability/PaymentTelemetry.js"
import { PaymentRepository } from "../storage/PaymentRepository.js"
import type { StorageError } from "../storage/StorageError.js"
import { Compensation } from "./Compensation.js"
import { PaymentService } from "./PaymentService.js"

/**
 * Recovery settings.
 *
 * @since 0.1.0
 */
export interface Options {
  /** A payment unchanged for this long is considered stuck; default 1 minute. */
  readonly stuckAfter?: Duration.DurationInput | undefined
  /**
   * Payments examined per run, least recently touched (updated or examined) first; default 100.
   * Examined payments go to the back of the line, so the open set is walked round-robin: payments
   * whose recovery keeps failing cannot starve the others.
   */
  readonly batchSize?: number | undefined
  /** How many payments are recovered at once; default 4. */
  readonly concurrency?: number | undefined
}

/**
 * The former name of {@link Options}.
 *
 * @since 0.1.0
 * @deprecated use {@link Options}
 */
export type Config = Options

/**
 * The defaults of {@link Config}.
 *
 * @since 0.1.0
 */
export const defaults = { stuckAfter: Duration.minutes(1), batchSize: 100, concurrency: 4 } as const

/**
 * What one run did.
 *
 * @since 0.1.0
 */
export interface Report {
  /** Stuck payments found. */
  readonly examined: number
  /** Payments that reached a settled state (no attempt or operation left open). */
  readonly resolved: number
  /** Payments still open after the run (e.g. the gateway's status is still unknown). */
  readonly stillOpen: number
  /**
   * Payments whose recovery failed, with the error's tag (`"Defect"` for a defect); they are
   * tried again on a later run.
   */
  readonly failed: ReadonlyArray<{ readonly paymentId: string; readonly error: string }>
}

/**
 * @since 0.1.0
 */
export class Recovery extends Context.Tag("aegispay/Recovery")<Recovery, {
  /** One recovery pass over every stuck payment (bounded by `batchSize` per state). */
  readonly runOnce: Effect.Effect<Report, StorageError>
}>() {}

/**
 * Builds the recovery service.
 *
 * @since 0.1.0
 */
export const make = (config: Config = {}) =>
  Effect.gen(function*() {
    const repository = yield* PaymentRepository
    const payments = yield* PaymentService
    const compensation = yield* Compensation
    const stuckAfter = Duration.toMillis(Duration.decode(config.stuckAfter ?? defaults.stuckAfter))
    const batchSize = Math.max(1, config.batchSize ?? defaults.batchSize)
    const concurrency = Math.max(1, config.concurrency ?? defaults.concurrency)

    /** Drives one payment on; answers the payment as it is afterwards. */
    const recoverOne = (payment: Payment.Payment): Effect.Effect<Payment.Payment, { readonly _tag: string }> =>
      Effect.gen(function*() {
        if (payment.state === "AUTHENTICATED" || payment.state === "PROCESSING" || payment.state === "ACTION_REQUIRED") {
          yield* payments.processPayment(payment.id)
        } else if (payment.pendingOperation !== undefined) {
          // decided again under the lock: the operation may have been settled since the scan
          yield* payments.resumeOperation(payment.id)
        }
        // a refund left PENDING is resumed with its own key (the gateway dedupes by it)
        for (const refund of payment.refunds) {
          if (refund.state === "PENDING") {
            yield* payments.refundPayment({ paymentId: payment.id, idempotencyKey: refund.idempotencyKey })
          }
        }
        if (payment.compensations.some((c) => c.state === "PENDING")) yield* compensation.resume(payment.id)
        // a failed-over attempt that may have been applied: ask its gateway once, return a stray charge
        for (const attempt of payment.attempts) {
          if (attempt.needsStatusCheck) yield* compensation.check(payment.id, attempt.id)
        }
        return yield* payments.getPayment(payment.id)
        // recovery acts across tenants: each payment is driven on as its own tenant
      }).pipe(Tenant.with(payment.tenantId))

    const runOnce = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const stuck = yield* repository.findOpen(DateTime.unsafeMake(now - stuckAfter), batchSize)
      // Recorded before any payment is driven on, so that the next scan serves the others first
      // even when these fail, stay open without a write, or take the process down with them.
      yield* repository.markExamined(stuck.map((p) => p.id), DateTime.unsafeMake(now))
      type Outcome =
        | { readonly _tag: "resolved" | "open"; readonly paymentId: string }
        | { readonly _tag: "failed"; readonly paymentId: string; readonly error: string }
      const judge = (after: Payment.Payment): Outcome => ({
        _tag: Payment.hasOpenWork(after) ? "open" : "resolved",
        paymentId: after.id
      })
      const failed = (paymentId: string) => (error: { readonly _tag: string }): Outcome => ({
        _tag: "failed",
        paymentId,
        error: error._tag
      })
      const outcomes: ReadonlyArray<Outcome> = yield* Effect.forEach(stuck, (payment) =>
        recoverOne(payment).pipe(
          Effect.map(judge),
          // another worker got there first: judge the payment as it is now
          Effect.catchIf(
            (error) => error._tag === "InvalidTransition",
            () => Effect.map(payments.getPayment(payment.id), judge).pipe(Tenant.with(payment.tenantId))
          ),
          Effect.catchAll((error) => Effect.succeed(failed(payment.id)(error))),
          // a defect (a bug in an adapter or a hook) ends this payment's recovery only: it is
          // logged with its cause and reported; its siblings are never interrupted
          Effect.catchAllCause((cause): Effect.Effect<Outcome> =>
            // a shutdown under way refused to start the operation (InFlight): still open, not a defect
            Cause.isInterruptedOnly(cause)
              ? Effect.as(Effect.logDebug("recovery of a payment not started: shutting down"), { _tag: "open", paymentId: payment.id })
              : Effect.as(Effect.logError("recovery of a payment failed with a defect", cause), failed(payment.id)({ _tag: "Defect" }))
          ),
          Effect.annotateLogs("paymentId", payment.id)
        ), { concurrency })
      const report: Report = {
        examined: stuck.length,
        resolved: outcomes.filter((o) => o._tag === "resolved").length,
        stillOpen: outcomes.filter((o) => o._tag === "open").length,
        failed: outcomes.flatMap((o) => o._tag === "failed" ? [{ paymentId: o.paymentId, error: o.error }] : [])
      }
      if (report.examined > 0) {
        // one structured line (OperationLog's style); the failed payments' ids and errors are in the report
        yield* Effect.logInfo("recovery run").pipe(Effect.annotateLogs({
          operation: "recovery",
          examined: report.examined,
          resolved: report.resolved,
          stillOpen: report.stillOpen,
          failed: report.failed.length
        }))
      }
      yield* PaymentTelemetry.recordRecovery(report, yield* Clock.currentTimeMillis)
      return report
    }).pipe(
      // a run a storage error ended counts as failed (`aegispay_recovery_runs_total{outcome="failed"}`)
      Effect.tapError(() => Effect.flatMap(Clock.currentTimeMillis, (now) => PaymentTelemetry.recordRecovery(undefined, now))),
      Effect.withSpan("Recovery.runOnce")
    )

    return Recovery.of({ runOnce })
  })

/**
 * The recovery service (run it yourself with `runOnce`).
 *
 * @since 0.1.0
 */
export const layer = (config: Config = {}): Layer.Layer<Recovery, never, PaymentRepository | PaymentService | Compensation> =>
  Layer.effect(Recovery, make(config))

/**
 * The recovery service plus a background worker that runs it on `schedule` (default: every
 * 30 seconds) for the lifetime of the layer. The worker is supervised: a run that fails is
 * logged (a defect at Error, with its cause) and the schedule goes on.
 *
 * @since 0.1.0
 */
export const layerWorker = (
  config: Config & { readonly schedule?: Schedule.Schedule<unknown> | undefined } = {}
): Layer.Layer<Recovery, never, PaymentRepository | PaymentService | Compensation> =>
  Layer.scopedContext(Effect.gen(function*() {
    const recovery = yield* make(config)
    // supervised like every background loop: whatever ends a run (a storage error, a defect) is
    // logged at Error with its cause, and the schedule goes on after a backoff
    yield* Background.fork("aegispay recovery", recovery.runOnce, {
      schedule: config.schedule ?? Schedule.spaced("30 seconds"),
      // readiness knows the default spacing only; a schedule of your own is never judged stale
      interval: config.schedule === undefined ? "30 seconds" : undefined
    })
    return Context.make(Recovery, recovery)
  }))
