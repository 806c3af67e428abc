/**
 * An in-process fake of PayPal's REST APIs (OAuth2, Orders v2, Payments v2, webhook
 * verification) on a loopback port, for the PayPal adapter's tests and the offline example.
 *
 * What it reproduces (from PayPal's published API descriptions):
 * - `POST /v1/oauth2/token` (Basic auth, client credentials): short-lived tokens whose lifetime
 *   the test sets; an expired or revoked token is a 401 on any call;
 * - orders: create (`CREATED`, or `PAYER_ACTION_REQUIRED` with a `payer-action` link when an
 *   experience context is sent), get, capture / authorize only once the buyer approved
 *   ({@link FakePayPal.approve}), `ORDER_NOT_APPROVED`, `ORDER_ALREADY_CAPTURED`;
 * - authorizations: capture (partial, `final_capture`), void (`PREVIOUSLY_VOIDED`,
 *   `PREVIOUSLY_CAPTURED`); captures: get, refund (`REFUND_AMOUNT_EXCEEDED`,
 *   `DUPLICATE_INVOICE_ID` for a reused refund `invoice_id`);
 * - `PayPal-Request-Id`: a repeated POST replays the first answer (status 200);
 * - faults injected per route: an error answer before applying, an error or no answer at all
 *   after applying (a timeout after the provider applied the request), a malformed or non-JSON
 *   body;
 * - webhooks: {@link FakePayPal.webhook} emits an event with PayPal's transmission headers;
 *   `POST /v1/notifications/verify-webhook-signature` answers `SUCCESS` only for an event it
 *   emitted, unchanged, with its signature, for the configured webhook id.
 *
 * Time is read with `Clock`, so token expiry follows `TestClock` in tests.
 *
 * @since 0.2.0
 */
import type { HttpServerError } from "@effect/platform"
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { Scope } from "effect"
import { Clock, Deferred, Effect, Ref } from "effect"
import { createHmac } from "node:crypto"
import * as FakeServer from "./FakeServer.js"

/**
 * The routes faults can be injected into.
 *
 * @since 0.2.0
 */
export type Route =
  | "token"
  | "orders.create"
  | "orders.get"
  | "orders.capture"
  | "orders.authorize"
  | "authorizations.get"
  | "authorizations.capture"
  | "authorizations.void"
  | "captures.get"
  | "captures.refund"
  | "webhooks.verify"
  | "health"

/**
 * A fault for the next request on a route: `before` answers `status` without applying;
 * `after` applies, then answers `status`; `hang` applies and never answers (the client times
 * out); `raw` answers `body` as it is (malformed JSON, HTML, an undocumented status);
 * `issue` answers a PayPal error with that issue (422 by default) without applying.
 *
 * @since 0.2.0
 */
export type Fault =
  | { readonly kind: "before"; readonly status: number }
  | { readonly kind: "after"; readonly status: number }
  | { readonly kind: "hang" }
  | { readonly kind: "raw"; readonly status: number; readonly body: string }
  | { readonly kind: "issue"; readonly issue: string; readonly status?: number | undefined }

/**
 * One request the fake received.
 *
 * @since 0.2.0
 */
export interface Received {
  readonly method: string
  readonly path: string
  readonly requestId: string | undefined
  readonly body: string
}

interface Amount { readonly currency_code: string; readonly value: string }

interface OrderState {
  readonly id: string
  readonly intent: "CAPTURE" | "AUTHORIZE"
  status: "CREATED" | "PAYER_ACTION_REQUIRED" | "APPROVED" | "COMPLETED" | "VOIDED"
  readonly amount: Amount
  readonly customId: string | undefined
  readonly invoiceId: string | undefined
  readonly referenceId: string | undefined
  readonly createTime: string
  readonly payerAction: boolean
  /** Captures of this order come out PENDING (e.g. an eCheck). */
  pendingCapture: boolean
  captures: Array<string>
  authorizations: Array<string>
  refunds: Array<string>
}

interface AuthorizationState {
  readonly id: string
  readonly orderId: string
  status: "CREATED" | "CAPTURED" | "PARTIALLY_CAPTURED" | "VOIDED"
  readonly amount: Amount
  readonly customId: string | undefined
  readonly invoiceId: string | undefined
}

