/**
 * Domain errors → HTTP error bodies: the one table of the API (docs/HTTP.md shows the same).
 *
 * | domain error | status | code |
 * |---|---|---|
 * | `ValidationError` | 400 | `validation_error` (`param`: the field) |
 * | `PaymentNotFound` (missing, or another tenant's) | 404 | `payment_not_found` |
 * | `IdempotencyKeyInUse` | 409 | `idempotency_key_in_use` |
 * | `VersionConflict`, `LockUnavailable` | 409 | `concurrent_update` / `payment_locked` |
 * | `OperationPending` | 409 | `operation_pending` |
 * | `CheckoutNotCancelled` | 409 | `checkout_not_cancelled` |
 * | `IdempotencyKeyReused` | 422 | `idempotency_key_reused` |
 * | `InvalidTransition` | 422 | `invalid_state` |
 * | `CaptureExceedsAuthorized`, `RefundExceedsCaptured`, `RefundLimitReached` | 422 | `capture_exceeds_authorized`, `refund_exceeds_captured`, `refund_limit_reached` |
 * | `HookRejected` | 422 | `rejected` |
 * | `GatewayDeclined` (a capture or void), `FraudRejected` | 402 | the decline code / `fraud_rejected` |
 * | `GatewayTransientError`, `GatewayMisconfigured`, `CircuitOpen`, `NoGatewayAvailable`, `GatewayNotFound` | 502 | `gateway_unavailable`, `gateway_misconfigured`, `circuit_open`, `no_gateway_available`, `gateway_not_found` |
 * | `GatewayUnknownOutcome` | 504 | `outcome_unknown` |
 * | `StorageError`, `HookFailed`, anything else | 500 | `internal_error` (no details) |
 *
 * Messages never carry a gateway's raw reason, a SQL error or a card number (the domain's
 * errors mask card numbers themselves; the texts here are built from ids and codes only).
 *
 * @since 0.2.0
 */
import type {
  CaptureExceedsAuthorized,
  CheckoutNotCancelled,
  IdempotencyKeyReused,
  InvalidTransition,
  OperationPending,
  PaymentNotFound,
  RefundExceedsCaptured,
  RefundLimitReached,
  ValidationError,
  VersionConflict
} from "../domain/PaymentError.js"
import * as Money from "../domain/Money.js"
import { maskCardNumbers } from "../domain/Sanitize.js"
import type { GatewayError } from "../gateway/Gateway.js"
import type { GatewayNotFound } from "../gateway/GatewayRegistry.js"
import type { NoGatewayAvailable } from "../orchestration/Errors.js"
import type { FraudRejected, HookFailed, HookRejected } from "../orchestration/Hooks.js"
import type { CircuitOpen } from "../resilience/CircuitBreaker.js"
import type { IdempotencyKeyInUse } from "../storage/IdempotencyStore.js"
import type { LockUnavailable } from "../storage/LockManager.js"
import type { StorageError } from "../storage/StorageError.js"
import {
  BadRequest,
  Conflict,
  GatewayFailed,
  InternalError,
  NotFound,
  OutcomeUnknown,
  PaymentDeclined,
  Unprocessable
} from "./ApiError.js"

/**
 * Every error of the public operations the HTTP API calls.
 *
 * @since 0.2.0
 */
export type DomainError =
  | ValidationError
  | PaymentNotFound
  | InvalidTransition
  | IdempotencyKeyReused
  | IdempotencyKeyInUse
  | VersionConflict
  | LockUnavailable
  | StorageError
  | CaptureExceedsAuthorized
  | RefundExceedsCaptured
  | RefundLimitReached
  | OperationPending
  | CheckoutNotCancelled
  | NoGatewayAvailable
  | GatewayNotFound
  | GatewayError
  | CircuitOpen
  | FraudRejected
  | HookFailed
  | HookRejected

/**
 * The error bodies a domain error can become.
 *
 * @since 0.2.0
 */
export type DomainApiError =
  | BadRequest
  | NotFound
  | Conflict
  | Unprocessable
  | PaymentDeclined
  | GatewayFailed
  | OutcomeUnknown
  | InternalError

/**
 * The error body class of each domain error (by `_tag`): the table of the module's doc as a
 * value, from which {@link ApiErrorOf} derives the exact errors of an operation.
 *
 * @since 0.2.0
 */
export const classOf = {
  ValidationError: BadRequest,
  PaymentNotFound: NotFound,
  IdempotencyKeyInUse: Conflict,
  VersionConflict: Conflict,
  LockUnavailable: Conflict,
  OperationPending: Conflict,
  CheckoutNotCancelled: Conflict,
  IdempotencyKeyReused: Unprocessable,
  InvalidTransition: Unprocessable,
  CaptureExceedsAuthorized: Unprocessable,
  RefundExceedsCaptured: Unprocessable,
  RefundLimitReached: Unprocessable,
  HookRejected: Unprocessable,
  GatewayDeclined: PaymentDeclined,
  FraudRejected: PaymentDeclined,
  GatewayTransientError: GatewayFailed,
  GatewayMisconfigured: GatewayFailed,
  CircuitOpen: GatewayFailed,
  NoGatewayAvailable: GatewayFailed,
  GatewayNotFound: GatewayFailed,
  GatewayUnknownOutcome: OutcomeUnknown,
  StorageError: InternalError,
  HookFailed: InternalError
} as const satisfies { readonly [K in DomainError["_tag"]]: new(...args: ReadonlyArray<never>) => DomainApiError }

