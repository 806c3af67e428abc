/**
 * The Razorpay REST calls the adapter makes, on `internal/http.ts`: Basic auth with the key id
 * and secret, JSON bodies, one per-call timeout, every answer decoded with `Schema` and every
 * failure classified by the error table (`errors.ts`). No retry happens here.
 *
 * Money-moving calls (capture, refund) classify any doubt as an unknown outcome; every other
 * call is a read or moves no money (creating an order), and its errors are
 * {@link GatewayReadError}s.
 *
 * @internal
 */
import { HttpClientRequest } from "@effect/platform"
import type { HttpClient } from "@effect/platform"
import type { Duration, Redacted, Schema } from "effect"
import { Effect } from "effect"
import type { GatewayReadError } from "../../gateway/Gateway.js"
import { GatewayMisconfigured, GatewayTransientError } from "../../gateway/Gateway.js"
import type { Answer, CallOptions } from "../internal/http.js"
import { call, decode } from "../internal/http.js"
import type { AnswerError } from "./errors.js"
import { classify, isSuccess, isUnknownId } from "./errors.js"
import * as Wire from "./wire.js"

/** What every call needs. */
export interface Settings {
  /** The gateway's registry id (in every error). */
  readonly gateway: string
  readonly keyId: Redacted.Redacted<string>
  readonly keySecret: Redacted.Redacted<string>
  /** `https://api.razorpay.com`, or a fake's URL; no trailing slash. */
  readonly apiBase: string
  readonly timeout: Duration.DurationInput
}

/** One call's shape. */
interface Call {
  readonly method: "GET" | "POST"
  readonly path: string
  readonly operation: string
  readonly moneyMoving: boolean
  readonly body?: unknown
  readonly urlParams?: Readonly<Record<string, string>>
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * The calls, bound to one client and one set of credentials.
 */
export const make = (client: HttpClient.HttpClient, settings: Settings) => {
  const options = (c: Call): CallOptions => ({
    gateway: settings.gateway,
    operation: c.operation,
    moneyMoving: c.moneyMoving,
    timeout: settings.timeout
  })

  /** Sends a call and reads the whole answer, whatever its status. */
  const exchange = (c: Call): Effect.Effect<Answer, AnswerError> => {
    const url = `${settings.apiBase}/v1${c.path}`
    const base = c.method === "GET" ? HttpClientRequest.get(url) : HttpClientRequest.post(url)
    const request = base.pipe(
      HttpClientRequest.basicAuth(settings.keyId, settings.keySecret),
      HttpClientRequest.acceptJson,
      HttpClientRequest.setUrlParams(c.urlParams ?? {}),
      HttpClientRequest.setHeaders(c.headers ?? {}),
      (r) => (c.body === undefined ? r : HttpClientRequest.bodyUnsafeJson(r, c.body))
    )
    return call(client, request, options(c))
  }

  /** Sends a call; a 2xx is decoded with `schema`, anything else classified. */
  const request = <A, I>(c: Call, schema: Schema.Schema<A, I>): Effect.Effect<A, AnswerError> =>
    Effect.flatMap(exchange(c), (answer) =>
      isSuccess(answer) ? decode(schema, answer, options(c)) : Effect.fail(classify(answer, options(c))))

  /**
   * Like {@link request}, but an id Razorpay does not know is `undefined`: Razorpay answers 400
   * `BAD_REQUEST_ERROR` "The id provided does not exist" (a 404 is taken the same way).
   */
  const find = <A, I>(c: Call, schema: Schema.Schema<A, I>): Effect.Effect<A | undefined, AnswerError> =>
    Effect.flatMap(exchange(c), (answer): Effect.Effect<A | undefined, AnswerError> =>
      isUnknownId(answer)
        ? Effect.succeed(undefined)
        : isSuccess(answer)
        ? decode(schema, answer, options(c))
        : Effect.fail(classify(answer, options(c))))

  const encode = encodeURIComponent

  return {
    exchange,
    /** `POST /v1/orders`: moves no money. */
    createOrder: (operation: string, body: unknown) =>
      asRead(request({ method: "POST", path: "/orders", operation, moneyMoving: false, body }, Wire.Order)),
    /** `GET /v1/orders?receipt=…`: the orders made with this receipt (newest first). */
    ordersByReceipt: (operation: string, receipt: string) =>
      asRead(request(
        { method: "GET", path: "/orders", operation, moneyMoving: false, urlParams: { receipt, count: "10" } },
        Wire.Collection(Wire.Order)
      )),
    /** `GET /v1/orders/{id}`; `undefined` when there is no such order. */
    order: (operation: string, orderId: string) =>
      asRead(find({ method: "GET", path: `/orders/${encode(orderId)}`, operation, moneyMoving: false }, Wire.Order)),
    /** `GET /v1/orders/{id}/payments`; `undefined` when there is no such order. */
    orderPayments: (operation: string, orderId: string) =>
      asRead(find(
        { method: "GET", path: `/orders/${encode(orderId)}/payments`, operation, moneyMoving: false },
        Wire.Collection(Wire.Payment)
      )),
    /** `GET /v1/payments/{id}`; `undefined` when there is no such payment. */
    payment: (operation: string, paymentId: string) =>
      asRead(find({ method: "GET", path: `/payments/${encode(paymentId)}`, operation, moneyMoving: false }, Wire.Payment)),
    /** `POST /v1/payments/{id}/capture`: money moves; the raw answer, for the caller to judge a refusal. */
    capture: (operation: string, paymentId: string, amount: number, currency: string) =>
      exchange({
        method: "POST",
        path: `/payments/${encode(paymentId)}/capture`,
        operation,
        moneyMoving: true,
        body: { amount, currency }
      }),
    /** `POST /v1/payments/{id}/refund` with `X-Refund-Idempotency`: money moves. */
    refund: (operation: string, paymentId: string, idempotencyHeader: string, body: unknown) =>
      request({
        method: "POST",
        path: `/payments/${encode(paymentId)}/refund`,
        operation,
        moneyMoving: true,
        headers: { "x-refund-idempotency": idempotencyHeader },
        body
      }, Wire.Refund),
    /** `GET /v1/payments?count=1`: a cheap authenticated read for the health check. */
    ping: (operation: string) =>
      exchange({ method: "GET", path: "/payments", operation, moneyMoving: false, urlParams: { count: "1" } }),
    /** Decodes a 2xx answer of a money-moving call. */
    decodeAnswer: <A, I>(answer: Answer, schema: Schema.Schema<A, I>, operation: string, moneyMoving: boolean) =>
      decode(schema, answer, { gateway: settings.gateway, operation, moneyMoving, timeout: settings.timeout }),
    /** Classifies a non-2xx answer. */
    classify: (answer: Answer, operation: string, moneyMoving: boolean) =>
      classify(answer, { gateway: settings.gateway, operation, moneyMoving, timeout: settings.timeout })
  }
}

/** The calls of {@link make}. */
export type Api = ReturnType<typeof make>

/**
 * The error channel of a call that moves no money: an unknown outcome cannot happen there (the
 * toolkit answers transient for a read), and a decline of a read is a refusal of the request.
 */
export const asRead = <A>(effect: Effect.Effect<A, AnswerError>): Effect.Effect<A, GatewayReadError> =>
  Effect.catchTags(effect, {
    GatewayUnknownOutcome: (e) => Effect.fail(new GatewayTransientError({ gateway: e.gateway, operation: e.operation, reason: e.reason })),
    GatewayDeclined: (e) => Effect.fail(new GatewayMisconfigured({ gateway: e.gateway, reason: `${e.code}: ${e.reason}` }))
  })
