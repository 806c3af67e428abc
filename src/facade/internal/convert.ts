/**
 * Conversions between the facade's plain values and the Effect core's: amounts in, payments,
 * events and errors out.
 *
 * @internal
 */
import { Cause, DateTime, Either, Option, Schema } from "effect"
import * as Money from "../../domain/Money.js"
import type * as CorePayment from "../../domain/Payment.js"
import type * as CoreErrors from "../../domain/PaymentError.js"
import * as CoreEvent from "../../domain/PaymentEvent.js"
import * as PaymentView from "../../domain/PaymentView.js"
import { maskCardNumbers } from "../../domain/Sanitize.js"
import type * as Gateway from "../../gateway/Gateway.js"
import type { GatewayNotFound } from "../../gateway/GatewayRegistry.js"
import type { NoGatewayAvailable } from "../../orchestration/Errors.js"
import type { FraudRejected, HookFailed, HookRejected } from "../../orchestration/Hooks.js"
import type { CircuitOpen } from "../../resilience/CircuitBreaker.js"
import type { LockUnavailable } from "../../storage/LockManager.js"
import type { StorageError } from "../../storage/StorageError.js"
import * as Errors from "../Errors.js"
import type * as Types from "../Types.js"

/**
 * Every error a facade operation can fail with on the Effect side.
 *
 * @internal
 */
export type CoreError =
  | CoreErrors.PaymentNotFound
  | CoreErrors.InvalidTransition
  | CoreErrors.IdempotencyKeyReused
  | CoreErrors.VersionConflict
  | CoreErrors.ValidationError
  | CoreErrors.CaptureExceedsAuthorized
  | CoreErrors.RefundExceedsCaptured
  | CoreErrors.RefundLimitReached
  | CoreErrors.OperationPending
  | CoreErrors.CheckoutNotCancelled
  | Gateway.GatewayDeclined
  | Gateway.GatewayTransientError
  | Gateway.GatewayUnknownOutcome
  | Gateway.GatewayMisconfigured
  | GatewayNotFound
  | NoGatewayAvailable
  | CircuitOpen
  | LockUnavailable
  | StorageError
  | HookRejected
  | HookFailed
  | FraudRejected
  | Errors.AegisPayError

/** @internal */
export const amountOf = (money: Money.Money): Types.Amount => ({
  currency: money.currency,
  amount: Money.toDecimalString(money),
  minor: money.minor
})

const masked = (text: string): string => maskCardNumbers(text)

/**
 * The facade error of a core error (messages masked once more: they may quote caller text).
 *
 * @internal
 */
