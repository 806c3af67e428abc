/**
 * The settings and request types of `PaymentService`.
 *
 * @internal
 */
import type { Duration } from "effect"
import type * as Money from "../../domain/Money.js"
import type * as RetryPolicy from "../../resilience/RetryPolicy.js"

/**
 * Settings of the payment service.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Retries of transient gateway errors (same idempotency key). */
  readonly retry?: RetryPolicy.RetrySettings | undefined
  /**
   * Longest wait for one gateway call; default 30 s. A money-moving call that times out is an
   * unknown outcome (it may have been applied); a read that times out is transient.
   */
  readonly callTimeout?: Duration.DurationInput | undefined
  /** Attempts (gateways) one payment may use, failovers included; default 3. */
  readonly maxAttempts?: number | undefined
  /** Decline codes after which the payment may fail over to another gateway; default none. */
  readonly failoverDeclineCodes?: ReadonlyArray<string> | undefined
  /**
   * How long a payment waits for the customer (ACTION_REQUIRED) when the gateway gives no expiry
   * of its own; default 1 hour. After it, recovery asks the provider to cancel the payment.
   */
  readonly customerActionTimeout?: Duration.DurationInput | undefined
  /**
   * How long a provider-pending payment waits for the provider's answer before the provider is
   * asked to cancel it; default 24 hours.
   */
  readonly providerPendingTimeout?: Duration.DurationInput | undefined
}

/**
 * The former name of {@link Options}.
 *
 * @since 0.1.0
 * @deprecated use {@link Options}
 */
export type Config = Options

/**
 * The request of `getCustomerPayments`.
 *
 * @since 0.1.0
 */
export interface CustomerPaymentsRequest {
  readonly customerId: string
  /** Optional: the list is always the current tenant's; naming another tenant gives an empty page. */
  readonly tenantId?: string | undefined
  /** Page size, 1 to 100; default 20. */
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

/**
 * The request of `capturePayment`. Without `amount` the whole authorization is captured.
 *
 * @since 0.1.0
 */
export interface CapturePaymentRequest {
  readonly paymentId: string
  readonly amount?: typeof Money.AmountInput.Type | undefined
}

/**
 * The request of `cancelPayment`.
 *
 * @since 0.1.0
 */
export interface CancelPaymentRequest {
  readonly paymentId: string
  readonly reason?: string | undefined
}
