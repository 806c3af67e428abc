/**
 * The Razorpay adapter: a {@link Gateway} on Razorpay's Orders and Payments APIs with Razorpay
 * Checkout as the customer action, on `@effect/platform`'s `HttpClient` (no vendor SDK).
 *
 * The flow: `initiate` creates one Razorpay order per attempt (`receipt` = the attempt's
 * idempotency key, `notes` = the AegisPay payment and attempt, capture automatic or manual) and
 * its id is the attempt's reference; `process` answers `action_required` with the parameters
 * Razorpay Checkout opens with (`key`, `order_id`, `amount`, `currency`, …); the customer pays in
 * Checkout; `customerAction.complete` verifies the checkout signature Razorpay handed the browser
 * and reads the payment (capturing it when the attempt asked for capture), or, without a
 * signature (a webhook, an expiry check), reads the order's payments.
 *
 * Guarantees:
 * - **Typed errors only**, classified by one table (`errors.ts`, `docs/gateways/RAZORPAY.md`):
 *   a decline is `GatewayDeclined`; credentials and bad requests `GatewayMisconfigured`; a
 *   refused connection or a 429 `GatewayTransientError`; a timeout, a 5xx or an answer that
 *   cannot be read after a capture or refund was sent `GatewayUnknownOutcome`. A malformed,
 *   non-JSON or unexpected answer is a typed error, never a defect.
 * - **No double charge, no double refund.** Orders are found again by receipt before one is made;
 *   a capture is re-read before it is called refused (an "already captured" is a success);
 *   refunds carry `X-Refund-Idempotency`. No generic retry is applied: AegisPay's own retry
 *   decides.
 * - **A forged checkout return changes nothing.** A `razorpay_signature` that does not verify
 *   (HMAC-SHA256 of `order_id|payment_id` with the key secret, compared in constant time, always
 *   against the attempt's own order) is refused with `GatewayMisconfigured` (reason
 *   `checkout_signature_invalid`), before any call: nothing is captured, nothing fails, the
 *   payment keeps waiting for the customer, a webhook or its expiry.
 * - **Secrets stay `Redacted`**: the key secret and webhook secret are read from `Config` as
 *   `Redacted`, used only to sign and authenticate, never logged or put in an error. The key id
 *   is public by design (Checkout's `key`).
 * - Time comes from `Clock` (the health check's latency); nothing here reads the wall clock or
 *   `Math.random`.
 *
 * What Razorpay cannot do, mapped honestly:
 * - **No partial capture**: Razorpay captures the whole authorized amount; a capture of another
 *   amount is refused (`GatewayMisconfigured`) before anything is sent.
 * - **No void**: `void` checks the payment is authorized and not captured, and answers success:
 *   AegisPay will never capture it, and Razorpay refunds an uncaptured authorization to the
 *   customer by itself after the capture window (3 to 5 days; the customer's funds stay blocked
 *   until then). A captured payment is refused: refund it.
 * - **Orders cannot be cancelled**: `customerAction.cancel` answers `failed` (`expired`) only when
 *   no payment of the order is captured, authorized or in progress; a payment made afterwards on
 *   that order is a stray charge AegisPay refunds (see docs).
 *
 * @since 0.2.0
 */
