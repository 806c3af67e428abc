/**
 * The API-level middleware of the HTTP service: request ids, the body limit, one rendering of
 * every error, and one structured access log line per request.
 *
 * Guarantees:
 * - **Request id.** Every answer carries `X-Request-Id`: the caller's (when it is 1–128 of
 *   `[A-Za-z0-9._:-]`) or a new `req_…` id. Every log line of the request is annotated with it,
 *   and the access line adds the tenant, API key id and payment id when known.
 * - **Correlation id.** The request runs under `Correlation.withId`: the caller's
 *   `X-Correlation-Id`, else its `X-Request-Id`, else the generated request id (same rule for what
 *   is valid). Every log line, operation span and committed event of the request carries it, and
 *   so does every merchant webhook those events cause (`AegisPay-Correlation-Id`).
 * - **Body limit.** A body over `maxBodyBytes` (default 1 MB) is a 413, judged from
 *   `Content-Length` before anything is read, or while reading a body without one. Nothing runs.
 * - **One error body.** Every error is answered `{ type, code, message, paymentId? }`
 *   (`ApiError`): a request that does not match the schema (wrong types, unknown fields, a JSON
 *   number for an amount, a missing header or parameter) and malformed JSON are 400s naming the
 *   field, an unknown route a 404, and anything unexpected (a defect, an undeclared error) a 500
 *   whose body says only `internal_error` and the request id; its cause is logged at Error.
 *   Messages are masked with `Sanitize.maskCardNumbers` and never quote a value that was sent.
 * - A 429 carries `Retry-After` (whole seconds).
 *
 * @since 0.2.0
 */
import {
  HttpApiBuilder,
  HttpApiError,
  type HttpApp,
  HttpIncomingMessage,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { Cause, Clock, Context, Effect, FiberRef, LogLevel, Option, Schema } from "effect"
import { Ids } from "../domain/Ids.js"
import { maskCardNumbers } from "../domain/Sanitize.js"
import { AegisPayApi } from "./AegisPayApi.js"
import {
  type ApiError,
  ApiErrorSchema,
  BadRequest,
  InternalError,
  isApiError,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  statusOf
} from "./ApiError.js"
import * as Correlation from "../observability/Correlation.js"
import * as RequestLog from "./RequestLog.js"

/**
 * Options of the middleware.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The largest body accepted, in bytes; default 1 MB (1,048,576). */
  readonly maxBodyBytes?: number | undefined
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Drops an echoed value (`…, actual <value>`): values may be card data. */
const withoutActual = (message: string): string => {
  const cut = message.search(/,?\s*actual\s/)
  return (cut === -1 ? message : message.slice(0, cut)).split("\n")[0] ?? ""
}

/**
 * The 400 of a request that did not match the schema (`HttpApiDecodeError`).
 *
 * @since 0.2.0
 */
export const decodeErrorToBadRequest = (error: HttpApiError.HttpApiDecodeError): BadRequest => {
  const first = error.issues[0]
  if (first === undefined) return new BadRequest({ code: "invalid_request", message: "the request does not match the API" })
  const path = first.path.map(String).join(".")
  const unexpected = first.message.startsWith("is unexpected")
  const message = unexpected
    ? `unknown field ${JSON.stringify(maskCardNumbers(String(first.path[first.path.length - 1] ?? "")))}`
    : first.message.startsWith("is missing")
    ? "is required"
    : withoutActual(first.message)
  return new BadRequest({
    code: unexpected ? "unknown_field" : first.message.startsWith("is missing") ? "missing_field" : "invalid_field",
    message: maskCardNumbers(path === "" ? message : `${path}: ${message}`),
    ...(path === "" ? {} : { param: maskCardNumbers(path) })
  })
}

const isBodyTooLarge = (error: HttpServerError.RequestError): boolean => String(error.cause).includes("maxBytes exceeded")

/**
 * Renders an error body with its status (and `Retry-After` for a 429).
 *
 * @since 0.2.0
 */
export const render = (error: ApiError, requestId: string): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Schema.encode(ApiErrorSchema)(error).pipe(
    Effect.orElseSucceed(() => ({ type: "internal", code: "internal_error", message: "internal error", requestId })),
    Effect.map((body) =>
      HttpServerResponse.unsafeJson(body, {
        status: statusOf(error),
        headers: error instanceof RateLimited ? { "retry-after": String(error.retryAfterSeconds) } : {}
      })
    )
  )

const toError = (cause: Cause.Cause<unknown>, requestId: string): Effect.Effect<ApiError> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    if (isApiError(e)) return Effect.succeed(e)
    if (e instanceof HttpApiError.HttpApiDecodeError) return Effect.succeed(decodeErrorToBadRequest(e))
    if (e instanceof HttpServerError.RouteNotFound) return Effect.succeed(new NotFound({ code: "route_not_found", message: "no such route" }))
    if (e instanceof HttpServerError.RequestError) {
      return Effect.succeed(
        isBodyTooLarge(e)
          ? new PayloadTooLarge({ code: "payload_too_large", message: "the body is larger than the limit" })
          : new BadRequest({ code: "unreadable_body", message: "the body could not be read" })
      )
    }
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect) && defect.value instanceof HttpServerError.RequestError) {
    // the JSON body is read (and parsed) by HttpApi as a defect
    return Effect.succeed(
      isBodyTooLarge(defect.value)
        ? new PayloadTooLarge({ code: "payload_too_large", message: "the body is larger than the limit" })
        : new BadRequest({ code: "malformed_json", message: "the body is not valid JSON" })
    )
  }
  return Effect.as(
    Effect.logError("unexpected error answering a request", cause),
    new InternalError({ code: "internal_error", message: "internal error", requestId })
  )
}

