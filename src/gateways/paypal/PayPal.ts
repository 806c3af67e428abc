/**
 * The PayPal adapter: PayPal Checkout on the Orders v2 and Payments v2 REST APIs, on
 * `@effect/platform`'s `HttpClient` (no vendor SDK). See `docs/gateways/PAYPAL.md`.
 *
 * The flow: `initiate` creates an order (intent `CAPTURE`, or `AUTHORIZE` for manual capture)
 * whose id is the attempt's reference; `process` answers the customer action (PayPal's approval
 * page); after the customer approves, `customerAction.complete` captures or authorizes the order;
 * `capture`, `void` and `refund` work on the authorization and capture; `getStatus` reads the
 * order; `webhooks.parse` has PayPal verify a notification and turns it into the
 * `Notifications` input.
 *
 * Guarantees:
 * - **Idempotent money moves.** Every money-moving POST carries a `PayPal-Request-Id` derived
 *   from the AegisPay idempotency key (the key itself for the order, `key:capture` /
 *   `key:authorize` for completing it), and its `invoice_id` is the key, so a repeat after
 *   PayPal forgot the request id (6 hours by default) is refused as a duplicate and answered
 *   from what PayPal recorded (an order is captured once, `ORDER_ALREADY_CAPTURED`; a refund
 *   with the same `invoice_id` is found and returned).
 * - **No guessing about money.** A timeout, lost connection, 409, 5xx or unreadable answer of
 *   a call that can move money is a `GatewayUnknownOutcome`; a 422 decline is a
 *   `GatewayDeclined`; nothing is retried here (AegisPay's own retry decides). Reads are never
 *   an unknown outcome. Every answer is decoded with `Schema`: a malformed body, a body that is
 *   not JSON, an undocumented status is a typed error, never a defect.
 * - **One token.** The OAuth2 token is cached, refreshed before it expires with one request
 *   however many calls need it, and refreshed once when PayPal answers 401.
 * - **Cancel never captures.** PayPal cannot cancel an order; an approved order that was not
 *   captured has not moved money, so `customerAction.cancel` answers `failed` for it (and for
 *   an order the customer never approved) and never captures it; a completed order is answered
 *   as the charge it is.
 * - Credentials are `Redacted` (from `Config`), sent only in `Authorization` headers, never
 *   logged or put in an error.
 *
 * @since 0.2.0
 */
