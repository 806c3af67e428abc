/**
 * Graceful shutdown of money-moving operations.
 *
 * Every operation of {@link PaymentService} that can move money (`processPayment`, `completePayment`,
 * `capturePayment`, `cancelPayment`, `refundPayment`, `resumeOperation`) runs in a fiber owned by
 * the composition, not by its caller:
 *
 * - **A caller that goes away** (client disconnect, caller timeout, SIGTERM interrupting the
 *   request fibers) stops waiting, but the operation goes on: its gateway call finishes, the
 *   answer is committed and the payment's lease released, exactly as if the caller had waited.
 * - **When the composition shuts down** (its scope closes: the end of `Effect.provide`, a
 *   `ManagedRuntime` disposed, `NodeRuntime.runMain` after SIGTERM), no new operation starts (a
 *   call made now is interrupted before it does anything) and operations in flight get up to
 *   `gracePeriod` (default 30 s) to finish and commit. Those still running then are interrupted:
 *   an interrupted send stays PROCESSING, possibly sent, and the recovery worker settles it from
 *   the gateway's own status (no double charge, no lost payment).
 * - **Sooner:** `InFlight.shutdown` does the same on demand, for a program with work of its own
 *   to finish after the last operation and before the scope closes.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Fiber, Layer, Option } from "effect"
import { PaymentService } from "./PaymentService.js"

/**
 * Shutdown settings. Every field is optional.
 *
 * @since 0.1.0
 */
export interface ShutdownOptions {
  /** How long operations in flight may take to finish at shutdown; default 30 seconds. */
  readonly gracePeriod?: Duration.DurationInput | undefined
}

/**
 * Operations in flight, owned by the composition.
 *
 * @since 0.1.0
 */
export class InFlight extends Context.Tag("aegispay/InFlight")<InFlight, {
  /**
   * Runs `effect` in a fiber owned by the composition: interrupting the caller stops the wait,
   * not the operation. After shutdown began, `effect` does not start and the caller is interrupted.
   */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** How many operations are in flight. */
  readonly size: Effect.Effect<number>
  /**
   * Begins the shutdown now rather than when the scope closes: no new operation starts, those in
   * flight get `within` (default: the `gracePeriod`) to finish, and those still running then are
   * interrupted. When the scope closes afterwards, nothing is left to wait for. For a program
   * that has work of its own to do between the last operation and the end of the scope (the
   * facade's `close()` delivers the last events).
   *
   * @since 0.6.0
   */
  readonly shutdown: (within?: Duration.DurationInput) => Effect.Effect<void>
}>() {}

/**
 * The in-flight registry; its finalizer drains it (see the module documentation).
 *
 * @since 0.1.0
 */
export const layer = (options: ShutdownOptions = {}): Layer.Layer<InFlight> =>
  Layer.scoped(
    InFlight,
    Effect.gen(function*() {
      const grace = Duration.decode(options.gracePeriod ?? "30 seconds")
      const fibers = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
      let closing = false
      const shutdown = (within: Duration.Duration) =>
        Effect.gen(function*() {
          closing = true
          const pending = [...fibers]
          if (pending.length === 0) return
          yield* Effect.logInfo(`shutdown: waiting for ${pending.length} operations in flight`)
          // finalizers are uninterruptible: the wait itself must be, or the deadline could not cut it
          const finished = yield* Fiber.awaitAll(pending).pipe(Effect.interruptible, Effect.timeoutOption(within))
          if (Option.isNone(finished)) {
            const late = [...fibers]
            yield* Effect.logWarning(
              `shutdown: ${late.length} operations still in flight after ${Duration.format(within)}: interrupted ` +
                "(an interrupted send stays PROCESSING and is settled by recovery from the gateway's status)"
            )
            yield* Fiber.interruptAll(late)
          }
        }).pipe(Effect.uninterruptible)
      yield* Effect.addFinalizer(() => shutdown(grace))
      return InFlight.of({
        run: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          Effect.uninterruptibleMask((restore) =>
            closing
              ? Effect.interrupt
              // forked inside the mask: made interruptible again, so the deadline can stop it
              : Effect.flatMap(Effect.forkDaemon(Effect.interruptible(effect)), (fiber) => {
                fibers.add(fiber)
                fiber.addObserver(() => {
                  fibers.delete(fiber)
                })
                // interrupting the caller interrupts this wait only: the fiber goes on
                return restore(Fiber.join(fiber))
              })
          ),
        size: Effect.sync(() => fibers.size),
        shutdown: (within) => shutdown(within === undefined ? grace : Duration.decode(within))
      })
    })
  )

/**
 * The {@link PaymentService} in context with its money-moving operations run through
 * {@link InFlight}: provide it over the plain service (`AegisPay.layerWith` does).
 *
 * @since 0.1.0
 */
export const layerPaymentService: Layer.Layer<PaymentService, never, PaymentService | InFlight> = Layer.effect(
  PaymentService,
  Effect.gen(function*() {
    const inner = yield* PaymentService
    const inFlight = yield* InFlight
    return PaymentService.of({
      ...inner,
      processPayment: (paymentId) => inFlight.run(inner.processPayment(paymentId)),
      completePayment: (paymentId, params) => inFlight.run(inner.completePayment(paymentId, params)),
      capturePayment: (request) => inFlight.run(inner.capturePayment(request)),
      cancelPayment: (request) => inFlight.run(inner.cancelPayment(request)),
      resumeOperation: (paymentId) => inFlight.run(inner.resumeOperation(paymentId)),
      refundPayment: (request) => inFlight.run(inner.refundPayment(request))
    })
  })
)
