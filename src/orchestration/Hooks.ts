/**
 * Merchant hooks around the payment flow: `beforeCreate` (validation), `fraudCheck`,
 * `beforeRoute` (reorder or restrict the candidate gateways) and `afterProcess`.
 *
 * Hooks of one kind run in priority order (higher first), each bounded by its `timeout`
 * (default 5 s). A hook that fails, times out or has a defect (throws, dies or interrupts
 * itself: the defect is logged at Error with its cause) is handled by its `failMode`: `"closed"`
 * (default) stops the operation with {@link HookFailed}; `"open"` logs and carries on. Nothing a
 * hook does escapes as a defect into the payment operation. A deliberate refusal
 * is not a failure: `beforeCreate` refuses with {@link HookRejected}, `fraudCheck` with a verdict
 * that becomes {@link FraudRejected} (the payment moves to FAILURE first, so it is recorded).
 *
 * `afterProcess` is different: it runs after the fact, never inside a payment operation, and
 * never changes an operation's result (see {@link runAfterProcess}): once per terminal
 * transition of a payment (to SUCCESS, FAILURE or CANCELLED), however the payment got there
 * (`processPayment`, a capture or void, a gateway notification, the recovery worker), fed from
 * the committed events on the `EventBus`. For other events, subscribe to the `EventBus`.
 *
 * @since 0.1.0
 */
import { Cause, Context, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import type { Duration, Scope } from "effect"
import { fold, type Payment } from "../domain/Payment.js"
import type { PaymentEvent, PaymentEventType } from "../domain/PaymentEvent.js"
import { EventBus } from "../events/EventBus.js"
import { EventStore } from "../storage/EventStore.js"
import type { CreatePaymentInput } from "../domain/PaymentRequest.js"

/**
 * A `beforeCreate` hook refused the request. Nothing was created.
 *
 * @since 0.1.0
 */
export class HookRejected extends Schema.TaggedError<HookRejected>()("HookRejected", {
  hook: Schema.String,
  reason: Schema.String
}) {}

/**
 * A fail-closed hook failed or timed out; the operation did not go on.
 *
 * @since 0.1.0
 */
export class HookFailed extends Schema.TaggedError<HookFailed>()("HookFailed", {
  hook: Schema.String,
  reason: Schema.String
}) {}

/**
 * A fraud check rejected the payment; it is now FAILURE with decline code `fraud_rejected`.
 *
 * @since 0.1.0
 */
export class FraudRejected extends Schema.TaggedError<FraudRejected>()("FraudRejected", {
  paymentId: Schema.String,
  hook: Schema.String,
  score: Schema.Number,
  reason: Schema.String
}) {}

/**
 * What every hook declares.
 *
 * @since 0.1.0
 */
export interface HookOptions {
  readonly name: string
  /** Higher runs first; default 0. */
  readonly priority?: number | undefined
  /** Default 5 s. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Default `"closed"`. */
  readonly failMode?: "closed" | "open" | undefined
}

/**
 * A fraud verdict.
 *
 * @since 0.1.0
 */
export interface FraudVerdict {
  readonly score: number
  readonly reject: boolean
  readonly reason?: string | undefined
}

/**
 * The hooks to install.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly beforeCreate?: ReadonlyArray<
    HookOptions & { readonly run: (request: CreatePaymentInput) => Effect.Effect<void, HookRejected | unknown> }
  >
  /**
   * Run by `processPayment` before a payment's attempt is committed. It must only decide: when
   * two callers race for the same payment on PostgreSQL, it may run more than once for it (the
   * loser's optimistic start is discarded and run again under the lock, see
   * `PaymentLock.WithPaymentOptions`).
   */
  readonly fraudCheck?: ReadonlyArray<HookOptions & { readonly run: (payment: Payment) => Effect.Effect<FraudVerdict, unknown> }>
  readonly beforeRoute?: ReadonlyArray<
    HookOptions & {
      readonly run: (payment: Payment, candidates: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, unknown>
    }
  >
  /**
   * Runs once per terminal transition of a payment (to SUCCESS, FAILURE or CANCELLED), with the
   * payment as that transition left it; at least once, so it should be idempotent (key it by
   * `payment.id`). See {@link runAfterProcess}.
   */
  readonly afterProcess?: ReadonlyArray<HookOptions & { readonly run: (payment: Payment) => Effect.Effect<void, unknown> }>
}

/**
 * The former name of {@link Options}.
 *
 * @since 0.1.0
 * @deprecated use {@link Options}
 */
export type Config = Options

/**
 * The installed hooks, run with their priority, timeout and fail mode.
 *
 * @since 0.1.0
 */
export class Hooks extends Context.Tag("aegispay/Hooks")<Hooks, {
  readonly beforeCreate: (request: CreatePaymentInput) => Effect.Effect<void, HookRejected | HookFailed>
  /** The first rejecting verdict, if any. */
  readonly fraudCheck: (
    payment: Payment
  ) => Effect.Effect<{ readonly hook: string; readonly verdict: FraudVerdict } | undefined, HookFailed>
  /** The candidate ids after every hook had its say (a hook may only restrict or reorder). */
  readonly beforeRoute: (payment: Payment, candidates: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, HookFailed>
  /**
   * Runs the `afterProcess` hooks for a payment that has just reached a terminal state (called
   * by {@link runAfterProcess}, never by a payment operation). `HookFailed`: a fail-closed hook
   * failed.
   */
  readonly afterProcess: (payment: Payment) => Effect.Effect<void, HookFailed>
  /** Whether any `afterProcess` hook is installed. */
  readonly afterProcessInstalled: boolean
}>() {}

const ordered = <H extends HookOptions>(hooks: ReadonlyArray<H> | undefined): ReadonlyArray<H> =>
  [...(hooks ?? [])].map((h, i) => ({ h, i })).sort((a, b) => (b.h.priority ?? 0) - (a.h.priority ?? 0) || a.i - b.i)
    .map((x) => x.h)

const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

/**
 * Runs one hook with its timeout and fail mode: `{ ok: true, value }` on success, `{ ok: false }`
 * when it failed open.
 */
type Guarded<A> = { readonly ok: true; readonly value: A } | { readonly ok: false }

/**
 * Why a hook failed, from its whole cause: a failure (its error's message), a defect (a thrown
 * exception or `Effect.die`: the merchant's code has a bug) or an interruption of its own.
 */
const reasonOf = (cause: Cause.Cause<unknown>): { readonly reason: string; readonly defect: boolean } =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => ({ reason: describe(error), defect: false }),
    onNone: () =>
      Option.match(Cause.dieOption(cause), {
        onSome: (defect) => ({ reason: `defect: ${describe(defect)}`, defect: true }),
        onNone: () => ({ reason: "interrupted", defect: true })
      })
  })

