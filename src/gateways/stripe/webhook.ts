/**
 * Stripe webhook verification and parsing.
 *
 * Verification follows Stripe's published scheme (https://docs.stripe.com/webhooks#verify-manually):
 * the `Stripe-Signature` header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=…]`; the expected
 * signature is HMAC-SHA256, keyed with the endpoint's signing secret (`whsec_…`), of
 * `${t}.${raw body}` over the exact bytes received, compared in constant time with every `v1`
 * (several during a secret roll). A matching signature whose `t` is further than the tolerance
 * (default 300 s) from `Clock` is `stale_timestamp` (in either direction: a timestamp far in the
 * future is as suspect as an old one).
 *
 * The event set is in {@link route}: one table from Stripe event types to AegisPay notification
 * types.
 *
 * @internal
 */
import type { Redacted} from "effect";
import { Clock, Duration, Effect, Either, Option, Schema } from "effect"
import type { GatewayReadError } from "../../gateway/Gateway.js"
import { type GatewayNotification, WebhookRejected, type WebhookRequest } from "../../gateway/Webhook.js"
import { constantTimeEqual, header, hmacSha256Hex, parseJson, utf8 } from "../internal/http.js"
import * as Currency from "../../domain/Currency.js"
import * as Money from "../../domain/Money.js"
import { fromStripe } from "./amount.js"
import * as Wire from "./wire.js"

/** What parsing needs besides the request. */
export interface Context {
  readonly gateway: string
  readonly secret: Redacted.Redacted<string> | undefined
  readonly tolerance: Duration.Duration
  /** Whether the gateway's key is a live key: an event of the other mode is refused. */
  readonly livemode: boolean | undefined
  /** Reads a PaymentIntent's metadata (for events whose object does not carry it). */
  readonly intentMetadata: (intentId: string) => Effect.Effect<Readonly<Record<string, string>>, GatewayReadError>
}

const reject = (ctx: Context, reason: WebhookRejected["reason"], detail: string) =>
  new WebhookRejected({ gateway: ctx.gateway, reason, detail })

/** The parsed `Stripe-Signature` header: its timestamp and every `v1` signature. */
export const parseSignatureHeader = (value: string): { readonly timestamp: number; readonly signatures: ReadonlyArray<string> } | undefined => {
  let timestamp: number | undefined
  const signatures: Array<string> = []
  for (const part of value.split(",")) {
    const at = part.indexOf("=")
    if (at <= 0) continue
    const key = part.slice(0, at).trim()
    const item = part.slice(at + 1).trim()
    if (key === "t" && /^\d{1,12}$/.test(item)) timestamp = Number(item)
    if (key === "v1" && /^[0-9a-f]{64}$/i.test(item)) signatures.push(item.toLowerCase())
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures }
}

/** The bytes Stripe signs: `${t}.` followed by the exact body. */
export const signedPayload = (timestamp: number, body: Uint8Array): Uint8Array => {
  const prefix = new TextEncoder().encode(`${timestamp}.`)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}

/** The `v1` signature of `body` at `timestamp` with `secret` (what Stripe sends). */
export const sign = (secret: Redacted.Redacted<string>, timestamp: number, body: Uint8Array): string =>
  hmacSha256Hex(secret, signedPayload(timestamp, body))

/**
 * Verifies the signature and timestamp of `request`; answers the decoded event.
 */
export const verify = (ctx: Context, request: WebhookRequest): Effect.Effect<Wire.Event, WebhookRejected> =>
  Effect.gen(function*() {
    if (ctx.secret === undefined) return yield* reject(ctx, "not_configured", "no webhook signing secret is configured")
    const value = header(request.headers, "stripe-signature")
    if (value === undefined) return yield* reject(ctx, "bad_signature", "no Stripe-Signature header")
    const parsed = parseSignatureHeader(value)
    if (parsed === undefined) return yield* reject(ctx, "bad_signature", "Stripe-Signature has no timestamp or no v1 signature")
    const expected = sign(ctx.secret, parsed.timestamp, request.body)
    if (!parsed.signatures.some((candidate) => constantTimeEqual(candidate, expected))) {
      return yield* reject(ctx, "bad_signature", "no v1 signature matches the endpoint secret")
    }
    const now = yield* Clock.currentTimeMillis
    const ageSeconds = Math.abs(now / 1000 - parsed.timestamp)
    if (ageSeconds > Duration.toSeconds(ctx.tolerance)) {
      return yield* reject(ctx, "stale_timestamp", `signed ${Math.round(ageSeconds)} s away from now (tolerance ${Duration.toSeconds(ctx.tolerance)} s)`)
    }
    const json = parseJson(utf8(request.body))
    const event = Schema.decodeUnknownEither(Wire.Event, { onExcessProperty: "ignore" })(json)
    if (Either.isLeft(event)) return yield* reject(ctx, "malformed", json === undefined ? "the body is not JSON" : "the body is not a Stripe event")
    if (ctx.livemode !== undefined && event.right.livemode !== undefined && event.right.livemode !== ctx.livemode) {
      return yield* reject(ctx, "malformed", `a ${event.right.livemode ? "live" : "test"} mode event sent to a ${ctx.livemode ? "live" : "test"} mode gateway`)
    }
    return event.right
  })