import type { HttpClient } from "@effect/platform"
import { HttpClient as Client } from "@effect/platform"
import type { ConfigError } from "effect"
import { Clock, Config, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { CurrencyCode } from "../../domain/Currency.js"
import { isCurrencyCode } from "../../domain/Currency.js"
import type {
  CompleteRequest,
  Gateway,
  GatewayError,
  GatewayProvider,
  GatewayReadError,
  InitiateRequest,
  ProcessRequest,
  ProcessResult,
  StatusResult
} from "../../gateway/Gateway.js"
import { GatewayDeclined, GatewayMisconfigured, GatewayTransientError } from "../../gateway/Gateway.js"
import * as Api from "./api.js"
import { isSuccess } from "./errors.js"
import * as Flows from "./flows.js"
import * as Signatures from "./signatures.js"
import { receiptFor, refundIdempotencyKey, verifyCheckout } from "./signatures.js"
import * as Webhooks from "./webhooks.js"
import type * as Wire from "./wire.js"

/**
 * Razorpay's production API.
 *
 * @since 0.2.0
 */
export const DEFAULT_API_BASE = "https://api.razorpay.com"

/**
 * The default per-call timeout.
 *
 * @since 0.2.0
 */
export const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(10)

/**
 * The currencies the adapter accepts by default: INR and Razorpay's international card
 * currencies (JPY with 0 decimals; KWD, BHD, OMR with 3, which Razorpay added in 2024). Amounts
 * are sent in the currency's ISO 4217 minor unit. The list is not confirmed against a page of
 * Razorpay's own (see `docs/gateways/RAZORPAY.md`): pass `currencies` to narrow or widen it.
 *
 * @since 0.2.0
 */
export const currencies: ReadonlyArray<CurrencyCode> = [
  "AED", "ALL", "AMD", "ARS", "AUD", "AWG", "BBD", "BDT", "BHD", "BMD", "BND", "BOB", "BSD", "BWP", "BZD",
  "CAD", "CHF", "CNY", "COP", "CRC", "CUP", "CZK", "DKK", "DOP", "DZD", "EGP", "ETB", "EUR", "FJD", "GBP",
  "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "JMD", "JPY", "KES",
  "KGS", "KHR", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MKD", "MMK", "MNT",
  "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PEN", "PGK",
  "PHP", "PKR", "QAR", "RUB", "SAR", "SCR", "SEK", "SGD", "SOS", "SSP", "SVC", "SZL", "THB", "TTD", "TZS",
  "USD", "UYU", "UZS", "YER", "ZAR"
]

/**
 * The adapter's settings.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The gateway's registry id; default `"razorpay"`. */
  readonly id?: string | undefined
  /** `rzp_test_…` (test mode) or `rzp_live_…` (live mode). Public: it is Checkout's `key`. */
  readonly keyId: Redacted.Redacted<string>
  readonly keySecret: Redacted.Redacted<string>
  /** The secret of the webhook set up in the Razorpay Dashboard; without it webhooks are refused (`not_configured`). */
  readonly webhookSecret?: Redacted.Redacted<string> | undefined
  /** Default {@link DEFAULT_API_BASE}; a fake's URL in tests. */
  readonly apiBase?: string | undefined
  /** Per-call timeout; default {@link DEFAULT_TIMEOUT}. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Shown in Checkout (`name`). */
  readonly merchantName?: string | undefined
  /** Default {@link currencies}. */
  readonly currencies?: ReadonlyArray<CurrencyCode> | undefined
  /**
   * For automatic capture: the minutes after a payment's creation within which Razorpay captures
   * an authorization by itself (`payment.capture_options.automatic_expiry_period`, 12 to 43200);
   * default 12, Razorpay's minimum. A later authorization is captured by `complete` (or left
   * authorized), never silently: see the docs.
   */
  readonly autoCaptureMinutes?: number | undefined
}

/**
 * Test or live mode, from the key id's prefix.
 *
 * @since 0.2.0
 */
export type Mode = "test" | "live"

/**
 * The mode of a key id (`rzp_test_…` / `rzp_live_…`), `undefined` for anything else.
 *
 * @since 0.2.0
 */
export const modeOf = (keyId: Redacted.Redacted<string> | string): Mode | undefined => {
  const value = typeof keyId === "string" ? keyId : Redacted.value(keyId)
  return value.startsWith("rzp_test_") ? "test" : value.startsWith("rzp_live_") ? "live" : undefined
}

const paymentMethodProblem = (method: ProcessRequest["paymentMethod"]): string | undefined =>
  method.type === "card" || method.type === "gateway_token"
    ? `Razorpay takes checkout payments only (the customer pays in Razorpay Checkout), not ${method.type}`
    : undefined

