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
import type { DateTime, Effect, Redacted } from "effect"
import { Schema } from "effect"
import type { CurrencyCode } from "../domain/Currency.js"
import type { CustomerAction } from "../domain/CustomerAction.js"
import type { Money } from "../domain/Money.js"
import type { PaymentMethodToken } from "../domain/PaymentMethod.js"
import type { WebhookRejected, WebhookRequest } from "./Webhook.js"
import type { GatewayNotification } from "./Webhook.js"

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
 * The kinds of payment method a gateway may take: a card from the vault (`card`), the
 * provider's own token (`gateway_token`), or a checkout the customer finishes at the provider
 * (`checkout`: PayPal approval, Pagadito and Razorpay hosted checkout).
 *
 * @since 0.2.0
 */
export type PaymentMethodKind = "card" | "gateway_token" | "checkout"

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
  /**
   * The payment methods the gateway takes. Routing and failover only consider gateways able to
   * take the payment's method. Absent: `["card", "gateway_token"]` (the 0.1 contract).
   */
  readonly paymentMethods?: ReadonlyArray<PaymentMethodKind> | undefined
  /**
   * How `getStatus` finds an attempt: `"key"` (by the idempotency key alone: the 0.1 contract,
   * the mocks) or `"reference"` (by the provider's reference that `initiate` returned: the
   * orchestration then records the reference on the attempt, in its own commit, before
   * `process` is called). Absent: `"key"`.
   */
  readonly statusLookup?: "key" | "reference" | undefined
}

/**
 * One line of an order, for providers that show the customer what they pay for (Pagadito's
 * `details`, PayPal's `items`). `price` is the unit price in the payment's currency.
 *
 * @since 0.2.0
 */
export interface LineItem {
  readonly quantity: number
  readonly description: string
  readonly price: Money
  readonly url?: string | undefined
}

/**
 * What the provider needs to know about the payment besides the amount: the pages the customer
 * returns to, the order's lines, the merchant's own parameters (echoed back by the provider),
 * and whether a provider-pending result (Pagadito `VERIFYING`) is acceptable.
 *
 * @since 0.2.0
 */
export interface CheckoutDetails {
  /** Where the provider sends the customer back after a customer action. */
  readonly returnUrl?: string | undefined
  /** Where the provider sends the customer who abandons the checkout. */
  readonly cancelUrl?: string | undefined
  readonly lineItems?: ReadonlyArray<LineItem> | undefined
  /** The merchant's parameters (the payment's metadata), passed through where the provider has room. */
  readonly customParams?: Readonly<Record<string, string>> | undefined
  /** Accept a provider-pending result (settled later by status or webhook). Default false. */
  readonly allowPending?: boolean | undefined
  /** The merchant's order or external reference number (Pagadito's ERN); default: the payment id. */
  readonly externalReference?: string | undefined
}

/**
 * A charge: authorize `amount` and, when `capture` is true, capture it at once.
 *
 * Adapters send `paymentId` and `idempotencyKey` to the provider as metadata wherever the
 * provider echoes metadata in its notifications (Stripe `metadata`, PayPal `custom_id`, Razorpay
 * `notes`, Pagadito custom parameters), so that a webhook names the payment and attempt.
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
   * never call the vault for it), or a checkout (`type: "checkout"`: the customer chooses how to
   * pay at the provider). A gateway token is only ever sent to the gateway registered under its
   * `gateway` id.
   */
  readonly paymentMethod: PaymentMethodToken
  readonly capture: boolean
  readonly description?: string | undefined
  /** The provider's reference returned by `initiate` for this attempt (absent for a 0.1 gateway). */
  readonly reference?: string | undefined
  readonly checkout?: CheckoutDetails | undefined
}

/**
 * What `initiate` needs: the charge as `process` will send it, without the provider reference.
 *
 * @since 0.2.0
 */
export type InitiateRequest = Omit<ProcessRequest, "reference">

/**
 * The provider charged (`succeeded`) or authorized (`authorized`) the attempt.
 *
 * @since 0.2.0
 */
export interface Charged {
  readonly status: "succeeded" | "authorized"
  readonly transactionId: string
  /** The provider's reference of the attempt, when it differs from `transactionId`. */
  readonly reference?: string | undefined
}

/**
 * The customer must act before the provider can charge: the payment waits in ACTION_REQUIRED
 * until `complete`, a webhook, or its expiry.
 *
 * @since 0.2.0
 */
export interface ActionRequired {
  readonly status: "action_required"
  readonly reference: string
  readonly action: CustomerAction
  /** When the provider stops accepting the action; the orchestration's default applies when absent. */
  readonly expiresAt?: DateTime.Utc | undefined
}

/**
 * The provider accepted the payment but has not settled it (Pagadito `VERIFYING`, a bank
 * transfer under review): it settles later by status or webhook. Only answered when
 * `checkout.allowPending` was set; otherwise the adapter answers an unknown outcome.
 *
 * @since 0.2.0
 */
export interface ProviderPending {
  readonly status: "pending"
  readonly reference: string
  readonly reason?: string | undefined
}

/**
 * The result of a successful `process` or `complete`: charged, waiting for the customer, or
 * pending at the provider.
 *
 * @since 0.1.0
 */
export type ProcessResult = Charged | ActionRequired | ProviderPending

/**
 * What a gateway knows about an attempt (found by its reference, or by its idempotency key).
 * `failed` means nothing was charged and nothing will be (declined, cancelled, expired);
 * `not_found` means the provider never saw the attempt.
 *
 * @since 0.1.0
 */
