/**
 * The error bodies of the HTTP API: one JSON shape for every error,
 * `{ type, code, message, paymentId? }`, one class per HTTP status (annotated with
 * `HttpApiSchema.annotations({ status })`, so the OpenAPI document and a derived `HttpApiClient`
 * know them).
 *
 * Guarantees:
 * - `type` tells the class of error (one per status), `code` the precise reason
 *   (`payment_not_found`, `idempotency_key_in_use`, a decline code, …), `message` a sentence for
 *   a person. No body carries a stack, a SQL statement, a card number or a secret: a 500 says
 *   only `internal_error` and the request id (the cause is logged, never answered).
 * - 402 (declined) and 504 (outcome unknown) carry the payment's public view in `payment`.
 *
 * @since 0.2.0
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { PaymentView } from "../domain/PaymentView.js"

const common = {
  code: Schema.String,
  message: Schema.String,
  paymentId: Schema.optional(Schema.String)
}

/**
 * 400: the request is malformed or invalid (malformed JSON, wrong types, unknown fields, a JSON
 * number for an amount, a missing header, a `ValidationError` of the domain). `param` names the
 * offending field when there is one. Nothing was stored.
 *
 * @since 0.2.0
 */
export class BadRequest extends Schema.Class<BadRequest>("BadRequest")({
  type: Schema.tag("invalid_request"),
  ...common,
  param: Schema.optional(Schema.String)
}, HttpApiSchema.annotations({ status: 400, description: "invalid request: nothing was stored" })) {}

/**
 * 401: no API key, or one that is unknown, revoked or malformed.
 *
 * @since 0.2.0
 */
export class Unauthenticated extends Schema.Class<Unauthenticated>("Unauthenticated")({
  type: Schema.tag("unauthenticated"),
  ...common
}, HttpApiSchema.annotations({ status: 401, description: "missing, unknown or revoked API key" })) {}

/**
 * 402: the payment was declined (or rejected by a fraud check, or a capture/void was declined);
 * `code` is the decline code and `payment` the payment as it is now.
 *
 * @since 0.2.0
 */
export class PaymentDeclined extends Schema.Class<PaymentDeclined>("PaymentDeclined")({
  type: Schema.tag("payment_declined"),
  ...common,
  payment: Schema.optional(PaymentView)
}, HttpApiSchema.annotations({ status: 402, description: "declined: the payment is in the body" })) {}

/**
 * 403: the API key lacks the scope the route needs.
 *
 * @since 0.2.0
 */
export class Forbidden extends Schema.Class<Forbidden>("Forbidden")({
  type: Schema.tag("forbidden"),
  ...common
}, HttpApiSchema.annotations({ status: 403, description: "the API key lacks the scope this route needs" })) {}

/**
 * 404: no such resource for the caller's tenant (another tenant's payment included: the very
 * same answer as a missing one).
 *
 * @since 0.2.0
 */
export class NotFound extends Schema.Class<NotFound>("NotFound")({
  type: Schema.tag("not_found"),
  ...common
}, HttpApiSchema.annotations({ status: 404, description: "not found (another tenant's payment included)" })) {}

/**
 * 409: a conflict to retry later: a request with the same `Idempotency-Key` is still in flight,
 * the payment is locked or changed concurrently, or a capture/void is pending.
 *
 * @since 0.2.0
 */
export class Conflict extends Schema.Class<Conflict>("Conflict")({
  type: Schema.tag("conflict"),
  ...common
}, HttpApiSchema.annotations({ status: 409, description: "in flight or concurrent change: retry later" })) {}

/**
 * 413: the body is larger than the limit (1 MB).
 *
 * @since 0.2.0
 */
export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")({
  type: Schema.tag("payload_too_large"),
  ...common
}, HttpApiSchema.annotations({ status: 413, description: "body over 1 MB" })) {}

/**
 * 422: a business rule refused the request: the same `Idempotency-Key` with another body, an
 * invalid transition, a capture or refund above what is available, a hook's refusal.
 *
 * @since 0.2.0
 */
export class Unprocessable extends Schema.Class<Unprocessable>("Unprocessable")({
  type: Schema.tag("unprocessable"),
  ...common
}, HttpApiSchema.annotations({ status: 422, description: "refused by a business rule, or idempotency key reused with another body" })) {}

/**
 * 429: the API key's rate limit is exhausted; the `Retry-After` header says when to come back.
 *
 * @since 0.2.0
 */