interface CaptureState {
  readonly id: string
  readonly orderId: string
  readonly authorizationId: string | undefined
  status: "COMPLETED" | "PENDING" | "PARTIALLY_REFUNDED" | "REFUNDED"
  readonly amount: Amount
  refundedMinor: bigint
  readonly customId: string | undefined
  readonly invoiceId: string | undefined
}

interface RefundState {
  readonly id: string
  readonly captureId: string
  readonly amount: Amount
  readonly invoiceId: string | undefined
}

interface State {
  counter: number
  tokenRequests: number
  tokenLifetimeSeconds: number
  readonly tokens: Map<string, number>
  readonly orders: Map<string, OrderState>
  readonly authorizations: Map<string, AuthorizationState>
  readonly captures: Map<string, CaptureState>
  readonly refunds: Map<string, RefundState>
  readonly replays: Map<string, { readonly body: string }>
  readonly faults: Map<Route, Array<Fault>>
  readonly received: Array<Received>
  readonly transmissions: Map<string, { readonly signature: string; readonly event: string }>
  readonly arrivals: Map<Route, number>
  readonly waiters: Array<{ readonly route: Route; readonly count: number; readonly deferred: Deferred.Deferred<void> }>
}

/**
 * A running fake PayPal.
 *
 * @since 0.2.0
 */
export interface FakePayPal {
  /** The API base to give the adapter (`apiBase`). */
  readonly url: string
  readonly clientId: string
  readonly clientSecret: string
  readonly webhookId: string
  /** The buyer approves the order on PayPal's page. */
  readonly approve: (orderId: string) => Effect.Effect<void>
  /** Makes the order's capture come out `PENDING` (funds under review). */
  readonly pendCapture: (orderId: string) => Effect.Effect<void>
  /** Queues a fault for the next request on `route` (several queue in order). */
  readonly fail: (route: Route, fault: Fault) => Effect.Effect<void>
  /** Sets the lifetime (`expires_in`, seconds) of the tokens issued from now on. */
  readonly setTokenLifetime: (seconds: number) => Effect.Effect<void>
  /** Makes every issued token invalid (PayPal answers 401 until a new one is fetched). */
  readonly revokeTokens: Effect.Effect<void>
  /** How many token requests were answered. */
  readonly tokenRequests: Effect.Effect<number>
  /** Every request received, oldest first. */
  readonly received: Effect.Effect<ReadonlyArray<Received>>
  /** The order as PayPal would answer `GET /v2/checkout/orders/{id}` (undefined when unknown). */
  readonly order: (orderId: string) => Effect.Effect<unknown>
  /**
   * Completes once `count` requests (default 1) on `route` were handled by the fake (applied,
   * whatever it answers or even if it never answers): to act after a request reached PayPal.
   */
  readonly waitFor: (route: Route, count?: number) => Effect.Effect<void>
  /** How many captures exist (each one moved money once). */
  readonly captureCount: Effect.Effect<number>
  /**
   * A webhook PayPal would send: the event (`resource` as given) with its transmission headers,
   * registered so that the verify endpoint accepts it unchanged.
   */
  readonly webhook: (eventType: string, resource: unknown) => Effect.Effect<{
    readonly headers: Readonly<Record<string, string>>
    readonly body: Uint8Array
    readonly eventId: string
  }>
  /** The resource of a capture / authorization / refund as PayPal puts it in webhooks. */
  readonly resource: (kind: "capture" | "authorization" | "refund" | "order", id: string) => Effect.Effect<unknown>
}

const decimalsOf = (currency: string): number => (currency === "JPY" || currency === "HUF" || currency === "TWD" ? 0 : 2)

const toMinor = (amount: Amount): bigint | undefined => {
  const decimals = decimalsOf(amount.currency_code)
  const match = /^(\d+)(?:\.(\d+))?$/.exec(amount.value)
  if (match === null) return undefined
  const fraction = match[2] ?? ""
  if (fraction.length > decimals) return undefined
  return BigInt(`${match[1]}${fraction.padEnd(decimals, "0")}`)
}