const decodeObject = <A, I>(ctx: Context, schema: Schema.Schema<A, I>, event: Wire.Event): Effect.Effect<A, WebhookRejected> =>
  Either.match(Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })(event.data.object), {
    onLeft: () => Effect.fail(reject(ctx, "malformed", `${event.type}: data.object is not the expected object`)),
    onRight: Effect.succeed
  })

type Notification = typeof GatewayNotification.Type

/** The payment id and attempt key AegisPay wrote as metadata, when both are there. */
const ours = (metadata: Readonly<Record<string, string>> | null | undefined) => {
  const paymentId = metadata?.[Wire.metadataKeys.paymentId]
  const idempotencyKey = metadata?.[Wire.metadataKeys.idempotencyKey]
  return paymentId === undefined || paymentId === "" || idempotencyKey === undefined || idempotencyKey === ""
    ? Option.none()
    : Option.some({ paymentId, idempotencyKey })
}

const bounded = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text)

/** Stripe event types acknowledged with nothing to apply (the notification carries no new state). */
export const acknowledged: ReadonlySet<string> = new Set([
  "payment_intent.created",
  "payment_intent.partially_funded",
  "charge.refunded",
  "charge.dispute.updated",
  "charge.dispute.funds_withdrawn",
  "charge.dispute.funds_reinstated"
])

/** Stripe's `amount` in `currency` as AegisPay's exact decimal and currency code, when the currency is known. */
const exactAmount = (amount: number, currency: string | null | undefined) => {
  const code = (currency ?? "").toUpperCase()
  if (!Currency.isCurrencyCode(code) || !Number.isSafeInteger(amount) || amount < 0) return {}
  return { amount: Money.toDecimalString(Money.fromMinor(code, fromStripe(code, BigInt(amount)))), currency: code }
}

/**
 * The notifications of a verified event: the table from Stripe event types to AegisPay's.
 *
 * | Stripe event | notification |
 * |---|---|
 * | `payment_intent.succeeded` | `charge.succeeded` (transaction id: the PaymentIntent id) |
 * | `payment_intent.amount_capturable_updated` (status `requires_capture`) | `charge.authorized` |
 * | `payment_intent.payment_failed` | `charge.failed` (`decline_code` or `code`) |
 * | `payment_intent.canceled` | `charge.canceled` |
 * | `payment_intent.requires_action` | `charge.action_required` (AegisPay asks Stripe for the action) |
 * | `payment_intent.processing` | `charge.pending` |
 * | `refund.created`, `refund.updated`, `charge.refund.updated`, a refund of ours | `refund.succeeded` / `refund.failed` (pending: nothing yet) |
 * | the same, a refund made elsewhere (the Dashboard), succeeded | `refund.external` (amount, currency, refund id) |
 * | `charge.dispute.created` / `charge.dispute.closed` | `dispute.opened` / `dispute.closed` (`code`: Stripe's status, e.g. `won`, `lost`) |
 * | {@link acknowledged} types; intents, refunds and disputes not about an AegisPay payment | nothing (accepted) |
 * | anything else | `WebhookRejected("unknown_event")` |
 *
 * Every notification about a payment carries the PaymentIntent's id as `reference`; the payment
 * id and attempt key come from the PaymentIntent's metadata (read with a `GET` for refunds and
 * disputes, whose objects do not carry it).
 */
