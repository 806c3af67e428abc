/**
 * The errors of the GraphQL API: every typed error a resolver meets becomes a `GraphQLError`
 * whose `extensions` say what it is, with the same meaning as the REST API's status table
 * (`ErrorMapping`, docs/HTTP.md):
 *
 * - `code`: the error's tag (`PaymentNotFound`, `ValidationError`, `InvalidTransition`,
 *   `IdempotencyKeyInUse`, `GatewayDeclined`, …), or for the answers REST derives from a payment's
 *   state or from the request, the REST error's name (`PaymentDeclined`, `OutcomeUnknown`,
 *   `Forbidden`, `Unauthenticated`, `RateLimited`, `NotImplemented`, `InternalError`);
 * - `status`: the HTTP status REST answers for the same error (404, 400, 422, 409, 402, 502, 504…);
 * - `reason`: REST's `code` (`payment_not_found`, `validation_error`, a decline code, …);
 * - `paymentId` when the error is about a payment, `param` for a `ValidationError` naming a field.
 *
 * Guarantees: messages are REST's messages (built from ids and codes, never a gateway's raw
 * reason, a SQL error or a value that was sent) and are masked with `Sanitize.maskCardNumbers`;
 * anything unexpected is `InternalError` with the request id and nothing else (its cause is
 * logged by the caller, never answered).
 *
 * @since 0.2.0
 */
import { GraphQLError } from "graphql"
import { maskCardNumbers } from "../domain/Sanitize.js"
import {
  type ApiError,
  BadRequest,
  Conflict,
  Forbidden,
  GatewayFailed,
  InternalError,
  NotFound,
  NotImplemented,
  OutcomeUnknown,
  PayloadTooLarge,
  PaymentDeclined,
  RateLimited,
  statusOf,
  Unauthenticated,
  Unavailable,
  Unprocessable
} from "./ApiError.js"
import { type DomainError, fromDomain } from "./ErrorMapping.js"

/**
 * What a resolver may fail with: a domain error, or one of REST's error bodies (a missing scope,
 * a declined payment, an unknown outcome, a route this installation cannot serve).
 *
 * @since 0.2.0
 */
export type ResolverError = DomainError | ApiError

/**
 * The `extensions` of every error the GraphQL API answers.
 *
 * @since 0.2.0
 */
export interface Extensions {
  readonly code: string
  readonly status: number
  readonly reason: string
  readonly paymentId?: string
  readonly param?: string
  readonly requestId?: string
  readonly retryAfterSeconds?: number
  readonly declineCode?: string
}

const names: ReadonlyArray<readonly [abstract new(...args: never) => ApiError, string]> = [
  [BadRequest, "BadRequest"],
  [Unauthenticated, "Unauthenticated"],
  [PaymentDeclined, "PaymentDeclined"],
  [Forbidden, "Forbidden"],
  [NotFound, "NotFound"],
  [Conflict, "Conflict"],
  [PayloadTooLarge, "PayloadTooLarge"],
  [Unprocessable, "Unprocessable"],
  [RateLimited, "RateLimited"],
  [InternalError, "InternalError"],
  [NotImplemented, "NotImplemented"],
  [GatewayFailed, "GatewayFailed"],
  [Unavailable, "Unavailable"],
  [OutcomeUnknown, "OutcomeUnknown"]
]

/**
 * The name of one of REST's error bodies (`Forbidden`, `PaymentDeclined`, …).
 *
 * @since 0.2.0
 */
export const nameOf = (error: ApiError): string => {
  for (const [cls, name] of names) if (error instanceof cls) return name
  return "InternalError"
}

const isApiErrorValue = (error: ResolverError): error is ApiError => !("_tag" in error)

/**
 * The extensions of a resolver's error (see the module's documentation).
 *
 * @since 0.2.0
 */
export const extensionsOf = (error: ResolverError, paymentId?: string): { readonly message: string; readonly extensions: Extensions } => {
  const api = isApiErrorValue(error) ? error : fromDomain(error, paymentId)
  const code = isApiErrorValue(error) ? nameOf(error) : error._tag
  return {
    message: maskCardNumbers(api.message),
    extensions: {
      code,
      status: statusOf(api),
      reason: api.code,
      ...(api.paymentId === undefined ? {} : { paymentId: maskCardNumbers(api.paymentId) }),
      ...(api instanceof BadRequest && api.param !== undefined ? { param: api.param } : {}),
      ...(api instanceof InternalError && api.requestId !== undefined ? { requestId: api.requestId } : {}),
      ...(api instanceof RateLimited ? { retryAfterSeconds: api.retryAfterSeconds } : {}),
      ...(api instanceof PaymentDeclined ? { declineCode: api.code } : {})
    }
  }
}

/**
 * The `GraphQLError` of a resolver's error.
 *
 * @since 0.2.0
 */
export const toGraphqlError = (error: ResolverError, paymentId?: string): GraphQLError => {
  const { extensions, message } = extensionsOf(error, paymentId)
  return new GraphQLError(message, { extensions: { ...extensions } })
}

/**
 * The error of anything unexpected: no details, only the request id.
 *
 * @since 0.2.0
 */
export const internal = (requestId?: string): InternalError =>
  new InternalError({ code: "internal_error", message: "internal error", ...(requestId === undefined ? {} : { requestId }) })

/**
 * The body of a response answered before GraphQL runs (401, 429, 500): `{ errors: [ … ] }`.
 *
 * @since 0.2.0
 */
export const body = (error: ApiError): string => {
  const { extensions, message } = extensionsOf(error)
  return JSON.stringify({ errors: [{ message, extensions }] })
}
