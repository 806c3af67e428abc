/**
 * Compensation: the automatic return of a stray charge.
 *
 * A stray charge is money a gateway took for an attempt that is not the payment's charge: an
 * attempt that was failed over (its gateway answered with an error, yet applied the charge), or
 * whose payment failed or was cancelled meanwhile. It is found by a gateway notification or by
 * a status check ({@link Compensation.check}); the payment itself stays as it is.
 *
 * Guarantees:
 * - **Committed first.** The compensation (attempt, transaction, amount, a stable idempotency
 *   key) is committed before the gateway is asked, so a crash never loses it: it is open work,
 *   found and resumed by the recovery worker, and resending uses the same key.
 * - **Once per attempt.** A stray attempt gets at most one compensation, however often the
 *   charge is reported.
 * - **Never the payment's own charge.** The attempt that completed the payment (or the one in
 *   progress) is never compensated (`Payment.ownsCharge`).
 * - **Refused returns go to a person.** When the gateway definitely refuses the refund (or the
 *   void of a stray authorization), a review item with the full context is opened and
 *   `ManualReviewRequired` is emitted; an unknown or transient answer leaves the compensation
 *   PENDING, to be resent with the same key.
 *
 * @since 0.1.0
 */
import type { DateTime} from "effect";
import { Context, Effect, Either, Layer } from "effect"
import { Ids } from "../domain/Ids.js"
import * as Payment from "../domain/Payment.js"
import * as Commit from "../internal/orchestration/commit.js"
import { InvalidTransition, type PaymentNotFound, type VersionConflict } from "../domain/PaymentError.js"
import type { GatewayReadError } from "../gateway/Gateway.js"
import { type GatewayNotFound, GatewayRegistry } from "../gateway/GatewayRegistry.js"
import type { LockUnavailable } from "../storage/LockManager.js"
import { PaymentLock } from "../storage/PaymentLock.js"
import { PaymentRepository } from "../storage/PaymentRepository.js"
import type { StorageError } from "../storage/StorageError.js"
import * as GatewayCall from "./GatewayCall.js"

/**
 * What a gateway says an attempt's charge became.
 *
 * @since 0.1.0
 */
export interface ChargeApplied {
  readonly status: "succeeded" | "authorized"
  readonly transactionId: string
}

type Common = PaymentNotFound | VersionConflict | LockUnavailable | StorageError | GatewayNotFound

/**
 * @since 0.1.0
 */
export class Compensation extends Context.Tag("aegispay/Compensation")<Compensation, {
  /**
   * Under the payment's lock (the caller holds it): records the compensation of a stray charge
   * of `attempt` and sends it. Answers the payment afterwards; `InvalidTransition` when the
   * charge is the payment's own or already compensated. `before`: changes to commit in the
   * same write as the compensation (what revealed the charge), so that a crash cannot keep one
   * without the other.
   */
  readonly compensateLocked: (
    payment: Payment.Payment,
    attempt: Payment.Attempt,
    charge: ChargeApplied,
    reason: string,
    before?: (payment: Payment.Payment, at: DateTime.Utc) => Payment.Decision
  ) => Effect.Effect<Payment.Payment, InvalidTransition | VersionConflict | LockUnavailable | StorageError | GatewayNotFound>
  /** Under the payment's lock (the caller holds it): resends every PENDING compensation. */
  readonly resumeLocked: (
    payment: Payment.Payment
  ) => Effect.Effect<Payment.Payment, VersionConflict | LockUnavailable | StorageError | GatewayNotFound>
  /**
   * Asks the gateway about one attempt of a payment (by its reference, else its idempotency key)
   * and compensates a stray charge it reports; records the answer for an attempt that
   * `needsStatusCheck`. A stray attempt the provider still holds open for the customer (or
   * pending) is cancelled there first. Takes
   * the payment's lock; a payment of the current `Tenant` only (else `PaymentNotFound`).
   */
  readonly check: (
    paymentId: string,
    attemptId: string
  ) => Effect.Effect<Payment.Payment, Common | GatewayReadError>
  /**
   * Resends the payment's PENDING compensations. Takes the payment's lock; a payment of the
   * current `Tenant` only (else `PaymentNotFound`).
   */
  readonly resume: (paymentId: string) => Effect.Effect<Payment.Payment, Common>
}>() {}

/**
 * Builds the compensation service.
 *
 * @since 0.1.0
 */