/**
 * Builds the adapter. Fails with `GatewayMisconfigured` when the key id is not a Razorpay key
 * (`rzp_test_…` / `rzp_live_…`), a secret is empty, the API base is not a URL or
 * `autoCaptureMinutes` is out of Razorpay's range. Makes no call.
 *
 * @since 0.2.0
 */
export const make = (options: Options): Effect.Effect<Gateway, GatewayMisconfigured, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const id = options.id ?? "razorpay"
    const misconfigured = (reason: string) => new GatewayMisconfigured({ gateway: id, reason })
    if (modeOf(options.keyId) === undefined) {
      return yield* misconfigured("the key id must start with rzp_test_ or rzp_live_")
    }
    if (Redacted.value(options.keySecret).length === 0) return yield* misconfigured("the key secret is empty")
    if (options.webhookSecret !== undefined && Redacted.value(options.webhookSecret).length === 0) {
      return yield* misconfigured("the webhook secret is empty")
    }
    const apiBase = (options.apiBase ?? DEFAULT_API_BASE).replace(/\/+$/, "")
    if (!URL.canParse(apiBase)) return yield* misconfigured("apiBase is not a URL")
    const autoCaptureMinutes = options.autoCaptureMinutes ?? 12
    if (!Number.isInteger(autoCaptureMinutes) || autoCaptureMinutes < 12 || autoCaptureMinutes > 43200) {
      return yield* misconfigured("autoCaptureMinutes must be an integer from 12 to 43200")
    }
    const accepted = options.currencies ?? currencies
    const client = yield* Client.HttpClient
    const api = Api.make(client, {
      gateway: id,
      keyId: options.keyId,
      keySecret: options.keySecret,
      apiBase,
      timeout: options.timeout ?? DEFAULT_TIMEOUT
    })
    const ctx: Flows.Context = {
      gateway: id,
      api,
      keyId: options.keyId,
      keySecret: options.keySecret,
      merchantName: options.merchantName
    }

    const guard = (request: InitiateRequest): Effect.Effect<number, GatewayMisconfigured> => {
      const problem = paymentMethodProblem(request.paymentMethod)
      if (problem !== undefined) return Effect.fail(misconfigured(problem))
      if (!accepted.includes(request.amount.currency)) {
        return Effect.fail(misconfigured(`currency ${request.amount.currency} is not accepted`))
      }
      return Flows.minorOf(id, request.amount)
    }

    const notesFor = (request: InitiateRequest): Record<string, string> => {
      const notes: Record<string, string> = {
        [Flows.NOTE.paymentId]: request.paymentId,
        [Flows.NOTE.idempotencyKey]: request.idempotencyKey,
        [Flows.NOTE.capture]: request.capture ? "automatic" : "manual"
      }
      if (request.tenantId !== undefined && request.tenantId !== "default") notes[Flows.NOTE.tenantId] = request.tenantId
      const custom = request.checkout?.customParams ?? {}
      for (const key of Object.keys(custom).sort()) {
        if (Object.keys(notes).length >= Flows.NOTES_MAX) break
        const value = custom[key]
        if (value === undefined || key.startsWith("aegispay_")) continue
        if (key.length === 0 || key.length > Flows.NOTE_LENGTH_MAX || value.length > Flows.NOTE_LENGTH_MAX) continue
        notes[key] = value
      }
      return notes
    }

    /** The attempt's order: found again by receipt, else made. Moves no money. */
    const ensureOrder = (request: InitiateRequest, operation: string): Effect.Effect<Wire.Order, GatewayReadError> =>
      Effect.gen(function*() {
        const amount = yield* guard(request)
        const receipt = receiptFor(request.idempotencyKey)
        const existing = yield* Flows.orderByKey(ctx, operation, receipt, request.idempotencyKey)
        const order = existing ?? (yield* api.createOrder(operation, {
          amount,
          currency: request.amount.currency,
          receipt,
          notes: notesFor(request),
          payment: request.capture
            ? { capture: "automatic", capture_options: { automatic_expiry_period: autoCaptureMinutes } }
            : { capture: "manual" }
        }))
        if (order.amount !== amount || order.currency !== request.amount.currency) {
          return yield* misconfigured(
            `order ${order.id} for this idempotency key holds ${order.amount} ${order.currency}, not ${amount} ${request.amount.currency}`
          )
        }
        return order
      })

    const initiate = Effect.fn("Razorpay.initiate")(function*(request: InitiateRequest) {
      const order = yield* ensureOrder(request, "initiate")
      return { reference: order.id }
    })

    const process = Effect.fn("Razorpay.process")(function*(request: ProcessRequest) {
      const orderId = request.reference ?? (yield* ensureOrder(request, "process")).id
      if (request.reference !== undefined) yield* guard(request)
      const found = Flows.look(yield* Flows.paymentsOf(ctx, "process", orderId))
      if (found._tag === "Captured" || found._tag === "Authorized") {
        return yield* Flows.finish(ctx, "process", orderId, found, request.capture)
      }
      const result: ProcessResult = Flows.checkoutAction(ctx, orderId, request.amount, {
        description: request.description,
        callbackUrl: request.checkout?.returnUrl
      })
      return result
    })

    /** Settles from the order's payments alone (a webhook, an expiry check, a return without a signature). */
    const settleOrder = (request: CompleteRequest, operation: string): Effect.Effect<ProcessResult, GatewayError> =>
      Effect.gen(function*() {
        const found = Flows.look(yield* Flows.paymentsOf(ctx, operation, request.reference))
        if (found._tag === "Captured" || found._tag === "Authorized") {
          return yield* Flows.finish(ctx, operation, request.reference, found, request.capture)
        }
        return Flows.checkoutAction(ctx, request.reference, request.amount, {})
      })

    const complete = Effect.fn("Razorpay.complete")(function*(request: CompleteRequest) {
      const operation = "complete"
      const paymentId = request.params.razorpay_payment_id
      const signature = request.params.razorpay_signature
      const returnedOrder = request.params.razorpay_order_id
      if (paymentId === undefined && signature === undefined) return yield* settleOrder(request, operation)
      if (paymentId === undefined || signature === undefined || paymentId.length === 0) {
        return yield* misconfigured("checkout_signature_invalid: the return carries razorpay_payment_id and razorpay_signature together or not at all")
      }
      if (returnedOrder !== undefined && returnedOrder !== request.reference) {
        return yield* misconfigured("checkout_signature_invalid: the return names another order than the attempt's")
      }
      // Always the attempt's own order: a signature made for another order never verifies here.
      if (!verifyCheckout(options.keySecret, request.reference, paymentId, signature)) {
        return yield* misconfigured("checkout_signature_invalid: razorpay_signature does not verify (a forged or altered return); nothing was changed")
      }
      const payment = yield* api.payment(operation, paymentId)
      if (payment === undefined) {
        // The signature proves Razorpay made this payment: it is not readable yet.
        return yield* new GatewayTransientError({ gateway: id, operation, reason: `payment ${paymentId} is not readable yet` })
      }
      if (payment.order_id !== request.reference) {
        return yield* misconfigured(`payment ${paymentId} belongs to order ${payment.order_id ?? "none"}, not ${request.reference}`)
      }
      if (Flows.isCaptured(payment)) {
        return yield* Flows.finish(ctx, operation, request.reference, { _tag: "Captured", payment }, request.capture)
      }
      if (payment.status === "authorized") {
        if (!Flows.holds(payment, request.amount)) {
          return yield* misconfigured(`payment ${payment.id} holds ${payment.amount} ${payment.currency}, not ${request.amount.toString()}`)
        }
        return yield* Flows.finish(ctx, operation, request.reference, { _tag: "Authorized", payment }, request.capture)
      }
      if (payment.status === "created") return Flows.checkoutAction(ctx, request.reference, request.amount, {})
      // This payment failed (or its authorization was refunded): another try on the order may live on.
      const found = Flows.look(yield* Flows.paymentsOf(ctx, operation, request.reference))
      if (found._tag === "Captured" || found._tag === "Authorized") {
        return yield* Flows.finish(ctx, operation, request.reference, found, request.capture)
      }
      if (found._tag === "InProgress") return Flows.checkoutAction(ctx, request.reference, request.amount, {})
      return yield* (Flows.isAutoRefunded(payment)
        ? new GatewayDeclined({ gateway: id, code: "authorization_expired", reason: "Razorpay refunded the uncaptured authorization" })
        : Flows.declineOf(id, payment))
    })

    const cancel = Effect.fn("Razorpay.cancel")(function*(request: {
      readonly paymentId: string
      readonly tenantId?: string | undefined
      readonly idempotencyKey: string
      readonly reference: string
    }) {
      const operation = "cancel"
      const order = yield* api.order(operation, request.reference)
      if (order === undefined) {
        const none: StatusResult = { status: "not_found" }
        return none
      }
      const found = Flows.look(yield* Flows.paymentsOf(ctx, operation, order.id))
      switch (found._tag) {
        case "Captured":
        case "Authorized": {
          const charged = yield* Flows.finish(ctx, operation, order.id, found, Flows.capturesAutomatically(order))
          const result: StatusResult = { status: charged.status, transactionId: charged.transactionId }
          return result
        }
        case "InProgress":
          // The customer is paying right now: Razorpay cannot stop it; ask again later.
          return Flows.checkoutActionForOrder(ctx, order)
        case "Open": {
          const result: StatusResult = {
            status: "failed",
            code: "expired",
            reason: `no payment was captured or authorized on Razorpay order ${order.id}${
              found.lastFailure === undefined ? "" : ` (last try: ${found.lastFailure.error_reason ?? found.lastFailure.error_code ?? "failed"})`
            }; Razorpay orders cannot be cancelled, a later payment on it is refunded as a stray charge`
          }
          return result
        }
      }
    })

    const getStatus = Effect.fn("Razorpay.getStatus")(function*(request: {
      readonly idempotencyKey: string
      readonly reference?: string | undefined
    }) {
      const operation = "getStatus"
      const order = request.reference !== undefined
        ? yield* api.order(operation, request.reference)
        : yield* Flows.orderByKey(ctx, operation, receiptFor(request.idempotencyKey), request.idempotencyKey)
      if (order === undefined) {
        const none: StatusResult = { status: "not_found" }
        return none
      }
      const found = Flows.look(yield* Flows.paymentsOf(ctx, operation, order.id))
      return Flows.statusOf(ctx, order, found)
    })

    /** The payment a capture, void or refund is about. */
    const paymentFor = (operation: string, transactionId: string): Effect.Effect<Wire.Payment, GatewayReadError> =>
      Effect.flatMap(api.payment(operation, transactionId), (payment) =>
        payment === undefined ? Effect.fail(misconfigured(`${operation}: Razorpay has no payment ${transactionId}`)) : Effect.succeed(payment))

    const capture = Effect.fn("Razorpay.capture")(function*(request: {
      readonly transactionId: string
      readonly idempotencyKey: string
      readonly amount: ProcessRequest["amount"]
    }) {
      const operation = "capture"
      const payment = yield* paymentFor(operation, request.transactionId)
      if (!Flows.holds(payment, request.amount)) {
        return yield* misconfigured(
          `Razorpay captures the whole authorized amount only: asked ${request.amount.toString()} of ${payment.amount} ${payment.currency} (no partial capture)`
        )
      }
      if (Flows.isCaptured(payment)) return { transactionId: payment.id }
      if (payment.status === "authorized") {
        const captured = yield* Flows.capturePayment(ctx, operation, payment)
        return { transactionId: captured.id }
      }
      if (Flows.isAutoRefunded(payment)) {
        return yield* new GatewayDeclined({ gateway: id, code: "authorization_expired", reason: "Razorpay refunded the uncaptured authorization" })
      }
      return yield* misconfigured(`payment ${payment.id} is ${payment.status}: nothing to capture`)
    })

    const voidPayment = Effect.fn("Razorpay.void")(function*(request: { readonly transactionId: string; readonly idempotencyKey: string }) {
      const operation = "void"
      const payment = yield* paymentFor(operation, request.transactionId)
      if (Flows.isCaptured(payment)) {
        return yield* misconfigured(`payment ${payment.id} is captured: Razorpay has no void, refund it instead`)
      }
      if (payment.status === "created") {
        return yield* misconfigured(`payment ${payment.id} is not authorized yet: nothing to void`)
      }
      // authorized (Razorpay refunds it after the capture window; AegisPay never captures it),
      // failed, or already auto-refunded: nothing is held for good.
    })

    const refund = Effect.fn("Razorpay.refund")(function*(request: {
      readonly transactionId: string
      readonly idempotencyKey: string
      readonly amount: ProcessRequest["amount"]
    }) {
      const operation = "refund"
      const amount = yield* Flows.minorOf(id, request.amount)
      const refunded = yield* api.refund(operation, request.transactionId, refundIdempotencyKey(request.idempotencyKey), {
        amount,
        speed: "normal",
        notes: { [Flows.NOTE.idempotencyKey]: request.idempotencyKey }
      })
      if (refunded.status === "failed") {
        return yield* new GatewayDeclined({ gateway: id, code: "refund_failed", reason: `Razorpay could not process refund ${refunded.id}` })
      }
      return { refundId: refunded.id }
    })

    const healthCheck = Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const healthy = yield* api.ping("healthCheck").pipe(
        Effect.map(isSuccess),
        Effect.orElseSucceed(() => false)
      )
      const end = yield* Clock.currentTimeMillis
      return { healthy, latencyMillis: Math.max(0, end - start) }
    })

    const gateway: Gateway = {
      id,
      capabilities: {
        currencies: accepted,
        manualCapture: true,
        paymentMethods: ["checkout"],
        statusLookup: "reference"
      },
      initiate,
      authenticate: (request) => {
        const problem = paymentMethodProblem(request.paymentMethod)
        // Razorpay Checkout authenticates the customer (3-D Secure, UPI PIN, OTP) itself.
        return problem === undefined ? Effect.void : Effect.fail(misconfigured(problem))
      },
      process,
      capture,
      void: voidPayment,
      refund,
      getStatus,
      healthCheck,
      customerAction: { complete, cancel },
      webhooks: {
        parse: (request) => Webhooks.parse(id, options.webhookSecret, api, request)
      }
    }
    return gateway
  })