export class RateLimited extends Schema.Class<RateLimited>("RateLimited")({
  type: Schema.tag("rate_limited"),
  ...common,
  retryAfterSeconds: Schema.Int
}, HttpApiSchema.annotations({ status: 429, description: "rate limited: see Retry-After" })) {}

/**
 * 500: something unexpected; the body says nothing more (the cause is logged with the request id).
 *
 * @since 0.2.0
 */
export class InternalError extends Schema.Class<InternalError>("InternalError")({
  type: Schema.tag("internal"),
  ...common,
  requestId: Schema.optional(Schema.String)
}, HttpApiSchema.annotations({ status: 500, description: "unexpected: no internals in the body" })) {}

/**
 * 501: the route exists but this installation cannot serve it (e.g. no credentials service).
 *
 * @since 0.2.0
 */
export class NotImplemented extends Schema.Class<NotImplemented>("NotImplemented")({
  type: Schema.tag("not_implemented"),
  ...common
}, HttpApiSchema.annotations({ status: 501, description: "not available in this installation" })) {}

/**
 * 502: a gateway failed (transient error after the retries, misconfiguration, open circuit, no
 * gateway available). The payment is unchanged or safe to retry.
 *
 * @since 0.2.0
 */
export class GatewayFailed extends Schema.Class<GatewayFailed>("GatewayFailed")({
  type: Schema.tag("gateway_error"),
  ...common
}, HttpApiSchema.annotations({ status: 502, description: "gateway error: safe to retry" })) {}

/**
 * 503: not ready (readiness probe); `checks` tells each component's answer.
 *
 * @since 0.2.0
 */
export class Unavailable extends Schema.Class<Unavailable>("Unavailable")({
  type: Schema.tag("unavailable"),
  ...common,
  /** Each readiness check: `"ok"` or why it failed. */
  checks: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
}, HttpApiSchema.annotations({ status: 503, description: "not ready" })) {}

/**
 * 504: the gateway's answer was lost after the request may have been applied. The payment stays
 * PROCESSING (`requiresReconciliation`), is in `payment`, stays retrievable and settles later
 * (confirm again, a webhook, or the recovery worker). Never charged twice.
 *
 * @since 0.2.0
 */
export class OutcomeUnknown extends Schema.Class<OutcomeUnknown>("OutcomeUnknown")({
  type: Schema.tag("outcome_unknown"),
  ...common,
  payment: Schema.optional(PaymentView)
}, HttpApiSchema.annotations({ status: 504, description: "outcome unknown: the payment settles later" })) {}

/**
 * Every error body of the API.
 *
 * @since 0.2.0
 */
export type ApiError =
  | BadRequest
  | Unauthenticated
  | PaymentDeclined
  | Forbidden
  | NotFound
  | Conflict
  | PayloadTooLarge
  | Unprocessable
  | RateLimited
  | InternalError
  | NotImplemented
  | GatewayFailed
  | Unavailable
  | OutcomeUnknown

/**
 * The classes of {@link ApiError}, with their status.
 *
 * @since 0.2.0
 */
export const classes = [
  [BadRequest, 400],
  [Unauthenticated, 401],
  [PaymentDeclined, 402],
  [Forbidden, 403],
  [NotFound, 404],
  [Conflict, 409],
  [PayloadTooLarge, 413],
  [Unprocessable, 422],
  [RateLimited, 429],
  [InternalError, 500],
  [NotImplemented, 501],
  [GatewayFailed, 502],
  [Unavailable, 503],
  [OutcomeUnknown, 504]
] as const

/**
 * Whether `u` is one of the API's error bodies.
 *
 * @since 0.2.0
 */
export const isApiError = (u: unknown): u is ApiError => classes.some(([cls]) => u instanceof cls)

/**
 * The union schema of every error body (encodes any {@link ApiError}).
 *
 * @since 0.2.0
 */
export const ApiErrorSchema = Schema.Union(
  BadRequest,
  Unauthenticated,
  PaymentDeclined,
  Forbidden,
  NotFound,
  Conflict,
  PayloadTooLarge,
  Unprocessable,
  RateLimited,
  InternalError,
  NotImplemented,
  GatewayFailed,
  Unavailable,
  OutcomeUnknown
)

/**
 * The HTTP status of an error body.
 *
 * @since 0.2.0
 */
export const statusOf = (error: ApiError): number => {
  for (const [cls, status] of classes) if (error instanceof cls) return status
  return 500
}
