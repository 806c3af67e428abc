/**
 * The Gateway interface every payment provider adapter implements, and the classification of
 * gateway errors.
 *
 * The operations are the seed's `initiate`, `authenticate`, `process`, `refund`, `getStatus`,
 * `healthCheck`, plus `capture` and `void`. Every call that can move money (`process`,
 * `capture`, `void`, `refund`) carries an idempotency key: an adapter must pass it to the
 * provider so that the same key twice moves money once and returns the first result.
 *
 * Errors are classified so orchestration can decide safely:
 * - {@link GatewayDeclined}: the provider refused (the customer's card, not the provider's
 *   health); never retried.
 * - {@link GatewayTransientError}: the request certainly did not take effect (connection
 *   refused, 5xx before processing, rate limited); safe to retry with the same key.
 * - {@link GatewayUnknownOutcome}: the request may have been applied (timed out after sending);
 *   never blindly retried or sent elsewhere: ask `getStatus` first.
 * - {@link GatewayMisconfigured}: credentials, parameters or capability problems; a person must
 *   fix it.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Schema } from "effect"
import type { CurrencyCode } from "../domain/Currency.js"
import type { Money } from "../domain/Money.js"
import type { PaymentMethodToken } from "../domain/PaymentMethod.js"

/**
 * The provider refused the operation. `code` is the provider's decline code normalised to
 * snake case (`card_declined`, `insufficient_funds`, `expired_card`, …).
 *
 * @since 0.1.0
 */
export class GatewayDeclined extends Schema.TaggedError<GatewayDeclined>()("GatewayDeclined", {
  gateway: Schema.String,
  code: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.gateway} declined: ${this.code} (${this.reason})`
  }
}

/**
 * The operation certainly did not take effect and may be retried with the same idempotency key.
 *
 * @since 0.1.0
 */
export class GatewayTransientError extends Schema.TaggedError<GatewayTransientError>()("GatewayTransientError", {
  gateway: Schema.String,
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.gateway}.${this.operation} failed transiently: ${this.reason}`
  }
}

/**
 * The operation may or may not have taken effect. Ask the gateway's status before doing anything
 * else with this payment.
 *
 * @since 0.1.0
 */
export class GatewayUnknownOutcome extends Schema.TaggedError<GatewayUnknownOutcome>()("GatewayUnknownOutcome", {
  gateway: Schema.String,
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.gateway}.${this.operation} outcome unknown: ${this.reason}`
  }
}

/**
 * The gateway is misconfigured or was called with something it cannot handle (bad credentials,
 * unsupported currency, idempotency key reused with other parameters).
 *
 * @since 0.1.0
 */
export class GatewayMisconfigured extends Schema.TaggedError<GatewayMisconfigured>()("GatewayMisconfigured", {
  gateway: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.gateway} misconfigured: ${this.reason}`
  }
}

/**
 * Any error a money-moving gateway call can fail with.
 *
 * @since 0.1.0
 */
export type GatewayError = GatewayDeclined | GatewayTransientError | GatewayUnknownOutcome | GatewayMisconfigured

/**
 * Errors of calls that only read or prepare (no money moves): never an unknown outcome.
 *
 * @since 0.1.0
 */
export type GatewayReadError = GatewayTransientError | GatewayMisconfigured

/**
 * What a gateway can do.
 *
 * @since 0.1.0
 */
export interface Capabilities {
  /** Currencies accepted; `"all"` for any. */
  readonly currencies: ReadonlyArray<CurrencyCode> | "all"
  /** Whether separate authorization and capture are supported. */
  readonly manualCapture: boolean
}

/**
 * A charge: authorize `amount` and, when `capture` is true, capture it at once.
 *
 * @since 0.1.0
 */
export interface ProcessRequest {
  readonly paymentId: string
  /** The payment's tenant: the card vault reveals `paymentMethod` only for it (default `"default"`). */
  readonly tenantId?: string | undefined
  readonly idempotencyKey: string
  readonly amount: Money
  /**
   * A card (`type: "card"`: read the card with `CardVault.reveal(vaultToken, tenantId)`) or a
   * gateway token (`type: "gateway_token"`: pass `token` to the provider as its payment method;
   * never call the vault for it). A gateway token is only ever sent to the gateway registered
   * under its `gateway` id.
   */
  readonly paymentMethod: PaymentMethodToken
  readonly capture: boolean
  readonly description?: string | undefined
}

/**
 * The result of a successful charge.
 *
 * @since 0.1.0
 */
export interface ProcessResult {
  readonly transactionId: string
  readonly status: "succeeded" | "authorized"
}

/**
 * What a gateway knows about the request sent with an idempotency key.
 *
 * @since 0.1.0
 */
export type StatusResult =
  | { readonly status: "succeeded" | "authorized"; readonly transactionId: string }
  | { readonly status: "failed"; readonly code: string; readonly reason: string }
  | { readonly status: "not_found" }

/**
 * A payment gateway. Implementations must honour the idempotency key of every money-moving call.
 *
 * @since 0.1.0
 */
export interface Gateway {
  readonly id: string
  readonly capabilities: Capabilities
  /** Prepares a provider-side payment (e.g. a PaymentIntent); moves no money. Idempotent by key. */
  readonly initiate: (request: {
    readonly paymentId: string
    readonly idempotencyKey: string
    readonly amount: Money
  }) => Effect.Effect<{ readonly reference: string }, GatewayReadError>
  /** Authenticates the payment method (3-D Secure, risk checks); moves no money. */
  readonly authenticate: (request: {
    readonly paymentId: string
    /** The payment's tenant: the card vault reveals `paymentMethod` only for it (default `"default"`). */
    readonly tenantId?: string | undefined
    readonly amount: Money
    /** As in {@link ProcessRequest}: a card in the vault, or the provider's own token. */
    readonly paymentMethod: PaymentMethodToken
  }) => Effect.Effect<void, GatewayDeclined | GatewayReadError>
  /** Charges or authorizes. Money moves. */
  readonly process: (request: ProcessRequest) => Effect.Effect<ProcessResult, GatewayError>
  /** Captures `amount` of an authorization (at most once per authorization). Money moves. */
  readonly capture: (request: {
    readonly transactionId: string
    readonly idempotencyKey: string
    readonly amount: Money
  }) => Effect.Effect<{ readonly transactionId: string }, GatewayError>
  /** Releases an authorization. */
  readonly void: (request: {
    readonly transactionId: string
    readonly idempotencyKey: string
  }) => Effect.Effect<void, GatewayError>
  /** Refunds part or all of a captured charge. Money moves. */
  readonly refund: (request: {
    readonly transactionId: string
    readonly idempotencyKey: string
    readonly amount: Money
  }) => Effect.Effect<{ readonly refundId: string }, GatewayError>
  /** What happened to the request sent with `idempotencyKey`. */
  readonly getStatus: (request: { readonly idempotencyKey: string }) => Effect.Effect<StatusResult, GatewayReadError>
  /** Whether the gateway answers, and how fast. */
  readonly healthCheck: Effect.Effect<{ readonly healthy: boolean; readonly latencyMillis: number }>
}

/**
 * Whether a gateway accepts a currency and capture method.
 *
 * @since 0.1.0
 */
export const supports = (
  gateway: Gateway,
  request: { readonly currency: CurrencyCode; readonly manualCapture: boolean }
): boolean =>
  (gateway.capabilities.currencies === "all" || gateway.capabilities.currencies.includes(request.currency)) &&
  (!request.manualCapture || gateway.capabilities.manualCapture)