/**
 * The settings from `Config`: `RAZORPAY_KEY_ID`, `RAZORPAY_KEY_SECRET` (both required, the
 * secret `Redacted`), `RAZORPAY_WEBHOOK_SECRET` (optional, `Redacted`), `RAZORPAY_API_BASE`
 * (optional). Test or live mode follows the key id (`rzp_test_…` / `rzp_live_…`).
 *
 * @since 0.2.0
 */
export const config: Config.Config<Options> = Config.all({
  keyId: Config.redacted("RAZORPAY_KEY_ID"),
  keySecret: Config.redacted("RAZORPAY_KEY_SECRET"),
  webhookSecret: Config.option(Config.redacted("RAZORPAY_WEBHOOK_SECRET")),
  apiBase: Config.option(Config.string("RAZORPAY_API_BASE"))
}).pipe(Config.map((c) => ({
  keyId: c.keyId,
  keySecret: c.keySecret,
  webhookSecret: Option.getOrUndefined(c.webhookSecret),
  apiBase: Option.getOrUndefined(c.apiBase)
})))

/**
 * The adapter built from {@link config}, with `overrides` (an id, a timeout, a merchant name…)
 * on top: a source for `GatewayRegistry.layerFrom`. A missing key is a `ConfigError` at start-up.
 *
 * @since 0.2.0
 */
