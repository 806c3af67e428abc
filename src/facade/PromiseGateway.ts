/**
 * Your own gateway written with Promises, for `registerGateway(id, gateway)`: the interface, and
 * its adaptation to the Effect `Gateway` contract.
 *
 * **Errors.** What your methods throw (or reject with) is classified:
 * - `GatewayDeclinedError`: the provider refused (never retried);
 * - `GatewayTransientError`: certainly not applied (retried with the same idempotency key, then
 *   the payment fails over to the next gateway);
 * - `GatewayUnknownOutcomeError`: may have been applied (AegisPay asks `getStatus` before anything else);
 * - `GatewayMisconfiguredError`: a person must fix something (fails over);
 * - anything else: from a call that moves money (`process`, `capture`, `void`, `refund`) an
 *   **unknown outcome** (the safe reading of a crash mid-call), from the others (`initiate`,
 *   `authenticate`, `getStatus`) a transient error.
 *
 * Every money-moving call carries an `idempotencyKey`: pass it to your provider, so that the same
 * key twice moves money once and answers the first result.
 *
 * @since 0.2.0
 */
import type { Amount, CustomerAction } from "./Types.js"

/**
 * A card handed to your gateway: what the payment shows, and `reveal()` for the number itself
 * (read from the vault on demand; never log it). The CVV is never stored, so never revealed.
 *
 * @since 0.2.0
 */
export interface GatewayCard {
  readonly type: "card"
  readonly brand: string
  readonly last4: string
  readonly expiryMonth: number
  readonly expiryYear: number
  readonly holderName: string
  /** Rejects with `GatewayTransientError` when the vault cannot read the card (nothing was sent). */
  readonly reveal: () => Promise<{ readonly number: string; readonly expiryMonth: number; readonly expiryYear: number; readonly holderName: string }>
}

/**
 * The payment method of a charge: a card, the provider's own token, or a checkout.
 *
 * @since 0.2.0
 */
export type GatewayPaymentMethod =
  | GatewayCard
  | { readonly type: "gateway_token"; readonly gateway: string; readonly token: string }
  | { readonly type: "checkout" }

/**
 * A charge (`process`) or its preparation (`initiate`).
 *
 * @since 0.2.0
 */
export interface GatewayChargeRequest {
  readonly paymentId: string
  readonly tenantId: string
  /** The same for every retry of this attempt: pass it to your provider. */
  readonly idempotencyKey: string
  readonly amount: Amount
  /** `false`: authorize only (manual capture). */
  readonly capture: boolean
  readonly paymentMethod: GatewayPaymentMethod
  readonly description?: string | undefined
  /** What your `initiate` returned for this attempt (with `statusLookup: "reference"`). */
  readonly reference?: string | undefined
  /** Aborted when AegisPay stops waiting (the call timeout, or shutdown). */
  readonly signal: AbortSignal
}

/**
 * What a charge did: charged or authorized, waiting for the customer, or pending at the provider.
 *
 * @since 0.2.0
 */
export type GatewayChargeResult =
  | { readonly status: "succeeded" | "authorized"; readonly transactionId: string; readonly reference?: string | undefined }
  | { readonly status: "action_required"; readonly reference: string; readonly action: CustomerAction; readonly expiresAt?: Date | undefined }
  | { readonly status: "pending"; readonly reference: string; readonly reason?: string | undefined }

/**
 * What your provider knows about an attempt: `failed` means nothing was charged and nothing
 * will be; `not_found` means it never saw the attempt.
 *
 * @since 0.2.0
 */
export type GatewayStatus =
  | { readonly status: "succeeded" | "authorized"; readonly transactionId: string }
  | { readonly status: "failed"; readonly code: string; readonly reason: string }
  | { readonly status: "not_found" }
  | { readonly status: "action_required"; readonly reference: string; readonly action: CustomerAction; readonly expiresAt?: Date | undefined }
  | { readonly status: "pending"; readonly reference: string; readonly reason?: string | undefined }

/**
 * Your own gateway, with Promises. `process`, `refund` and `getStatus` are required; without
 * `capture`/`void` manual capture is refused (`GatewayMisconfigured`); `initiate`,
 * `authenticate` and `healthCheck` are optional.
 *
 * @since 0.2.0
 */
export interface PaymentGateway {
  readonly capabilities?: {
    /** ISO 4217 codes, or `"all"` (default). */
    readonly currencies?: ReadonlyArray<string> | "all" | undefined
    /** Whether `capture`/`void` exist; default: whether both methods are present. */
    readonly manualCapture?: boolean | undefined
    /** Default `["card", "gateway_token"]`. */
    readonly paymentMethods?: ReadonlyArray<"card" | "gateway_token" | "checkout"> | undefined
    /** `"reference"`: status by what `initiate` returned; default `"key"` (by idempotency key). */
    readonly statusLookup?: "key" | "reference" | undefined
  } | undefined
  /** Charges (or authorizes, `capture: false`). Money moves: honour `idempotencyKey`. */
  process(request: GatewayChargeRequest): Promise<GatewayChargeResult>
  /** Refunds part or all of a charge. Money moves: honour `idempotencyKey`. */
  refund(request: { readonly transactionId: string; readonly idempotencyKey: string; readonly amount: Amount; readonly signal: AbortSignal }): Promise<{ readonly refundId: string }>
  /** What happened to an attempt, by `reference` when given, else by `idempotencyKey`. */
  getStatus(request: { readonly idempotencyKey: string; readonly reference?: string | undefined; readonly signal: AbortSignal }): Promise<GatewayStatus>
  /** Captures `amount` of an authorization. Money moves. */
  capture?(request: { readonly transactionId: string; readonly idempotencyKey: string; readonly amount: Amount; readonly signal: AbortSignal }): Promise<{ readonly transactionId: string }>
  /** Releases an authorization. */
  void?(request: { readonly transactionId: string; readonly idempotencyKey: string; readonly signal: AbortSignal }): Promise<void>
  /** Prepares a provider-side payment (moves no money); default: the payment id as reference. */
  initiate?(request: Omit<GatewayChargeRequest, "reference">): Promise<{ readonly reference: string }>
  /** Authenticates the payment method (3-D Secure, risk checks; moves no money). */
  authenticate?(request: { readonly paymentId: string; readonly amount: Amount; readonly paymentMethod: GatewayPaymentMethod; readonly signal: AbortSignal }): Promise<void>
  /** Whether the provider answers; default healthy. */
  healthCheck?(): Promise<{ readonly healthy: boolean }>
}

