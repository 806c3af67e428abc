/**
 * The plain types of the Promise facade (`aegispay/facade`): what its methods take and return.
 * Nothing here is an Effect type: amounts are exact decimal strings (with their minor units as a
 * `bigint`), instants are `Date`s.
 *
 * @since 0.2.0
 */

/**
 * An amount as the facade takes it: an exact decimal string in major units (`"49.99"`), or
 * minor units (`{ minor: 4999n }` or `{ minor: 4999 }`, an integer). A JavaScript number is
 * refused (`InvalidAmountError`): a float cannot hold money exactly.
 *
 * @since 0.2.0
 */
export type AmountInput = string | { readonly minor: bigint | number }

/**
 * An amount as the facade returns it: exact, in its currency.
 *
 * @since 0.2.0
 */
export interface Amount {
  readonly currency: string
  /** Major units as an exact decimal string in the currency's exponent: `"49.99"`, `"5000"` (JPY). */
  readonly amount: string
  /** Minor units: `4999n`. */
  readonly minor: bigint
}

/**
 * The states of a payment.
 *
 * @since 0.2.0
 */
export type PaymentState =
  | "INITIATED"
  | "AUTHENTICATED"
  | "PROCESSING"
  | "ACTION_REQUIRED"
  | "AUTHORIZED"
  | "SUCCESS"
  | "FAILURE"
  | "CANCELLED"

/**
 * The states of a payment as constants (`PaymentState.SUCCESS`), as in the seed's quick start.
 *
 * @since 0.2.0
 */
export const PaymentState = {
  INITIATED: "INITIATED",
  AUTHENTICATED: "AUTHENTICATED",
  PROCESSING: "PROCESSING",
  ACTION_REQUIRED: "ACTION_REQUIRED",
  AUTHORIZED: "AUTHORIZED",
  SUCCESS: "SUCCESS",
  FAILURE: "FAILURE",
  CANCELLED: "CANCELLED"
} as const satisfies Record<PaymentState, PaymentState>

/**
 * The routing strategies (the seed's names).
 *
 * @since 0.2.0
 */
export type RoutingStrategy =
  | "ROUND_ROBIN"
  | "LEAST_LATENCY"
  | "HIGHEST_SUCCESS_RATE"
  | "COST_OPTIMIZED"
  | "RULE_BASED"
  | "INTELLIGENT"
  | "ADAPTIVE"

/**
 * The routing strategies as constants (`RoutingStrategy.HIGHEST_SUCCESS_RATE`).
 *
 * @since 0.2.0
 */
export const RoutingStrategy = {
  ROUND_ROBIN: "ROUND_ROBIN",
  LEAST_LATENCY: "LEAST_LATENCY",
  HIGHEST_SUCCESS_RATE: "HIGHEST_SUCCESS_RATE",
  COST_OPTIMIZED: "COST_OPTIMIZED",
  RULE_BASED: "RULE_BASED",
  INTELLIGENT: "INTELLIGENT",
  ADAPTIVE: "ADAPTIVE"
} as const satisfies Record<RoutingStrategy, RoutingStrategy>

/**
 * The built-in gateway types of `registerGateway(type, credentials)`. `"mock"` is the test kit's
 * mock gateway (test cards, no network): development mode only.
 *
 * @since 0.2.0
 */
export type GatewayType = "stripe" | "paypal" | "razorpay" | "pagadito" | "mock"

/**
 * The built-in gateway types as constants (`GatewayType.STRIPE`).
 *
 * @since 0.2.0
 */
export const GatewayType = {
  STRIPE: "stripe",
  PAYPAL: "paypal",
  RAZORPAY: "razorpay",
  PAGADITO: "pagadito",
  MOCK: "mock"
} as const satisfies Record<string, GatewayType>

/**
 * The payment event types (`on(type, handler)`); `"*"` for every event.
 *
 * @since 0.2.0
 */