export const fromConfig = (
  overrides: Partial<Options> = {}
): Effect.Effect<Gateway, ConfigError.ConfigError | GatewayMisconfigured, HttpClient.HttpClient> =>
  Effect.flatMap(config, (settings) => make({ ...settings, ...overrides }))

/**
 * The Razorpay gateway as a service, for compositions that build it once and use it in several
 * places (`GatewayRegistry.layerFrom([Razorpay.Razorpay])` accepts the tag as a source).
 *
 * @since 0.2.0
 */
export class Razorpay extends Context.Tag("aegispay/gateways/Razorpay")<Razorpay, Gateway>() {}

/**
 * {@link Razorpay} from explicit settings.
 *
 * @since 0.2.0
 */
export const layer = (options: Options): Layer.Layer<Razorpay, GatewayMisconfigured, HttpClient.HttpClient> =>
  Layer.effect(Razorpay, make(options))

/**
 * {@link Razorpay} from {@link config} (see {@link fromConfig}).
 *
 * @since 0.2.0
 */
export const layerConfig = (
  overrides: Partial<Options> = {}
): Layer.Layer<Razorpay, ConfigError.ConfigError | GatewayMisconfigured, HttpClient.HttpClient> =>
  Layer.effect(Razorpay, fromConfig(overrides))

