/**
 * The delivery worker of merchant webhooks: claims due deliveries, sends each as a signed HTTP
 * POST, and records the attempt.
 *
 * - **At least once.** A delivery is marked delivered only after its endpoint answered 2xx; a
 *   worker that dies between the answer and the record leaves the lease to expire, and the
 *   delivery is sent again (same event id: merchants dedupe on `AegisPay-Event-Id`).
 * - **In order per payment per endpoint.** Only the earliest pending event of a payment (per
 *   endpoint) is ever claimed; a later one waits until it is delivered or dead-lettered.
 * - **One attempt at a time.** A claim is a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL) fenced
 *   by a claim counter: two workers never send the same attempt concurrently, and a worker whose
 *   lease was taken over records nothing.
 * - **Retries.** A failed attempt (no answer within `timeout`, a network error, a status other
 *   than 2xx; redirects are not followed) is due again after the next delay of `schedule`
 *   (default {@link defaultSchedule}: 30 s, ×4 each time, at most 12 h, 8 attempts over about
 *   23 h 43 min); when the schedule ends, the delivery is dead-lettered. The payment's later events
 *   wait behind it meanwhile. Every attempt is logged with its status, latency and error.
 * - **Correlation.** An event committed under a correlation id (`Correlation`) is sent with the
 *   header `AegisPay-Correlation-Id` on every attempt, and the attempt's log lines carry it.
 * - Never logged or recorded: the endpoint's secret, the signature, the body.
 *
 * @since 0.2.0
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import type {
  Redacted} from "effect";
import {
  Cause,
  Clock,
  DateTime,
  Duration,
  Effect,
  Metric,
  MetricBoundaries,
  Option,
  Schedule,
  ScheduleDecision,
  ScheduleIntervals,
  Schema
} from "effect"
import { maskCardNumbers } from "../domain/Sanitize.js"
import { PaymentEvent } from "../domain/PaymentEvent.js"
import type { Claimed, Settlement, Store } from "../internal/webhooks/store.js"
import { latencyBuckets } from "../resilience/SlidingWindow.js"
import type { StorageError } from "../storage/StorageError.js"
import * as Correlation from "../observability/Correlation.js"
import * as MerchantEvent from "./MerchantEvent.js"
import * as WebhookSignature from "./WebhookSignature.js"
import { labelSets } from "../observability/internal/MetricLabels.js"

/**
 * The default retry schedule: 30 s after the first failure, then ×4 each time, never more than
 * 12 h, 7 retries (8 attempts): 30 s, 2 min, 8 min, 32 min, 2 h 8 min, 8 h 32 min, 12 h; the last
 * attempt about 23 h 43 min after the first.
 *
 * @since 0.2.0
 */
export const defaultSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("30 seconds", 4).pipe(
  Schedule.union(Schedule.spaced("12 hours")),
  Schedule.intersect(Schedule.recurs(7))
)

/**
 * Settings of the delivery worker. Every field is optional.
 *
 * @since 0.2.0
 */
export interface Options {
  /**
   * The delays between attempts: after the n-th consecutive failed attempt, the n-th delay of
   * the schedule (its input is n); when it ends, the delivery is dead-lettered. Default
   * {@link defaultSchedule}. A replay starts it over.
   */
  readonly schedule?: Schedule.Schedule<unknown, unknown> | undefined
  /** The longest wait for an endpoint's answer; default 10 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Deliveries claimed per round; default 32. */
  readonly batchSize?: number | undefined
  /** Requests in flight at once per worker; default 8. */
  readonly concurrency?: number | undefined
  /**
   * How long a claim is held before another worker may take it; default 60 s, raised to cover a
   * whole round (`timeout` × the round's waves of `concurrency` requests, plus one).
   */
  readonly lease?: Duration.DurationInput | undefined
  /** How often an idle worker looks for due deliveries; default 1 s. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** The `User-Agent` of every request; default `AegisPay-Webhooks/0.2`. */
  readonly userAgent?: string | undefined
}

/**
 * What a round did.
 *
 * @since 0.2.0
 */
export interface RoundReport {
  readonly claimed: number
  readonly delivered: number
  readonly failed: number
  readonly dead: number
  /** Attempts whose claim was taken over before they were recorded (nothing recorded). */
  readonly superseded: number
}