export const errorOf = (error: CoreError): Errors.AegisPayError => {
  if (error instanceof Errors.AegisPayError) return error
  const message = masked(error.message)
  switch (error._tag) {
    case "PaymentNotFound":
      return new Errors.PaymentNotFoundError({ paymentId: error.paymentId, message })
    case "InvalidTransition":
      return new Errors.InvalidTransitionError({ paymentId: error.paymentId, from: error.from, to: error.to, message })
    case "IdempotencyKeyReused":
      return new Errors.IdempotencyKeyReusedError({ idempotencyKey: error.idempotencyKey, existingId: error.existingId, message })
    case "VersionConflict":
      return new Errors.VersionConflictError({
        paymentId: error.paymentId,
        expectedVersion: error.expectedVersion,
        actualVersion: error.actualVersion,
        message
      })
    case "ValidationError":
      return new Errors.ValidationError({ path: error.path, message })
    case "CaptureExceedsAuthorized":
      return new Errors.CaptureExceedsAuthorizedError({
        paymentId: error.paymentId,
        requested: amountOf(error.requested),
        authorized: amountOf(error.authorized),
        message
      })
    case "RefundExceedsCaptured":
      return new Errors.RefundExceedsCapturedError({
        paymentId: error.paymentId,
        requested: amountOf(error.requested),
        refundable: amountOf(error.refundable),
        message
      })
    case "RefundLimitReached":
      return new Errors.RefundLimitReachedError({ paymentId: error.paymentId, limit: error.limit, message })
    case "OperationPending":
      return new Errors.OperationPendingError({ paymentId: error.paymentId, operation: error.operation, amount: amountOf(error.amount), message })
    case "CheckoutNotCancelled":
      return new Errors.CheckoutNotCancelledError({
        paymentId: error.paymentId,
        gateway: error.gateway,
        reason: masked(error.reason),
        expiresAt: error.expiresAt === undefined ? undefined : DateTime.toDate(error.expiresAt),
        message
      })
    case "GatewayDeclined":
      return new Errors.GatewayDeclinedError({ gateway: error.gateway, declineCode: error.code, reason: masked(error.reason) })
    case "GatewayTransientError":
      return new Errors.GatewayTransientError({ gateway: error.gateway, operation: error.operation, reason: masked(error.reason) })
    case "GatewayUnknownOutcome":
      return new Errors.GatewayUnknownOutcomeError({ gateway: error.gateway, operation: error.operation, reason: masked(error.reason) })
    case "GatewayMisconfigured":
      return new Errors.GatewayMisconfiguredError({ gateway: error.gateway, reason: masked(error.reason) })
    case "GatewayNotFound":
      return new Errors.GatewayNotFoundError({ gateway: error.gateway, message })
    case "NoGatewayAvailable":
      return new Errors.NoGatewayAvailableError({ paymentId: error.paymentId, reason: masked(error.reason), message })
    case "CircuitOpen":
      return new Errors.CircuitOpenError({ gateway: error.gateway, retryAfterMillis: error.retryAfterMillis, message })
    case "LockUnavailable":
      return new Errors.LockUnavailableError({ key: error.key, reason: masked(error.reason), message })
    case "StorageError":
      return new Errors.StorageError({ operation: error.operation, reason: masked(error.reason), message })
    case "HookRejected":
    case "HookFailed":
    case "FraudRejected":
      return new Errors.HookError({ code: error._tag, hook: error.hook, reason: masked(error.reason), message })
  }
}

/** The message of a defect or unknown failure, masked and bounded. @internal */
export const describe = (value: unknown): string => {
  const text = value instanceof Error ? value.message : typeof value === "string" ? value : String(value)
  const cut = text.length > 500 ? `${text.slice(0, 500)}…` : text
  return masked(cut)
}

/**
 * The facade error of a failed operation's cause: its typed failure, else the closed error when
 * it was interrupted because the instance closed, else an `InternalError`.
 *
 * @internal
 */
export const causeError = (cause: Cause.Cause<CoreError>, closed: boolean): Errors.AegisPayError =>
  Option.match(Cause.failureOption(cause), {
    onSome: errorOf,
    onNone: () =>
      Cause.isInterruptedOnly(cause)
        ? closed ? new Errors.AegisPayClosedError() : new Errors.InternalError({ reason: "interrupted" })
        : new Errors.InternalError({ reason: describe(Cause.squash(cause)) })
  })

const date = (value: DateTime.Utc): Date => DateTime.toDate(value)

/**
 * The facade's view of a payment.
 *
 * @internal
 */
export const paymentOf = (payment: CorePayment.Payment): Types.Payment => {
  const view = PaymentView.fromPayment(payment)
  return {
    id: view.id,
    tenantId: view.tenantId,
    idempotencyKey: view.idempotencyKey,
    state: view.state,
    captureMethod: view.captureMethod,
    amount: amountOf(payment.amount),
    authorizedAmount: amountOf(payment.authorizedAmount),
    capturedAmount: amountOf(payment.capturedAmount),
    refundedAmount: amountOf(payment.refundedAmount),
    paymentMethod: view.paymentMethod,
    customer: view.customer,
    metadata: view.metadata,
    ...(view.description === undefined ? {} : { description: view.description }),
    ...(view.gateway === undefined ? {} : { gateway: view.gateway }),
    ...(view.gatewayTransactionId === undefined ? {} : { gatewayTransactionId: view.gatewayTransactionId }),
    attempts: view.attempts.map((a) => ({
      number: a.number,
      gateway: a.gateway,
      status: a.status,
      ...(a.failureReason === undefined ? {} : { failureReason: a.failureReason }),
      startedAt: date(a.startedAt)
    })),
    refunds: payment.refunds.map(refundOf),
    ...(view.customerAction === undefined ? {} : { customerAction: view.customerAction }),
    ...(view.actionExpiresAt === undefined ? {} : { actionExpiresAt: date(view.actionExpiresAt) }),
    ...(view.providerPending === undefined ? {} : { providerPending: view.providerPending }),
    ...(view.failureReason === undefined ? {} : { failureReason: view.failureReason }),
    ...(view.declineCode === undefined ? {} : { declineCode: view.declineCode }),
    requiresReconciliation: view.requiresReconciliation,
    version: view.version,
    createdAt: date(view.createdAt),
    updatedAt: date(view.updatedAt)
  }
}

