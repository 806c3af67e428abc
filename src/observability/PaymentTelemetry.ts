/**
 * Payment-level telemetry: what a payment did, from the decisions the library commits.
 *
 * {@link layerRepository} wraps the composition's `PaymentRepository`: after an `insert` or an
 * `update` succeeds (the decision is committed), its events are counted here, with the labels
 * read from the decision's payment. Counting at the writer (not from the `EventBus`) makes every
 * count exact: the outbox delivers at least once (a duplicate would count twice), and on several
 * processes one payment's events can be published by different relays, so the payment's currency
 * and gateway (known from earlier events) and its creation time would not be at hand.
 *
 * Label sets are bounded: states, gateway ids, ISO currencies, payment method types, outcomes.
 * No payment, customer, tenant or attempt id is ever a label.
 *
 * - `aegispay_payments_created_total{currency,method}`: payments created (a replay is not a
 *   creation);
 * - `aegispay_payments_finished_total{state,gateway,currency,method}`: payments reaching the
 *   outcome of their charge: `SUCCESS` (automatic capture), `AUTHORIZED` (manual capture),
 *   `FAILURE`, `CANCELLED` before any charge. A capture or void of an authorization is not a
 *   second outcome; a late charge after a failure counts again under `SUCCESS`/`AUTHORIZED`.
 *   `gateway` is the last attempt's (`none` when none was made: no gateway, fraud check);
 * - `aegispay_payment_duration_ms{state,gateway}`: histogram of the time from creation to that
 *   outcome (from the decisions' own times, customer actions included);
 * - `aegispay_payment_retries_total{gateway}`: an attempt sent again with the same key after a
 *   transient error; `aegispay_payment_failovers_total{from,to}`: an attempt replaced by one at
 *   another gateway; `aegispay_payment_outcome_unknown_total{gateway}`: a money-moving call
 *   without a definite answer;
 * - `aegispay_compensations_total{outcome}` (`requested`, `succeeded`): returns of stray charges;
 * - `aegispay_manual_reviews_total{action}` (`opened`, `resolved`): review items;
 * - `aegispay_idempotency_replays_total`, `aegispay_idempotency_conflicts_total`: creates whose
 *   idempotency key was taken, with the same body (answered the payment) or another
 *   (`IdempotencyKeyReused`);
 * - `aegispay_recovery_runs_total{outcome}` (`ok`, `failed`), `aegispay_recovery_payments_total{outcome}`
 *   (`resolved`, `open`, `failed`): what recovery runs found; `aegispay_recovery_last_found`
 *   (stuck payments found by the last run) and `aegispay_recovery_last_run_timestamp_seconds`.
 *
 * Recording is synchronous (one registry hook per label set, looked up the first time it is seen,
 * then updated directly), and never fails or delays the write it follows.
 *
 * @since 0.2.0
 */
import { DateTime, Effect, Layer, Metric, MetricBoundaries } from "effect"
import type { Decision, Payment } from "../domain/Payment.js"
import type { PaymentEvent } from "../domain/PaymentEvent.js"
import { PaymentRepository } from "../storage/PaymentRepository.js"
import { latencyBuckets } from "../resilience/SlidingWindow.js"
import { labelSets } from "./internal/MetricLabels.js"

const created = Metric.counter("aegispay_payments_created_total", {
  description: "payments created, by currency and payment method type"
})
const finished = Metric.counter("aegispay_payments_finished_total", {
  description: "payments reaching the outcome of their charge (SUCCESS, AUTHORIZED, FAILURE, CANCELLED), by gateway, currency and method"
})
/** The gateway-call buckets, then minutes up to a day (a customer action can take that long). */
const durationBuckets: ReadonlyArray<number> = [...latencyBuckets, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 21_600_000, 86_400_000]
const duration = Metric.histogram(
  "aegispay_payment_duration_ms",
  MetricBoundaries.fromIterable(durationBuckets),
  "time from a payment's creation to the outcome of its charge, in milliseconds"
)
const retries = Metric.counter("aegispay_payment_retries_total", {
  description: "attempts sent again with the same idempotency key after a transient error, by gateway"
})
const failovers = Metric.counter("aegispay_payment_failovers_total", {
  description: "attempts replaced by a new attempt at another gateway, by the gateway left and the one tried next"
})
const unknown = Metric.counter("aegispay_payment_outcome_unknown_total", {
  description: "money-moving gateway calls without a definite answer (the payment waits for the gateway's status)"
})
const compensations = Metric.counter("aegispay_compensations_total", {
  description: "returns of stray charges: requested, succeeded"
})
const reviews = Metric.counter("aegispay_manual_reviews_total", {
  description: "manual review items opened and resolved"
})
const idempotencyReplays = Metric.counter("aegispay_idempotency_replays_total", {
  description: "creates whose idempotency key was taken by the same request: answered with the payment already there"
})
const idempotencyConflicts = Metric.counter("aegispay_idempotency_conflicts_total", {
  description: "creates whose idempotency key was taken by another request body: refused (IdempotencyKeyReused)"
})
const recoveryRuns = Metric.counter("aegispay_recovery_runs_total", {
  description: "recovery runs by outcome: ok, failed (a storage error ended the run)"
})
const recoveryPayments = Metric.counter("aegispay_recovery_payments_total", {
  description: "stuck payments recovery drove on, by outcome: resolved, open (still waiting), failed"
})
const recoveryLastFound = Metric.gauge("aegispay_recovery_last_found", {
  description: "stuck payments found by the last recovery run of this process"
})
const recoveryLastRun = Metric.gauge("aegispay_recovery_last_run_timestamp_seconds", {
  description: "when the last recovery run of this process ended, in seconds since the epoch"
})