export type PaymentEventType =
  | "PaymentInitiated"
  | "PaymentAuthenticated"
  | "PaymentProcessing"
  | "PaymentRetryAttempted"
  | "AttemptStatusChecked"
  | "AttemptReferenceRecorded"
  | "CustomerActionRequired"
  | "PaymentPendingAtProvider"
  | "PaymentOutcomeUnknown"
  | "PaymentReconciled"
  | "PaymentAuthorized"
  | "PaymentSucceeded"
  | "PaymentFailed"
  | "PaymentOperationRequested"
  | "PaymentOperationFailed"
  | "PaymentCancelled"
  | "RefundRequested"
  | "RefundSucceeded"
  | "RefundFailed"
  | "ManualReviewRequired"
  | "ManualReviewResolved"
  | "CompensationRequested"
  | "CompensationSucceeded"
  | "NotificationReceived"
  | "DisputeRecorded"
  | "ExternalRefundRecorded"

/**
 * A committed payment event, as handed to `on` handlers. Delivery is at least once (with the
 * database's outbox, a restart may deliver an event again): dedupe by `eventId`.
 *
 * @since 0.2.0
 */
export interface PaymentEvent {
  readonly type: PaymentEventType
  /** `evt_<paymentId>_<seq>`: stable, unique. */
  readonly eventId: string
  readonly paymentId: string
  readonly tenantId: string
  /** 1, 2, 3… per payment. */
  readonly seq: number
  readonly occurredAt: Date
  /** The event's own fields as JSON (amounts as `{ currency, minor }` with `minor` a string). Never card data. */
  readonly payload: Readonly<Record<string, unknown>>
}

/**
 * A handler of `on`: may be async; what it throws or rejects with is logged and never stops
 * other handlers or later events.
 *
 * @since 0.2.0
 */
export type EventHandler = (event: PaymentEvent) => void | Promise<void>

/**
 * A card as `createPayment` takes it. Stored encrypted in the vault; never in a payment, an
 * event, a log line or an error message.
 *
 * @since 0.2.0
 */
export interface CardInput {
  readonly type: "card"
  readonly number: string
  readonly expiryMonth: number
  readonly expiryYear: number
  readonly cvv: string
  readonly holderName: string
}

/**
 * The payment method of `createPayment`: a card, a gateway's own token (Stripe's `pm_…`; the
 * payment is pinned to that gateway), or a checkout the customer finishes at the provider.
 *
 * @since 0.2.0
 */
export type PaymentMethodInput =
  | CardInput
  | { readonly type: "gateway_token"; readonly gateway: string; readonly token: string }
  | { readonly type: "checkout"; readonly gateway?: string | undefined }

/**
 * The request of `createPayment`.
 *
 * @since 0.2.0
 */
export interface CreatePaymentRequest {
  /** Unique per payment: the same key with the same request returns the same payment. */
  readonly idempotencyKey: string
  readonly amount: AmountInput
  /** ISO 4217 (`"USD"`). */
  readonly currency: string
  /** Default `"automatic"`; `"manual"`: authorize now, `capturePayment` later. */
  readonly captureMethod?: "automatic" | "manual" | undefined
  readonly paymentMethod: PaymentMethodInput
  readonly customer: {
    readonly id: string
    readonly email: string
    readonly name?: string | undefined
    /** ISO 3166-1 alpha-2. */
    readonly country?: string | undefined
  }
  readonly metadata?: Readonly<Record<string, string | number | boolean>> | undefined
  readonly description?: string | undefined
  /** Send this payment to this registered gateway only. */
  readonly gatewayType?: string | undefined
  readonly returnUrl?: string | undefined
  readonly cancelUrl?: string | undefined
  readonly lineItems?: ReadonlyArray<{
    readonly quantity: number
    readonly description: string
    /** The unit price as an exact decimal string. */
    readonly price: string
    readonly url?: string | undefined
  }> | undefined
  readonly allowPending?: boolean | undefined
  readonly externalReference?: string | undefined
}

/**
 * A payment method as a payment shows it: never the card number, the vault token or a gateway
 * token's value.
 *
 * @since 0.2.0
 */