const deliveries = Metric.counter("aegispay_webhook_deliveries_total", {
  description: "merchant webhook attempts by outcome (delivered, failed and due again, dead-lettered)"
})
const outcomeLabels = labelSets("outcome")
const latency = Metric.histogram(
  "aegispay_webhook_latency_ms",
  MetricBoundaries.fromIterable(latencyBuckets),
  "merchant webhook request latency in milliseconds (answered or not)"
)

/**
 * The delay before the attempt after the `failures`-th consecutive failure; none when the
 * schedule has ended (dead-letter). Steps the schedule without sleeping.
 *
 * @since 0.2.0
 */
export const delayAfter = (
  schedule: Schedule.Schedule<unknown, unknown>,
  failures: number,
  now: number
): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.gen(function*() {
    let state: unknown = schedule.initial
    let delay = Option.none<Duration.Duration>()
    for (let n = 1; n <= failures; n++) {
      const [next, , decision] = yield* schedule.step(now, n, state)
      if (ScheduleDecision.isDone(decision)) return Option.none()
      state = next
      delay = Option.some(Duration.millis(Math.max(0, ScheduleIntervals.start(decision.intervals) - now)))
    }
    return delay
  })

/**
 * The lease a round needs: `lease`, raised to `timeout` × (waves of requests + 1).
 *
 * @since 0.2.0
 */
export const leaseFor = (options: Options): Duration.Duration => {
  const timeout = Duration.toMillis(Duration.decode(options.timeout ?? "10 seconds"))
  const waves = Math.ceil((options.batchSize ?? 32) / Math.max(1, options.concurrency ?? 8))
  return Duration.millis(Math.max(Duration.toMillis(Duration.decode(options.lease ?? "60 seconds")), timeout * (waves + 1)))
}

const decodeEvent = Schema.decodeUnknownEither(PaymentEvent)

const describe = (error: unknown): string =>
  maskCardNumbers(error instanceof Error ? error.message : String(error)).slice(0, 500)

/** An attempt's result before it is recorded. */
type Result =
  | { readonly _tag: "Answered"; readonly status: number }
  | { readonly _tag: "Failed"; readonly error: string }
  | { readonly _tag: "Undeliverable"; readonly error: string }

/**
 * One round: claims up to `batchSize` due deliveries, sends them (`concurrency` at a time), and
 * records each attempt. Fails only when the store does.
 *
 * @since 0.2.0
 */
