/**
 * The charge commands: create (`initiate`), `authenticate`, the attempt committed before any money
 * moves (`startAttempt`), retries, failover, unknown outcomes and their reconciliation, and the
 * final `succeed` / `authorize` / `fail`.
 *
 * @internal
 */
import type { Option } from "effect"
import { Array as Arr, DateTime, Either } from "effect"
import type { Customer } from "../Customer.js"
import type { CustomerAction } from "../CustomerAction.js"
import type { Metadata } from "../Metadata.js"
import type * as Money from "../Money.js"
import { InvalidTransition } from "../PaymentError.js"
import * as Event from "../PaymentEvent.js"
import type { PaymentMethodToken } from "../PaymentMethod.js"
import * as State from "../PaymentState.js"
import { emit, guard } from "./command.js"
import type { Attempt, Decision, Payment } from "./entities.js"
import { start } from "./evolve.js"

/**
 * What creating a payment needs.
 *
 * @since 0.1.0
 */
export interface InitiateInput {
  readonly id: string
  readonly tenantId: string
  readonly idempotencyKey: string
  readonly requestFingerprint: string
  readonly amount: Money.Money
  readonly captureMethod: Event.CaptureMethod
  readonly paymentMethod: PaymentMethodToken
  readonly customer: Customer
  readonly metadata: Metadata
  readonly description?: string | undefined
  readonly gatewayPreference?: string | undefined
  readonly checkout?: Event.CheckoutInfo | undefined
}

/**
 * Creates a payment in INITIATED.
 *
 * @since 0.1.0
 */
export const initiate = (input: InitiateInput, now: DateTime.Utc): Decision => {
  const event = new Event.PaymentInitiated(
    {
      eventId: Event.eventId(input.id, 1),
      paymentId: input.id,
      tenantId: input.tenantId,
      seq: 1,
      occurredAt: now,
      idempotencyKey: input.idempotencyKey,
      requestFingerprint: input.requestFingerprint,
      amount: input.amount,
      captureMethod: input.captureMethod,
      paymentMethod: input.paymentMethod,
      customer: input.customer,
      metadata: input.metadata,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.gatewayPreference === undefined ? {} : { gatewayPreference: input.gatewayPreference }),
      ...(input.checkout === undefined ? {} : { checkout: input.checkout })
    },
    true
  )
  return { payment: start(event), events: [event] }
}

/**
 * INITIATED → AUTHENTICATED.
 *
 * @since 0.1.0
 */
export const authenticate = (payment: Payment, gateway: string, now: DateTime.Utc) =>
  Either.map(guard(payment, "AUTHENTICATED"), () =>
    emit(payment, now, (base) => new Event.PaymentAuthenticated({ ...base, gateway }, true)))

/**
 * AUTHENTICATED → PROCESSING with a new attempt, committed before any money-moving call.
 *
 * @since 0.1.0
 */
export const startAttempt = (
  payment: Payment,
  attempt: { readonly id: string; readonly gateway: string; readonly idempotencyKey: string },
  now: DateTime.Utc
) =>
  Either.map(guard(payment, "PROCESSING"), () =>
    emit(payment, now, (base) =>
      new Event.PaymentProcessing({
        ...base,
        attemptId: attempt.id,
        attemptNumber: payment.attempts.length + 1,
        gateway: attempt.gateway,
        gatewayIdempotencyKey: attempt.idempotencyKey
      }, true)))

const inProcessing = (payment: Payment, to: State.PaymentState): Either.Either<Attempt, InvalidTransition> => {
  const attempt = payment.currentAttempt
  return payment.state === "PROCESSING" && attempt !== undefined
    ? Either.right(attempt)
    : Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to }))
}

/**
 * The attempt in progress of a payment whose charge is in flight: PROCESSING, or waiting for the
 * customer (ACTION_REQUIRED). Its charge settles it, its definite failure fails it.
 */
const inFlight = (payment: Payment, to: State.PaymentState): Either.Either<Attempt, InvalidTransition> => {
  const attempt = payment.currentAttempt
  return (payment.state === "PROCESSING" || payment.state === "ACTION_REQUIRED") && attempt !== undefined
    ? Either.right(attempt)
    : Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to }))
}

/**
 * Records the provider's reference of the attempt in flight (see `AttemptReferenceRecorded`).
 * No event when it is already recorded.
 *
 * @since 0.2.0
 */
