/**
 * The errors of the Promise facade: `Error` subclasses, one per kind, all extending
 * {@link AegisPayError}. `code` is the kind (the tag of the Effect error behind it, e.g.
 * `"PaymentNotFound"`), the other fields are typed, and `instanceof` works:
 *
 * ```ts
 * try { await aegisPay.getPayment(id) }
 * catch (e) { if (e instanceof PaymentNotFoundError) … ; else if (e instanceof AegisPayError) console.log(e.code) }
 * ```
 *
 * Messages never contain card numbers or CVVs: amounts, ids and reasons only, with anything that
 * looks like a card number masked.
 *
 * @since 0.2.0
 */
import type { Amount } from "./Types.js"

/**
 * Every error the facade rejects with.
 *
 * @since 0.2.0
 */
export class AegisPayError extends Error {
  /** The kind of error: the tag of the Effect error it stands for, or a facade kind. */
  readonly code: string
  constructor(code: string, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.name = new.target.name
  }
}

/**
 * A request field is invalid; `path` names it (`"amount"`, `"customer.email"`). Nothing was written.
 *
 * @since 0.2.0
 */
export class ValidationError extends AegisPayError {
  declare readonly code: "ValidationError"
  readonly path: string
  constructor(props: { readonly path: string; readonly message: string }) {
    super("ValidationError", props.message)
    this.path = props.path
  }
}

/**
 * An amount is not exact: a JavaScript number (a float cannot hold money), minor units that are
 * not an integer, or something else than a decimal string or `{ minor }`. Nothing was written.
 *
 * @since 0.2.0
 */
export class InvalidAmountError extends AegisPayError {
  declare readonly code: "InvalidAmount"
  /** The field: `"amount"`. */
  readonly path: string
  readonly reason: string
  constructor(props: { readonly path: string; readonly reason: string }) {
    super("InvalidAmount", `invalid ${props.path}: ${props.reason}`)
    this.path = props.path
    this.reason = props.reason
  }
}

/**
 * The idempotency key was already used with a different request (`existingId`: its payment).
 *
 * @since 0.2.0
 */
export class IdempotencyKeyReusedError extends AegisPayError {
  declare readonly code: "IdempotencyKeyReused"
  readonly idempotencyKey: string
  readonly existingId: string
  constructor(props: { readonly idempotencyKey: string; readonly existingId: string; readonly message: string }) {
    super("IdempotencyKeyReused", props.message)
    this.idempotencyKey = props.idempotencyKey
    this.existingId = props.existingId
  }
}

/**
 * No such payment (of this AegisPay's tenant).
 *
 * @since 0.2.0
 */
export class PaymentNotFoundError extends AegisPayError {
  declare readonly code: "PaymentNotFound"
  readonly paymentId: string
  constructor(props: { readonly paymentId: string; readonly message: string }) {
    super("PaymentNotFound", props.message)
    this.paymentId = props.paymentId
  }
}

/**
 * The payment's state does not allow the operation (capturing a failed payment, refunding one not captured).
 *
 * @since 0.2.0
 */
export class InvalidTransitionError extends AegisPayError {
  declare readonly code: "InvalidTransition"
  readonly paymentId: string
  readonly from: string
  readonly to: string
  constructor(props: { readonly paymentId: string; readonly from: string; readonly to: string; readonly message: string }) {
    super("InvalidTransition", props.message)
    this.paymentId = props.paymentId
    this.from = props.from
    this.to = props.to
  }
}

/**
 * Another writer changed the payment first; nothing was written. Read it again and retry.
 *
 * @since 0.2.0
 */
export class VersionConflictError extends AegisPayError {
  declare readonly code: "VersionConflict"
  readonly paymentId: string
  readonly expectedVersion: number
  readonly actualVersion: number
  constructor(props: { readonly paymentId: string; readonly expectedVersion: number; readonly actualVersion: number; readonly message: string }) {
    super("VersionConflict", props.message)
    this.paymentId = props.paymentId
    this.expectedVersion = props.expectedVersion
    this.actualVersion = props.actualVersion
  }
}

/**
 * The payment's lock could not be taken (another operation on it is running); retry later.
 *
 * @since 0.2.0
 */
export class LockUnavailableError extends AegisPayError {
  declare readonly code: "LockUnavailable"
  readonly key: string
  readonly reason: string
  constructor(props: { readonly key: string; readonly reason: string; readonly message: string }) {
    super("LockUnavailable", props.message)
    this.key = props.key
    this.reason = props.reason
  }
}

/**
 * The database failed; retry later.
 *
 * @since 0.2.0
 */
export class StorageError extends AegisPayError {
  declare readonly code: "StorageError"
  readonly operation: string
  readonly reason: string
  constructor(props: { readonly operation: string; readonly reason: string; readonly message: string }) {
    super("StorageError", props.message)
    this.operation = props.operation
    this.reason = props.reason
  }
}