const fromMinor = (currency: string, minor: bigint): Amount => {
  const decimals = decimalsOf(currency)
  if (decimals === 0) return { currency_code: currency, value: minor.toString() }
  const digits = minor.toString().padStart(decimals + 1, "0")
  return { currency_code: currency, value: `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}` }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)
const amountOf = (value: unknown): Amount | undefined => {
  if (!isRecord(value)) return undefined
  const currency = str(value["currency_code"])
  const amount = str(value["value"])
  return currency === undefined || amount === undefined ? undefined : { currency_code: currency, value: amount }
}
const parse = (text: string): unknown => {
  try {
    const value: unknown = JSON.parse(text)
    return value
  } catch {
    return undefined
  }
}

/**
 * Starts a fake PayPal on a loopback port for the scope's lifetime.
 *
 * @since 0.2.0
 */
export const make = (options: {
  readonly clientId?: string | undefined
  readonly clientSecret?: string | undefined
  readonly webhookId?: string | undefined
  /** Lifetime of issued tokens (seconds); default 32400 (9 hours, as PayPal). */
  readonly tokenLifetimeSeconds?: number | undefined
} = {}): Effect.Effect<FakePayPal, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const clientId = options.clientId ?? "fake-client-id"
    const clientSecret = options.clientSecret ?? "fake-client-secret"
    const webhookId = options.webhookId ?? "WH1FAKE"
    const signingKey = "fake-paypal-signing-key"
    const stateRef = yield* Ref.make<State>({
      counter: 0,
      tokenRequests: 0,
      tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 32400,
      tokens: new Map(),
      orders: new Map(),
      authorizations: new Map(),
      captures: new Map(),
      refunds: new Map(),
      replays: new Map(),
      faults: new Map(),
      received: [],
      transmissions: new Map(),
      arrivals: new Map(),
      waiters: []
    })
    const lock = yield* Effect.makeSemaphore(1)
    const release = yield* Deferred.make<void>()
    let base = ""

    const nextId = (state: State, prefix: string) => {
      state.counter += 1
      return `${prefix}${String(state.counter).padStart(14, "0")}`
    }
    const json = (status: number, body: unknown) =>
      HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json" })
    const error = (status: number, name: string, issue?: string, description?: string) =>
      json(status, {
        name,
        message: description ?? name,
        debug_id: "fakedebug",
        ...(issue === undefined ? {} : { details: [{ issue, description: description ?? issue }] })
      })

    const captureJson = (state: State, c: CaptureState) => ({
      id: c.id,
      status: c.status,
      amount: c.amount,
      final_capture: true,
      ...(c.customId === undefined ? {} : { custom_id: c.customId }),
      ...(c.invoiceId === undefined ? {} : { invoice_id: c.invoiceId }),
      supplementary_data: { related_ids: { order_id: c.orderId, ...(c.authorizationId === undefined ? {} : { authorization_id: c.authorizationId }) } },
      links: [
        { href: `${base}/v2/payments/captures/${c.id}`, rel: "self", method: "GET" },
        { href: `${base}/v2/payments/captures/${c.id}/refund`, rel: "refund", method: "POST" },
        c.authorizationId === undefined
          ? { href: `${base}/v2/checkout/orders/${c.orderId}`, rel: "up", method: "GET" }
          : { href: `${base}/v2/payments/authorizations/${c.authorizationId}`, rel: "up", method: "GET" }
      ],
      create_time: state.orders.get(c.orderId)?.createTime
    })
    const authorizationJson = (a: AuthorizationState) => ({
      id: a.id,
      status: a.status,
      amount: a.amount,
      ...(a.customId === undefined ? {} : { custom_id: a.customId }),
      ...(a.invoiceId === undefined ? {} : { invoice_id: a.invoiceId }),
      supplementary_data: { related_ids: { order_id: a.orderId } },
      links: [
        { href: `${base}/v2/payments/authorizations/${a.id}`, rel: "self", method: "GET" },
        { href: `${base}/v2/payments/authorizations/${a.id}/capture`, rel: "capture", method: "POST" },
        { href: `${base}/v2/payments/authorizations/${a.id}/void`, rel: "void", method: "POST" },
        { href: `${base}/v2/checkout/orders/${a.orderId}`, rel: "up", method: "GET" }
      ]
    })
    // PayPal's refund resource: no custom_id of the payment (the adapter reads the capture)
    const refundJson = (r: RefundState) => ({
      id: r.id,
      status: "COMPLETED",
      amount: r.amount,
      ...(r.invoiceId === undefined ? {} : { invoice_id: r.invoiceId }),
      links: [
        { href: `${base}/v2/payments/refunds/${r.id}`, rel: "self", method: "GET" },
        { href: `${base}/v2/payments/captures/${r.captureId}`, rel: "up", method: "GET" }
      ]
    })
    const orderJson = (state: State, o: OrderState) => {
      const waiting = o.status === "CREATED" || o.status === "PAYER_ACTION_REQUIRED"
      const payments = {
        ...(o.captures.length === 0 ? {} : { captures: o.captures.flatMap((id) => { const c = state.captures.get(id); return c === undefined ? [] : [captureJson(state, c)] }) }),
        ...(o.authorizations.length === 0 ? {} : { authorizations: o.authorizations.flatMap((id) => { const a = state.authorizations.get(id); return a === undefined ? [] : [authorizationJson(a)] }) }),
        ...(o.refunds.length === 0 ? {} : { refunds: o.refunds.flatMap((id) => { const r = state.refunds.get(id); return r === undefined ? [] : [refundJson(r)] }) })
      }
      return {
        id: o.id,
        intent: o.intent,
        status: o.status,
        create_time: o.createTime,
        purchase_units: [{
          reference_id: o.referenceId ?? "default",
          amount: o.amount,
          ...(o.customId === undefined ? {} : { custom_id: o.customId }),
          ...(o.invoiceId === undefined ? {} : { invoice_id: o.invoiceId }),
          ...(Object.keys(payments).length === 0 ? {} : { payments })
        }],
        links: [
          { href: `${base}/v2/checkout/orders/${o.id}`, rel: "self", method: "GET" },
          ...(waiting ? [{ href: `${base}/checkoutnow?token=${o.id}`, rel: o.payerAction ? "payer-action" : "approve", method: "GET" }] : []),
          ...(o.status === "APPROVED" ? [{ href: `${base}/v2/checkout/orders/${o.id}/${o.intent === "CAPTURE" ? "capture" : "authorize"}`, rel: o.intent === "CAPTURE" ? "capture" : "authorize", method: "POST" }] : [])
        ]
      }
    }

    type Reply = { readonly status: number; readonly body: unknown }
    const reply = (status: number, body: unknown): Reply => ({ status, body })
    const paypalError = (status: number, name: string, issue: string): Reply =>
      reply(status, { name, message: issue, debug_id: "fakedebug", details: [{ issue, description: issue }] })

    /** The routes' logic: mutates `state`, answers a reply. */
    const apply = (state: State, route: Route, id: string | undefined, body: unknown, now: number): Reply => {
      const bodyRecord = isRecord(body) ? body : {}
      switch (route) {
        case "orders.create": {
          const units = bodyRecord["purchase_units"]
          const unit = Array.isArray(units) && isRecord(units[0]) ? units[0] : undefined
          const amount = amountOf(unit?.["amount"])
          const intent = bodyRecord["intent"]
          if (unit === undefined || amount === undefined || (intent !== "CAPTURE" && intent !== "AUTHORIZE")) {
            return paypalError(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER")
          }
          if (toMinor(amount) === undefined) {
            return paypalError(422, "UNPROCESSABLE_ENTITY", decimalsOf(amount.currency_code) === 0 ? "DECIMALS_NOT_SUPPORTED" : "DECIMAL_PRECISION")
          }
          const source = bodyRecord["payment_source"]
          const order: OrderState = {
            id: nextId(state, "5O"),
            intent,
            status: isRecord(source) ? "PAYER_ACTION_REQUIRED" : "CREATED",
            amount,
            customId: str(unit["custom_id"]),
            invoiceId: str(unit["invoice_id"]),
            referenceId: str(unit["reference_id"]),
            createTime: new Date(now).toISOString(),
            payerAction: isRecord(source),
            pendingCapture: false,
            captures: [],
            authorizations: [],
            refunds: []
          }
          state.orders.set(order.id, order)
          return reply(201, orderJson(state, order))
        }
        case "orders.get": {
          const order = id === undefined ? undefined : state.orders.get(id)
          return order === undefined ? paypalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID") : reply(200, orderJson(state, order))
        }
        case "orders.capture":
        case "orders.authorize": {
          const order = id === undefined ? undefined : state.orders.get(id)
          if (order === undefined) return paypalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
          if ((route === "orders.capture") !== (order.intent === "CAPTURE")) return paypalError(422, "UNPROCESSABLE_ENTITY", "ACTION_DOES_NOT_MATCH_INTENT")
          if (order.status === "COMPLETED") {
            return paypalError(422, "UNPROCESSABLE_ENTITY", route === "orders.capture" ? "ORDER_ALREADY_CAPTURED" : "ORDER_ALREADY_AUTHORIZED")
          }
          if (order.status === "CREATED") return paypalError(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
          if (order.status === "PAYER_ACTION_REQUIRED") return paypalError(422, "UNPROCESSABLE_ENTITY", "PAYER_ACTION_REQUIRED")
          if (order.status === "VOIDED") return paypalError(422, "UNPROCESSABLE_ENTITY", "ORDER_COMPLETED_OR_VOIDED")
          order.status = "COMPLETED"
          if (route === "orders.capture") {
            const capture: CaptureState = {
              id: nextId(state, "CAP"),
              orderId: order.id,
              authorizationId: undefined,
              status: order.pendingCapture ? "PENDING" : "COMPLETED",
              amount: order.amount,
              refundedMinor: 0n,
              customId: order.customId,
              invoiceId: order.invoiceId
            }
            state.captures.set(capture.id, capture)
            order.captures.push(capture.id)
          } else {
            const authorization: AuthorizationState = {
              id: nextId(state, "AUTH"),
              orderId: order.id,
              status: "CREATED",
              amount: order.amount,
              customId: order.customId,
              invoiceId: order.invoiceId
            }
            state.authorizations.set(authorization.id, authorization)
            order.authorizations.push(authorization.id)
          }
          return reply(201, orderJson(state, order))
        }
        case "authorizations.get": {
          const authorization = id === undefined ? undefined : state.authorizations.get(id)
          return authorization === undefined ? paypalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID") : reply(200, authorizationJson(authorization))
        }
        case "authorizations.capture": {
          const authorization = id === undefined ? undefined : state.authorizations.get(id)
          if (authorization === undefined) return paypalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
          if (authorization.status === "VOIDED") return paypalError(422, "UNPROCESSABLE_ENTITY", "AUTHORIZATION_VOIDED")
          if (authorization.status === "CAPTURED") return paypalError(422, "UNPROCESSABLE_ENTITY", "AUTHORIZATION_ALREADY_CAPTURED")
          const amount = amountOf(bodyRecord["amount"]) ?? authorization.amount
          const minor = toMinor(amount)
          const authorized = toMinor(authorization.amount) ?? 0n
          if (minor === undefined || amount.currency_code !== authorization.amount.currency_code) {
            return paypalError(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION")
          }
          if (minor > authorized) return paypalError(422, "UNPROCESSABLE_ENTITY", "MAX_CAPTURE_AMOUNT_EXCEEDED")
          const invoiceId = str(bodyRecord["invoice_id"])
          if (invoiceId !== undefined && [...state.captures.values()].some((c) => c.invoiceId === invoiceId && c.authorizationId !== undefined)) {
            return paypalError(422, "UNPROCESSABLE_ENTITY", "DUPLICATE_INVOICE_ID")
          }
          const capture: CaptureState = {
            id: nextId(state, "CAP"),
            orderId: authorization.orderId,
            authorizationId: authorization.id,
            status: "COMPLETED",
            amount,
            refundedMinor: 0n,
            customId: authorization.customId,
            invoiceId
          }
          state.captures.set(capture.id, capture)
          state.orders.get(authorization.orderId)?.captures.push(capture.id)
          authorization.status = bodyRecord["final_capture"] === true || minor === authorized ? "CAPTURED" : "PARTIALLY_CAPTURED"
          return reply(201, captureJson(state, capture))
        }
        case "authorizations.void": {
          const authorization = id === undefined ? undefined : state.authorizations.get(id)
          if (authorization === undefined) return paypalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
          if (authorization.status === "VOIDED") return paypalError(422, "UNPROCESSABLE_ENTITY", "PREVIOUSLY_VOIDED")
          if (authorization.status !== "CREATED") return paypalError(422, "UNPROCESSABLE_ENTITY", "PREVIOUSLY_CAPTURED")
          authorization.status = "VOIDED"
          return reply(200, authorizationJson(authorization))
        }
        case "captures.get": {
          const capture = id === undefined ? undefined : state.captures.get(id)
          return capture === undefined ? paypalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID") : reply(200, captureJson(state, capture))
        }
        case "captures.refund": {
          const capture = id === undefined ? undefined : state.captures.get(id)
          if (capture === undefined) return paypalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
          if (capture.status === "REFUNDED") return paypalError(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
          if (capture.status === "PENDING") return paypalError(422, "UNPROCESSABLE_ENTITY", "PENDING_CAPTURE")
          const invoiceId = str(bodyRecord["invoice_id"])
          if (invoiceId !== undefined && [...state.refunds.values()].some((r) => r.invoiceId === invoiceId)) {
            return paypalError(422, "UNPROCESSABLE_ENTITY", "DUPLICATE_INVOICE_ID")
          }
          const captured = toMinor(capture.amount) ?? 0n
          const amount = amountOf(bodyRecord["amount"]) ?? fromMinor(capture.amount.currency_code, captured - capture.refundedMinor)
          const minor = toMinor(amount)
          if (minor === undefined || amount.currency_code !== capture.amount.currency_code) return paypalError(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION")
          if (minor + capture.refundedMinor > captured) return paypalError(422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")
          const refund: RefundState = { id: nextId(state, "REF"), captureId: capture.id, amount, invoiceId }
          state.refunds.set(refund.id, refund)
          state.orders.get(capture.orderId)?.refunds.push(refund.id)
          capture.refundedMinor += minor
          capture.status = capture.refundedMinor === captured ? "REFUNDED" : "PARTIALLY_REFUNDED"
          return reply(201, refundJson(refund))
        }
        case "webhooks.verify": {
          const event = bodyRecord["webhook_event"]
          const transmission = state.transmissions.get(str(bodyRecord["transmission_id"]) ?? "")
          const verified = transmission !== undefined &&
            bodyRecord["webhook_id"] === webhookId &&
            bodyRecord["transmission_sig"] === transmission.signature &&
            JSON.stringify(event) === transmission.event &&
            (str(bodyRecord["cert_url"]) ?? "").startsWith(base)
          return reply(200, { verification_status: verified ? "SUCCESS" : "FAILURE" })
        }
        case "health":
          return reply(200, { event_types: [] })
        case "token":
          return reply(500, {})
      }
    }

    const routeOf = (method: string, path: string): { readonly route: Route; readonly id?: string | undefined } | undefined => {
      const m = (re: RegExp) => re.exec(path)
      let match: RegExpExecArray | null
      if (method === "POST" && path === "/v1/oauth2/token") return { route: "token" }
      if (method === "POST" && path === "/v1/notifications/verify-webhook-signature") return { route: "webhooks.verify" }
      if (method === "GET" && path === "/v1/notifications/webhooks-event-types") return { route: "health" }
      if (method === "POST" && path === "/v2/checkout/orders") return { route: "orders.create" }
      if (method === "GET" && (match = m(/^\/v2\/checkout\/orders\/([^/]+)$/)) !== null) return { route: "orders.get", id: match[1] }
      if (method === "POST" && (match = m(/^\/v2\/checkout\/orders\/([^/]+)\/capture$/)) !== null) return { route: "orders.capture", id: match[1] }
      if (method === "POST" && (match = m(/^\/v2\/checkout\/orders\/([^/]+)\/authorize$/)) !== null) return { route: "orders.authorize", id: match[1] }
      if (method === "GET" && (match = m(/^\/v2\/payments\/authorizations\/([^/]+)$/)) !== null) return { route: "authorizations.get", id: match[1] }
      if (method === "POST" && (match = m(/^\/v2\/payments\/authorizations\/([^/]+)\/capture$/)) !== null) return { route: "authorizations.capture", id: match[1] }
      if (method === "POST" && (match = m(/^\/v2\/payments\/authorizations\/([^/]+)\/void$/)) !== null) return { route: "authorizations.void", id: match[1] }
      if (method === "GET" && (match = m(/^\/v2\/payments\/captures\/([^/]+)$/)) !== null) return { route: "captures.get", id: match[1] }
      if (method === "POST" && (match = m(/^\/v2\/payments\/captures\/([^/]+)\/refund$/)) !== null) return { route: "captures.refund", id: match[1] }
      return undefined
    }

    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const text = yield* Effect.orElseSucceed(request.text, () => "")
      const path = request.url.split("?")[0] ?? request.url
      const requestId = request.headers["paypal-request-id"]
      const now = yield* Clock.currentTimeMillis
      const found = routeOf(request.method, path)
      const step = yield* lock.withPermits(1)(Effect.gen(function*() {
        const state = yield* Ref.get(stateRef)
        state.received.push({ method: request.method, path, requestId, body: text })
        if (found === undefined) return { _tag: "reply" as const, reply: paypalError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID") }
        const fault = state.faults.get(found.route)?.shift()
        if (found.route === "token") {
          if (fault !== undefined && fault.kind !== "hang" && fault.kind !== "after") {
            return fault.kind === "raw"
              ? { _tag: "raw" as const, status: fault.status, body: fault.body }
              : { _tag: "reply" as const, reply: reply(fault.kind === "before" ? fault.status : fault.status ?? 401, { error: "invalid_client", error_description: "Client Authentication failed" }) }
          }
          const expected = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`
          if (request.headers["authorization"] !== expected) {
            return { _tag: "reply" as const, reply: reply(401, { error: "invalid_client", error_description: "Client Authentication failed" }) }
          }
          state.tokenRequests += 1
          const token = `A21AAFAKE${nextId(state, "T")}`
          state.tokens.set(token, now + state.tokenLifetimeSeconds * 1000)
          return { _tag: "reply" as const, reply: reply(200, { scope: "https://uri.paypal.com/services/payments", access_token: token, token_type: "Bearer", app_id: "APP-FAKE", expires_in: state.tokenLifetimeSeconds, nonce: "fake" }) }
        }
        const bearer = (request.headers["authorization"] ?? "").replace(/^Bearer /, "")
        const expiresAt = state.tokens.get(bearer)
        if (expiresAt === undefined || now >= expiresAt) {
          return { _tag: "reply" as const, reply: reply(401, { error: "invalid_token", error_description: "Token signature verification failed" }) }
        }
        if (fault?.kind === "before") return { _tag: "reply" as const, reply: paypalError(fault.status, fault.status >= 500 ? "INTERNAL_SERVER_ERROR" : "FAULT", "FAULT_INJECTED") }
        if (fault?.kind === "issue") return { _tag: "reply" as const, reply: paypalError(fault.status ?? 422, "UNPROCESSABLE_ENTITY", fault.issue) }
        if (fault?.kind === "raw") return { _tag: "raw" as const, status: fault.status, body: fault.body }
        const replayKey = requestId === undefined || request.method !== "POST" ? undefined : `${path}|${requestId}`
        const replayed = replayKey === undefined ? undefined : state.replays.get(replayKey)
        let answer: Reply
        if (replayed !== undefined) {
          answer = reply(200, parse(replayed.body))
        } else {
          answer = apply(state, found.route, found.id, parse(text), now)
          if (replayKey !== undefined && answer.status < 300) state.replays.set(replayKey, { body: JSON.stringify(answer.body) })
        }
        if (fault?.kind === "after") return { _tag: "reply" as const, reply: paypalError(fault.status, "INTERNAL_SERVER_ERROR", "FAULT_AFTER_APPLYING") }
        if (fault?.kind === "hang") return { _tag: "hang" as const }
        return { _tag: "reply" as const, reply: answer }
      }))
      if (found !== undefined) {
        yield* lock.withPermits(1)(Effect.gen(function*() {
          const state = yield* Ref.get(stateRef)
          const count = (state.arrivals.get(found.route) ?? 0) + 1
          state.arrivals.set(found.route, count)
          for (const waiter of state.waiters.filter((w) => w.route === found.route && w.count <= count)) {
            yield* Deferred.succeed(waiter.deferred, undefined)
          }
        }))
      }
      switch (step._tag) {
        case "reply":
          return json(step.reply.status, step.reply.body)
        case "raw":
          return HttpServerResponse.text(step.body, { status: step.status, contentType: "application/json" })
        case "hang":
          yield* Deferred.await(release)
          return error(500, "INTERNAL_SERVER_ERROR")
      }
    })

    const running = yield* FakeServer.serve(app)
    // runs before the server's own finalizer: a hung request answers, so the server can close
    yield* Effect.addFinalizer(() => Deferred.succeed(release, undefined))
    base = running.url

    const withState = <A>(f: (state: State) => A): Effect.Effect<A> =>
      lock.withPermits(1)(Effect.map(Ref.get(stateRef), f))

    const fake: FakePayPal = {
      url: running.url,
      clientId,
      clientSecret,
      webhookId,
      approve: (orderId) =>
        withState((state) => {
          const order = state.orders.get(orderId)
          if (order !== undefined && (order.status === "CREATED" || order.status === "PAYER_ACTION_REQUIRED")) order.status = "APPROVED"
        }),
      pendCapture: (orderId) =>
        withState((state) => {
          const order = state.orders.get(orderId)
          if (order !== undefined) order.pendingCapture = true
        }),
      fail: (route, fault) =>
        withState((state) => {
          const queue = state.faults.get(route) ?? []
          queue.push(fault)
          state.faults.set(route, queue)
        }),
      setTokenLifetime: (seconds) => withState((state) => { state.tokenLifetimeSeconds = seconds }),
      revokeTokens: withState((state) => state.tokens.clear()),
      tokenRequests: withState((state) => state.tokenRequests),
      received: withState((state) => [...state.received]),
      order: (orderId) => withState((state) => { const o = state.orders.get(orderId); return o === undefined ? undefined : orderJson(state, o) }),
      captureCount: withState((state) => state.captures.size),
      waitFor: (route, count = 1) =>
        Effect.gen(function*() {
          const deferred = yield* Deferred.make<void>()
          yield* withState((state) => {
            if ((state.arrivals.get(route) ?? 0) >= count) return true
            state.waiters.push({ route, count, deferred })
            return false
          }).pipe(Effect.flatMap((done) => (done ? Effect.void : Deferred.await(deferred))))
        }),
      resource: (kind, resourceId) =>
        withState((state) => {
          switch (kind) {
            case "capture": { const c = state.captures.get(resourceId); return c === undefined ? undefined : captureJson(state, c) }
            case "authorization": { const a = state.authorizations.get(resourceId); return a === undefined ? undefined : authorizationJson(a) }
            case "refund": { const r = state.refunds.get(resourceId); return r === undefined ? undefined : refundJson(r) }
            case "order": { const o = state.orders.get(resourceId); return o === undefined ? undefined : orderJson(state, o) }
          }
        }),
      webhook: (eventType, resource) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          return yield* withState((state) => {
            const eventId = nextId(state, "WH-")
            const transmissionId = nextId(state, "tx")
            const time = new Date(now).toISOString()
            const event = JSON.stringify({ id: eventId, event_version: "1.0", create_time: time, resource_type: eventType.split(".")[1]?.toLowerCase() ?? "unknown", event_type: eventType, summary: eventType, resource })
            const signature = createHmac("sha256", signingKey).update(`${transmissionId}|${time}|${webhookId}|${event}`).digest("base64")
            state.transmissions.set(transmissionId, { signature, event })
            return {
              eventId,
              body: new TextEncoder().encode(event),
              headers: {
                "paypal-auth-algo": "SHA256withRSA",
                "paypal-cert-url": `${base}/v1/notifications/certs/CERT-FAKE`,
                "paypal-transmission-id": transmissionId,
                "paypal-transmission-sig": signature,
                "paypal-transmission-time": time,
                "content-type": "application/json"
              }
            }
          })
        })
    }
    return fake
  })