import type { HttpClient } from "@effect/platform"
import { HttpClient as Client } from "@effect/platform"
import type { ConfigError } from "effect"
import { Clock, Config, Context, DateTime, Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import type {
  ActionRequired,
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
import { GatewayDeclined, GatewayMisconfigured, GatewayTransientError, GatewayUnknownOutcome } from "../../gateway/Gateway.js"
import type { GatewayNotification, WebhookRequest } from "../../gateway/Webhook.js"
import { WebhookRejected } from "../../gateway/Webhook.js"
import { isCurrencyCode } from "../../domain/Currency.js"
import type * as Money from "../../domain/Money.js"
import * as Http from "../internal/http.js"
import * as Api from "./client.js"
import { asRead, classify, issueOf } from "./errors.js"
import * as Token from "./token.js"
import * as Wire from "./wire.js"

/**
 * PayPal's two environments and their API bases.
 *
 * @since 0.2.0
 */
export const apiBases = {
  sandbox: "https://api-m.sandbox.paypal.com",
  live: "https://api-m.paypal.com"
} as const

/**
 * @since 0.2.0
 */
export type Environment = keyof typeof apiBases

/**
 * The adapter's settings.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The gateway id in the registry; default `"paypal"`. */
  readonly id?: string | undefined
  /** The REST app's client id (Developer Dashboard → Apps & Credentials). */
  readonly clientId: Redacted.Redacted<string>
  readonly clientSecret: Redacted.Redacted<string>
  /** The id of the webhook PayPal calls (needed to verify notifications; without it `webhooks.parse` refuses with `not_configured`). */
  readonly webhookId?: string | undefined
  readonly environment: Environment
  /** Overrides the environment's API base (a fake in tests). */
  readonly apiBase?: string | undefined
  /** Per-call timeout; default 30 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * How long after its creation an order accepts the customer's approval: the `expiresAt` of the
   * customer action. Default 3 hours (PayPal documents 3 hours in older and 6 hours in newer
   * descriptions, changeable by PayPal per account: the shorter is used).
   */
  readonly approvalWindow?: Duration.DurationInput | undefined
  /** Shown to the customer on PayPal's pages instead of the account's business name. */
  readonly brandName?: string | undefined
}

/**
 * The settings from the environment: `PAYPAL_CLIENT_ID`, `PAYPAL_CLIENT_SECRET` (secrets),
 * `PAYPAL_ENVIRONMENT` (`sandbox` or `live`, required: never a silent default for money),
 * `PAYPAL_WEBHOOK_ID` (optional).
 *
 * @since 0.2.0
 */
export const config: Config.Config<Options> = Config.all({
  clientId: Config.redacted("PAYPAL_CLIENT_ID"),
  clientSecret: Config.redacted("PAYPAL_CLIENT_SECRET"),
  webhookId: Config.string("PAYPAL_WEBHOOK_ID").pipe(Config.option, Config.map(Option.getOrUndefined)),
  environment: Config.literal("sandbox", "live")("PAYPAL_ENVIRONMENT")
})

const maxText = (text: string | undefined, max: number): string | undefined =>
  text === undefined || text.length === 0 ? undefined : text.length > max ? text.slice(0, max) : text

/** What an order means for the attempt. */
type Verdict =
  | { readonly _tag: "waiting" }
  | { readonly _tag: "approved" }
  | { readonly _tag: "charged"; readonly status: "succeeded" | "authorized"; readonly transactionId: string }
  | { readonly _tag: "pending"; readonly reason: string }
  | { readonly _tag: "failed"; readonly code: string; readonly reason: string }
  | { readonly _tag: "unreadable"; readonly reason: string }

/**
 * Reads an order (pure): its status, and for a completed order its first purchase unit's
 * capture or authorization.
 */
const judge = (order: Wire.Order): Verdict => {
  switch (order.status) {
    case "CREATED":
    case "PAYER_ACTION_REQUIRED":
      return { _tag: "waiting" }
    case "APPROVED":
      return { _tag: "approved" }
    case "VOIDED":
      return { _tag: "failed", code: "order_voided", reason: "the order was voided" }
    case "SAVED":
      return { _tag: "unreadable", reason: "the order is SAVED (not a checkout this adapter made)" }
    case "COMPLETED": {
      const payments = order.purchase_units?.[0]?.payments
      const capture = payments?.captures?.[0]
      if (capture !== undefined) {
        switch (capture.status) {
          case "COMPLETED":
          case "PARTIALLY_REFUNDED":
          case "REFUNDED":
            return { _tag: "charged", status: "succeeded", transactionId: capture.id }
          case "PENDING":
            return { _tag: "pending", reason: `capture pending at PayPal (${capture.status_details?.reason ?? "no reason given"})` }
          case "DECLINED":
          case "FAILED":
            return { _tag: "failed", code: "capture_declined", reason: `capture ${capture.status.toLowerCase()}${capture.status_details?.reason === undefined ? "" : ` (${capture.status_details.reason})`}` }
        }
      }
      const authorization = payments?.authorizations?.[0]
      if (authorization !== undefined) {
        switch (authorization.status) {
          case "CREATED":
          case "CAPTURED":
          case "PARTIALLY_CAPTURED":
            return { _tag: "charged", status: "authorized", transactionId: authorization.id }
          case "PENDING":
            return { _tag: "pending", reason: `authorization pending at PayPal (${authorization.status_details?.reason ?? "no reason given"})` }
          case "DENIED":
          case "VOIDED":
          case "EXPIRED":
            return { _tag: "failed", code: `authorization_${authorization.status.toLowerCase()}`, reason: `authorization ${authorization.status.toLowerCase()}` }
        }
      }
      return { _tag: "unreadable", reason: "a completed order without a capture or authorization" }
    }
  }
}

/** The order id of a capture or authorization (its related ids, else its `up` link). */
const orderIdOf = (payment: { readonly supplementary_data?: { readonly related_ids?: { readonly order_id?: string | undefined } | undefined } | undefined; readonly links?: ReadonlyArray<Wire.Link> | undefined }): string | undefined => {
  const related = payment.supplementary_data?.related_ids?.order_id
  if (related !== undefined) return related
  const up = Wire.link(payment.links, "up")
  return up !== undefined && up.includes("/checkout/orders/") ? Wire.lastSegment(up) : undefined
}

/**
 * Builds the PayPal gateway. Needs an `HttpClient` (e.g. `FetchHttpClient.layer` or
 * `NodeHttpClient.layerUndici`); nothing is sent until the first call.
 *
 * @since 0.2.0
 */
export const make = (options: Options): Effect.Effect<Gateway, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* Client.HttpClient
    const id = options.id ?? "paypal"
    const apiBase = (options.apiBase ?? apiBases[options.environment]).replace(/\/+$/, "")
    const timeout = options.timeout ?? Duration.seconds(30)
    const approvalWindow = Duration.decode(options.approvalWindow ?? Duration.hours(3))
    const checkoutBase = options.environment === "live" ? "https://www.paypal.com" : "https://www.sandbox.paypal.com"
    const tokens = yield* Token.make({ client, apiBase, clientId: options.clientId, clientSecret: options.clientSecret, gateway: id, timeout })
    const api = Api.make({ client, apiBase, tokens, gateway: id, timeout })

    const misconfigured = (reason: string) => new GatewayMisconfigured({ gateway: id, reason })
    const unknown = (operation: string, reason: string) => new GatewayUnknownOutcome({ gateway: id, operation, reason })
    const valueOf = (money: Money.Money) =>
      Either.match(Wire.toValue(money), { onLeft: (reason) => Effect.fail(misconfigured(reason)), onRight: Effect.succeed })

    /** A successful answer decoded with `schema`, or the classified error. */
    const expect = <A, I>(answer: Http.Answer, schema: Schema.Schema<A, I>, call: Http.CallOptions) =>
      answer.status >= 200 && answer.status < 300 ? Http.decode(schema, answer, call) : Effect.fail(classify(answer, call))

    /** `GET /v2/checkout/orders/{id}`: a read. `None` when PayPal does not know the order. */
    const findOrder = (orderId: string, operation: string): Effect.Effect<Option.Option<Wire.Order>, GatewayReadError> =>
      asRead(Effect.gen(function*() {
        const spec = { method: "GET", path: `/v2/checkout/orders/${encodeURIComponent(orderId)}`, operation, moneyMoving: false } as const
        const answer = yield* api.call(spec)
        if (answer.status === 404) return Option.none<Wire.Order>()
        return Option.some(yield* expect(answer, Wire.Order, api.options(operation, false)))
      }))

    const getOrder = (orderId: string, operation: string) =>
      Effect.flatMap(findOrder(orderId, operation), Option.match({
        onNone: () => Effect.fail(misconfigured(`${operation}: PayPal does not know order ${orderId} (another environment or account?)`)),
        onSome: Effect.succeed
      }))

    /** The customer action of a waiting order: its `approve` (or `payer-action`) link. */
    const actionOf = (order: Wire.Order): Effect.Effect<ActionRequired> =>
      Effect.gen(function*() {
        const url = Wire.link(order.links, "approve") ?? Wire.link(order.links, "payer-action") ??
          `${checkoutBase}/checkoutnow?token=${encodeURIComponent(order.id)}`
        const created = order.create_time === undefined ? Option.none() : DateTime.make(order.create_time)
        const start = Option.isSome(created) ? created.value : DateTime.unsafeMake(yield* Clock.currentTimeMillis)
        return {
          status: "action_required",
          reference: order.id,
          action: { type: "redirect", url },
          expiresAt: DateTime.toUtc(DateTime.addDuration(start, approvalWindow))
        }
      })

    /** The order body of a charge (PayPal's `order_request`). */
    const orderBody = (request: InitiateRequest) =>
      Effect.gen(function*() {
        const value = yield* valueOf(request.amount)
        const checkout = request.checkout
        const lines = checkout?.lineItems ?? []
        let items: ReadonlyArray<Record<string, unknown>> | undefined
        let breakdown: Record<string, unknown> | undefined
        if (lines.length > 0) {
          let total = 0n
          const built: Array<Record<string, unknown>> = []
          for (const line of lines) {
            if (line.price.currency !== request.amount.currency) return yield* misconfigured("a line item's currency differs from the payment's")
            total += line.price.minor * BigInt(line.quantity)
            built.push({
              name: maxText(line.description, 127) ?? "item",
              quantity: String(line.quantity),
              unit_amount: Wire.money(line.price.currency, yield* valueOf(line.price)),
              ...(line.url === undefined ? {} : { url: line.url })
            })
          }
          if (total !== request.amount.minor) return yield* misconfigured("the line items do not add up to the amount")
          items = built
          breakdown = { item_total: Wire.money(request.amount.currency, value) }
        }
        const context = {
          ...(checkout?.returnUrl === undefined ? {} : { return_url: checkout.returnUrl }),
          ...(checkout?.cancelUrl === undefined ? {} : { cancel_url: checkout.cancelUrl }),
          ...(options.brandName === undefined ? {} : { brand_name: options.brandName })
        }
        return JSON.stringify({
          intent: request.capture ? "CAPTURE" : "AUTHORIZE",
          purchase_units: [{
            reference_id: maxText(checkout?.externalReference ?? request.paymentId, 256),
            custom_id: request.paymentId.slice(0, 127),
            invoice_id: request.idempotencyKey.slice(0, 127),
            ...(maxText(request.description, 127) === undefined ? {} : { description: maxText(request.description, 127) }),
            amount: { ...Wire.money(request.amount.currency, value), ...(breakdown === undefined ? {} : { breakdown }) },
            ...(items === undefined ? {} : { items })
          }],
          ...(Object.keys(context).length === 0 ? {} : { payment_source: { paypal: { experience_context: context } } })
        })
      })

    /** `POST /v2/checkout/orders` with `PayPal-Request-Id` = the key: a repeat answers the same order. */
    const createOrder = (request: InitiateRequest, operation: string): Effect.Effect<Wire.Order, GatewayReadError> =>
      asRead(Effect.gen(function*() {
        if (request.paymentMethod.type !== "checkout") {
          return yield* misconfigured(`PayPal takes checkout payments only, not ${request.paymentMethod.type}`)
        }
        const body = yield* orderBody(request)
        const answer = yield* api.call({
          method: "POST",
          path: "/v2/checkout/orders",
          body,
          requestId: Api.requestId(request.idempotencyKey),
          operation,
          moneyMoving: false
        })
        return yield* expect(answer, Wire.Order, api.options(operation, false))
      }))

    /**
     * Captures or authorizes an approved order (by its intent) with the attempt's derived
     * `PayPal-Request-Id`. Money moves.
     */
    const finish = (order: Wire.Order, key: string, capture: boolean, allowPending: boolean, operation: string): Effect.Effect<ProcessResult, GatewayError> =>
      Effect.gen(function*() {
        const step = (order.intent ?? (capture ? "CAPTURE" : "AUTHORIZE")) === "CAPTURE" ? "capture" : "authorize"
        const call = api.options(operation, true)
        const answer = yield* api.call({
          method: "POST",
          path: `/v2/checkout/orders/${encodeURIComponent(order.id)}/${step}`,
          body: "{}",
          requestId: Api.requestId(key, step),
          operation,
          moneyMoving: true
        })
        if (answer.status >= 200 && answer.status < 300) {
          const done = yield* Http.decode(Wire.Order, answer, call)
          return yield* settle(done, key, capture, allowPending, operation, false)
        }
        if (answer.status === 422) {
          const { issue } = issueOf(answer)
          if (issue === "ORDER_ALREADY_CAPTURED" || issue === "ORDER_ALREADY_AUTHORIZED") {
            // an earlier call of ours (or one PayPal forgot the request id of) did it: read it
            const again = yield* getOrder(order.id, operation)
            return yield* settle(again, key, capture, allowPending, operation, false)
          }
          if (issue === "ORDER_NOT_APPROVED" || issue === "PAYER_ACTION_REQUIRED") return yield* actionOf(order)
        }
        return yield* classify(answer, call)
      })

    /** What an order means as a process/complete result; `approved` orders are finished when `mayFinish`. */
    const settle = (order: Wire.Order, key: string, capture: boolean, allowPending: boolean, operation: string, mayFinish: boolean): Effect.Effect<ProcessResult, GatewayError> => {
      const verdict = judge(order)
      switch (verdict._tag) {
        case "waiting":
          return actionOf(order)
        case "approved":
          return mayFinish
            ? finish(order, key, capture, allowPending, operation)
            : Effect.fail(unknown(operation, "PayPal answered the order as APPROVED after capturing it"))
        case "charged":
          return Effect.succeed({ status: verdict.status, transactionId: verdict.transactionId, reference: order.id })
        case "pending":
          return allowPending
            ? Effect.succeed({ status: "pending", reference: order.id, reason: verdict.reason })
            : Effect.fail(unknown(operation, verdict.reason))
        case "failed":
          return Effect.fail(new GatewayDeclined({ gateway: id, code: verdict.code, reason: verdict.reason }))
        case "unreadable":
          return Effect.fail(unknown(operation, verdict.reason))
      }
    }

    /** An order as a status answer (reads only: never captures). */
    const statusOf = (order: Wire.Order): Effect.Effect<StatusResult, GatewayReadError> => {
      const verdict = judge(order)
      switch (verdict._tag) {
        case "waiting":
        case "approved":
          // approved but not captured: money has not moved; `complete` captures it
          return actionOf(order)
        case "charged":
          return Effect.succeed({ status: verdict.status, transactionId: verdict.transactionId })
        case "pending":
          return Effect.succeed({ status: "pending", reference: order.id, reason: verdict.reason })
        case "failed":
          return Effect.succeed({ status: "failed", code: verdict.code, reason: verdict.reason })
        case "unreadable":
          return Effect.fail(new GatewayTransientError({ gateway: id, operation: "getStatus", reason: verdict.reason }))
      }
    }

    const initiate = Effect.fn("PayPal.initiate")(function*(request: InitiateRequest) {
      const order = yield* createOrder(request, "initiate")
      return { reference: order.id }
    })

    const process = Effect.fn("PayPal.process")(function*(request: ProcessRequest) {
      const order = request.reference === undefined
        ? yield* createOrder(request, "process")
        : yield* getOrder(request.reference, "process")
      return yield* settle(order, request.idempotencyKey, request.capture, request.checkout?.allowPending === true, "process", true)
    })

    const complete = Effect.fn("PayPal.complete")(function*(request: CompleteRequest) {
      const token = request.params["token"]
      if (token !== undefined && token !== request.reference) {
        return yield* misconfigured(`complete: the customer returned from order ${token}, not ${request.reference}`)
      }
      const order = yield* getOrder(request.reference, "complete")
      return yield* settle(order, request.idempotencyKey, request.capture, false, "complete", true)
    })

    const cancel = Effect.fn("PayPal.cancel")(function*(request: { readonly idempotencyKey: string; readonly reference: string }) {
      const found = yield* findOrder(request.reference, "cancel")
      if (Option.isNone(found)) return { status: "not_found" } as const
      const order = found.value
      const verdict = judge(order)
      // PayPal has no cancel for an order: one that is not captured never will be (we never capture it)
      if (verdict._tag === "waiting") return { status: "failed", code: "expired", reason: "the customer did not approve the order in time" } as const
      if (verdict._tag === "approved") return { status: "failed", code: "expired", reason: "approved but not captured in time: left uncaptured" } as const
      return yield* statusOf(order)
    })

    const getStatus = Effect.fn("PayPal.getStatus")(function*(request: { readonly idempotencyKey: string; readonly reference?: string | undefined }) {
      // PayPal has no lookup by PayPal-Request-Id: without the order id nothing of this attempt
      // can have been captured (the order id is recorded before `process` is called)
      if (request.reference === undefined) return { status: "not_found" } as const
      const found = yield* findOrder(request.reference, "getStatus")
      if (Option.isNone(found)) return { status: "not_found" } as const
      return yield* statusOf(found.value)
    })

    const getAuthorization = (authorizationId: string, operation: string): Effect.Effect<Option.Option<Wire.Authorization>, GatewayReadError> =>
      asRead(Effect.gen(function*() {
        const answer = yield* api.call({ method: "GET", path: `/v2/payments/authorizations/${encodeURIComponent(authorizationId)}`, operation, moneyMoving: false })
        if (answer.status === 404) return Option.none<Wire.Authorization>()
        return Option.some(yield* expect(answer, Wire.Authorization, api.options(operation, false)))
      }))

    /** The order of an authorization, read (for the captures and refunds it holds). */
    const orderOfAuthorization = (authorizationId: string, operation: string) =>
      Effect.gen(function*() {
        const authorization = yield* getAuthorization(authorizationId, operation)
        if (Option.isNone(authorization)) return Option.none<Wire.Order>()
        const orderId = orderIdOf(authorization.value)
        if (orderId === undefined) return Option.none<Wire.Order>()
        return yield* findOrder(orderId, operation)
      })

    const capture = Effect.fn("PayPal.capture")(function*(request: { readonly transactionId: string; readonly idempotencyKey: string; readonly amount: Money.Money }) {
      const value = yield* valueOf(request.amount)
      const call = api.options("capture", true)
      const answer = yield* api.call({
        method: "POST",
        path: `/v2/payments/authorizations/${encodeURIComponent(request.transactionId)}/capture`,
        body: JSON.stringify({
          amount: Wire.money(request.amount.currency, value),
          invoice_id: request.idempotencyKey.slice(0, 127),
          // AegisPay captures an authorization once: the rest is released
          final_capture: true
        }),
        requestId: Api.requestId(request.idempotencyKey),
        operation: "capture",
        moneyMoving: true
      })
      if (answer.status >= 200 && answer.status < 300) {
        const captured = yield* Http.decode(Wire.Capture, answer, call)
        if (captured.status === "DECLINED" || captured.status === "FAILED") {
          return yield* new GatewayDeclined({ gateway: id, code: "capture_declined", reason: `capture ${captured.status.toLowerCase()}` })
        }
        return { transactionId: captured.id }
      }
      if (answer.status === 422) {
        const { issue } = issueOf(answer)
        if (issue === "AUTHORIZATION_ALREADY_CAPTURED" || issue === "DUPLICATE_INVOICE_ID") {
          // captured before (by this key, PayPal having forgotten the request id): find it
          const order = yield* orderOfAuthorization(request.transactionId, "capture")
          const captures = Option.isSome(order) ? order.value.purchase_units?.[0]?.payments?.captures ?? [] : []
          const ours = captures.find((c) => c.invoice_id === request.idempotencyKey.slice(0, 127))
          if (ours !== undefined) return { transactionId: ours.id }
        }
      }
      return yield* classify(answer, call)
    })

    const voidAuthorization = Effect.fn("PayPal.void")(function*(request: { readonly transactionId: string; readonly idempotencyKey: string }) {
      const call = api.options("void", true)
      const answer = yield* api.call({
        method: "POST",
        path: `/v2/payments/authorizations/${encodeURIComponent(request.transactionId)}/void`,
        requestId: Api.requestId(request.idempotencyKey),
        operation: "void",
        moneyMoving: true
      })
      if (answer.status >= 200 && answer.status < 300) return
      if (answer.status === 422 && issueOf(answer).issue === "PREVIOUSLY_VOIDED") return
      return yield* classify(answer, call)
    })

    /** The capture to refund: `transactionId` is a capture, or an authorization that was captured. */
    const captureToRefund = (transactionId: string): Effect.Effect<{ readonly captureId: string; readonly orderId: string | undefined }, GatewayReadError> =>
      asRead(Effect.gen(function*() {
        const answer = yield* api.call({ method: "GET", path: `/v2/payments/captures/${encodeURIComponent(transactionId)}`, operation: "refund", moneyMoving: false })
        if (answer.status !== 404) {
          const found = yield* expect(answer, Wire.Capture, api.options("refund", false))
          return { captureId: found.id, orderId: orderIdOf(found) }
        }
        const order = yield* orderOfAuthorization(transactionId, "refund")
        const captured = Option.isSome(order) ? order.value.purchase_units?.[0]?.payments?.captures?.[0] : undefined
        if (captured === undefined || Option.isNone(order)) {
          return yield* misconfigured(`refund: ${transactionId} is neither a capture nor a captured authorization`)
        }
        return { captureId: captured.id, orderId: order.value.id }
      }))

    const refund = Effect.fn("PayPal.refund")(function*(request: { readonly transactionId: string; readonly idempotencyKey: string; readonly amount: Money.Money }) {
      const value = yield* valueOf(request.amount)
      const target = yield* captureToRefund(request.transactionId)
      const invoiceId = request.idempotencyKey.slice(0, 127)
      const call = api.options("refund", true)
      const answer = yield* api.call({
        method: "POST",
        path: `/v2/payments/captures/${encodeURIComponent(target.captureId)}/refund`,
        body: JSON.stringify({ amount: Wire.money(request.amount.currency, value), invoice_id: invoiceId }),
        requestId: Api.requestId(request.idempotencyKey),
        operation: "refund",
        moneyMoving: true
      })
      if (answer.status >= 200 && answer.status < 300) {
        const refunded = yield* Http.decode(Wire.Refund, answer, call)
        if (refunded.status === "FAILED" || refunded.status === "CANCELLED") {
          return yield* new GatewayDeclined({ gateway: id, code: "refund_failed", reason: `refund ${refunded.status.toLowerCase()}` })
        }
        return { refundId: refunded.id }
      }
      if (answer.status === 422 && target.orderId !== undefined) {
        // a refund with this key's invoice id may exist (a repeat after PayPal forgot the request id)
        const order = yield* findOrder(target.orderId, "refund")
        const ours = Option.isSome(order)
          ? order.value.purchase_units?.[0]?.payments?.refunds?.find((r) => r.invoice_id === invoiceId && (r.status === "COMPLETED" || r.status === "PENDING"))
          : undefined
        if (ours !== undefined) return { refundId: ours.id }
      }
      return yield* classify(answer, call)
    })

    const healthCheck = Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const ok = yield* api.call({ method: "GET", path: "/v1/notifications/webhooks-event-types", operation: "healthCheck", moneyMoving: false }).pipe(
        Effect.map((answer) => answer.status === 200),
        Effect.orElseSucceed(() => false)
      )
      const end = yield* Clock.currentTimeMillis
      return { healthy: ok, latencyMillis: end - start }
    })

    const parse = Effect.fn("PayPal.webhooks.parse")(function*(request: WebhookRequest) {
      return yield* parseWebhook(request)
    })

    const reject = (reason: typeof WebhookRejected.fields.reason.Type, detail: string) => new WebhookRejected({ gateway: id, reason, detail })

    /** Has PayPal verify the notification (`verify-webhook-signature`): a read. */
    const verify = (request: WebhookRequest, text: string) =>
      Effect.gen(function*() {
        if (options.webhookId === undefined) return yield* reject("not_configured", "no webhook id configured (PAYPAL_WEBHOOK_ID)")
        const headers = {
          auth_algo: Http.header(request.headers, "paypal-auth-algo"),
          cert_url: Http.header(request.headers, "paypal-cert-url"),
          transmission_id: Http.header(request.headers, "paypal-transmission-id"),
          transmission_sig: Http.header(request.headers, "paypal-transmission-sig"),
          transmission_time: Http.header(request.headers, "paypal-transmission-time")
        }
        for (const [name, value] of Object.entries(headers)) {
          if (value === undefined || value.length === 0) return yield* reject("bad_signature", `missing ${name.replace("_", "-")} header`)
        }
        // the event goes back exactly as received (re-encoding it could change what was signed)
        const body = `{${Object.entries({ ...headers, webhook_id: options.webhookId }).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")},"webhook_event":${text}}`
        const call = api.options("webhooks.verify", false)
        const answer = yield* asRead(api.call({ method: "POST", path: "/v1/notifications/verify-webhook-signature", body, operation: "webhooks.verify", moneyMoving: false }))
        if (answer.status === 400 || answer.status === 422) {
          return yield* reject("bad_signature", `PayPal refused the signature headers (${issueOf(answer).description})`)
        }
        const verification = yield* asRead(expect(answer, Wire.Verification, call))
        if (verification.verification_status !== "SUCCESS") return yield* reject("bad_signature", "PayPal did not verify the signature")
      })

    const decodeResource = <A, I>(schema: Schema.Schema<A, I>, event: Wire.Event) =>
      Either.match(Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })(event.resource), {
        onLeft: () => Effect.fail(reject("malformed", `${event.event_type}: unexpected resource`)),
        onRight: Effect.succeed
      })

    /** A capture read from PayPal (for the payment id and key a webhook's resource lacks). */
    const captureById = (captureId: string): Effect.Effect<Wire.Capture | undefined, GatewayReadError> =>
      asRead(Effect.gen(function*() {
        const answer = yield* api.call({ method: "GET", path: `/v2/payments/captures/${encodeURIComponent(captureId)}`, operation: "webhooks.parse", moneyMoving: false })
        if (answer.status === 404) return undefined
        return yield* expect(answer, Wire.Capture, api.options("webhooks.parse", false))
      }))

    /** The capture a refund refunds (its `up` link). */
    const captureOfRefund = (refunded: Wire.Refund): Effect.Effect<Wire.Capture | undefined, GatewayReadError> => {
      const up = Wire.link(refunded.links, "up")
      const captureId = up === undefined ? undefined : Wire.lastSegment(up)
      return captureId === undefined ? Effect.succeed(undefined) : captureById(captureId)
    }

    /** PayPal's amount as the notification's exact decimal amount and currency (none when unknown). */
    const amountOf = (amount: { readonly currency_code: string; readonly value: string } | undefined) =>
      amount !== undefined && isCurrencyCode(amount.currency_code) && /^\d+(\.\d+)?$/.test(amount.value)
        ? { amount: amount.value, currency: amount.currency_code }
        : {}

    const notification = (event: Wire.Event, fields: Omit<GatewayNotification, "id" | "gateway" | "verified">): ReadonlyArray<GatewayNotification> =>
      [{ id: event.id, gateway: id, verified: true, ...fields }]

    const parseWebhook = (request: WebhookRequest) =>
      Effect.gen(function*() {
        const text = Http.utf8(request.body)
        const event = yield* Either.match(Schema.decodeUnknownEither(Wire.Event)(Http.parseJson(text)), {
          onLeft: () => Effect.fail(reject("malformed", "not a PayPal webhook event")),
          onRight: Effect.succeed
        })
        yield* verify(request, text)
        switch (event.event_type) {
          case "CHECKOUT.ORDER.APPROVED": {
            // the buyer approved: the payment is asked about (Notifications applies
            // `charge.action_required` by asking the provider); capturing is `completePayment`'s
            const order = yield* decodeResource(Wire.Order, event)
            const unit = order.purchase_units?.[0]
            if (unit?.custom_id === undefined || unit.invoice_id === undefined) return []
            return notification(event, { paymentId: unit.custom_id, idempotencyKey: unit.invoice_id, type: "charge.action_required", reference: order.id })
          }
          case "PAYMENT.CAPTURE.COMPLETED":
          case "PAYMENT.CAPTURE.PENDING":
          case "PAYMENT.CAPTURE.DENIED": {
            const captured = yield* decodeResource(Wire.Capture, event)
            // not a payment of AegisPay (no custom_id/invoice_id): nothing to apply
            if (captured.custom_id === undefined || captured.invoice_id === undefined) return []
            const orderId = orderIdOf(captured)
            const common = { paymentId: captured.custom_id, idempotencyKey: captured.invoice_id, ...(orderId === undefined ? {} : { reference: orderId }) }
            switch (event.event_type) {
              case "PAYMENT.CAPTURE.COMPLETED":
                return notification(event, { ...common, type: "charge.succeeded", transactionId: captured.id })
              case "PAYMENT.CAPTURE.PENDING":
                return notification(event, { ...common, type: "charge.pending", reason: captured.status_details?.reason ?? "capture pending at PayPal" })
              default:
                return notification(event, { ...common, type: "charge.failed", code: "capture_denied", reason: "PayPal denied the capture" })
            }
          }
          case "PAYMENT.AUTHORIZATION.CREATED": {
            const authorization = yield* decodeResource(Wire.Authorization, event)
            if (authorization.custom_id === undefined || authorization.invoice_id === undefined) return []
            const orderId = orderIdOf(authorization)
            return notification(event, {
              paymentId: authorization.custom_id,
              idempotencyKey: authorization.invoice_id,
              type: "charge.authorized",
              transactionId: authorization.id,
              ...(orderId === undefined ? {} : { reference: orderId })
            })
          }
          case "PAYMENT.CAPTURE.REFUNDED": {
            const refunded = yield* decodeResource(Wire.Refund, event)
            const capture = yield* captureOfRefund(refunded)
            const paymentId = refunded.custom_id ?? capture?.custom_id
            if (paymentId === undefined) return []
            // ours (a refund or compensation of AegisPay) carries its key as invoice_id; a refund
            // made in PayPal's dashboard has none (or the capture's own): an outside refund
            const ours = refunded.invoice_id !== undefined && refunded.invoice_id !== capture?.invoice_id
            if (ours && refunded.invoice_id !== undefined) {
              return notification(event, { paymentId, idempotencyKey: refunded.invoice_id, type: "refund.succeeded", refundId: refunded.id })
            }
            const amount = amountOf(refunded.amount)
            return notification(event, {
              paymentId,
              idempotencyKey: refunded.id,
              type: "refund.external",
              refundId: refunded.id,
              ...(capture === undefined ? {} : { transactionId: capture.id }),
              ...amount
            })
          }
          case "CUSTOMER.DISPUTE.CREATED":
          case "CUSTOMER.DISPUTE.UPDATED":
          case "CUSTOMER.DISPUTE.RESOLVED": {
            const dispute = yield* decodeResource(Wire.Dispute, event)
            const disputed = dispute.disputed_transactions?.[0]
            const captureId = disputed?.seller_transaction_id
            const capture = disputed?.custom === undefined && captureId !== undefined ? yield* captureById(captureId) : undefined
            const paymentId = disputed?.custom ?? capture?.custom_id
            const key = disputed?.invoice_number ?? capture?.invoice_id ?? captureId
            if (paymentId === undefined || key === undefined) return []
            const resolved = event.event_type === "CUSTOMER.DISPUTE.RESOLVED"
            const outcome = dispute.dispute_outcome?.outcome_code
            return notification(event, {
              paymentId,
              idempotencyKey: key,
              type: resolved ? "dispute.closed" : "dispute.opened",
              disputeId: dispute.dispute_id,
              ...(captureId === undefined ? {} : { transactionId: captureId }),
              ...(dispute.reason === undefined ? {} : { reason: dispute.reason.toLowerCase() }),
              ...(resolved && outcome !== undefined ? { code: outcome.toLowerCase() } : {}),
              ...amountOf(dispute.dispute_amount)
            })
          }
          default:
            return yield* reject("unknown_event", `event type ${event.event_type.slice(0, 100)} is not handled`)
        }
      })

    const gateway: Gateway = {
      id,
      capabilities: {
        currencies: Wire.currencies,
        manualCapture: true,
        paymentMethods: ["checkout"],
        statusLookup: "reference"
      },
      initiate,
      authenticate: () => Effect.void,
      process,
      capture,
      void: voidAuthorization,
      refund,
      getStatus,
      healthCheck,
      customerAction: { complete, cancel },
      webhooks: { parse }
    }
    return gateway
  })

