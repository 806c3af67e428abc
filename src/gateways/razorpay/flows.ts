/**
 * The payment flows of the Razorpay adapter, between the contract (`Gateway`) and the REST calls
 * (`api.ts`): an order per attempt, Razorpay Checkout as the customer action, the checkout
 * signature, capture of an authorized payment, and what an order's payments say about the
 * attempt.
 *
 * Razorpay's model, as the adapter reads it:
 * - one **order** per attempt (`receipt` = the attempt's idempotency key, hashed past 40
 *   characters; `notes` name the AegisPay payment and attempt); the order is the attempt's
 *   provider reference;
 * - the customer pays the order in Razorpay Checkout, possibly in several tries: an order has
 *   **payments** (created → authorized → captured, or failed); a failed try leaves the order
 *   payable, and a second payment on a paid order is refunded by Razorpay at once;
 * - an order cannot be cancelled; an authorized payment that is never captured is refunded by
 *   Razorpay after the account's capture window (3–5 days).
 *
 * @internal
 */
import { Effect, Redacted } from "effect"
import type {
  ActionRequired,
  Charged,
  GatewayError,
  GatewayReadError,
  StatusResult
} from "../../gateway/Gateway.js"
import { GatewayDeclined, GatewayMisconfigured, GatewayTransientError } from "../../gateway/Gateway.js"
import type { Money } from "../../domain/Money.js"
import { doubt } from "../internal/http.js"
import type { Api } from "./api.js"
import { isSuccess } from "./errors.js"
import * as Wire from "./wire.js"

/** The note keys the adapter writes on an order (and a refund) and reads back from webhooks. */
export const NOTE = {
  paymentId: "aegispay_payment_id",
  idempotencyKey: "aegispay_idempotency_key",
  capture: "aegispay_capture",
  tenantId: "aegispay_tenant_id"
} as const

/** Razorpay's limits on `notes`: 15 pairs, 256 characters each. */
export const NOTES_MAX = 15
export const NOTE_LENGTH_MAX = 256

/** What the adapter needs besides the calls. */
export interface Context {
  readonly gateway: string
  readonly api: Api
  readonly keyId: Redacted.Redacted<string>
  readonly keySecret: Redacted.Redacted<string>
  readonly merchantName?: string | undefined
}

/** An amount in minor units as Razorpay's JSON integer, or a refusal when it cannot be one exactly. */
export const minorOf = (gateway: string, money: Money): Effect.Effect<number, GatewayMisconfigured> =>
  money.minor < 0n || money.minor > BigInt(Number.MAX_SAFE_INTEGER)
    ? Effect.fail(new GatewayMisconfigured({ gateway, reason: `amount ${money.toString()} cannot be sent to Razorpay exactly` }))
    : Effect.succeed(Number(money.minor))

/** Whether a Razorpay payment holds exactly `money`. */
export const holds = (payment: Wire.Payment, money: Money): boolean =>
  payment.currency === money.currency && BigInt(payment.amount) === money.minor

/** A payment that took money and kept it (captured, possibly refunded since by the merchant). */
export const isCaptured = (p: Wire.Payment): boolean =>
  p.status === "captured" || (p.status === "refunded" && p.captured === true)

/** An uncaptured authorization Razorpay refunded on its own (late authorization, capture window passed). */
export const isAutoRefunded = (p: Wire.Payment): boolean => p.status === "refunded" && p.captured !== true

/**
 * What an order's payments say about the attempt, most decisive first: a captured payment, an
 * authorized one, one still in progress (`created`: the customer is paying), or none alive (no
 * payment yet, or every try failed: the order still takes payments).
 */
export type Look =
  | { readonly _tag: "Captured"; readonly payment: Wire.Payment }
  | { readonly _tag: "Authorized"; readonly payment: Wire.Payment }
  | { readonly _tag: "InProgress"; readonly payment: Wire.Payment }
  | { readonly _tag: "Open"; readonly lastFailure: Wire.Payment | undefined }

export const look = (payments: ReadonlyArray<Wire.Payment>): Look => {
  const captured = payments.find(isCaptured)
  if (captured !== undefined) return { _tag: "Captured", payment: captured }
  const authorized = payments.find((p) => p.status === "authorized")
  if (authorized !== undefined) return { _tag: "Authorized", payment: authorized }
  const inProgress = payments.find((p) => p.status === "created")
  if (inProgress !== undefined) return { _tag: "InProgress", payment: inProgress }
  return { _tag: "Open", lastFailure: payments.find((p) => p.status === "failed") }
}

/** The decline code and reason of a failed payment. */
export const declineOf = (gateway: string, p: Wire.Payment | undefined): GatewayDeclined =>
  new GatewayDeclined({
    gateway,
    code: (p?.error_reason ?? p?.error_code ?? "payment_failed").toLowerCase(),
    reason: p?.error_description ?? "the payment failed at Razorpay"
  })

/**
 * What Razorpay Checkout needs to open for the order: the public key id, the order, amount and
 * currency, and when known the merchant's name, the description and the callback URL. Never a
 * secret.
 */