/**
 * Runs a hook bounded by its timeout. Whatever the hook does — fail, time out, throw, die or
 * interrupt itself — ends here as a value: a failure or defect is handled by the fail mode
 * (a defect is also logged at Error with its cause); only a `HookRejected` failure passes as
 * is. The caller's own interruption is never caught.
 */
const guard = <A>(hook: HookOptions, run: () => Effect.Effect<A, unknown>): Effect.Effect<Guarded<A>, HookRejected | HookFailed> =>
  Effect.suspend(run).pipe(
    Effect.timeoutFail({
      duration: hook.timeout ?? "5 seconds",
      onTimeout: () => new HookFailed({ hook: hook.name, reason: "timed out" })
    }),
    Effect.map((value): Guarded<A> => ({ ok: true, value })),
    Effect.catchAllCause((cause): Effect.Effect<Guarded<A>, HookRejected | HookFailed> => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && failure.value instanceof HookRejected) return Effect.fail(failure.value)
      const { defect, reason } = reasonOf(cause)
      const logged = defect
        ? Effect.logError("hook failed with a defect", cause).pipe(Effect.annotateLogs({ hook: hook.name }))
        : Effect.void
      return (hook.failMode ?? "closed") === "open"
        ? Effect.as(
          Effect.zipRight(logged, Effect.logWarning("hook failed open").pipe(Effect.annotateLogs({ hook: hook.name, reason }))),
          { ok: false }
        )
        : Effect.zipRight(logged, Effect.fail(new HookFailed({ hook: hook.name, reason })))
    })
  )

/** For hooks that cannot refuse: a `HookRejected` from them is a failure like any other. */
const noRejection = (hook: HookOptions) => <A>(self: Effect.Effect<A, HookRejected | HookFailed>): Effect.Effect<A, HookFailed> =>
  Effect.mapError(self, (e) => (e instanceof HookRejected ? new HookFailed({ hook: hook.name, reason: e.reason }) : e))

/**
 * @since 0.1.0
 */
export const make = (config: Config = {}) => {
  // ordered once: with no hook of a kind installed, its call is a constant (no work per payment)
  const beforeCreate = ordered(config.beforeCreate)
  const fraudCheck = ordered(config.fraudCheck)
  const beforeRoute = ordered(config.beforeRoute)
  const afterProcess = ordered(config.afterProcess)
  const noFraudVerdict = Effect.succeed(undefined)
  return Hooks.of({
    beforeCreate: (request) =>
      beforeCreate.length === 0
        ? Effect.void
        : Effect.forEach(beforeCreate, (hook) => guard(hook, () => hook.run(request)), { discard: true }),
    fraudCheck: (payment) =>
      fraudCheck.length === 0 ? noFraudVerdict : Effect.gen(function*() {
        for (const hook of fraudCheck) {
          const result = yield* guard(hook, () => hook.run(payment)).pipe(noRejection(hook))
          if (result.ok && result.value.reject) return { hook: hook.name, verdict: result.value }
        }
        return undefined
      }),
    beforeRoute: (payment, candidates) =>
      beforeRoute.length === 0 ? Effect.succeed(candidates) : Effect.gen(function*() {
        let current = candidates
        for (const hook of beforeRoute) {
          const result = yield* guard(hook, () => hook.run(payment, current)).pipe(noRejection(hook))
          // a hook may reorder or drop candidates, never add one
          if (result.ok) current = result.value.filter((id, i, all) => current.includes(id) && all.indexOf(id) === i)
        }
        return current
      }),
    afterProcess: (payment) =>
      Effect.forEach(
        afterProcess,
        (hook) =>
          guard(hook, () => hook.run(payment)).pipe(noRejection(hook)),
        { discard: true }
      ),
    afterProcessInstalled: afterProcess.length > 0
  })
}