export type PaymentMethodView =
  | {
    readonly type: "card"
    readonly brand: string
    readonly last4: string
    readonly expiryMonth: number
    readonly expiryYear: number
  }
  | { readonly type: "gateway_token"; readonly gateway: string }
  | { readonly type: "checkout"; readonly gateway?: string | undefined }

/**
 * What the customer must do (ACTION_REQUIRED).
 *
 * @since 0.2.0
 */
export type CustomerAction =
  | { readonly type: "redirect"; readonly url: string }
  | { readonly type: "client_secret"; readonly clientSecret: string }
  | { readonly type: "checkout"; readonly params: Readonly<Record<string, string>> }

/**
 * A refund of a payment.
 *
 * @since 0.2.0
 */
export interface Refund {
  readonly id: string
  readonly amount: Amount
  /** `PENDING`: the gateway's answer was lost; call `refundPayment` again with the same key, or leave it to recovery. */
  readonly state: "PENDING" | "SUCCEEDED" | "FAILED" | "MANUAL_REVIEW"
  readonly reason?: string | undefined
  readonly failureReason?: string | undefined
  /** Made outside AegisPay (the provider's dashboard). */
  readonly external?: boolean | undefined
  readonly createdAt: Date
  readonly updatedAt: Date
}

/**
 * A payment, as every facade method returns it.
 *
 * @since 0.2.0
 */
export interface Payment {
  readonly id: string
  readonly tenantId: string
  readonly idempotencyKey: string
  readonly state: PaymentState
  readonly captureMethod: "automatic" | "manual"
  readonly amount: Amount
  readonly authorizedAmount: Amount
  readonly capturedAmount: Amount
  readonly refundedAmount: Amount
  readonly paymentMethod: PaymentMethodView
  readonly customer: {
    readonly id: string
    readonly email: string
    readonly name?: string | undefined
    readonly country?: string | undefined
  }
  readonly metadata: Readonly<Record<string, unknown>>
  readonly description?: string | undefined
  /** The gateway of the current attempt. */
  readonly gateway?: string | undefined
  readonly gatewayTransactionId?: string | undefined
  readonly attempts: ReadonlyArray<{
    readonly number: number
    readonly gateway: string
    readonly status: string
    readonly failureReason?: string | undefined
    readonly startedAt: Date
  }>
  readonly refunds: ReadonlyArray<Refund>
  readonly customerAction?: CustomerAction | undefined
  readonly actionExpiresAt?: Date | undefined
  readonly providerPending?: boolean | undefined
  readonly failureReason?: string | undefined
  readonly declineCode?: string | undefined
  /** The outcome of the last gateway call is unknown: `processPayment` again reconciles it with the gateway. */
  readonly requiresReconciliation: boolean
  readonly version: number
  readonly createdAt: Date
  readonly updatedAt: Date
}

/**
 * A page of a customer's payments, newest first.
 *
 * @since 0.2.0
 */
export interface PaymentPage {
  readonly items: ReadonlyArray<Payment>
  /** Pass it as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string | undefined
}

/**
 * One gateway's health: its recent calls (a sliding window), its circuit and a score from 0 to 1.
 *
 * @since 0.2.0
 */
export interface GatewayHealth {
  readonly gateway: string
  readonly circuit: "CLOSED" | "OPEN" | "HALF_OPEN"
  readonly score: number
  /** Calls in the window. */
  readonly requests: number
  /** Approved share of the calls in the window; absent without calls. */
  readonly successRate?: number | undefined
  readonly p50?: number | undefined
  readonly p95?: number | undefined
  readonly p99?: number | undefined
}

/**
 * AegisPay's metrics now (`aegispay_*`): counters and histograms by `name{tag=value,…}`.
 *
 * @since 0.2.0
 */
export interface MetricsSnapshot {
  readonly counters: Readonly<Record<string, number>>
  readonly histograms: Readonly<Record<string, { readonly count: number; readonly sum: number; readonly min: number; readonly max: number }>>
}