export const checkoutAction = (
  ctx: Context,
  orderId: string,
  amount: Money,
  extra: { readonly description?: string | undefined; readonly callbackUrl?: string | undefined }
): ActionRequired => {
  const params: Record<string, string> = {
    key: keyIdOf(ctx),
    order_id: orderId,
    amount: amount.minor.toString(),
    currency: amount.currency
  }
  if (ctx.merchantName !== undefined) params.name = ctx.merchantName
  if (extra.description !== undefined) params.description = extra.description
  if (extra.callbackUrl !== undefined) params.callback_url = extra.callbackUrl
  return { status: "action_required", reference: orderId, action: { type: "checkout", params } }
}

/** The key id is public by design (Checkout's `key`); it is held `Redacted` only to be configured like the secret. */
const keyIdOf = (ctx: Context): string => Redacted.value(ctx.keyId)

/**
 * Captures an authorized payment for its whole amount (Razorpay captures nothing else). Money
 * moves. A refusal is re-read first: a payment already captured (by an earlier try whose answer
 * was lost, or by Razorpay's automatic capture) is a success, so a resent capture never fails a
 * payment that was in fact captured.
 */
export const capturePayment = (
  ctx: Context,
  operation: string,
  payment: Wire.Payment
): Effect.Effect<Wire.Payment, GatewayError> =>
  Effect.gen(function*() {
    const answer = yield* ctx.api.capture(operation, payment.id, payment.amount, payment.currency)
    if (isSuccess(answer)) {
      const captured = yield* ctx.api.decodeAnswer(answer, Wire.Payment, operation, true)
      if (isCaptured(captured)) return captured
      return yield* doubt(
        { gateway: ctx.gateway, operation, moneyMoving: true, timeout: 0 },
        `capture answered a payment in status ${captured.status}`
      )
    }
    const refused = ctx.api.classify(answer, operation, true)
    if (answer.status !== 400) return yield* refused
    // "already captured" is a 400 too: what counts is the payment's state now.
    const now = yield* ctx.api.payment(operation, payment.id)
    if (now !== undefined && isCaptured(now)) return now
    return yield* refused
  })

/**
 * Settles an attempt from one of its payments: captured → charged; authorized → captured first
 * when the attempt asked for capture, else authorized.
 */
export const finish = (
  ctx: Context,
  operation: string,
  orderId: string,
  found: Look & { readonly _tag: "Captured" | "Authorized" },
  capture: boolean
): Effect.Effect<Charged, GatewayError> =>
  found._tag === "Captured"
    ? Effect.succeed({ status: "succeeded", transactionId: found.payment.id, reference: orderId })
    : capture
    ? Effect.map(capturePayment(ctx, operation, found.payment), (p): Charged => ({
      status: "succeeded",
      transactionId: p.id,
      reference: orderId
    }))
    : Effect.succeed({ status: "authorized", transactionId: found.payment.id, reference: orderId })

/** The payments of an order, or a refusal when Razorpay has no such order. */
export const paymentsOf = (
  ctx: Context,
  operation: string,
  orderId: string
): Effect.Effect<ReadonlyArray<Wire.Payment>, GatewayReadError> =>
  Effect.flatMap(ctx.api.orderPayments(operation, orderId), (collection) =>
    collection === undefined
      ? Effect.fail(new GatewayMisconfigured({ gateway: ctx.gateway, reason: `${operation}: Razorpay has no order ${orderId}` }))
      : Effect.succeed(collection.items))

/** Whether an order asked for automatic capture (the note the adapter wrote on it). */
export const capturesAutomatically = (order: Wire.Order): boolean => Wire.note(order.notes, NOTE.capture) === "automatic"

/**
 * What a status lookup answers for an order's payments (never moves money). An authorized
 * payment of an order that asked for automatic capture is `pending`, not `authorized`: Razorpay
 * captures it by itself within the order's window, and `complete` or the expiry check captures
 * a late one; answering `authorized` would settle the payment as an authorization that then
 * never hears of its capture.
 */
export const statusOf = (ctx: Context, order: Wire.Order, found: Look): StatusResult => {
  switch (found._tag) {
    case "Captured":
      return { status: "succeeded", transactionId: found.payment.id }
    case "Authorized":
      return capturesAutomatically(order)
        ? {
          status: "pending",
          reference: order.id,
          reason: `payment ${found.payment.id} is authorized; the order asked for automatic capture`
        }
        : { status: "authorized", transactionId: found.payment.id }
    default:
      return checkoutActionForOrder(ctx, order)
  }
}

/** The checkout action for an order as Razorpay holds it. */
export const checkoutActionForOrder = (ctx: Context, order: Wire.Order): ActionRequired => {
  const params: Record<string, string> = {
    key: keyIdOf(ctx),
    order_id: order.id,
    amount: String(order.amount),
    currency: order.currency
  }
  if (ctx.merchantName !== undefined) params.name = ctx.merchantName
  return { status: "action_required", reference: order.id, action: { type: "checkout", params } }
}

/** Finds the order made for an attempt's idempotency key (by its receipt and notes). */
export const orderByKey = (
  ctx: Context,
  operation: string,
  receipt: string,
  idempotencyKey: string
): Effect.Effect<Wire.Order | undefined, GatewayReadError> =>
  Effect.map(ctx.api.ordersByReceipt(operation, receipt), (collection) =>
    collection.items.find((o) => o.receipt === receipt && Wire.note(o.notes, NOTE.idempotencyKey) === idempotencyKey))

/** A transient refusal used where Razorpay answered but not yet what is needed. */
export const notYet = (gateway: string, operation: string, reason: string): GatewayTransientError =>
  new GatewayTransientError({ gateway, operation, reason })
