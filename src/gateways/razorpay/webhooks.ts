/**
 * Razorpay webhooks: verification and parsing into the `Notifications` input.
 *
 * Verification: `X-Razorpay-Signature` is the hex HMAC-SHA256 of the exact body bytes with the
 * webhook secret, compared in constant time, before anything in the body is believed. Razorpay's
 * scheme has no timestamp, so there is no staleness check: replays are stopped by the event id.
 *
 * Deduplication: the notification id is the `x-razorpay-event-id` header (unique per event,
 * repeated on every redelivery); `Notifications` records it, so a redelivery changes nothing.
 *
 * Mapping (an event the adapter handles but that changes nothing answers no notification):
 *
 * | Razorpay event | notification |
 * |---|---|
 * | `payment.captured`, `order.paid` | `charge.succeeded` |
 * | `payment.authorized` | `charge.authorized` for a manual-capture order; none for an automatic one (its capture follows, or `complete` / the expiry check captures it) |
 * | `payment.failed` | none: the order stays payable (Razorpay documents a `payment.failed` followed by `payment.captured` for UPI retries and late authorizations); the payment fails at its expiry if nothing was paid |
 * | `refund.processed` / `refund.failed` of a refund AegisPay made (its key in the refund's notes) | `refund.succeeded` / `refund.failed` |
 * | `refund.processed` of a refund made elsewhere (dashboard) | `refund.external` when the contract has it, else none |
 * | `refund.processed` of an auto-refunded authorization (`payment.captured` false) | `charge.canceled` when the contract has it, else none |
 * | `refund.created`, `refund.speed_changed`, `payment.dispute.under_review`, `payment.dispute.action_required` | none |
 * | `payment.dispute.created` | `dispute.opened` when the contract has it, else none |
 * | `payment.dispute.won` / `lost` / `closed` | `dispute.closed` (code = outcome) when the contract has it, else none |
 * | anything else | `WebhookRejected("unknown_event")` |
 *
 * The AegisPay payment and attempt come from the notes the adapter wrote on the order: from the
 * payment's notes when Razorpay copied them there, else the order in the payload (`order.paid`),
 * else the order read from the API. A payment on an order AegisPay did not make (no notes)
 * answers no notification.
 *
 * @internal
 */
import type { Redacted } from "effect"
import { Effect, Either, Schema } from "effect"
import type { CurrencyCode } from "../../domain/Currency.js"
import { isCurrencyCode } from "../../domain/Currency.js"
import * as Money from "../../domain/Money.js"
import { NotificationType as NotificationTypes } from "../../domain/PaymentEvent.js"
import type { GatewayReadError } from "../../gateway/Gateway.js"
import type { GatewayNotification, WebhookRequest } from "../../gateway/Webhook.js"
import { WebhookRejected } from "../../gateway/Webhook.js"
import { header, parseJson, utf8 } from "../internal/http.js"
import type { Api } from "./api.js"
import { NOTE } from "./flows.js"
import { verifyWebhook } from "./signatures.js"
import * as Wire from "./wire.js"

/** The header carrying the signature. */
export const SIGNATURE_HEADER = "x-razorpay-signature"
/** The header carrying the event id (unique per event, repeated on redelivery). */
export const EVENT_ID_HEADER = "x-razorpay-event-id"

/** The Razorpay events the adapter handles (subscribe the webhook to these). */
export const handledEvents = [
  "payment.authorized",
  "payment.captured",
  "payment.failed",
  "order.paid",
  "refund.created",
  "refund.processed",
  "refund.failed",
  "refund.speed_changed",
  "payment.dispute.created",
  "payment.dispute.won",
  "payment.dispute.lost",
  "payment.dispute.closed",
  "payment.dispute.under_review",
  "payment.dispute.action_required"
] as const

const handled: ReadonlySet<string> = new Set(handledEvents)

type NotificationType = typeof NotificationTypes.Type

/** The notification type named `name`, when this version of the contract has it. */
const typeNamed = (name: string): NotificationType | undefined =>
  Schema.is(NotificationTypes)(name) ? name : undefined

interface Owner {
  readonly paymentId: string
  readonly attemptKey: string
  /** Whether the attempt asked for automatic capture. */
  readonly automatic: boolean
}

