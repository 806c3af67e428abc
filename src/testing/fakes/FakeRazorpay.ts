/**
 * An in-process fake of Razorpay's Orders, Payments and Refunds APIs, served on a loopback port
 * (an `HttpRouter` over a `Ref`), for testing the Razorpay adapter over real HTTP.
 *
 * What it reproduces, from Razorpay's documentation:
 * - Basic auth with the key id and secret (401 otherwise);
 * - orders (`POST /v1/orders` with `amount`, `currency`, `receipt` ≤ 40 characters, `notes` ≤ 15
 *   pairs of ≤ 256 characters, `payment.capture` automatic or manual; any other field refused as
 *   Razorpay does), `GET /v1/orders?receipt=`, `GET /v1/orders/{id}`, `GET /v1/orders/{id}/payments`;
 * - payments (`GET /v1/payments/{id}`, `GET /v1/payments`), capture of the whole authorized
 *   amount only (`POST /v1/payments/{id}/capture`; "already captured" is a 400);
 * - refunds (`POST /v1/payments/{id}/refund`) with `X-Refund-Idempotency`: the same key and body
 *   answer the first refund again, the same key with another body is a 400; `GET
 *   /v1/payments/{id}/refunds`;
 * - an unknown id is a 400 `BAD_REQUEST_ERROR` "The id provided does not exist"; error bodies
 *   are `{ error: { code, description, source, step, reason, metadata } }`;
 * - the customer paying in Checkout ({@link FakeRazorpay.pay}): a payment captured, authorized,
 *   failed or in progress on the order, and the checkout signature Razorpay hands the browser;
 * - webhooks signed as Razorpay signs them ({@link FakeRazorpay.webhook});
 * - faults ({@link Fault}): an error status without applying, an answer (5xx, not JSON) after
 *   applying, no answer at all after applying (the client times out).
 *
 * What it does not: Razorpay's checkout page, payment methods, fees, settlements, disputes
 * beyond the webhook, rate limits (use a `Status` fault with 429).
 *
 * @since 0.2.0
 */
import type { HttpServerError } from "@effect/platform"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { Scope } from "effect"
import { Clock, Effect, Either, Option, Redacted, Ref, Schema } from "effect"
import { createHmac } from "node:crypto"
import * as FakeServer from "./FakeServer.js"

/**
 * The settings of a fake.
 *
 * @since 0.2.0
 */
export interface Options {
  /** Default `rzp_test_FakeRazorpayKey1`. */
  readonly keyId?: string | undefined
  /** Default `fake_key_secret`. */
  readonly keySecret?: string | undefined
  /** Default `fake_webhook_secret`. */
  readonly webhookSecret?: string | undefined
  /**
   * Whether a payment carries its order's notes (Razorpay's documentation does not say; the
   * default `false` makes webhook parsing read the order, the safe assumption).
   */
  readonly copyOrderNotesToPayments?: boolean | undefined
}

/**
 * What Razorpay Checkout hands the customer's browser after a successful payment.
 *
 * @since 0.2.0
 */
export type CheckoutReturn = {
  readonly razorpay_payment_id: string
  readonly razorpay_order_id: string
  readonly razorpay_signature: string
}

/**
 * How the customer's try ends: `captured`, `authorized` (a manual-capture order, or a late
 * authorization on an automatic one), `failed`, or `created` (still in progress). Default: as the
 * order's capture setting says (`captured` for automatic, `authorized` for manual).
 *
 * @since 0.2.0
 */
export type PayOutcome = "captured" | "authorized" | "failed" | "created"

/**
 * Which requests a fault applies to (all when empty): the method and a substring of the path.
 *
 * @since 0.2.0
 */
export interface Match {
  readonly method?: "GET" | "POST" | undefined
  readonly path?: string | undefined
}

/**
 * A fault for the next matching request (each is used once, in order):
 * - `Status`: answer `status` with `body` (JSON) or `text`, without applying anything;
 * - `AnswerAfterApplying`: apply the request, then answer `status` with `text` (a 502 after the
 *   refund was made, a 200 that is not JSON);
 * - `TimeoutAfterApplying`: apply the request and never answer.
 *
 * @since 0.2.0
 */
export type Fault =
  | { readonly _tag: "Status"; readonly status: number; readonly body?: unknown; readonly text?: string | undefined; readonly match?: Match | undefined }
  | { readonly _tag: "AnswerAfterApplying"; readonly status: number; readonly text: string; readonly match?: Match | undefined }
  | { readonly _tag: "TimeoutAfterApplying"; readonly match?: Match | undefined }