export const make = (config: GatewayCall.Config = {}) =>
  Effect.gen(function*() {
    const repository = yield* PaymentRepository
    const paymentLock = yield* PaymentLock
    const registry = yield* GatewayRegistry
    const ids = yield* Ids
    const calls = yield* GatewayCall.make(config)

    const commit = <E>(from: Payment.Payment, decide: (at: DateTime.Utc) => Either.Either<Payment.Decision, E>) =>
      Commit.commit(repository, from, decide)

    /** Sends one PENDING compensation and settles it on a definite answer. */
    const send = (payment: Payment.Payment, compensation: Payment.Compensation) =>
      Effect.gen(function*() {
        const gateway = yield* registry.forTenant(payment.tenantId).get(compensation.gateway)
        const result = yield* Effect.either(calls.withRetry(
          compensation.operation === "refund"
            ? Effect.map(
              calls.moving(gateway, "refund", gateway.refund({
                transactionId: compensation.gatewayTransactionId,
                idempotencyKey: compensation.idempotencyKey,
                amount: compensation.amount
              })),
              (r) => r.refundId
            )
            : Effect.as(
              calls.moving(gateway, "void", gateway.void({
                transactionId: compensation.gatewayTransactionId,
                idempotencyKey: compensation.idempotencyKey
              })),
              `void_${compensation.idempotencyKey}`
            )
        ))
        if (Either.isRight(result)) {
          return yield* commit(payment, (at) =>
            Either.right(Payment.compensationSucceeded(payment, compensation.id, result.right, at)))
        }
        const error = result.left
        if (error._tag === "GatewayDeclined" || error._tag === "GatewayMisconfigured") {
          const reason = `compensation ${compensation.operation} of ${compensation.gatewayTransactionId} at ` +
            `${compensation.gateway} refused: ${error.message}`
          yield* Effect.logWarning("compensation refused: manual review required").pipe(
            Effect.annotateLogs({ paymentId: payment.id, gateway: compensation.gateway, compensationId: compensation.id })
          )
          return yield* commit(payment, (at) =>
            Either.right(Payment.compensationNeedsReview(payment, compensation.id, reason, at)))
        }
        // unknown or transient: stays PENDING, resent with the same key by the next call or recovery
        return payment
      })

    const resumeLocked = (payment: Payment.Payment) =>
      Effect.gen(function*() {
        let current = payment
        for (const compensation of payment.compensations) {
          if (compensation.state === "PENDING") current = yield* send(current, compensation)
        }
        return current
      })

    /**
     * Commits the compensation of `attempt`'s charge, together with `before` (if any) in the
     * same write, then sends it.
     */
    const compensate = (
      payment: Payment.Payment,
      attempt: Payment.Attempt,
      charge: ChargeApplied,
      reason: string,
      before?: (payment: Payment.Payment, at: DateTime.Utc) => Payment.Decision
    ) =>
      Effect.gen(function*() {
        const compensationId = yield* ids.next("comp")
        const request = (current: Payment.Payment, at: DateTime.Utc) =>
          Payment.requestCompensation(current, {
            id: compensationId,
            attempt,
            gatewayTransactionId: charge.transactionId,
            operation: charge.status === "succeeded" ? "refund" : "void",
            idempotencyKey: `${payment.id}_${compensationId}`,
            reason
          }, at)
        const requested = yield* commit(payment, (at) =>
          before === undefined ? request(payment, at) : Payment.andThen(before(payment, at), (current) => request(current, at)))
        yield* Effect.logWarning("stray charge found: compensating").pipe(
          Effect.annotateLogs({ paymentId: payment.id, gateway: attempt.gateway, attemptId: attempt.id })
        )
        const compensation = requested.compensations.find((c) => c.id === compensationId)
        return compensation === undefined ? requested : yield* send(requested, compensation)
      })

    const check = Effect.fn("Compensation.check")(function*(paymentId: string, attemptId: string) {
      return yield* paymentLock.withPayment(paymentId, (payment) =>
        Effect.gen(function*() {
          const attempt = payment.attempts.find((a) => a.id === attemptId)
          if (attempt === undefined || Payment.ownsCharge(payment, attempt)) return payment
          if (payment.compensations.some((c) => c.attemptId === attempt.id)) return yield* resumeLocked(payment)
          const gateway = yield* registry.forTenant(payment.tenantId).get(attempt.gateway)
          const asked = yield* calls.status(gateway, attempt.idempotencyKey, attempt.reference)
          // A stray attempt its provider still holds open (waiting for the customer, or pending):
          // nothing is charged yet, but it may still be. It is not the payment's attempt any more,
          // so it is cancelled at the provider; the cancel answers what the provider says now (a
          // charge that landed meanwhile is compensated). While the provider still holds it (or
          // cannot cancel), the attempt keeps `needsStatusCheck` and is asked again next round.
          const cancel = gateway.customerAction?.cancel
          const status = (asked.status === "action_required" || asked.status === "pending") && cancel !== undefined
            ? yield* calls.reading(gateway, "cancel", cancel({
              paymentId: payment.id,
              tenantId: payment.tenantId,
              idempotencyKey: attempt.idempotencyKey,
              reference: attempt.reference ?? asked.reference
            })).pipe(Effect.orElseSucceed(() => asked))
            : asked
          if (status.status === "action_required" || status.status === "pending") return payment
          // a failed-over attempt is checked once: the answer is recorded in the same write as its
          // consequence (the compensation), so a crash between the two cannot lose the charge
          const record = (current: Payment.Payment, at: DateTime.Utc) =>
            Payment.attemptStatusChecked(current, attempt.id, status.status, at)
          const recordOnly = attempt.needsStatusCheck
            ? commit(payment, (at) => Either.right(record(payment, at)))
            : Effect.succeed(payment)
          if (status.status !== "succeeded" && status.status !== "authorized") return yield* recordOnly
          return yield* compensate(
            payment,
            attempt,
            status,
            `gateway status: ${status.status}`,
            attempt.needsStatusCheck ? record : undefined
          ).pipe(
            Effect.catchIf((e): e is InvalidTransition => e instanceof InvalidTransition, () => recordOnly)
          )
        }))
    })

    const resume = Effect.fn("Compensation.resume")(function*(paymentId: string) {
      return yield* paymentLock.withPayment(paymentId, resumeLocked)
    })

    return Compensation.of({ compensateLocked: compensate, resumeLocked, check, resume })
  })

/**
 * The compensation service layer.
 *
 * @since 0.1.0
 */
export const layer = (config: GatewayCall.Config = {}) => Layer.effect(Compensation, make(config))
