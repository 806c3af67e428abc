/**
 * AegisPay's own metrics besides the gateway calls (`GatewayMetrics`) and the webhook attempts
 * (`WebhookDelivery`), fed from where things happen without touching the payment path:
 *
 * - `aegispay_payment_transitions_total{state}`: payments entering each state, counted from the
 *   committed events on the `EventBus` (on SQL compositions: in the process whose relay published
 *   them; sum over processes), `ACTION_REQUIRED` included (each `CustomerActionRequired`: a
 *   provider's newer action for a payment already waiting counts again);
 * - `aegispay_events_total{type}`: committed events by type;
 * - `aegispay_outbox_lag_ms`: histogram of the time from an event's commit to its publication on
 *   the `EventBus` (the outbox relay's delivery lag on SQL; about 0 on memory);
 * - `aegispay_circuit_state{gateway}`: 0 CLOSED, 1 HALF_OPEN, 2 OPEN, on every change and at each
 *   {@link refresh}; `aegispay_circuit_transitions_total{gateway,from,to}`: every change;
 * - `aegispay_outbox_pending`, `aegispay_outbox_oldest_pending_seconds`,
 *   `aegispay_webhook_deliveries_pending`, `aegispay_webhook_oldest_due_seconds`: backlogs, read
 *   from the database at each {@link refresh} (one query each; on SQL compositions only); an
 *   outbox message's age counts from its commit, also while it waits for a retry;
 * - `aegispay_manual_review_open`: payments with an open review item, read at each {@link refresh}
 *   (SQL compositions only; one partial-index count).
 *
 * Payment-level counts (created, finished, latency, retries, failovers, idempotency, recovery)
 * are `PaymentTelemetry`'s.
 *
 * {@link layer} is part of every composition (`AegisPay.layerWith`, unless `metrics: false`).
 *
 * @since 0.2.0
 */
import { SqlClient } from "@effect/sql"
import { Clock, DateTime, Effect, Layer, Metric, MetricBoundaries, Option, Schema, Stream } from "effect"
import type { PaymentEvent } from "../domain/PaymentEvent.js"
import type { PaymentState } from "../domain/PaymentState.js"
import { EventBus } from "../events/EventBus.js"
import { GatewayRegistry } from "../gateway/GatewayRegistry.js"
import { CircuitBreakers, type State } from "../resilience/CircuitBreaker.js"
import { latencyBuckets } from "../resilience/SlidingWindow.js"
import { labelSets } from "./internal/MetricLabels.js"

const transitions = Metric.counter("aegispay_payment_transitions_total", {
  description: "payments entering each state, from the committed events"
})
const events = Metric.counter("aegispay_events_total", { description: "committed payment events by type" })
const lag = Metric.histogram(
  "aegispay_outbox_lag_ms",
  MetricBoundaries.fromIterable(latencyBuckets),
  "time from an event's commit to its publication on the EventBus, in milliseconds"
)
const circuit = Metric.gauge("aegispay_circuit_state", {
  description: "circuit breaker state per gateway: 0 CLOSED, 1 HALF_OPEN, 2 OPEN"
})
const circuitTransitions = Metric.counter("aegispay_circuit_transitions_total", {
  description: "circuit breaker state changes per gateway, by the state left and the state entered"
})
const reviewsOpen = Metric.gauge("aegispay_manual_review_open", {
  description: "payments with an open manual review item"
})
const outboxPending = Metric.gauge("aegispay_outbox_pending", { description: "outbox messages not yet delivered" })
const outboxOldest = Metric.gauge("aegispay_outbox_oldest_pending_seconds", {
  description: "age of the oldest undelivered outbox message since its commit, in seconds (0 when none)"
})
const webhooksPending = Metric.gauge("aegispay_webhook_deliveries_pending", {
  description: "merchant webhook deliveries not yet delivered or dead-lettered"
})
const webhooksOldest = Metric.gauge("aegispay_webhook_oldest_due_seconds", {
  description: "how long the longest-due pending merchant webhook delivery has been due, in seconds (0 when none)"
})

const stateOf: Partial<Record<PaymentEvent["_tag"], PaymentState>> = {
  PaymentInitiated: "INITIATED",
  PaymentAuthenticated: "AUTHENTICATED",
  PaymentProcessing: "PROCESSING",
  // entering ACTION_REQUIRED (a provider's newer action for a payment already waiting counts again)
  CustomerActionRequired: "ACTION_REQUIRED",
  PaymentAuthorized: "AUTHORIZED",
  PaymentSucceeded: "SUCCESS",
  PaymentFailed: "FAILURE",
  PaymentCancelled: "CANCELLED"
}

const circuitValue = (state: State): number => (state === "CLOSED" ? 0 : state === "HALF_OPEN" ? 1 : 2)

/** Tagged metrics built once per tag value and reused (building one per update costs far more). */
// label sets built once per combination: see MetricLabels
const stateLabels = labelSets("state")
const typeLabels = labelSets("type")
const gatewayLabels = labelSets("gateway")
const circuitTransitionLabels = labelSets("gateway", "from", "to")

