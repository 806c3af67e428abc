/**
 * The webhook side of the gateway contract: what a provider's notification looks like on the
 * wire ({@link WebhookRequest}), what an adapter makes of it ({@link GatewayNotification}, the
 * input of `Notifications.apply`), and how it refuses one ({@link WebhookRejected}).
 *
 * Guarantees an adapter's `webhooks.parse` gives:
 * - the signature is checked over the exact bytes received, with the provider's scheme and a
 *   constant-time comparison, before anything in the body is believed;
 * - a timestamped scheme (Stripe) refuses a notification older than its tolerance window;
 * - a refusal is a {@link WebhookRejected} and yields nothing to apply; the reason never quotes
 *   a secret or card data.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import { CurrencyCode } from "../domain/Currency.js"
import { NotificationType } from "../domain/PaymentEvent.js"

/**
 * A provider's HTTP notification as received: header names lower-cased, the body's exact bytes.
 *
 * @since 0.2.0
 */
export interface WebhookRequest {
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
}

/**
 * Why a webhook was refused.
 *
 * @since 0.2.0
 */
export const WebhookRejectionReason = Schema.Literal(
  "bad_signature",
  "stale_timestamp",
  "malformed",
  "unknown_event",
  "not_configured"
)

/**
 * A provider notification the adapter refused: nothing in it is applied.
 *
 * @since 0.2.0
 */
export class WebhookRejected extends Schema.TaggedError<WebhookRejected>()("WebhookRejected", {
  gateway: Schema.String,
  reason: WebhookRejectionReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.gateway} webhook rejected (${this.reason}): ${this.detail}`
  }
}

/**
 * A gateway notification, as an adapter hands it over to `Notifications.apply`.
 *
 * @since 0.1.0
 */
export const GatewayNotification = Schema.Struct({
  /** The gateway's event id: with `gateway`, the deduplication key. */
  id: Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255)),
  gateway: Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255)),
  /** The payment the gateway echoes back (adapters send it as metadata). */
  paymentId: Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255)),
  type: NotificationType,
  /** The gateway idempotency key of the attempt, refund or compensation it is about. */
  idempotencyKey: Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255)),
  /** The gateway's transaction id (required for `charge.succeeded` / `charge.authorized`). */
  transactionId: Schema.optional(Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255))),
  /** The gateway's refund id (for `refund.succeeded`). */
  refundId: Schema.optional(Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255))),
  code: Schema.optional(Schema.String.pipe(Schema.maxLength(255))),
  reason: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
  /** The provider's reference of the attempt (0.2). */
  reference: Schema.optional(Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255))),
  /** The provider's dispute id (0.2; `dispute.opened` / `dispute.closed`). */
  disputeId: Schema.optional(Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255))),
  /**
   * An exact decimal amount in `currency` (0.2): the disputed amount, or the amount of a
   * `refund.external` (required for it). Never a float.
   */
  amount: Schema.optional(Schema.String.pipe(Schema.pattern(/^\d+(\.\d+)?$/))),
  currency: Schema.optional(CurrencyCode),
  /** Whether the adapter verified the notification's signature. */
  verified: Schema.Boolean
})

/**
 * @since 0.1.0
 */
export type GatewayNotification = typeof GatewayNotification.Encoded