/**
 * The error bodies the domain errors `E` become: e.g. `ApiErrorOf<PaymentNotFound | StorageError>`
 * is `NotFound | InternalError`. Handlers declare exactly these on their endpoint.
 *
 * @since 0.2.0
 */
export type ApiErrorOf<E extends DomainError> = InstanceType<(typeof classOf)[E["_tag"]]> | InternalError

const isClassOf = <K extends DomainError["_tag"]>(tag: K, error: unknown): error is InstanceType<(typeof classOf)[K]> =>
  error instanceof classOf[tag]

const money = (m: Money.Money): string => `${Money.toDecimalString(m)} ${m.currency}`

/**
 * The HTTP error body of a domain error (see the module's table). `paymentId`, when the request
 * named one, is put in the body of errors about that payment. Typed exactly ({@link ApiErrorOf}):
 * an operation that cannot fail with `PaymentNotFound` cannot answer 404.
 *
 * @since 0.2.0
 */
export const fromDomain = <E extends DomainError>(error: E, paymentId?: string): ApiErrorOf<E> => {
  const mapped: unknown = toApiError(error, paymentId)
  // always true (`toApiError` follows `classOf`, which a test checks); the check narrows the type
  return isClassOf<E["_tag"]>(error._tag, mapped) ? mapped : new InternalError({ code: "internal_error", message: "internal error" })
}

const toApiError = (error: DomainError, paymentId: string | undefined): DomainApiError => {
  const about = paymentId === undefined ? {} : { paymentId: maskCardNumbers(paymentId) }
  switch (error._tag) {
    case "ValidationError":
      return new BadRequest({
        code: "validation_error",
        message: error.path === "" ? error.message : `${error.path}: ${error.message}`,
        ...(error.path === "" ? {} : { param: error.path }),
        ...about
      })
    case "PaymentNotFound":
      return new NotFound({ code: "payment_not_found", message: error.message, paymentId: error.paymentId })
    case "IdempotencyKeyInUse":
      return new Conflict({ code: "idempotency_key_in_use", message: "a request with this Idempotency-Key is still in progress: retry later" })
    case "VersionConflict":
      return new Conflict({ code: "concurrent_update", message: "the payment changed concurrently: retry", paymentId: error.paymentId })
    case "LockUnavailable":
      return new Conflict({ code: "payment_locked", message: "the payment is busy: retry later", ...about })
    case "OperationPending":
      return new Conflict({ code: "operation_pending", message: error.message, paymentId: error.paymentId })
    case "CheckoutNotCancelled":
      return new Conflict({ code: "checkout_not_cancelled", message: error.message, paymentId: error.paymentId })
    case "IdempotencyKeyReused":
      return new Unprocessable({
        code: "idempotency_key_reused",
        message: "this Idempotency-Key was already used with a different request",
        ...about
      })
    case "InvalidTransition":
      return new Unprocessable({ code: "invalid_state", message: error.message, paymentId: error.paymentId })
    case "CaptureExceedsAuthorized":
      return new Unprocessable({
        code: "capture_exceeds_authorized",
        message: `capture of ${money(error.requested)} exceeds the authorized ${money(error.authorized)}`,
        paymentId: error.paymentId
      })
    case "RefundExceedsCaptured":
      return new Unprocessable({
        code: "refund_exceeds_captured",
        message: `refund of ${money(error.requested)} exceeds the refundable ${money(error.refundable)}`,
        paymentId: error.paymentId
      })
    case "RefundLimitReached":
      return new Unprocessable({ code: "refund_limit_reached", message: error.message, paymentId: error.paymentId })
    case "HookRejected":
      return new Unprocessable({ code: "rejected", message: `refused by ${error.hook}`, ...about })
    case "GatewayDeclined":
      return new PaymentDeclined({ code: error.code, message: `${error.gateway} declined (${error.code})`, ...about })
    case "FraudRejected":
      return new PaymentDeclined({ code: "fraud_rejected", message: "the payment was rejected by a fraud check", paymentId: error.paymentId })
    case "GatewayTransientError":
      return new GatewayFailed({ code: "gateway_unavailable", message: `${error.gateway} ${error.operation} failed: retry later`, ...about })
    case "GatewayMisconfigured":
      return new GatewayFailed({ code: "gateway_misconfigured", message: `${error.gateway} is misconfigured`, ...about })
    case "CircuitOpen":
      return new GatewayFailed({ code: "circuit_open", message: `${error.gateway} is unavailable (circuit open): retry later`, ...about })
    case "NoGatewayAvailable":
      return new GatewayFailed({ code: "no_gateway_available", message: error.message, paymentId: error.paymentId })
    case "GatewayNotFound":
      return new GatewayFailed({ code: "gateway_not_found", message: error.message, ...about })
    case "GatewayUnknownOutcome":
      return new OutcomeUnknown({
        code: "outcome_unknown",
        message: `${error.gateway} ${error.operation}: the answer was lost; it is resent safely by the next call or recovery`,
        ...about
      })
    case "StorageError":
    case "HookFailed":
      return new InternalError({ code: "internal_error", message: "internal error", ...about })
  }
}