/**
 * Records one committed event as received now.
 *
 * @since 0.2.0
 */
export const recordEvent = (event: PaymentEvent, nowMillis: number): void => {
  events.unsafeUpdate(1, typeLabels(event._tag))
  const state = stateOf[event._tag]
  if (state !== undefined) transitions.unsafeUpdate(1, stateLabels(state))
  lag.unsafeUpdate(Math.max(0, nowMillis - DateTime.toEpochMillis(event.occurredAt)), [])
}

const Backlog = Schema.Struct({ pending: Schema.Union(Schema.Number, Schema.String), oldest: Schema.NullOr(Schema.Union(Schema.Number, Schema.String)) })
const decodeBacklog = Schema.decodeUnknown(Schema.Array(Backlog))
const decodeCount = Schema.decodeUnknown(Schema.Array(Schema.Struct({ reviews: Schema.Union(Schema.Number, Schema.String) })))

/**
 * Sets the gauges read on demand: every registered gateway's circuit state, and (with a
 * `SqlClient` in context) the outbox and webhook backlogs. Never fails: a failed read is logged at
 * Warning and its gauges keep their last value.
 *
 * @since 0.2.0
 */
export const refresh: Effect.Effect<void> = Effect.gen(function*() {
  const breakers = yield* Effect.serviceOption(CircuitBreakers)
  const registry = yield* Effect.serviceOption(GatewayRegistry)
  if (Option.isSome(breakers) && Option.isSome(registry)) {
    for (const gateway of yield* registry.value.all) {
      const state = yield* (yield* breakers.value.get(gateway.id)).state
      circuit.unsafeUpdate(circuitValue(state), gatewayLabels(gateway.id))
    }
  }
  const sql = yield* Effect.serviceOption(SqlClient.SqlClient)
  if (Option.isNone(sql)) return
  const backlog = (
    query: Effect.Effect<ReadonlyArray<unknown>, unknown>,
    pending: Metric.Metric.Gauge<number>,
    oldest: Metric.Metric.Gauge<number>
  ) =>
    query.pipe(
      Effect.flatMap(decodeBacklog),
      Effect.flatMap((rows) => {
        const row = rows[0]
        return Effect.zipRight(
          Metric.set(pending, Number(row?.pending ?? 0)),
          Metric.set(oldest, Math.max(0, Number(row?.oldest ?? 0)))
        )
      }),
      Effect.timeout("2 seconds"),
      Effect.catchAllCause((cause) => Effect.logWarning("metrics: reading a backlog failed", cause))
    )
  yield* backlog(
    sql.value`SELECT count(*) AS pending, EXTRACT(EPOCH FROM clock_timestamp() - min(created_at))::float8 AS oldest
              FROM aegis_outbox WHERE status = 'pending'`,
    outboxPending,
    outboxOldest
  )
  yield* backlog(
    sql.value`SELECT count(*) AS pending, EXTRACT(EPOCH FROM clock_timestamp() - min(next_attempt_at))::float8 AS oldest
              FROM aegis_webhook_deliveries d WHERE status = 'pending' AND NOT paused AND next_attempt_at <= clock_timestamp()
                AND EXISTS (SELECT 1 FROM aegis_webhook_endpoints e WHERE e.id = d.endpoint_id AND e.enabled)`.pipe(
      Effect.zip(sql.value`SELECT count(*) AS pending FROM aegis_webhook_deliveries WHERE status = 'pending'`),
      Effect.map(([due, all]) => [{ ...(due[0] ?? {}), ...(all[0] ?? {}) }])
    ),
    webhooksPending,
    webhooksOldest
  )
  yield* sql.value`SELECT count(*) AS reviews FROM aegis_payments WHERE needs_review`.pipe(
    Effect.flatMap(decodeCount),
    Effect.flatMap((rows) => Metric.set(reviewsOpen, Number(rows[0]?.reviews ?? 0))),
    Effect.timeout("2 seconds"),
    Effect.catchAllCause((cause) => Effect.logWarning("metrics: reading the manual review queue failed", cause))
  )
})

/**
 * Counts committed events from the `EventBus` and follows circuit changes, for the lifetime of
 * the layer (subscribed when built). Never fails, never slows a payment down (the bus never
 * waits).
 *
 * @since 0.2.0
 */
export const layer: Layer.Layer<never, never, EventBus | CircuitBreakers> = Layer.scopedDiscard(
  Effect.gen(function*() {
    const bus = yield* EventBus
    const stream = yield* bus.subscribe()
    yield* Effect.forkScoped(Stream.runForEach(stream, (event) =>
      Effect.map(Clock.currentTimeMillis, (now) => recordEvent(event, now))))
    const breakers = yield* CircuitBreakers
    const changes = yield* breakers.changes
    yield* Effect.forkScoped(Stream.runForEach(changes, (change) =>
      Effect.sync(() => {
        circuit.unsafeUpdate(circuitValue(change.to), gatewayLabels(change.gateway))
        circuitTransitions.unsafeUpdate(1, circuitTransitionLabels(change.gateway, change.from, change.to))
      })))
  })
)