export type StatusResult =
  | { readonly status: "succeeded" | "authorized"; readonly transactionId: string }
  | { readonly status: "failed"; readonly code: string; readonly reason: string }
  | { readonly status: "not_found" }
  | ActionRequired
  | ProviderPending

/**
 * The request of a customer-action call: the attempt, its provider reference, and what the
 * customer's return carried (`params`: the query or form parameters the provider appended to the
 * return URL, e.g. Razorpay's `razorpay_payment_id` and `razorpay_signature`, PayPal's `token`).
 *
 * @since 0.2.0
 */
export interface CompleteRequest {
  readonly paymentId: string
  readonly tenantId?: string | undefined
  readonly idempotencyKey: string
  readonly reference: string
  readonly amount: Money
  readonly capture: boolean
  readonly params: Readonly<Record<string, string>>
}

/**
 * The calls of a gateway whose payments can wait for the customer.
 *
 * @since 0.2.0
 */
export interface CustomerActionOperations {
  /**
   * The customer is back (or a webhook said so): asks the provider and finishes the payment
   * (PayPal captures or authorizes the approved order, Razorpay verifies the checkout signature
   * and captures, Stripe and Pagadito read the status). Money may move: idempotent by
   * `idempotencyKey`. Answers `action_required` again when the customer has not finished.
   */
  readonly complete: (request: CompleteRequest) => Effect.Effect<ProcessResult, GatewayError>
  /**
   * The payment expired: cancels the waiting checkout at the provider, then answers what the
   * provider says now. `failed` or `not_found`: nothing was charged and nothing will be; a charge
   * (a 3-D Secure payment finished late): the payment settles with it; `action_required` or
   * `pending`: the provider could not cancel yet, ask again later.
   */
  readonly cancel: (request: {
    readonly paymentId: string
    readonly tenantId?: string | undefined
    readonly idempotencyKey: string
    readonly reference: string
  }) => Effect.Effect<StatusResult, GatewayError>
}

/**
 * A gateway's webhook endpoint: verifies a provider notification from its exact bytes and
 * headers and parses it into the `Notifications` input. A bad signature, a stale timestamp, a
 * body that is not the provider's JSON or an event type the adapter does not handle is a
 * {@link WebhookRejected} and yields nothing to apply.
 *
 * @since 0.2.0
 */
export interface WebhookOperations {
  readonly parse: (request: WebhookRequest) => Effect.Effect<ReadonlyArray<GatewayNotification>, WebhookRejected | GatewayReadError>
}

/**
 * A payment gateway. Implementations must honour the idempotency key of every money-moving call.
 *
 * @since 0.1.0
 */
export interface Gateway {
  readonly id: string
  readonly capabilities: Capabilities
  /** Prepares a provider-side payment (e.g. a PaymentIntent); moves no money. Idempotent by key. */
  readonly initiate: (request: InitiateRequest) => Effect.Effect<{ readonly reference: string }, GatewayReadError>
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
  /**
   * What happened to the attempt: found by `reference` when given (the provider's reference
   * recorded on the attempt), else by `idempotencyKey` (see `Capabilities.statusLookup`).
   */
  readonly getStatus: (request: {
    readonly idempotencyKey: string
    readonly reference?: string | undefined
  }) => Effect.Effect<StatusResult, GatewayReadError>
  /** Whether the gateway answers, and how fast. */
  readonly healthCheck: Effect.Effect<{ readonly healthy: boolean; readonly latencyMillis: number }>
  /** Present when the gateway's payments can wait for the customer (see {@link CustomerActionOperations}). */
  readonly customerAction?: CustomerActionOperations | undefined
  /** Present when the gateway's provider sends webhooks (see {@link WebhookOperations}). */
  readonly webhooks?: WebhookOperations | undefined
}

/**
 * How to build a gateway from one tenant's stored credentials (the service keeps them encrypted
 * per tenant and provider). `fields` lists the credential names the provider needs and which of
 * them are secrets; `make` gets every value `Redacted` and fails with `GatewayMisconfigured`
 * when one is missing or malformed.
 *
 * @since 0.2.0
 */
export interface GatewayProvider<R = never> {
  /** The provider's name: `"stripe"`, `"paypal"`, `"razorpay"`, `"pagadito"`, or a user's own. */
  readonly provider: string
  readonly fields: ReadonlyArray<{ readonly name: string; readonly secret: boolean; readonly optional?: boolean | undefined }>
  readonly make: (
    credentials: Readonly<Record<string, Redacted.Redacted<string>>>,
    options: { readonly id: string }
  ) => Effect.Effect<Gateway, GatewayMisconfigured, R>
}

/**
 * Whether a gateway accepts a currency and capture method.
 *
 * @since 0.1.0
 */
export const supports = (
  gateway: Gateway,
  request: {
    readonly currency: CurrencyCode
    readonly manualCapture: boolean
    readonly paymentMethod?: PaymentMethodKind | undefined
  }
): boolean =>
  (gateway.capabilities.currencies === "all" || gateway.capabilities.currencies.includes(request.currency)) &&
  (!request.manualCapture || gateway.capabilities.manualCapture) &&
  (request.paymentMethod === undefined || paymentMethodsOf(gateway).includes(request.paymentMethod))

/**
 * The payment methods a gateway takes (`["card", "gateway_token"]` when its capabilities do not say).
 *
 * @since 0.2.0
 */
export const paymentMethodsOf = (gateway: Gateway): ReadonlyArray<PaymentMethodKind> =>
  gateway.capabilities.paymentMethods ?? ["card", "gateway_token"]