export const route = (ctx: Context, event: Wire.Event): Effect.Effect<ReadonlyArray<Notification>, WebhookRejected | GatewayReadError> =>
  Effect.gen(function*() {
    const base = { id: bounded(event.id, 255), gateway: ctx.gateway, verified: true as const }
    /** The payment and attempt of a PaymentIntent named by id (an intent not made by AegisPay: none). */
    const ownerOf = (intentId: string | null | undefined) =>
      intentId == null || intentId === "" ? Effect.succeed(Option.none()) : Effect.map(ctx.intentMetadata(intentId), ours)
    switch (event.type) {
      case "payment_intent.succeeded":
      case "payment_intent.amount_capturable_updated":
      case "payment_intent.payment_failed":
      case "payment_intent.canceled":
      case "payment_intent.requires_action":
      case "payment_intent.processing": {
        const intent = yield* decodeObject(ctx, Wire.PaymentIntent, event)
        const owner = ours(intent.metadata)
        if (Option.isNone(owner)) return []
        const about = { ...base, ...owner.value, reference: intent.id }
        switch (event.type) {
          case "payment_intent.succeeded":
            return [{ ...about, type: "charge.succeeded", transactionId: intent.id }]
          case "payment_intent.amount_capturable_updated":
            return intent.status === "requires_capture" ? [{ ...about, type: "charge.authorized", transactionId: intent.id }] : []
          case "payment_intent.payment_failed": {
            const error = intent.last_payment_error
            return [{
              ...about,
              type: "charge.failed",
              code: bounded(error?.decline_code ?? error?.code ?? "payment_failed", 255),
              reason: bounded(error?.message ?? "payment failed at Stripe", 1000)
            }]
          }
          case "payment_intent.requires_action":
            return [{ ...about, type: "charge.action_required" }]
          case "payment_intent.processing":
            return [{ ...about, type: "charge.pending", reason: "processing at Stripe" }]
          default:
            return [{
              ...about,
              type: "charge.canceled",
              code: "canceled",
              reason: bounded(`canceled at Stripe${intent.cancellation_reason ? ` (${intent.cancellation_reason})` : ""}`, 1000)
            }]
        }
      }
      case "refund.created":
      case "refund.updated":
      case "charge.refund.updated": {
        const refund = yield* decodeObject(ctx, Wire.Refund, event)
        if (refund.status !== "succeeded" && refund.status !== "failed" && refund.status !== "canceled") return []
        const owner = yield* ownerOf(refund.payment_intent)
        if (Option.isNone(owner)) return []
        const key = refund.metadata?.[Wire.metadataKeys.idempotencyKey]
        const about = { ...base, paymentId: owner.value.paymentId, refundId: refund.id, reference: refund.payment_intent ?? undefined }
        if (key === undefined || key === "") {
          // a refund made elsewhere (the Dashboard): recorded on the payment, about its attempt
          return refund.status === "succeeded"
            ? [{ ...about, idempotencyKey: owner.value.idempotencyKey, type: "refund.external" as const, ...exactAmount(refund.amount, refund.currency) }]
            : []
        }
        return [{
          ...about,
          idempotencyKey: key,
          ...(refund.status === "succeeded"
            ? { type: "refund.succeeded" as const }
            : { type: "refund.failed" as const, code: refund.status, reason: bounded(refund.failure_reason ?? `refund ${refund.status}`, 1000) })
        }]
      }
      case "charge.dispute.created":
      case "charge.dispute.closed": {
        const dispute = yield* decodeObject(ctx, Wire.Dispute, event)
        const owner = yield* ownerOf(dispute.payment_intent)
        if (Option.isNone(owner)) return []
        return [{
          ...base,
          ...owner.value,
          reference: dispute.payment_intent ?? undefined,
          disputeId: bounded(dispute.id, 255),
          ...exactAmount(dispute.amount, dispute.currency),
          ...(dispute.reason == null ? {} : { reason: bounded(dispute.reason, 1000) }),
          ...(event.type === "charge.dispute.created"
            ? { type: "dispute.opened" as const }
            : { type: "dispute.closed" as const, code: bounded(dispute.status ?? "closed", 255) })
        }]
      }
      default:
        if (acknowledged.has(event.type)) return []
        return yield* reject(ctx, "unknown_event", `event type ${bounded(event.type, 100)} is not handled`)
    }
  })

/**
 * Verifies and parses one Stripe webhook request.
 */
export const parse = (ctx: Context, request: WebhookRequest) =>
  Effect.flatMap(verify(ctx, request), (event) => route(ctx, event))