const credential = (
  credentials: Readonly<Record<string, Redacted.Redacted<string>>>,
  name: string
): Redacted.Redacted<string> | undefined => (Object.prototype.hasOwnProperty.call(credentials, name) ? credentials[name] : undefined)

/**
 * Builds the adapter from one tenant's stored credentials: `keyId`, `keySecret` and optionally
 * `webhookSecret`, all `Redacted`. A missing or malformed credential is `GatewayMisconfigured`.
 *
 * @since 0.2.0
 */
export const provider: GatewayProvider<HttpClient.HttpClient> = {
  provider: "razorpay",
  fields: [
    { name: "keyId", secret: false },
    { name: "keySecret", secret: true },
    { name: "webhookSecret", secret: true, optional: true }
  ],
  make: (credentials, options) => {
    const keyId = credential(credentials, "keyId")
    const keySecret = credential(credentials, "keySecret")
    if (keyId === undefined || keySecret === undefined) {
      return Effect.fail(new GatewayMisconfigured({ gateway: options.id, reason: "razorpay needs keyId and keySecret" }))
    }
    return make({ id: options.id, keyId, keySecret, webhookSecret: credential(credentials, "webhookSecret") })
  }
}

/**
 * Whether a string is a currency code the adapter accepts by default.
 *
 * @since 0.2.0
 */
export const accepts = (code: string): boolean => isCurrencyCode(code) && currencies.includes(code)

/**
 * The checkout signature Razorpay hands the customer's browser for a payment of an order
 * (HMAC-SHA256, hex, of `${orderId}|${paymentId}` with the key secret): for tests and tools.
 *
 * @since 0.2.0
 */
export const checkoutSignature: (keySecret: Redacted.Redacted<string>, orderId: string, paymentId: string) => string =
  Signatures.checkoutSignature

/**
 * The `X-Razorpay-Signature` of a webhook body (HMAC-SHA256, hex, of the exact bytes with the
 * webhook secret): for tests and tools.
 *
 * @since 0.2.0
 */
export const webhookSignature: (webhookSecret: Redacted.Redacted<string>, body: Uint8Array | string) => string =
  Signatures.webhookSignature

/**
 * The Razorpay webhook events the adapter handles: subscribe the webhook to these (any other is
 * refused as `unknown_event`, and Razorpay disables a webhook that keeps failing for 24 hours).
 *
 * @since 0.2.0
 */
export const webhookEvents: ReadonlyArray<string> = Webhooks.handledEvents