export const recordReference = (payment: Payment, reference: string, now: DateTime.Utc) =>
  Either.map(inFlight(payment, payment.state), (attempt): Decision =>
    attempt.reference === reference
      ? { payment, events: [] }
      : emit(payment, now, (base) => new Event.AttemptReferenceRecorded({ ...base, attemptId: attempt.id, reference }, true)))

/**
 * PROCESSING → ACTION_REQUIRED: the provider waits for the customer until `expiresAt`. In
 * ACTION_REQUIRED already, records the provider's newer action (no event when nothing changed).
 *
 * @since 0.2.0
 */
export const requireAction = (
  payment: Payment,
  input: { readonly reference: string; readonly action: CustomerAction; readonly expiresAt: DateTime.Utc },
  now: DateTime.Utc
) =>
  Either.flatMap(inFlight(payment, "ACTION_REQUIRED"), (attempt) => {
    if (payment.state === "ACTION_REQUIRED") {
      const same = payment.providerPending !== true && attempt.reference === input.reference && payment.actionExpiresAt !== undefined &&
        DateTime.Equivalence(payment.actionExpiresAt, input.expiresAt) &&
        JSON.stringify(payment.customerAction) === JSON.stringify(input.action)
      if (same) return Either.right<Decision>({ payment, events: [] })
    } else if (!State.canTransition(payment.state, "ACTION_REQUIRED")) {
      return Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: "ACTION_REQUIRED" }))
    }
    return Either.right(emit(payment, now, (base) =>
      new Event.CustomerActionRequired({
        ...base,
        attemptId: attempt.id,
        reference: input.reference,
        action: input.action,
        expiresAt: input.expiresAt
      }, true)))
  })

/**
 * Provider-pending: the provider accepted the attempt and settles it later (status or webhook);
 * after `expiresAt` it is asked to cancel. In PROCESSING, or in ACTION_REQUIRED when the customer
 * finished (the state stays; the customer action is dropped). No event when already pending with
 * this reference.
 *
 * @since 0.2.0
 */
export const pendingAtProvider = (
  payment: Payment,
  input: { readonly reference: string; readonly reason?: string | undefined; readonly expiresAt: DateTime.Utc },
  now: DateTime.Utc
) =>
  Either.map(inFlight(payment, payment.state), (attempt): Decision =>
    payment.providerPending === true && attempt.reference === input.reference
      ? { payment, events: [] }
      : emit(payment, now, (base) =>
        new Event.PaymentPendingAtProvider({
          ...base,
          attemptId: attempt.id,
          reference: input.reference,
          ...(input.reason === undefined ? {} : { reason: input.reason }),
          expiresAt: input.expiresAt
        }, true)))

/**
 * Records a transient failure of the current attempt that will be retried with the same key.
 *
 * @since 0.1.0
 */
export const recordRetry = (payment: Payment, reason: string, now: DateTime.Utc) =>
  Either.map(inProcessing(payment, "PROCESSING"), (attempt) =>
    emit(payment, now, (base) =>
      new Event.PaymentRetryAttempted({ ...base, attemptId: attempt.id, retry: attempt.retries + 1, reason }, true)))

/**
 * Fails the current attempt and starts a new one at another gateway, in one decision:
 * `PaymentRetryAttempted { failover }` then `PaymentProcessing`.
 * `mayHaveApplied`: the attempt was possibly sent (transient errors, an interrupted or crashed
 * send), so its gateway may have charged all the same; the attempt is marked `needsStatusCheck`.
 * Refused when the current attempt's outcome is or ever was unknown: such a payment never fails
 * over, since its first gateway may still apply the charge.
 *
 * @since 0.1.0
 */
export const failover = (
  payment: Payment,
  reason: string,
  next: { readonly id: string; readonly gateway: string; readonly idempotencyKey: string },
  now: DateTime.Utc,
  mayHaveApplied = false
) =>
  Either.flatMap(inProcessing(payment, "PROCESSING"), (attempt) =>
    attempt.uncertain
      ? Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to: "PROCESSING" }))
      : Either.right(emit(
        payment,
        now,
        (base) =>
          new Event.PaymentRetryAttempted({
            ...base,
            attemptId: attempt.id,
            retry: payment.attempts.length,
            reason,
            failover: true,
            nextGateway: next.gateway,
            ...(mayHaveApplied ? { mayHaveApplied } : {})
          }, true),
        (base) =>
          new Event.PaymentProcessing({
            ...base,
            attemptId: next.id,
            attemptNumber: payment.attempts.length + 1,
            gateway: next.gateway,
            gatewayIdempotencyKey: next.idempotencyKey
          }, true)
      )))