// one label array per combination of values (MetricLabels): each update finds its registry hook
// in the metric's own cache
const createdLabels = labelSets("currency", "method")
const finishedLabels = labelSets("state", "gateway", "currency", "method")
const durationLabels = labelSets("state", "gateway")
const gatewayLabels = labelSets("gateway")
const failoverLabels = labelSets("from", "to")
const outcomeLabels = labelSets("outcome")
const actionLabels = labelSets("action")

const gatewayOf = (payment: Payment): string => payment.currentAttempt?.gateway ?? payment.gateway ?? "none"

const attemptGateway = (payment: Payment, attemptId: string): string =>
  payment.attempts.find((a) => a.id === attemptId)?.gateway ?? gatewayOf(payment)

const finish = (payment: Payment, state: string, event: PaymentEvent): void => {
  const gateway = gatewayOf(payment)
  finished.unsafeUpdate(1, finishedLabels(state, gateway, payment.amount.currency, payment.paymentMethod.type))
  const millis = DateTime.toEpochMillis(event.occurredAt) - DateTime.toEpochMillis(payment.createdAt)
  duration.unsafeUpdate(Math.max(0, millis), durationLabels(state, gateway))
}

/**
 * Counts the events of one committed decision (see the module's list).
 *
 * @since 0.2.0
 */
export const recordDecision = (decision: Decision): void => {
  const payment = decision.payment
  for (const event of decision.events) {
    switch (event._tag) {
      case "PaymentInitiated":
        created.unsafeUpdate(1, createdLabels(payment.amount.currency, payment.paymentMethod.type))
        break
      case "PaymentSucceeded":
        if (payment.captureMethod === "automatic") finish(payment, "SUCCESS", event)
        break
      case "PaymentAuthorized":
        if (payment.captureMethod === "manual") finish(payment, "AUTHORIZED", event)
        break
      case "PaymentFailed":
        finish(payment, "FAILURE", event)
        break
      case "PaymentCancelled":
        if (!event.voided) finish(payment, "CANCELLED", event)
        break
      case "PaymentRetryAttempted": {
        const from = attemptGateway(payment, event.attemptId)
        if (event.failover === true) failovers.unsafeUpdate(1, failoverLabels(from, event.nextGateway ?? "none"))
        else retries.unsafeUpdate(1, gatewayLabels(from))
        break
      }
      case "PaymentOutcomeUnknown":
        unknown.unsafeUpdate(1, gatewayLabels(attemptGateway(payment, event.attemptId)))
        break
      case "CompensationRequested":
        compensations.unsafeUpdate(1, outcomeLabels("requested"))
        break
      case "CompensationSucceeded":
        compensations.unsafeUpdate(1, outcomeLabels("succeeded"))
        break
      case "ManualReviewRequired":
        reviews.unsafeUpdate(1, actionLabels("opened"))
        break
      case "ManualReviewResolved":
        reviews.unsafeUpdate(1, actionLabels("resolved"))
        break
    }
  }
}

/**
 * The repository with {@link recordDecision} after every successful `insert` and `update`.
 *
 * @since 0.2.0
 */
export const instrument = (repository: PaymentRepository["Type"]): PaymentRepository["Type"] => ({
  ...repository,
  insert: (decision) => Effect.map(repository.insert(decision), () => recordDecision(decision)),
  update: (decision, expectedVersion, options) => Effect.map(repository.update(decision, expectedVersion, options), () => recordDecision(decision))
})

/**
 * Replaces the `PaymentRepository` of its input with the {@link instrument}ed one. Part of every
 * composition (`AegisPay.layerWith`) unless `metrics: false`.
 *
 * @since 0.2.0
 */
export const layerRepository: Layer.Layer<PaymentRepository, never, PaymentRepository> = Layer.effect(
  PaymentRepository,
  Effect.map(PaymentRepository, instrument)
)

/**
 * Counts a create whose idempotency key was taken: `replayed` (same request) or a conflict.
 *
 * @since 0.2.0
 */
export const recordIdempotency = (replayed: boolean): Effect.Effect<void> =>
  Effect.sync(() => (replayed ? idempotencyReplays : idempotencyConflicts).unsafeUpdate(1, []))

/**
 * Counts one recovery run: its outcome, the payments it drove on by outcome, and sets the
 * last-run gauges (`endedAtMillis`: when it ended).
 *
 * @since 0.2.0
 */
export const recordRecovery = (
  report: { readonly examined: number; readonly resolved: number; readonly stillOpen: number; readonly failed: ReadonlyArray<unknown> } | undefined,
  endedAtMillis: number
): Effect.Effect<void> =>
  Effect.sync(() => {
    recoveryRuns.unsafeUpdate(1, outcomeLabels(report === undefined ? "failed" : "ok"))
    recoveryLastRun.unsafeUpdate(endedAtMillis / 1000, [])
    if (report === undefined) return
    recoveryLastFound.unsafeUpdate(report.examined, [])
    if (report.resolved > 0) recoveryPayments.unsafeUpdate(report.resolved, outcomeLabels("resolved"))
    if (report.stillOpen > 0) recoveryPayments.unsafeUpdate(report.stillOpen, outcomeLabels("open"))
    if (report.failed.length > 0) recoveryPayments.unsafeUpdate(report.failed.length, outcomeLabels("failed"))
  })