/**
 * A request the fake received (for assertions on what an adapter sent).
 *
 * @since 0.2.0
 */
export interface Received {
  readonly method: string
  readonly path: string
  readonly body: unknown
  readonly refundIdempotency: string | undefined
}

/**
 * A webhook as Razorpay sends it: lower-cased headers and the exact body bytes.
 *
 * @since 0.2.0
 */
export interface SignedWebhook {
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

interface OrderRec {
  readonly id: string
  readonly amount: number
  readonly currency: string
  readonly receipt: string | null
  readonly notes: Readonly<Record<string, string>>
  readonly capture: "automatic" | "manual"
  readonly createdAt: number
}

interface PaymentRec {
  readonly id: string
  readonly orderId: string
  readonly amount: number
  readonly currency: string
  readonly status: "created" | "authorized" | "captured" | "refunded" | "failed"
  readonly captured: boolean
  readonly amountRefunded: number
  readonly notes: Readonly<Record<string, string>>
  readonly errorReason: string | null
  readonly errorDescription: string | null
  readonly createdAt: number
}

interface RefundRec {
  readonly id: string
  readonly paymentId: string
  readonly amount: number
  readonly currency: string
  readonly status: "pending" | "processed" | "failed"
  readonly notes: Readonly<Record<string, string>>
  readonly createdAt: number
}

interface State {
  readonly seq: number
  readonly orders: ReadonlyArray<OrderRec>
  readonly payments: ReadonlyArray<PaymentRec>
  readonly refunds: ReadonlyArray<RefundRec>
  readonly refundKeys: ReadonlyMap<string, { readonly body: string; readonly refundId: string }>
  readonly faults: ReadonlyArray<Fault>
  readonly received: ReadonlyArray<Received>
}

/**
 * A running fake.
 *
 * @since 0.2.0
 */
export interface FakeRazorpay {
  /** The base URL to give the adapter as `apiBase`. */
  readonly url: string
  readonly keyId: Redacted.Redacted<string>
  readonly keySecret: Redacted.Redacted<string>
  readonly webhookSecret: Redacted.Redacted<string>
  /** The customer pays the order in Checkout; answers what Checkout hands the browser. */
  readonly pay: (orderId: string, options?: { readonly outcome?: PayOutcome; readonly reason?: string }) => Effect.Effect<CheckoutReturn>
  /** The next matching request meets `fault`. */
  readonly inject: (fault: Fault) => Effect.Effect<void>
  /** A refund made in the Razorpay Dashboard (no AegisPay notes). */
  readonly dashboardRefund: (paymentId: string, amount: number) => Effect.Effect<string>
  /** Razorpay refunds an uncaptured authorization by itself (the capture window passed). */
  readonly autoRefund: (paymentId: string) => Effect.Effect<string>
  /** A webhook for `event` about the given entities, signed with the webhook secret (or `secret`). */
  readonly webhook: (
    event: string,
    about: { readonly paymentId?: string; readonly orderId?: string; readonly refundId?: string; readonly dispute?: { readonly id: string; readonly reasonCode?: string } },
    options?: { readonly eventId?: string; readonly secret?: string }
  ) => Effect.Effect<SignedWebhook>
  /** The order, payment, refunds as Razorpay would answer them (JSON), for assertions. */
  readonly order: (orderId: string) => Effect.Effect<Option.Option<unknown>>
  readonly payment: (paymentId: string) => Effect.Effect<Option.Option<{ readonly status: string; readonly captured: boolean; readonly amountRefunded: number }>>
  readonly orders: Effect.Effect<ReadonlyArray<{ readonly id: string; readonly receipt: string | null; readonly notes: Readonly<Record<string, string>>; readonly capture: string }>>
  readonly refunds: (paymentId: string) => Effect.Effect<ReadonlyArray<{ readonly id: string; readonly amount: number; readonly notes: Readonly<Record<string, string>> }>>
  /** Every request received, oldest first. */
  readonly received: Effect.Effect<ReadonlyArray<Received>>
}

const hmacHex = (secret: string, data: string | Uint8Array): string => createHmac("sha256", secret).update(data).digest("hex")

const notesJson = (notes: Readonly<Record<string, string>>): unknown => (Object.keys(notes).length === 0 ? [] : notes)

const errorBody = (
  code: string,
  description: string,
  extra: { readonly source?: string; readonly step?: string; readonly reason?: string; readonly field?: string } = {}
) => ({
  error: {
    code,
    description,
    source: extra.source ?? "business",
    step: extra.step ?? "payment_initiation",
    reason: extra.reason ?? "input_validation_failed",
    ...(extra.field === undefined ? {} : { field: extra.field }),
    metadata: {}
  }
})

const badRequest = (description: string, field?: string) =>
  HttpServerResponse.unsafeJson(errorBody("BAD_REQUEST_ERROR", description, field === undefined ? {} : { field }), { status: 400 })

const unknownId = () => badRequest("The id provided does not exist")

const orderJson = (order: OrderRec, payments: ReadonlyArray<PaymentRec>) => {
  const mine = payments.filter((p) => p.orderId === order.id)
  const paid = mine.find((p) => p.captured)
  return {
    id: order.id,
    entity: "order",
    amount: order.amount,
    amount_paid: paid === undefined ? 0 : order.amount,
    amount_due: paid === undefined ? order.amount : 0,
    currency: order.currency,
    receipt: order.receipt,
    offer_id: null,
    status: paid !== undefined ? "paid" : mine.length > 0 ? "attempted" : "created",
    attempts: mine.length,
    notes: notesJson(order.notes),
    created_at: order.createdAt
  }
}

const paymentJson = (p: PaymentRec) => ({
  id: p.id,
  entity: "payment",
  amount: p.amount,
  currency: p.currency,
  status: p.status,
  order_id: p.orderId,
  invoice_id: null,
  international: false,
  method: "card",
  amount_refunded: p.amountRefunded,
  refund_status: p.amountRefunded === 0 ? null : p.amountRefunded === p.amount ? "full" : "partial",
  captured: p.captured,
  description: null,
  notes: notesJson(p.notes),
  error_code: p.status === "failed" ? "BAD_REQUEST_ERROR" : null,
  error_description: p.errorDescription,
  error_source: p.status === "failed" ? "bank" : null,
  error_step: p.status === "failed" ? "payment_authorization" : null,
  error_reason: p.errorReason,
  created_at: p.createdAt
})

const refundJson = (r: RefundRec) => ({
  id: r.id,
  entity: "refund",
  amount: r.amount,
  currency: r.currency,
  payment_id: r.paymentId,
  notes: notesJson(r.notes),
  receipt: null,
  acquirer_data: { arn: null },
  created_at: r.createdAt,
  batch_id: null,
  status: r.status,
  speed_processed: "normal",
  speed_requested: "normal"
})

const collection = (items: ReadonlyArray<unknown>) => ({ entity: "collection", count: items.length, items })

const OrderBody = Schema.Struct({
  amount: Schema.Number,
  currency: Schema.String,
  receipt: Schema.optional(Schema.String),
  notes: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  partial_payment: Schema.optional(Schema.Boolean),
  payment: Schema.optional(Schema.Struct({
    capture: Schema.Literal("automatic", "manual"),
    capture_options: Schema.optional(Schema.Struct({
      automatic_expiry_period: Schema.optional(Schema.Number),
      manual_expiry_period: Schema.optional(Schema.Number),
      refund_speed: Schema.optional(Schema.Literal("normal", "optimum"))
    }))
  }))
})
const orderFields = new Set(["amount", "currency", "receipt", "notes", "partial_payment", "payment"])

const CaptureBody = Schema.Struct({ amount: Schema.Number, currency: Schema.optional(Schema.String) })

const RefundBody = Schema.Struct({
  amount: Schema.optional(Schema.Number),
  speed: Schema.optional(Schema.Literal("normal", "optimum")),
  notes: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  receipt: Schema.optional(Schema.String)
})

const keysOf = (value: unknown): ReadonlyArray<string> => (typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [])

const decodeBody = <A, I>(schema: Schema.Schema<A, I>, raw: unknown): Either.Either<A, string> =>
  Either.mapLeft(Schema.decodeUnknownEither(schema)(raw), () => "The request body is invalid")

const matches = (fault: Fault, method: string, path: string): boolean =>
  (fault.match?.method === undefined || fault.match.method === method) &&
  (fault.match?.path === undefined || path.includes(fault.match.path))

const pad = (n: number) => String(n).padStart(14, "0")

/**
 * Serves a fake Razorpay until the scope closes.
 *
 * @since 0.2.0
 */
export const make = (options: Options = {}): Effect.Effect<FakeRazorpay, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const keyId = options.keyId ?? "rzp_test_FakeRazorpayKey1"
    const keySecret = options.keySecret ?? "fake_key_secret"
    const webhookSecret = options.webhookSecret ?? "fake_webhook_secret"
    const copyNotes = options.copyOrderNotesToPayments ?? false
    const expectedAuth = `Basic ${Buffer.from(`${keyId}:${keySecret}`, "utf8").toString("base64")}`
    const state = yield* Ref.make<State>({
      seq: 0,
      orders: [],
      payments: [],
      refunds: [],
      refundKeys: new Map(),
      faults: [],
      received: []
    })
    const now = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))
    const nextId = (prefix: string) => Ref.modify(state, (s) => [`${prefix}_${pad(s.seq + 1)}`, { ...s, seq: s.seq + 1 }] as const)

    const bodyOf = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.map(Effect.orElseSucceed(request.text, () => ""), (text): unknown => {
        if (text.length === 0) return undefined
        try {
          const parsed: unknown = JSON.parse(text)
          return parsed
        } catch {
          return text
        }
      }))

    const createOrder = Effect.gen(function*() {
      const raw = yield* bodyOf
      const extra = keysOf(raw).filter((k) => !orderFields.has(k))
      if (extra.length > 0) return badRequest(`${extra.join(", ")} is/are not required and should not be sent`, extra[0])
      const decoded = decodeBody(OrderBody, raw)
      if (Either.isLeft(decoded)) return badRequest(decoded.left)
      const body = decoded.right
      if (!Number.isInteger(body.amount) || body.amount < 100) return badRequest("Order amount less than minimum amount allowed", "amount")
      if (!/^[A-Z]{3}$/.test(body.currency)) return badRequest("The currency is invalid", "currency")
      if (body.receipt !== undefined && body.receipt.length > 40) return badRequest("The receipt may not be greater than 40 characters.", "receipt")
      const notes = body.notes ?? {}
      if (Object.keys(notes).length > 15) return badRequest("Number of fields in notes should be less than or equal to 15", "notes")
      if (Object.entries(notes).some(([k, v]) => k.length > 256 || v.length > 256)) return badRequest("Notes value may not be greater than 256 characters", "notes")
      const options = body.payment?.capture_options
      if (body.payment?.capture === "automatic" && options?.automatic_expiry_period === undefined) {
        return badRequest("automatic_expiry_period is required when capture is automatic", "payment")
      }
      const id = yield* nextId("order")
      const createdAt = yield* now
      const order: OrderRec = {
        id,
        amount: body.amount,
        currency: body.currency,
        receipt: body.receipt ?? null,
        notes,
        capture: body.payment?.capture ?? "automatic",
        createdAt
      }
      const s = yield* Ref.updateAndGet(state, (s) => ({ ...s, orders: [...s.orders, order] }))
      return HttpServerResponse.unsafeJson(orderJson(order, s.payments))
    })

    const listOrders = Effect.gen(function*() {
      const params = yield* HttpServerRequest.ParsedSearchParams
      const receipt = typeof params.receipt === "string" ? params.receipt : undefined
      const s = yield* Ref.get(state)
      const items = s.orders.filter((o) => receipt === undefined || o.receipt === receipt).slice().reverse()
      return HttpServerResponse.unsafeJson(collection(items.map((o) => orderJson(o, s.payments))))
    })

    const routeId = Effect.map(HttpRouter.params, (p) => p.id ?? "")

    const getOrder = Effect.gen(function*() {
      const id = yield* routeId
      const s = yield* Ref.get(state)
      const order = s.orders.find((o) => o.id === id)
      return order === undefined ? unknownId() : HttpServerResponse.unsafeJson(orderJson(order, s.payments))
    })

    const orderPayments = Effect.gen(function*() {
      const id = yield* routeId
      const s = yield* Ref.get(state)
      if (!s.orders.some((o) => o.id === id)) return unknownId()
      return HttpServerResponse.unsafeJson(collection(s.payments.filter((p) => p.orderId === id).map(paymentJson)))
    })

    const listPayments = Effect.map(Ref.get(state), (s) => HttpServerResponse.unsafeJson(collection(s.payments.slice(-1).map(paymentJson))))

    const getPayment = Effect.gen(function*() {
      const id = yield* routeId
      const s = yield* Ref.get(state)
      const payment = s.payments.find((p) => p.id === id)
      return payment === undefined ? unknownId() : HttpServerResponse.unsafeJson(paymentJson(payment))
    })

    const replacePayment = (payment: PaymentRec) =>
      Ref.update(state, (s) => ({ ...s, payments: s.payments.map((p) => (p.id === payment.id ? payment : p)) }))

    const capturePayment = Effect.gen(function*() {
      const id = yield* routeId
      const decoded = decodeBody(CaptureBody, yield* bodyOf)
      if (Either.isLeft(decoded)) return badRequest("The amount field is required.", "amount")
      const payment = (yield* Ref.get(state)).payments.find((p) => p.id === id)
      if (payment === undefined) return unknownId()
      if (payment.status === "captured" || payment.captured) return badRequest("This payment has already been captured")
      if (payment.status !== "authorized") return badRequest("Only payments which have been authorized and not yet captured can be captured")
      if (decoded.right.amount !== payment.amount) return badRequest("Capture amount must be equal to the amount authorized", "amount")
      if (decoded.right.currency !== undefined && decoded.right.currency !== payment.currency) return badRequest("The currency should be same as the payment currency", "currency")
      const captured: PaymentRec = { ...payment, status: "captured", captured: true }
      yield* replacePayment(captured)
      return HttpServerResponse.unsafeJson(paymentJson(captured))
    })

    const addRefund = (payment: PaymentRec, amount: number, notes: Readonly<Record<string, string>>) =>
      Effect.gen(function*() {
        const id = yield* nextId("rfnd")
        const createdAt = yield* now
        const refund: RefundRec = { id, paymentId: payment.id, amount, currency: payment.currency, status: "processed", notes, createdAt }
        const refundedTotal = payment.amountRefunded + amount
        const updated: PaymentRec = {
          ...payment,
          amountRefunded: refundedTotal,
          status: refundedTotal === payment.amount ? "refunded" : payment.status
        }
        yield* Ref.update(state, (s) => ({
          ...s,
          refunds: [...s.refunds, refund],
          payments: s.payments.map((p) => (p.id === payment.id ? updated : p))
        }))
        return refund
      })

    const refundPayment = Effect.gen(function*() {
      const id = yield* routeId
      const request = yield* HttpServerRequest.HttpServerRequest
      const raw = yield* bodyOf
      const key = request.headers["x-refund-idempotency"]
      if (key !== undefined && !/^[A-Za-z0-9_-]{10,}$/.test(key)) {
        return badRequest("The idempotency key must be at least 10 characters of letters, digits, hyphens and underscores")
      }
      const bodyText = JSON.stringify(raw ?? null)
      if (key !== undefined) {
        const seen = (yield* Ref.get(state)).refundKeys.get(key)
        if (seen !== undefined) {
          if (seen.body !== bodyText) {
            return HttpServerResponse.unsafeJson(
              errorBody("BAD_REQUEST_ERROR", "Different request with the same idempotency key has already been processed.", { source: "NA", step: "NA", reason: "NA" }),
              { status: 400 }
            )
          }
          const first = (yield* Ref.get(state)).refunds.find((r) => r.id === seen.refundId)
          if (first !== undefined) return HttpServerResponse.unsafeJson(refundJson(first))
        }
      }
      const decoded = decodeBody(RefundBody, raw)
      if (Either.isLeft(decoded)) return badRequest(decoded.left)
      const payment = (yield* Ref.get(state)).payments.find((p) => p.id === id)
      if (payment === undefined) return unknownId()
      if (!payment.captured) return badRequest("The payment has not been captured, refunds are allowed only on captured payments")
      const amount = decoded.right.amount ?? payment.amount - payment.amountRefunded
      if (!Number.isInteger(amount) || amount <= 0) return badRequest("The amount must be at least 1", "amount")
      if (amount > payment.amount - payment.amountRefunded) {
        return badRequest("The refund amount provided is greater than amount captured", "amount")
      }
      const refund = yield* addRefund(payment, amount, decoded.right.notes ?? {})
      if (key !== undefined) {
        yield* Ref.update(state, (s) => ({ ...s, refundKeys: new Map([...s.refundKeys, [key, { body: bodyText, refundId: refund.id }]]) }))
      }
      return HttpServerResponse.unsafeJson(refundJson(refund))
    })

    const paymentRefunds = Effect.gen(function*() {
      const id = yield* routeId
      const s = yield* Ref.get(state)
      if (!s.payments.some((p) => p.id === id)) return unknownId()
      return HttpServerResponse.unsafeJson(collection(s.refunds.filter((r) => r.paymentId === id).map(refundJson)))
    })

    const router = HttpRouter.empty.pipe(
      HttpRouter.post("/v1/orders", createOrder),
      HttpRouter.get("/v1/orders", listOrders),
      HttpRouter.get("/v1/orders/:id", getOrder),
      HttpRouter.get("/v1/orders/:id/payments", orderPayments),
      HttpRouter.get("/v1/payments", listPayments),
      HttpRouter.get("/v1/payments/:id", getPayment),
      HttpRouter.post("/v1/payments/:id/capture", capturePayment),
      HttpRouter.post("/v1/payments/:id/refund", refundPayment),
      HttpRouter.get("/v1/payments/:id/refunds", paymentRefunds)
    )
    const routes = yield* HttpRouter.toHttpApp(router)

    const app = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = request.url.split("?")[0] ?? request.url
      const body = yield* bodyOf
      const refundIdempotency = request.headers["x-refund-idempotency"]
      yield* Ref.update(state, (s) => ({ ...s, received: [...s.received, { method: request.method, path, body, refundIdempotency }] }))
      if (request.headers.authorization !== expectedAuth) {
        return HttpServerResponse.unsafeJson(
          errorBody("BAD_REQUEST_ERROR", "Authentication failed", { source: "NA", step: "NA", reason: "NA" }),
          { status: 401 }
        )
      }
      const fault = yield* Ref.modify(state, (s): readonly [Fault | undefined, State] => {
        const index = s.faults.findIndex((f) => matches(f, request.method, path))
        if (index < 0) return [undefined, s]
        return [s.faults[index], { ...s, faults: s.faults.filter((_, i) => i !== index) }]
      })
      if (fault?._tag === "Status") {
        return fault.text !== undefined
          ? HttpServerResponse.text(fault.text, { status: fault.status })
          : HttpServerResponse.unsafeJson(fault.body ?? errorBody("SERVER_ERROR", "We are facing some trouble completing your request at the moment. Please try again shortly.", { source: "NA", step: "NA", reason: "NA" }), { status: fault.status })
      }
      const response = yield* routes
      if (fault?._tag === "TimeoutAfterApplying") return yield* Effect.never
      if (fault?._tag === "AnswerAfterApplying") return HttpServerResponse.text(fault.text, { status: fault.status })
      return response
    }).pipe(
      Effect.catchAll(() => Effect.succeed(HttpServerResponse.unsafeJson(errorBody("BAD_REQUEST_ERROR", "The requested URL was not found on the server."), { status: 404 })))
    )

    const running = yield* FakeServer.serve(app)

    const pay = (orderId: string, payOptions: { readonly outcome?: PayOutcome; readonly reason?: string } = {}) =>
      Effect.gen(function*() {
        const s = yield* Ref.get(state)
        const order = s.orders.find((o) => o.id === orderId)
        if (order === undefined) return yield* Effect.dieMessage(`FakeRazorpay.pay: no order ${orderId}`)
        const outcome: PayOutcome = payOptions.outcome ?? (order.capture === "automatic" ? "captured" : "authorized")
        const alreadyPaid = s.payments.some((p) => p.orderId === orderId && p.captured)
        const id = yield* nextId("pay")
        const createdAt = yield* now
        const failed = outcome === "failed"
        const payment: PaymentRec = {
          id,
          orderId,
          amount: order.amount,
          currency: order.currency,
          status: alreadyPaid && (outcome === "captured" || outcome === "authorized") ? "refunded" : outcome,
          captured: !alreadyPaid && outcome === "captured",
          amountRefunded: alreadyPaid && (outcome === "captured" || outcome === "authorized") ? order.amount : 0,
          notes: copyNotes ? order.notes : {},
          errorReason: failed ? (payOptions.reason ?? "payment_failed") : null,
          errorDescription: failed ? "Payment failed" : null,
          createdAt
        }
        yield* Ref.update(state, (s) => ({ ...s, payments: [...s.payments, payment] }))
        return {
          razorpay_payment_id: id,
          razorpay_order_id: orderId,
          razorpay_signature: hmacHex(keySecret, `${orderId}|${id}`)
        }
      })

    const findPayment = (paymentId: string) =>
      Effect.flatMap(Ref.get(state), (s) => {
        const payment = s.payments.find((p) => p.id === paymentId)
        return payment === undefined ? Effect.dieMessage(`FakeRazorpay: no payment ${paymentId}`) : Effect.succeed(payment)
      })

    const webhook = (
      event: string,
      about: { readonly paymentId?: string; readonly orderId?: string; readonly refundId?: string; readonly dispute?: { readonly id: string; readonly reasonCode?: string } },
      webhookOptions: { readonly eventId?: string; readonly secret?: string } = {}
    ) =>
      Effect.gen(function*() {
        const s = yield* Ref.get(state)
        const createdAt = yield* now
        const payload: Record<string, unknown> = {}
        const contains: Array<string> = []
        const refund = about.refundId === undefined ? undefined : s.refunds.find((r) => r.id === about.refundId)
        const paymentId = about.paymentId ?? refund?.paymentId
        const payment = paymentId === undefined ? undefined : s.payments.find((p) => p.id === paymentId)
        if (refund !== undefined) {
          payload.refund = { entity: refundJson(refund) }
          contains.push("refund")
        }
        if (payment !== undefined) {
          payload.payment = { entity: paymentJson(payment) }
          contains.push("payment")
        }
        const order = about.orderId === undefined ? undefined : s.orders.find((o) => o.id === about.orderId)
        if (order !== undefined) {
          payload.order = { entity: orderJson(order, s.payments) }
          contains.push("order")
        }
        if (about.dispute !== undefined) {
          payload.dispute = {
            entity: {
              id: about.dispute.id,
              entity: "dispute",
              payment_id: payment?.id,
              amount: payment?.amount ?? 0,
              currency: payment?.currency ?? "INR",
              status: event.slice("payment.dispute.".length),
              phase: "chargeback",
              reason_code: about.dispute.reasonCode ?? "fraud"
            }
          }
          contains.push("dispute")
        }
        const eventId = webhookOptions.eventId ?? (yield* nextId("evt"))
        const text = JSON.stringify({ entity: "event", account_id: "acc_FakeRazorpay01", event, contains, payload, created_at: createdAt })
        const bytes = new TextEncoder().encode(text)
        return {
          headers: {
            "content-type": "application/json",
            "x-razorpay-signature": hmacHex(webhookOptions.secret ?? webhookSecret, bytes),
            "x-razorpay-event-id": eventId
          },
          body: bytes
        }
      })

    const fake: FakeRazorpay = {
      url: running.url,
      keyId: Redacted.make(keyId),
      keySecret: Redacted.make(keySecret),
      webhookSecret: Redacted.make(webhookSecret),
      pay,
      inject: (fault) => Ref.update(state, (s) => ({ ...s, faults: [...s.faults, fault] })),
      dashboardRefund: (paymentId, amount) =>
        Effect.map(Effect.flatMap(findPayment(paymentId), (p) => addRefund(p, amount, {})), (r) => r.id),
      autoRefund: (paymentId) =>
        Effect.gen(function*() {
          const payment = yield* findPayment(paymentId)
          if (payment.status !== "authorized") return yield* Effect.dieMessage(`FakeRazorpay.autoRefund: ${paymentId} is ${payment.status}`)
          const refund = yield* addRefund(payment, payment.amount, {})
          yield* replacePayment({ ...payment, status: "refunded", amountRefunded: payment.amount })
          return refund.id
        }),
      webhook,
      order: (orderId) =>
        Effect.map(Ref.get(state), (s) => Option.map(Option.fromNullable(s.orders.find((o) => o.id === orderId)), (o) => orderJson(o, s.payments))),
      payment: (paymentId) =>
        Effect.map(Ref.get(state), (s) =>
          Option.map(Option.fromNullable(s.payments.find((p) => p.id === paymentId)), (p) => ({
            status: p.status,
            captured: p.captured,
            amountRefunded: p.amountRefunded
          }))),
      orders: Effect.map(Ref.get(state), (s) => s.orders.map((o) => ({ id: o.id, receipt: o.receipt, notes: o.notes, capture: o.capture }))),
      refunds: (paymentId) =>
        Effect.map(Ref.get(state), (s) => s.refunds.filter((r) => r.paymentId === paymentId).map((r) => ({ id: r.id, amount: r.amount, notes: r.notes }))),
      received: Effect.map(Ref.get(state), (s) => s.received)
    }
    return fake
  })