/**
 * No registered gateway can take the payment now (currency, capture method, payment method, open
 * circuits, all tried, or not the `gatewayType` asked for).
 *
 * @since 0.2.0
 */
export class NoGatewayAvailableError extends AegisPayError {
  declare readonly code: "NoGatewayAvailable"
  readonly paymentId: string
  readonly reason: string
  constructor(props: { readonly paymentId: string; readonly reason: string; readonly message: string }) {
    super("NoGatewayAvailable", props.message)
    this.paymentId = props.paymentId
    this.reason = props.reason
  }
}

/**
 * No gateway is registered under this id.
 *
 * @since 0.2.0
 */
export class GatewayNotFoundError extends AegisPayError {
  declare readonly code: "GatewayNotFound"
  readonly gateway: string
  constructor(props: { readonly gateway: string; readonly message: string }) {
    super("GatewayNotFound", props.message)
    this.gateway = props.gateway
  }
}

/**
 * The provider refused (the customer's card, not the provider's health): never retried. Throw it
 * from your own gateway (`registerGateway(id, gateway)`) to decline; `gateway` is filled in.
 *
 * @since 0.2.0
 */
export class GatewayDeclinedError extends AegisPayError {
  declare readonly code: "GatewayDeclined"
  readonly gateway: string
  /** The provider's decline code, snake case: `card_declined`, `insufficient_funds`. */
  readonly declineCode: string
  readonly reason: string
  constructor(props: { readonly gateway?: string | undefined; readonly declineCode: string; readonly reason: string }) {
    super("GatewayDeclined", `${props.gateway ?? "gateway"} declined: ${props.declineCode} (${props.reason})`)
    this.gateway = props.gateway ?? ""
    this.declineCode = props.declineCode
    this.reason = props.reason
  }
}

/**
 * The call certainly did not take effect (connection refused, 5xx before processing, rate
 * limited): retried with the same idempotency key, then failed over. Throw it from your own
 * gateway when you know nothing happened.
 *
 * @since 0.2.0
 */
export class GatewayTransientError extends AegisPayError {
  declare readonly code: "GatewayTransientError"
  readonly gateway: string
  readonly operation: string
  readonly reason: string
  constructor(props: { readonly gateway?: string | undefined; readonly operation?: string | undefined; readonly reason: string }) {
    super("GatewayTransientError", `${props.gateway ?? "gateway"}.${props.operation ?? "call"} failed transiently: ${props.reason}`)
    this.gateway = props.gateway ?? ""
    this.operation = props.operation ?? ""
    this.reason = props.reason
  }
}

/**
 * The call may or may not have taken effect (a timeout after sending): never blindly retried;
 * AegisPay asks the gateway's `getStatus`. What your own gateway throws from a money-moving call
 * (`process`, `capture`, `void`, `refund`) that is none of the gateway error classes counts as this.
 *
 * @since 0.2.0
 */
export class GatewayUnknownOutcomeError extends AegisPayError {
  declare readonly code: "GatewayUnknownOutcome"
  readonly gateway: string
  readonly operation: string
  readonly reason: string
  constructor(props: { readonly gateway?: string | undefined; readonly operation?: string | undefined; readonly reason: string }) {
    super("GatewayUnknownOutcome", `${props.gateway ?? "gateway"}.${props.operation ?? "call"} outcome unknown: ${props.reason}`)
    this.gateway = props.gateway ?? ""
    this.operation = props.operation ?? ""
    this.reason = props.reason
  }
}

/**
 * The gateway is misconfigured (credentials, unsupported currency or operation): a person must fix it.
 *
 * @since 0.2.0
 */
export class GatewayMisconfiguredError extends AegisPayError {
  declare readonly code: "GatewayMisconfigured"
  readonly gateway: string
  readonly reason: string
  constructor(props: { readonly gateway?: string | undefined; readonly reason: string }) {
    super("GatewayMisconfigured", `${props.gateway ?? "gateway"} misconfigured: ${props.reason}`)
    this.gateway = props.gateway ?? ""
    this.reason = props.reason
  }
}

/**
 * The gateway's circuit is open: calls are refused until `retryAfterMillis` have passed.
 *
 * @since 0.2.0
 */
export class CircuitOpenError extends AegisPayError {
  declare readonly code: "CircuitOpen"
  readonly gateway: string
  readonly retryAfterMillis: number
  constructor(props: { readonly gateway: string; readonly retryAfterMillis: number; readonly message: string }) {
    super("CircuitOpen", props.message)
    this.gateway = props.gateway
    this.retryAfterMillis = props.retryAfterMillis
  }
}

/**
 * A capture larger than what was authorized.
 *
 * @since 0.2.0
 */
export class CaptureExceedsAuthorizedError extends AegisPayError {
  declare readonly code: "CaptureExceedsAuthorized"
  readonly paymentId: string
  readonly requested: Amount
  readonly authorized: Amount
  constructor(props: { readonly paymentId: string; readonly requested: Amount; readonly authorized: Amount; readonly message: string }) {
    super("CaptureExceedsAuthorized", props.message)
    this.paymentId = props.paymentId
    this.requested = props.requested
    this.authorized = props.authorized
  }
}