const ownerOf = (notes: Wire.Notes | null | undefined): Owner | undefined => {
  const paymentId = Wire.note(notes, NOTE.paymentId)
  const attemptKey = Wire.note(notes, NOTE.idempotencyKey)
  return paymentId !== undefined && attemptKey !== undefined
    ? { paymentId, attemptKey, automatic: Wire.note(notes, NOTE.capture) === "automatic" }
    : undefined
}

const MAX_ID = 255

/** An amount in minor units as the exact decimal the notification carries, when the currency is known. */
const decimalOf = (minor: number, currency: string | undefined): { readonly amount: string; readonly currency: CurrencyCode } | undefined =>
  currency === undefined || !isCurrencyCode(currency)
    ? undefined
    : { amount: Money.toDecimalString(Money.fromMinor(currency, BigInt(minor))), currency }

/**
 * Verifies and parses one webhook request.
 */
export const parse = (
  gateway: string,
  webhookSecret: Redacted.Redacted<string> | undefined,
  api: Api,
  request: WebhookRequest
): Effect.Effect<ReadonlyArray<GatewayNotification>, WebhookRejected | GatewayReadError> =>
  Effect.gen(function*() {
    const reject = (reason: WebhookRejected["reason"], detail: string) => new WebhookRejected({ gateway, reason, detail })
    if (webhookSecret === undefined) {
      return yield* reject("not_configured", "no webhook secret is configured (RAZORPAY_WEBHOOK_SECRET)")
    }
    const signature = header(request.headers, SIGNATURE_HEADER)
    if (signature === undefined || signature.length === 0) {
      return yield* reject("bad_signature", `no ${SIGNATURE_HEADER} header`)
    }
    if (!verifyWebhook(webhookSecret, request.body, signature)) {
      return yield* reject("bad_signature", "the signature does not match the body")
    }
    const eventId = header(request.headers, EVENT_ID_HEADER)?.trim()
    if (eventId === undefined || eventId.length === 0 || eventId.length > MAX_ID) {
      return yield* reject("malformed", `no usable ${EVENT_ID_HEADER} header`)
    }
    const event = yield* Either.match(
      Schema.decodeUnknownEither(Wire.WebhookEvent, { onExcessProperty: "ignore" })(parseJson(utf8(request.body))),
      {
        onLeft: () => Effect.fail(reject("malformed", "the body is not a Razorpay event")),
        onRight: Effect.succeed
      }
    )
    if (!handled.has(event.event)) {
      return yield* reject("unknown_event", `event ${event.event.slice(0, 100)} is not handled`)
    }
    const payment = event.payload.payment?.entity
    const orderInPayload = event.payload.order?.entity

    /**
     * The AegisPay payment and attempt behind a Razorpay payment: its notes, the order's in the
     * payload, else the order read from the API (through the payment when only its id is known).
     */
    const owner = (p: Wire.Payment | undefined, paymentId?: string): Effect.Effect<Owner | undefined, GatewayReadError> =>
      Effect.gen(function*() {
        const direct = ownerOf(p?.notes) ?? ownerOf(orderInPayload?.notes)
        if (direct !== undefined) return direct
        let orderId = p?.order_id ?? orderInPayload?.id ?? undefined
        if (orderId === undefined && p === undefined && paymentId !== undefined && paymentId.length > 0) {
          const fetched = yield* api.payment("webhook", paymentId)
          const viaPayment = ownerOf(fetched?.notes)
          if (viaPayment !== undefined) return viaPayment
          orderId = fetched?.order_id ?? undefined
        }
        if (orderId === undefined) return undefined
        const order = yield* api.order("webhook", orderId)
        return ownerOf(order?.notes)
      })

    const make = (
      type: NotificationType,
      who: Owner,
      fields: {
        readonly idempotencyKey?: string
        readonly transactionId?: string
        readonly refundId?: string
        readonly disputeId?: string
        readonly code?: string
        readonly reason?: string
        readonly reference?: string | null | undefined
        readonly money?: { readonly amount: number; readonly currency: string | undefined } | undefined
      }
    ): GatewayNotification => {
      const exact = fields.money === undefined ? undefined : decimalOf(fields.money.amount, fields.money.currency)
      return {
        id: eventId,
        gateway,
        paymentId: who.paymentId,
        type,
        idempotencyKey: fields.idempotencyKey ?? who.attemptKey,
        ...(fields.transactionId === undefined ? {} : { transactionId: fields.transactionId }),
        ...(fields.refundId === undefined ? {} : { refundId: fields.refundId }),
        ...(fields.disputeId === undefined ? {} : { disputeId: fields.disputeId.slice(0, 255) }),
        ...(fields.code === undefined ? {} : { code: fields.code.slice(0, 255) }),
        ...(fields.reason === undefined ? {} : { reason: fields.reason.slice(0, 1000) }),
        ...(fields.reference === undefined || fields.reference === null ? {} : { reference: fields.reference }),
        ...(exact === undefined ? {} : exact),
        verified: true
      }
    }

    const needPayment = (): Effect.Effect<Wire.Payment, WebhookRejected> =>
      payment === undefined
        ? Effect.fail(reject("malformed", `event ${event.event} carries no payment`))
        : Effect.succeed(payment)

    switch (event.event) {
      case "payment.captured":
      case "payment.authorized":
      case "order.paid": {
        const p = yield* needPayment()
        const who = yield* owner(p)
        if (who === undefined) return []
        // An authorization of an order that asked for automatic capture is not the end of it:
        // Razorpay captures it (payment.captured follows), or complete / the expiry check does.
        if (event.event === "payment.authorized" && who.automatic) return []
        const type: NotificationType = event.event === "payment.authorized" ? "charge.authorized" : "charge.succeeded"
        return [make(type, who, { transactionId: p.id, reference: p.order_id ?? orderInPayload?.id })]
      }
      case "refund.processed":
      case "refund.failed": {
        const refund = event.payload.refund?.entity
        if (refund === undefined) return yield* reject("malformed", `event ${event.event} carries no refund`)
        const who = yield* owner(payment, refund.payment_id)
        if (who === undefined) return []
        const refundKey = Wire.note(refund.notes, NOTE.idempotencyKey)
        if (refundKey !== undefined) {
          return event.event === "refund.processed"
            ? [make("refund.succeeded", who, { idempotencyKey: refundKey, refundId: refund.id })]
            : [make("refund.failed", who, { idempotencyKey: refundKey, refundId: refund.id, code: "refund_failed", reason: "Razorpay could not process the refund" })]
        }
        if (event.event === "refund.failed") return []
        if (payment !== undefined && payment.captured === false) {
          // Razorpay refunded an authorization that was never captured: nothing was kept.
          const canceled = typeNamed("charge.canceled")
          return canceled === undefined
            ? []
            : [make(canceled, who, {
              transactionId: payment.id,
              reference: payment.order_id,
              code: "auto_refunded",
              reason: "Razorpay refunded the uncaptured authorization"
            })]
        }
        const external = typeNamed("refund.external")
        return external === undefined
          ? []
          : [make(external, who, {
            refundId: refund.id,
            ...(payment === undefined ? {} : { transactionId: payment.id }),
            money: { amount: refund.amount, currency: refund.currency ?? payment?.currency },
            code: "dashboard_refund",
            reason: "refunded outside AegisPay (Razorpay Dashboard)"
          })]
      }
      case "payment.dispute.created":
      case "payment.dispute.won":
      case "payment.dispute.lost":
      case "payment.dispute.closed": {
        const dispute = event.payload.dispute?.entity
        const who = yield* owner(payment, dispute?.payment_id)
        if (who === undefined) return []
        const opened = event.event === "payment.dispute.created"
        const type = typeNamed(opened ? "dispute.opened" : "dispute.closed")
        if (type === undefined) return []
        const outcome = event.event.slice("payment.dispute.".length)
        return [make(type, who, {
          ...(payment === undefined ? {} : { transactionId: payment.id }),
          ...(dispute === undefined ? {} : { disputeId: dispute.id }),
          ...(dispute?.amount === undefined ? {} : { money: { amount: dispute.amount, currency: dispute.currency ?? payment?.currency } }),
          code: opened ? (dispute?.reason_code ?? "dispute_opened") : outcome,
          reason: `Razorpay dispute ${dispute?.id ?? ""} ${outcome}`.trim()
        })]
      }
      default:
        // handled, and nothing to apply (payment.failed, refund.created, …)
        return []
    }
  })
