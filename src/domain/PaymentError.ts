/**
 * Typed errors of the payment domain. Each is named for what happened and carries what a caller
 * needs to act on it.
 *
 * Fields that may hold text a caller sent (ids, keys, paths, messages) are passed through
 * {@link maskCardNumbers} by the constructors themselves, so no error built here, by whatever
 * code path, can show a card number in its fields, its message, its JSON or a log line.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Money } from "./Money.js"
import { PaymentState } from "./PaymentState.js"
import { maskCardNumbers } from "./Sanitize.js"

/**
 * No payment with this id exists (for this tenant).
 *
 * @since 0.1.0
 */
export class PaymentNotFound extends Schema.TaggedError<PaymentNotFound>()("PaymentNotFound", {
  paymentId: Schema.String
}) {
  constructor(props: { readonly paymentId: string }, options?: Schema.MakeOptions) {
    super({ paymentId: maskCardNumbers(props.paymentId) }, options)
  }
  override get message(): string {
    return `payment ${this.paymentId} not found`
  }
}

/**
 * The operation would move the payment along a transition the state machine does not allow,
 * e.g. processing a payment that already succeeded.
 *
 * @since 0.1.0
 */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  paymentId: Schema.String,
  from: PaymentState,
  to: PaymentState
}) {
  override get message(): string {
    return `payment ${this.paymentId} cannot move from ${this.from} to ${this.to}`
  }
}

/**
 * The idempotency key was used before with a different request. Nothing was created.
 *
 * @since 0.1.0
 */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  tenantId: Schema.String,
  idempotencyKey: Schema.String,
  existingId: Schema.String
}) {
  constructor(
    props: { readonly tenantId: string; readonly idempotencyKey: string; readonly existingId: string },
    options?: Schema.MakeOptions
  ) {
    super({
      tenantId: maskCardNumbers(props.tenantId),
      idempotencyKey: maskCardNumbers(props.idempotencyKey),
      existingId: props.existingId
    }, options)
  }
  override get message(): string {
    return `idempotency key ${JSON.stringify(this.idempotencyKey)} was already used with a different request (${this.existingId})`
  }
}

/**
 * An optimistic-locking check failed: the payment changed since it was read. Nothing was
 * written; reading again and retrying is safe.
 *
 * @since 0.1.0
 */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  paymentId: Schema.String,
  expectedVersion: Schema.Int,
  actualVersion: Schema.Int
}) {
  override get message(): string {
    return `payment ${this.paymentId} is at version ${this.actualVersion}, expected ${this.expectedVersion}`
  }
}

/**
 * A request failed validation. `path` names the offending field (e.g. `metadata.order id`,
 * `paymentMethod.number`).
 *
 * Card numbers are never echoed: the constructor masks every digit run that could be a card
 * number (13–19 digits, spaces or dashes allowed, Luhn-valid; see `Sanitize.maskCardNumbers`) in
 * both `path` and `message`, whoever builds the error. CVVs are never put in a message.
 *
 * @since 0.1.0
 */
export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", {
  path: Schema.String,
  message: Schema.String
}) {
  constructor(props: { readonly path: string; readonly message: string }, options?: Schema.MakeOptions) {
    super({ path: maskCardNumbers(props.path), message: maskCardNumbers(props.message) }, options)
  }
}

/**
 * A capture asked for more than the authorization holds.
 *
 * @since 0.1.0
 */
export class CaptureExceedsAuthorized extends Schema.TaggedError<CaptureExceedsAuthorized>()(
  "CaptureExceedsAuthorized",
  { paymentId: Schema.String, requested: Money, authorized: Money }
) {
  override get message(): string {
    return `payment ${this.paymentId}: capture of ${this.requested} exceeds the authorized ${this.authorized}`
  }
}

/**
 * A refund asked for more than what is still refundable (captured minus refunded and pending
 * refunds). Nothing was sent to the gateway.
 *
 * @since 0.1.0
 */
export class RefundExceedsCaptured extends Schema.TaggedError<RefundExceedsCaptured>()("RefundExceedsCaptured", {
  paymentId: Schema.String,
  requested: Money,
  refundable: Money
}) {
  override get message(): string {
    return `payment ${this.paymentId}: refund of ${this.requested} exceeds the refundable ${this.refundable}`
  }
}

/**
 * The payment already has the maximum number of refunds.
 *
 * @since 0.1.0
 */
export class RefundLimitReached extends Schema.TaggedError<RefundLimitReached>()("RefundLimitReached", {
  paymentId: Schema.String,
  limit: Schema.Int
}) {
  override get message(): string {
    return `payment ${this.paymentId} already has ${this.limit} refunds`
  }
}

/**
 * The merchant asked to cancel a payment that waits for its customer, and its provider has not
 * confirmed that nothing will be charged: it could not cancel the checkout now, or it has no way
 * to cancel one (the customer may still pay until the checkout expires, `expiresAt`). Nothing
 * changed; retry later, or let the payment expire (recovery then cancels or fails it).
 *
 * @since 0.2.0
 */
export class CheckoutNotCancelled extends Schema.TaggedError<CheckoutNotCancelled>()("CheckoutNotCancelled", {
  paymentId: Schema.String,
  gateway: Schema.String,
  reason: Schema.String,
  expiresAt: Schema.optional(Schema.DateTimeUtcFromSelf)
}) {
  override get message(): string {
    return `payment ${this.paymentId} waits for its customer at ${this.gateway}, which did not cancel it: ${this.reason}`
  }
}

/**
 * A capture or void of this payment was sent and its answer is not known yet. Calling the same
 * operation again (same amount) resends it safely; a different operation must wait.
 *
 * @since 0.1.0
 */
export class OperationPending extends Schema.TaggedError<OperationPending>()("OperationPending", {
  paymentId: Schema.String,
  operation: Schema.Literal("capture", "void"),
  amount: Money
}) {
  override get message(): string {
    return `payment ${this.paymentId} has a pending ${this.operation} of ${this.amount}; resend it or wait for its outcome`
  }
}

/**
 * A review item was not found on the payment, or is already resolved.
 *
 * @since 0.1.0
 */
export class ReviewNotOpen extends Schema.TaggedError<ReviewNotOpen>()("ReviewNotOpen", {
  paymentId: Schema.String,
  reviewId: Schema.String
}) {
  constructor(props: { readonly paymentId: string; readonly reviewId: string }, options?: Schema.MakeOptions) {
    super({ paymentId: maskCardNumbers(props.paymentId), reviewId: maskCardNumbers(props.reviewId) }, options)
  }
}