/**
 * A refund larger than what is still refundable (captured minus refunded and pending refunds).
 *
 * @since 0.2.0
 */
export class RefundExceedsCapturedError extends AegisPayError {
  declare readonly code: "RefundExceedsCaptured"
  readonly paymentId: string
  readonly requested: Amount
  readonly refundable: Amount
  constructor(props: { readonly paymentId: string; readonly requested: Amount; readonly refundable: Amount; readonly message: string }) {
    super("RefundExceedsCaptured", props.message)
    this.paymentId = props.paymentId
    this.requested = props.requested
    this.refundable = props.refundable
  }
}

/**
 * The payment already has the most refunds allowed.
 *
 * @since 0.2.0
 */
export class RefundLimitReachedError extends AegisPayError {
  declare readonly code: "RefundLimitReached"
  readonly paymentId: string
  readonly limit: number
  constructor(props: { readonly paymentId: string; readonly limit: number; readonly message: string }) {
    super("RefundLimitReached", props.message)
    this.paymentId = props.paymentId
    this.limit = props.limit
  }
}

/**
 * A capture or void of the payment awaits its outcome: resend the same operation, or wait.
 *
 * @since 0.2.0
 */
export class OperationPendingError extends AegisPayError {
  declare readonly code: "OperationPending"
  readonly paymentId: string
  readonly operation: "capture" | "void"
  readonly amount: Amount
  constructor(props: { readonly paymentId: string; readonly operation: "capture" | "void"; readonly amount: Amount; readonly message: string }) {
    super("OperationPending", props.message)
    this.paymentId = props.paymentId
    this.operation = props.operation
    this.amount = props.amount
  }
}

/**
 * The payment waits for its customer at the provider, which did not cancel the checkout (it may
 * still be paid): try again later, or let it expire (`expiresAt`).
 *
 * @since 0.2.0
 */
export class CheckoutNotCancelledError extends AegisPayError {
  declare readonly code: "CheckoutNotCancelled"
  readonly paymentId: string
  readonly gateway: string
  readonly reason: string
  readonly expiresAt: Date | undefined
  constructor(props: { readonly paymentId: string; readonly gateway: string; readonly reason: string; readonly expiresAt: Date | undefined; readonly message: string }) {
    super("CheckoutNotCancelled", props.message)
    this.paymentId = props.paymentId
    this.gateway = props.gateway
    this.reason = props.reason
    this.expiresAt = props.expiresAt
  }
}

/**
 * A hook refused the payment, failed, or judged it fraudulent (`FraudRejected`).
 *
 * @since 0.2.0
 */
export class HookError extends AegisPayError {
  declare readonly code: "HookRejected" | "HookFailed" | "FraudRejected"
  readonly hook: string
  readonly reason: string
  constructor(props: { readonly code: "HookRejected" | "HookFailed" | "FraudRejected"; readonly hook: string; readonly reason: string; readonly message: string }) {
    super(props.code, props.message)
    this.hook = props.hook
    this.reason = props.reason
  }
}

/**
 * The configuration cannot be used (`field` names the setting): for instance production mode
 * without keys, a float where an exact amount is needed, an unknown gateway type, a gateway object
 * without `process`. Thrown by the constructor, or the rejection of `registerGateway`.
 *
 * @since 0.2.0
 */
export class ConfigurationError extends AegisPayError {
  declare readonly code: "ConfigurationError"
  readonly field: string
  readonly reason: string
  constructor(props: { readonly field: string; readonly reason: string }) {
    super("ConfigurationError", `${props.field}: ${props.reason}`)
    this.field = props.field
    this.reason = props.reason
  }
}

/**
 * AegisPay could not start (the database could not be opened or migrated, a key is malformed):
 * every call rejects with it; `close()` still releases what was acquired.
 *
 * @since 0.2.0
 */
export class StartupFailedError extends AegisPayError {
  declare readonly code: "StartupFailed"
  readonly reason: string
  constructor(props: { readonly reason: string }) {
    super("StartupFailed", `AegisPay could not start: ${props.reason}`)
    this.reason = props.reason
  }
}

/**
 * `close()` was called: this AegisPay takes no more calls (create a new one).
 *
 * @since 0.2.0
 */
export class AegisPayClosedError extends AegisPayError {
  declare readonly code: "AegisPayClosed"
  constructor() {
    super("AegisPayClosed", "this AegisPay instance is closed: create a new one")
  }
}

/**
 * A bug (a defect in AegisPay or in a gateway or handler it called). `reason` has card numbers masked.
 *
 * @since 0.2.0
 */
export class InternalError extends AegisPayError {
  declare readonly code: "InternalError"
  readonly reason: string
  constructor(props: { readonly reason: string }) {
    super("InternalError", `internal error: ${props.reason}`)
    this.reason = props.reason
  }
}