/**
 * The gateway built from {@link config} (`PAYPAL_*`), for `GatewayRegistry.layerFrom`: a missing
 * setting is a `ConfigError` at start-up. `overrides` replace settings (e.g. `apiBase`, `id`).
 *
 * @since 0.2.0
 */
export const fromConfig = (overrides: Partial<Options> = {}): Effect.Effect<Gateway, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.flatMap(config, (settings) => make({ ...settings, ...overrides }))

/**
 * The PayPal gateway as a service (use the tag itself as a source:
 * `GatewayRegistry.layerFrom([PayPal.PayPal])`).
 *
 * @since 0.2.0
 */
export class PayPal extends Context.Tag("aegispay/gateways/PayPal")<PayPal, Gateway>() {}

/**
 * @since 0.2.0
 */
export const layer = (options: Options): Layer.Layer<PayPal, never, HttpClient.HttpClient> =>
  Layer.effect(PayPal, make(options))

/**
 * The gateway from `PAYPAL_*` settings ({@link config}).
 *
 * @since 0.2.0
 */
export const layerConfig = (overrides: Partial<Options> = {}): Layer.Layer<PayPal, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(PayPal, fromConfig(overrides))

/**
 * Builds a tenant's PayPal gateway from its stored credentials: `clientId`, `clientSecret`
 * (secrets), `environment` (`sandbox` | `live`), `webhookId` (optional).
 *
 * @since 0.2.0
 */
export const provider: GatewayProvider<HttpClient.HttpClient> = {
  provider: "paypal",
  fields: [
    { name: "clientId", secret: true },
    { name: "clientSecret", secret: true },
    { name: "environment", secret: false },
    { name: "webhookId", secret: false, optional: true }
  ],
  make: (credentials, { id }) =>
    Effect.gen(function*() {
      const clientId = credentials["clientId"]
      const clientSecret = credentials["clientSecret"]
      const environment = credentials["environment"]
      if (clientId === undefined || clientSecret === undefined) {
        return yield* new GatewayMisconfigured({ gateway: id, reason: "PayPal needs clientId and clientSecret" })
      }
      const env = environment === undefined ? undefined : Redacted.value(environment)
      if (env !== "sandbox" && env !== "live") {
        return yield* new GatewayMisconfigured({ gateway: id, reason: "PayPal environment must be sandbox or live" })
      }
      const webhookId = credentials["webhookId"]
      return yield* make({
        id,
        clientId,
        clientSecret,
        environment: env,
        webhookId: webhookId === undefined ? undefined : Redacted.value(webhookId)
      })
    })
}