/**
 * The middleware function (for `HttpApiBuilder.middleware`, or any `HttpApp`).
 *
 * Per request it costs one log annotation, one `RequestLog` scope and the body limit (set once
 * per app, not per request); the access line, its clock reads and its fields are only built when
 * the fiber's minimum log level lets an Info line through.
 *
 * @since 0.2.0
 */
export const make = (options: Options = {}) =>
  Effect.map(Ids, (ids) => {
    const max = options.maxBodyBytes ?? 1024 * 1024
    const tooLarge = new PayloadTooLarge({ code: "payload_too_large", message: `the body is larger than ${max} bytes` })
    const limit = Option.some(max)
    return (app: HttpApp.Default): HttpApp.Default => {
      const limited = HttpIncomingMessage.withMaxBodySize(app, limit)
      const answer = (request: HttpServerRequest.HttpServerRequest, requestId: string, info: RequestLog.Info) => {
        const length = Number(request.headers["content-length"] ?? "0")
        return Number.isFinite(length) && length > max
          ? render(tooLarge, requestId)
          : Effect.catchAllCause(
            RequestLog.locally(info)(limited),
            (cause) =>
              Cause.isInterruptedOnly(cause)
                ? Effect.interrupt
                : Effect.flatMap(toError(cause, requestId), (e) => render(e, requestId))
          )
      }
      return Effect.withFiberRuntime<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>((fiber) => {
        const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
        const sent = request.headers["x-request-id"]
        const logged = LogLevel.greaterThanEqual(LogLevel.Info, fiber.getFiberRef(FiberRef.currentMinimumLogLevel))
        const run = (requestId: string): HttpApp.Default => {
          const info: RequestLog.Info = { requestId }
          const correlationId = Correlation.fromHeaders(request.headers, requestId)
          const answered = Effect.zipRight(
            Effect.annotateCurrentSpan(Correlation.spanAttribute, correlationId),
            Effect.annotateLogs(Correlation.withId(correlationId)(answer(request, requestId, info)), "requestId", requestId)
          )
          if (!logged) return Effect.map(answered, (response) => HttpServerResponse.setHeader(response, "x-request-id", requestId))
          return Effect.flatMap(Clock.currentTimeMillis, (started) =>
            Effect.flatMap(answered, (response) =>
              Effect.flatMap(Clock.currentTimeMillis, (finished) =>
                Effect.logInfo("http request").pipe(
                  Effect.annotateLogs({
                    requestId,
                    correlationId,
                    method: request.method,
                    path: maskCardNumbers(request.url.split("?")[0] ?? ""),
                    status: response.status,
                    durationMs: finished - started,
                    ...(info.tenantId === undefined ? {} : { tenantId: info.tenantId }),
                    ...(info.keyId === undefined ? {} : { keyId: info.keyId }),
                    ...(info.paymentId === undefined ? {} : { paymentId: maskCardNumbers(info.paymentId) })
                  }),
                  Effect.as(HttpServerResponse.setHeader(response, "x-request-id", requestId))
                ))))
        }
        return sent !== undefined && REQUEST_ID.test(sent) ? run(sent) : Effect.flatMap(ids.next("req"), run)
      })
    }
  })

/**
 * The middleware as a layer of the `AegisPayApi`.
 *
 * @since 0.2.0
 */
export const layer = (options: Options = {}) => HttpApiBuilder.middleware(AegisPayApi, make(options))