/**
 * Marks the current attempt's outcome unknown. The payment stays PROCESSING (or ACTION_REQUIRED:
 * a `complete` call lost its answer).
 *
 * @since 0.1.0
 */
export const outcomeUnknown = (payment: Payment, reason: string, now: DateTime.Utc) =>
  Either.map(inFlight(payment, payment.state), (attempt) =>
    emit(payment, now, (base) => new Event.PaymentOutcomeUnknown({ ...base, attemptId: attempt.id, reason }, true)))

/**
 * Records what the gateway's status said about the current attempt.
 *
 * @since 0.1.0
 */
export const reconciled = (
  payment: Payment,
  gatewayStatus: Event.PaymentReconciled["gatewayStatus"],
  now: DateTime.Utc
) =>
  Either.map(inFlight(payment, payment.state), (attempt) =>
    emit(payment, now, (base) => new Event.PaymentReconciled({ ...base, attemptId: attempt.id, gatewayStatus }, true)))

/**
 * PROCESSING → SUCCESS: the full amount was charged.
 *
 * @since 0.1.0
 */
export const succeed = (payment: Payment, gatewayTransactionId: string, now: DateTime.Utc) =>
  Either.flatMap(inFlight(payment, "SUCCESS"), (attempt) =>
    Either.map(guard(payment, "SUCCESS"), () =>
      emit(payment, now, (base) =>
        new Event.PaymentSucceeded({
          ...base,
          attemptId: attempt.id,
          gatewayTransactionId,
          captured: payment.amount
        }, true))))

/**
 * PROCESSING → AUTHORIZED: the amount is held for a later capture.
 *
 * @since 0.1.0
 */
export const authorize = (payment: Payment, gatewayTransactionId: string, now: DateTime.Utc) =>
  Either.flatMap(inFlight(payment, "AUTHORIZED"), (attempt) =>
    Either.map(guard(payment, "AUTHORIZED"), () =>
      emit(payment, now, (base) =>
        new Event.PaymentAuthorized({
          ...base,
          attemptId: attempt.id,
          gatewayTransactionId,
          amount: payment.amount
        }, true))))

/**
 * → FAILURE, from INITIATED, AUTHENTICATED, PROCESSING or ACTION_REQUIRED (the current attempt
 * fails with it).
 * `mayHaveApplied`: the attempt was possibly sent (transient errors, an interrupted or crashed
 * send), so its gateway may have charged all the same; the attempt is marked `needsStatusCheck`
 * (a charge found later is compensated).
 *
 * @since 0.1.0
 */
export const fail = (
  payment: Payment,
  reason: string,
  declineCode: string | undefined,
  now: DateTime.Utc,
  mayHaveApplied = false
) =>
  Either.map(guard(payment, "FAILURE"), () =>
    emit(payment, now, (base) => {
      const attemptId = payment.state === "PROCESSING" || payment.state === "ACTION_REQUIRED"
        ? payment.currentAttempt?.id
        : undefined
      return new Event.PaymentFailed({
        ...base,
        reason,
        ...(attemptId === undefined ? {} : { attemptId }),
        ...(declineCode === undefined ? {} : { declineCode }),
        ...(attemptId !== undefined && mayHaveApplied ? { mayHaveApplied } : {})
      }, true)
    }))

/**
 * Finds an attempt by its gateway idempotency key.
 *
 * @since 0.1.0
 */
export const findAttemptByKey = (payment: Payment, idempotencyKey: string): Option.Option<Attempt> =>
  Arr.findFirst(payment.attempts, (a) => a.idempotencyKey === idempotencyKey)

/**
 * Records the gateway's status of a failed-over attempt (see `Attempt.needsStatusCheck`).
 *
 * @since 0.1.0
 */
export const attemptStatusChecked = (
  payment: Payment,
  attemptId: string,
  gatewayStatus: Event.AttemptStatusChecked["gatewayStatus"],
  now: DateTime.Utc
): Decision => emit(payment, now, (base) => new Event.AttemptStatusChecked({ ...base, attemptId, gatewayStatus }, true))