/**
 * The facade's view of a refund.
 *
 * @internal
 */
export const refundOf = (refund: CorePayment.Refund): Types.Refund => ({
  id: refund.id,
  amount: amountOf(refund.amount),
  state: refund.state,
  ...(refund.reason === undefined ? {} : { reason: refund.reason }),
  ...(refund.failureReason === undefined ? {} : { failureReason: refund.failureReason }),
  ...(refund.external === true ? { external: true } : {}),
  createdAt: date(refund.createdAt),
  updatedAt: date(refund.updatedAt)
})

/** Fields of an event's JSON that are internal or could pay (a vault token, a gateway token). */
const hidden = new Set(["_tag", "eventId", "paymentId", "tenantId", "seq", "occurredAt", "requestFingerprint", "vaultToken", "fingerprint", "token", "gatewayIdempotencyKey"])

const scrub = (value: unknown, top: boolean): unknown => {
  if (Array.isArray(value)) return value.map((v) => scrub(v, false))
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    if (hidden.has(key) && (top || !["_tag", "eventId", "paymentId", "tenantId", "seq", "occurredAt"].includes(key))) continue
    out[key] = scrub(field, false)
  }
  return out
}

const encodeEvent = Schema.encodeEither(CoreEvent.PaymentEvent)

/**
 * The facade's view of a committed event: the common fields, and the rest of its JSON as
 * `payload` without tokens, fingerprints or gateway keys.
 *
 * @internal
 */
export const eventOf = (event: CoreEvent.PaymentEvent): Types.PaymentEvent => {
  const encoded = encodeEvent(event)
  const payload = Either.isRight(encoded) ? scrub(encoded.right, true) : {}
  return {
    type: event._tag,
    eventId: event.eventId,
    paymentId: event.paymentId,
    tenantId: event.tenantId,
    seq: event.seq,
    occurredAt: date(event.occurredAt),
    payload: typeof payload === "object" && payload !== null && !Array.isArray(payload) ? { ...payload } : {}
  }
}

/**
 * The core's amount input of a facade amount: a decimal string as is, minor units as a bigint;
 * a JavaScript number (or minor units that are not a safe integer) is an `InvalidAmountError`.
 *
 * @internal
 */
export const amountInput = (path: string, amount: unknown): Either.Either<string | bigint, Errors.InvalidAmountError> => {
  const invalid = (reason: string) => Either.left(new Errors.InvalidAmountError({ path, reason }))
  if (typeof amount === "string") return Either.right(amount)
  if (typeof amount === "number") {
    return invalid(`a JavaScript number is not accepted (a float cannot hold money exactly): pass a decimal string such as "49.99" or minor units { minor: 4999n }`)
  }
  if (typeof amount === "bigint") return invalid("a bare bigint is ambiguous (major or minor units?): pass minor units as { minor: 4999n } or a decimal string")
  if (typeof amount === "object" && amount !== null && "minor" in amount) {
    const minor = amount.minor
    if (Object.keys(amount).length !== 1) return invalid("{ minor } takes no other field")
    if (typeof minor === "bigint") return Either.right(minor)
    if (typeof minor === "number") {
      return Number.isSafeInteger(minor)
        ? Either.right(BigInt(minor))
        : invalid("minor units must be an integer (a bigint, or a number that is a safe integer)")
    }
    return invalid("minor units must be a bigint or an integer number")
  }
  return invalid(`expected a decimal string such as "49.99" or minor units { minor: 4999n }`)
}
