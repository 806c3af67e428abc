/**
 * One structured log line and span attributes per payment operation and per gateway request.
 *
 * Every `PaymentService` operation (create, process, complete, capture, cancel, resume, refund,
 * and the reads at Debug) ends with one line `payment operation` annotated:
 *
 * | field | value |
 * |---|---|
 * | `operation` | `create`, `process`, `complete`, `capture`, `cancel`, `resume`, `refund`, `get`, `list` |
 * | `paymentId` | the payment's id (when known: a create refused before it made one has none) |
 * | `tenantId` | the tenant the operation ran for |
 * | `gateway` | the payment's gateway, when it has one |
 * | `state` | the payment's state after the operation (a refund: the refund's state) |
 * | `outcome` | `ok`, or the error's tag (`ValidationError`, `GatewayTransientError`, …), or `defect` |
 * | `latencyMs` | the operation's duration (Effect `Clock`) |
 *
 * at Info (`ok`), Warning (a typed error) or Error (a defect, with its cause); reads log at Debug,
 * and so does a read's `PaymentNotFound` (an answer, not a fault: the readiness probe's lookup
 * makes one on every `/ready`).
 * Every gateway request (through `GatewayCall`: authenticate, charge, capture, void, refund,
 * status, …) logs one line `gateway request` with `gateway`, `method` (the call), `outcome`
 * (`approved`, `declined`, `error`), `status` (an error's tag) and `latencyMs`, at Debug (Warning
 * for an error), inside the operation's annotations (`paymentId`, `correlationId`, `requestId`).
 * At the default level (Info) a payment thus writes one line per operation (two for create and
 * process), and a failing gateway request one more: the gateway's approvals and declines are in the
 * operation's line (`state`, `gateway`) and in the metrics, and `AEGISPAY_LOG_LEVEL=DEBUG` shows
 * every request.
 *
 * The operation's span (`PaymentService.<operation>`) gets the attributes `aegispay.payment_id`,
 * `aegispay.tenant_id`, `aegispay.gateway`, `aegispay.state`, `aegispay.outcome` and
 * `aegispay.correlation_id` (see `Correlation`).
 *
 * Guarantees: a line holds only the fields above, never a request or response body, a card
 * number, a CVV, a key or a secret (the values are ids, states, tags and
 * numbers). Below the current minimum log level (`Logging.layerConfig`, `AEGISPAY_LOG_LEVEL`)
 * nothing is built. Logging never fails or changes the operation's result.
 *
 * @since 0.2.0
 */
import { Cause, Clock, Context, Effect, Exit, FiberRef, LogLevel, Option, Tracer } from "effect"
import * as Tenant from "../domain/Tenant.js"
import * as Correlation from "./Correlation.js"

/**
 * What an operation's result says about its payment.
 *
 * @since 0.2.0
 */
export interface Subject {
  readonly paymentId: string
  readonly gateway?: string | undefined
  readonly state: string
}

/**
 * A payment, as a {@link Subject}.
 *
 * @since 0.2.0
 */
export const ofPayment = (payment: { readonly id: string; readonly gateway?: string | undefined; readonly state: string }): Subject => ({
  paymentId: payment.id,
  gateway: payment.gateway,
  state: payment.state
})

const isEnabled = (minimum: LogLevel.LogLevel, level: LogLevel.LogLevel) => LogLevel.greaterThanEqual(level, minimum)

/**
 * A pipeable for `Effect.fn("PaymentService.<name>")(body, OperationLog.traced(...))`: runs inside
 * the operation's span, annotates it and logs the operation's line when it ends.
 *
 * - `operation`: the `operation` field;
 * - `paymentIdOf`: the payment id from the arguments, when known before the operation runs (it
 *   then annotates the span at once and every log line inside, gateway requests included);
 * - `subjectOf`: what the result says (payment id, gateway, state);
 * - `level`: of a success line (default Info; the reads use Debug);
 * - `expectedErrors`: tags of typed errors that are an answer rather than a fault (a read's
 *   `PaymentNotFound`: a 404, or the readiness probe's lookup), logged at `level` like a success
 *   instead of Warning.
 *
 * @since 0.2.0
 */