export const round = (
  store: Store,
  owner: string,
  openSecret: (claimed: Claimed) => Effect.Effect<Redacted.Redacted<string>, string>,
  options: Options = {}
): Effect.Effect<RoundReport, StorageError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const schedule = options.schedule ?? defaultSchedule
    const timeout = Duration.decode(options.timeout ?? "10 seconds")
    const userAgent = options.userAgent ?? "AegisPay-Webhooks/0.2"
    const now = DateTime.unsafeMake(yield* Clock.currentTimeMillis)
    const claimed = yield* store.claim(owner, now, Math.max(1, options.batchSize ?? 32), leaseFor(options))
    const report = { claimed: claimed.length, delivered: 0, failed: 0, dead: 0, superseded: 0 }

    const send = (item: Claimed, secret: Redacted.Redacted<string>, body: string, type: string, attempt: number) =>
      Effect.gen(function*() {
        const timestamp = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const correlationId = Correlation.ofStored(item.delivery.payload)
        const request = HttpClientRequest.post(item.url).pipe(
          HttpClientRequest.setHeaders({
            ...(correlationId === undefined ? {} : { [Correlation.webhookHeader]: correlationId }),
            [WebhookSignature.signatureHeader]: WebhookSignature.header(secret, timestamp, body),
            [WebhookSignature.eventIdHeader]: item.delivery.eventId,
            "aegispay-event-type": type,
            "aegispay-delivery-id": item.delivery.id,
            "aegispay-attempt": String(attempt),
            "user-agent": userAgent
          }),
          HttpClientRequest.bodyText(body, "application/json")
        )
        const response = yield* client.execute(request)
        // the answer's body is read (and dropped) so the connection can be reused
        yield* Effect.ignore(response.text)
        return response.status
      }).pipe(
        Effect.timeoutFail({ duration: timeout, onTimeout: () => `no answer within ${Duration.format(timeout)}` }),
        Effect.matchCause({
          onSuccess: (status): Result => ({ _tag: "Answered", status }),
          onFailure: (cause): Result => ({
            _tag: "Failed",
            error: describe(Option.getOrElse(Cause.failureOption(cause), () => Cause.pretty(cause)))
          })
        })
      )

    const attemptOne = (item: Claimed) =>
      Effect.gen(function*() {
        const attempt = item.delivery.attempts + 1
        const started = yield* Clock.currentTimeMillis
        const result: Result = yield* Effect.gen(function*() {
          const event = decodeEvent(item.delivery.payload)
          if (event._tag === "Left") return { _tag: "Undeliverable", error: "the stored event does not decode" } as const
          const body = MerchantEvent.body(event.right)
          const type = MerchantEvent.typeOf(event.right)
          if (Option.isNone(body) || Option.isNone(type)) {
            return { _tag: "Undeliverable", error: `${event.right._tag} has no public event type` } as const
          }
          const secret = yield* Effect.either(openSecret(item))
          if (secret._tag === "Left") return { _tag: "Failed", error: `the endpoint's secret is unreadable: ${secret.left}` } as const
          return yield* send(item, secret.right, body.value, type.value, attempt)
        })
        const ended = yield* Clock.currentTimeMillis
        const latencyMillis = Math.max(0, ended - started)
        const ok = result._tag === "Answered" && result.status >= 200 && result.status < 300
        const error = result._tag === "Answered" ? (ok ? undefined : `HTTP ${result.status}`) : result.error
        const delay = ok || result._tag === "Undeliverable"
          ? Option.none<Duration.Duration>()
          : yield* delayAfter(schedule, attempt - item.delivery.retriesFrom, ended)
        const outcome = ok ? "delivered" : Option.isSome(delay) ? "failed" : "dead"
        const settlement: Settlement = {
          outcome,
          attemptedAt: DateTime.unsafeMake(started),
          httpStatus: result._tag === "Answered" ? result.status : undefined,
          latencyMillis,
          error,
          nextAttemptAt: Option.isSome(delay) ? DateTime.unsafeMake(ended + Duration.toMillis(delay.value)) : undefined
        }
        const recorded = yield* store.settle(owner, item, settlement)
        yield* Effect.sync(() => {
          if (result._tag !== "Undeliverable") latency.unsafeUpdate(latencyMillis, [])
          if (recorded) deliveries.unsafeUpdate(1, outcomeLabels(outcome))
        })
        const correlationId = Correlation.ofStored(item.delivery.payload)
        const annotations = {
          endpointId: item.delivery.endpointId,
          deliveryId: item.delivery.id,
          eventId: item.delivery.eventId,
          paymentId: item.delivery.paymentId,
          tenantId: item.delivery.tenantId,
          ...(correlationId === undefined ? {} : { correlationId }),
          attempt,
          latencyMillis,
          ...(settlement.httpStatus === undefined ? {} : { httpStatus: settlement.httpStatus })
        }
        if (!recorded) {
          report.superseded++
          yield* Effect.logWarning("merchant webhook: claim taken over before the attempt was recorded").pipe(
            Effect.annotateLogs(annotations)
          )
        } else if (outcome === "delivered") {
          report.delivered++
          yield* Effect.logDebug("merchant webhook delivered").pipe(Effect.annotateLogs(annotations))
        } else if (outcome === "failed") {
          report.failed++
          yield* Effect.logWarning(`merchant webhook attempt failed: ${error ?? ""}`).pipe(
            Effect.annotateLogs({ ...annotations, nextAttemptAt: settlement.nextAttemptAt === undefined ? "" : DateTime.formatIso(settlement.nextAttemptAt) })
          )
        } else {
          report.dead++
          yield* Effect.logError(`merchant webhook dead-lettered after ${attempt} attempts: ${error ?? ""}`).pipe(
            Effect.annotateLogs(annotations)
          )
        }
      })

    yield* Effect.forEach(claimed, attemptOne, { concurrency: Math.max(1, options.concurrency ?? 8), discard: true })
    return report satisfies RoundReport
  })
