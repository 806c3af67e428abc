/**
 * The correlation id: one id that ties together everything a caller's request caused, in logs,
 * spans and the webhooks sent to merchants, even what happens later in another fiber or process.
 *
 * ```ts
 * // your program: every operation inside carries "order-1001-checkout"
 * yield* payments.processPayment(id).pipe(Correlation.withId("order-1001-checkout"))
 * ```
 *
 * The HTTP service sets it for every request: the caller's `X-Correlation-Id`, else its
 * `X-Request-Id`, else the request id it generated (`req_…`).
 *
 * Guarantees:
 * - **Logs.** Every log line written inside {@link withId} is annotated `correlationId`.
 * - **Spans.** Every `PaymentService` operation's span inside {@link withId} has the attribute
 *   `aegispay.correlation_id` (and so does the HTTP request's span).
 * - **Events and webhooks.** The events an operation commits inside {@link withId} keep the id:
 *   on PostgreSQL it is stored with each event (the `correlationId` key of the stored payload in
 *   `aegis_events`, the outbox row and each merchant webhook delivery, written in the same
 *   statement as the event); in memory it is held beside the published event. Every merchant
 *   webhook delivery of such an event, by whichever worker and however late, carries the header
 *   {@link webhookHeader} (`AegisPay-Correlation-Id`).
 * - Only ids of 1–128 characters of `[A-Za-z0-9._:-]` are kept ({@link isValid}); {@link withId}
 *   ignores any other value (the effect runs without one), so a caller cannot inject text into
 *   logs or headers.
 *
 * @since 0.2.0
 */
import { Effect, FiberRef } from "effect"
import { globalValue } from "effect/GlobalValue"

/**
 * The header AegisPay sends the correlation id in, on every merchant webhook delivery of an event
 * committed under one.
 *
 * @since 0.2.0
 */
export const webhookHeader = "AegisPay-Correlation-Id"

/**
 * The request header the HTTP service takes the correlation id from (before `X-Request-Id`).
 *
 * @since 0.2.0
 */
export const requestHeader = "X-Correlation-Id"

/**
 * The span attribute of the correlation id.
 *
 * @since 0.2.0
 */
export const spanAttribute = "aegispay.correlation_id"

const VALID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Whether `id` can be a correlation id: 1–128 characters of `[A-Za-z0-9._:-]`.
 *
 * @since 0.2.0
 */
export const isValid = (id: string): boolean => VALID.test(id)

/**
 * The fiber's correlation id (`undefined` outside {@link withId}).
 *
 * @since 0.2.0
 */
export const currentRef: FiberRef.FiberRef<string | undefined> = globalValue(
  Symbol.for("aegispay/Correlation"),
  () => FiberRef.unsafeMake<string | undefined>(undefined)
)

/**
 * The current correlation id, if any.
 *
 * @since 0.2.0
 */
export const current: Effect.Effect<string | undefined> = FiberRef.get(currentRef)

/**
 * Runs `self` under the correlation id `id`: its log lines are annotated `correlationId`, its
 * operations' spans and committed events carry it. An invalid id ({@link isValid}) is ignored.
 *
 * @since 0.2.0
 */
export const withId = (id: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  isValid(id) ? Effect.locally(Effect.annotateLogs(self, "correlationId", id), currentRef, id) : self

/**
 * The correlation id of an HTTP request's headers (lower-case names, as `@effect/platform` gives
 * them): a valid `x-correlation-id`, else a valid `x-request-id`, else `fallback`.
 *
 * @since 0.2.0
 */
export const fromHeaders = (headers: Readonly<Record<string, string | undefined>>, fallback: string): string => {
  const correlation = headers["x-correlation-id"]
  if (correlation !== undefined && isValid(correlation)) return correlation
  const request = headers["x-request-id"]
  return request !== undefined && isValid(request) ? request : fallback
}

// ---------------------------------------------------------------------------------------------
// Events (internal): how the id travels with committed events to other fibers and processes.

/** Events published in this process under a correlation id (memory compositions). */
const byEvent = globalValue(Symbol.for("aegispay/Correlation/byEvent"), () => new WeakMap<object, string>())

/**
 * Remembers `id` for `events` published in this process (held as long as the events are).
 *
 * @internal
 */
export const rememberEvents = (events: ReadonlyArray<object>, id: string): void => {
  for (const event of events) byEvent.set(event, id)
}

/**
 * The correlation id an in-process event was published under.
 *
 * @internal
 */
export const ofEvent = (event: object): string | undefined => byEvent.get(event)

/**
 * The correlation id kept in a stored event payload (the `correlationId` key), when valid.
 *
 * @internal
 */
export const ofStored = (payload: unknown): string | undefined => {
  if (typeof payload !== "object" || payload === null || !("correlationId" in payload)) return undefined
  const id = payload.correlationId
  return typeof id === "string" && isValid(id) ? id : undefined
}

/**
 * `payload` (an encoded event) with the correlation id `id` stored beside its fields.
 *
 * @internal
 */
export const storedWith = <P extends object>(payload: P, id: string | undefined): P | (P & { readonly correlationId: string }) =>
  id === undefined ? payload : { ...payload, correlationId: id }