/**
 * The events of a terminal transition: the payment reached SUCCESS (`PaymentSucceeded`, by
 * processing or by the capture of an authorization), FAILURE or CANCELLED. A payment has at most
 * one: those states are final.
 *
 * @since 0.1.0
 */
export const terminalEvents: ReadonlyArray<PaymentEventType> = ["PaymentSucceeded", "PaymentFailed", "PaymentCancelled"]

/**
 * A bounded memory of the (payment, sequence) pairs handled: the oldest is forgotten first.
 */
const makeSeen = (capacity: number) => {
  const seen = new Set<string>()
  return {
    /** Claims `key`; false when it was claimed before. */
    claim: (key: string): boolean => {
      if (seen.has(key)) return false
      seen.add(key)
      if (seen.size > capacity) {
        const oldest = seen.values().next()
        if (oldest.done !== true) seen.delete(oldest.value)
      }
      return true
    },
    release: (key: string): void => {
      seen.delete(key)
    }
  }
}

/**
 * Runs the `afterProcess` hooks from committed events, for the lifetime of the scope: for every
 * terminal event (see {@link terminalEvents}) delivered on the {@link EventBus}, the hooks run
 * with the payment folded from its event log up to that event (the payment as the transition
 * left it, whatever happened to it since).
 *
 * Guarantees:
 * - **After the fact.** It never runs inside a payment operation and never changes its result:
 *   the money operation has committed before its event is published.
 * - **Every way to a terminal state.** `processPayment`, a capture or a void, a gateway
 *   notification and the recovery worker all commit the same terminal events.
 * - **Once per transition, at least once per delivery.** Runs are deduplicated by (payment,
 *   sequence) in this process (the last `capacity` transitions, default 100,000), so a
 *   redelivery by the outbox relay does not run the hooks again. Delivery follows the
 *   `EventBus`: with memory storage, events are published as they commit; with SQL storage, the
 *   `OutboxRelay` of this process publishes every committed event at least once, also across
 *   crashes (a relay that dies before recording a delivery delivers again: the hooks may then run
 *   twice, so make them idempotent). A process that dies while a hook runs, after its relay
 *   recorded the delivery, does not run it again; nor does a subscriber that falls more than the
 *   bus's capacity behind (the oldest events are dropped): the event log keeps every event.
 * - **Failures are reported, not retried here.** A fail-closed hook that fails (or a failure to
 *   read the event log) is logged at Error with its cause and the transition is forgotten, so a
 *   redelivery runs it again; a fail-open one is logged and counts as done. One transition's
 *   failure never stops the others.
 *
 * Runs nothing (and subscribes to nothing) when no `afterProcess` hook is installed. Started by
 * `PaymentService.layer`.
 *
 * @since 0.1.0
 */
export const runAfterProcess = (
  options: { readonly capacity?: number | undefined; readonly concurrency?: number | undefined } = {}
): Effect.Effect<void, never, Hooks | EventBus | EventStore | Scope.Scope> =>
  Effect.gen(function*() {
    const hooks = yield* Hooks
    if (!hooks.afterProcessInstalled) return
    const bus = yield* EventBus
    const store = yield* EventStore
    const seen = makeSeen(Math.max(1, options.capacity ?? 100_000))
    const events = yield* bus.subscribe(terminalEvents)
    const deliver = (event: PaymentEvent) =>
      Effect.gen(function*() {
        const log = yield* store.read(event.paymentId)
        const folded = fold(log.filter((e) => e.seq <= event.seq))
        if (Either.isLeft(folded)) return yield* folded.left
        if (Option.isNone(folded.right)) return yield* Effect.dieMessage(`no events for payment ${event.paymentId}`)
        yield* hooks.afterProcess(folded.right.value)
      })
    const handle = (event: PaymentEvent) =>
      Effect.suspend(() => {
        const key = `${event.paymentId}\u0000${event.seq}`
        if (!seen.claim(key)) return Effect.void
        return deliver(event).pipe(
          Effect.catchAllCause((cause) =>
            Effect.zipRight(
              Effect.sync(() => seen.release(key)),
              Effect.logError("afterProcess failed", cause)
            )
          ),
          Effect.annotateLogs({ paymentId: event.paymentId, seq: event.seq })
        )
      })
    yield* events.pipe(
      Stream.mapEffect(handle, { concurrency: Math.max(1, options.concurrency ?? 8), unordered: true }),
      Stream.runDrain,
      Effect.forkScoped
    )
  })

/**
 * @since 0.1.0
 */
export const layer = (config: Config = {}): Layer.Layer<Hooks> => Layer.succeed(Hooks, make(config))