export const traced = <S, Args extends ReadonlyArray<unknown>>(
  operation: string,
  options: {
    readonly paymentIdOf?: ((...args: Args) => string | undefined) | undefined
    readonly subjectOf?: ((a: S) => Subject | undefined) | undefined
    readonly level?: LogLevel.LogLevel | undefined
    readonly expectedErrors?: ReadonlyArray<string> | undefined
  } = {}
) =>
<A extends S, E, R>(self: Effect.Effect<A, E, R>, ...args: Args): Effect.Effect<A, E, R> => {
  const okLevel = options.level ?? LogLevel.Info
  // one step to start (the span annotated and the clock read in place) and `onExit` to end: this
  // runs twice per payment, so it avoids an effect per annotation and per clock read
  return Effect.withFiberRuntime<A, E, R>((fiber) => {
    const known = options.paymentIdOf?.(...args)
    const correlationId = fiber.getFiberRef(Correlation.currentRef)
    const tenantId = Context.get(fiber.currentContext, Tenant.Tenant).id
    const span = propagatedSpan(Option.getOrUndefined(Context.getOption(fiber.currentContext, Tracer.ParentSpan)))
    if (span !== undefined) {
      span.attribute("aegispay.tenant_id", tenantId)
      if (known !== undefined) span.attribute("aegispay.payment_id", known)
      if (correlationId !== undefined) span.attribute(Correlation.spanAttribute, correlationId)
    }
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const started = clock.unsafeCurrentTimeMillis()
    const body = known === undefined ? self : Effect.annotateLogs(self, "paymentId", known)
    return Effect.onExit(body, (exit) => {
      const ended = clock.unsafeCurrentTimeMillis()
      const subject = Exit.isSuccess(exit) ? options.subjectOf?.(exit.value) : undefined
      const paymentId = subject?.paymentId ?? known
      const outcome = Exit.isSuccess(exit)
        ? "ok"
        : Cause.isInterruptedOnly(exit.cause)
        ? "interrupted"
        : Cause.failureOption(exit.cause).pipe((failure) =>
          failure._tag === "Some" ? tagOf(failure.value) : "defect"
        )
      if (span !== undefined) {
        span.attribute("aegispay.outcome", outcome)
        if (paymentId !== undefined) span.attribute("aegispay.payment_id", paymentId)
        if (subject?.gateway !== undefined) span.attribute("aegispay.gateway", subject.gateway)
        if (subject !== undefined) span.attribute("aegispay.state", subject.state)
      }
      const level = outcome === "ok" || options.expectedErrors?.includes(outcome) === true
        ? okLevel
        : outcome === "defect"
        ? LogLevel.Error
        : outcome === "interrupted"
        ? LogLevel.Info
        : LogLevel.Warning
      if (!isEnabled(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), level)) return Effect.void
      const fields: Record<string, string | number> = { operation, tenantId, outcome, latencyMs: ended - started }
      if (paymentId !== undefined) fields.paymentId = paymentId
      if (subject?.gateway !== undefined) fields.gateway = subject.gateway
      if (subject !== undefined) fields.state = subject.state
      const line = outcome === "defect" && Exit.isFailure(exit)
        ? Effect.logWithLevel(level, "payment operation", exit.cause)
        : Effect.logWithLevel(level, "payment operation")
      return Effect.annotateLogs(line, fields)
    })
  })
}

/**
 * The span `Effect.annotateCurrentSpan` would annotate: the current span, or, when it does not
 * propagate (`Tracer.DisablePropagation`), its nearest parent that does; none for an external span.
 */
const propagatedSpan = (span: Tracer.AnySpan | undefined): Tracer.Span | undefined => {
  if (span === undefined) return undefined
  if (Context.get(span.context, Tracer.DisablePropagation)) {
    return span._tag === "Span" ? propagatedSpan(Option.getOrUndefined(span.parent)) : undefined
  }
  return span._tag === "Span" ? span : undefined
}

const tagOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" ? error._tag : "error"

/**
 * Logs one gateway request's line (see the module's description); nothing below the minimum log
 * level.
 *
 * @since 0.2.0
 */
export const gatewayRequest = (
  gateway: string,
  method: string,
  outcome: "approved" | "declined" | "error",
  latencyMs: number,
  status?: string | undefined
): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const level = outcome === "error" ? LogLevel.Warning : LogLevel.Debug
    if (!isEnabled(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), level)) return Effect.void
    return Effect.annotateLogs(
      Effect.logWithLevel(level, "gateway request"),
      status === undefined ? { gateway, method, outcome, latencyMs } : { gateway, method, outcome, status, latencyMs }
    )
  })
