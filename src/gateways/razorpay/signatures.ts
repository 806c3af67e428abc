/**
 * Razorpay's signatures and the adapter's derived identifiers.
 *
 * - **Checkout signature** (what Razorpay Checkout hands the customer's browser on success, as
 *   `razorpay_signature`): HMAC-SHA256, hex, of `${order_id}|${payment_id}` keyed with the API
 *   key secret (razorpay-node `validatePaymentVerification`).
 * - **Webhook signature** (`X-Razorpay-Signature`): HMAC-SHA256, hex, of the raw request body
 *   keyed with the webhook secret (razorpay-node `validateWebhookSignature`).
 *
 * Both are compared in constant time. Neither secret ever appears in a message.
 *
 * @internal
 */
import type { Redacted } from "effect"
import { createHash } from "node:crypto"
import { constantTimeEqual, hmacSha256Hex } from "../internal/http.js"

/** The checkout signature Razorpay computes for `orderId` and `paymentId`. */
export const checkoutSignature = (keySecret: Redacted.Redacted<string>, orderId: string, paymentId: string): string =>
  hmacSha256Hex(keySecret, `${orderId}|${paymentId}`)

/** Whether `signature` is Razorpay's checkout signature of `orderId` and `paymentId`. */
export const verifyCheckout = (
  keySecret: Redacted.Redacted<string>,
  orderId: string,
  paymentId: string,
  signature: string
): boolean => constantTimeEqual(checkoutSignature(keySecret, orderId, paymentId), signature.trim().toLowerCase())

/** The webhook signature of `body` under `webhookSecret`. */
export const webhookSignature = (webhookSecret: Redacted.Redacted<string>, body: Uint8Array | string): string =>
  hmacSha256Hex(webhookSecret, body)

/** Whether `signature` is the webhook signature of the exact bytes `body`. */
export const verifyWebhook = (webhookSecret: Redacted.Redacted<string>, body: Uint8Array, signature: string): boolean =>
  constantTimeEqual(webhookSignature(webhookSecret, body), signature.trim().toLowerCase())

const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

/** Razorpay's limit on an order's `receipt`. */
export const RECEIPT_MAX = 40

/**
 * The order `receipt` for an attempt's idempotency key: the key itself when it fits Razorpay's
 * 40 characters, else `h-` and the first 38 hex digits of its SHA-256 (152 bits: collisions are
 * out of reach). Deterministic, so a retried `initiate` finds the order it made before.
 */
export const receiptFor = (idempotencyKey: string): string =>
  idempotencyKey.length <= RECEIPT_MAX ? idempotencyKey : `h-${sha256Hex(idempotencyKey).slice(0, RECEIPT_MAX - 2)}`

const REFUND_KEY = /^[A-Za-z0-9_-]{10,40}$/

/**
 * The `X-Refund-Idempotency` header for a refund's idempotency key. Razorpay takes at least 10
 * characters of letters, digits, `-` and `_`; its documentation gives no maximum, so 40 is kept
 * to: a key of that form is sent as is, any other as `h-` and the first 38 hex digits of its
 * SHA-256 (deterministic, so a resent refund carries the same header).
 */
export const refundIdempotencyKey = (idempotencyKey: string): string =>
  REFUND_KEY.test(idempotencyKey) ? idempotencyKey : `h-${sha256Hex(idempotencyKey).slice(0, 38)}`
