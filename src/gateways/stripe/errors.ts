/**
 * The Stripe error table: every HTTP status and Stripe error type mapped to one of the four
 * gateway error classes, in one place (docs/gateways/STRIPE.md shows the same table).
 *
 * | answer | class | why |
 * |---|---|---|
 * | `type: card_error` (HTTP 402) | `GatewayDeclined` (`decline_code`, else `code`) | the card was refused: nothing moved |
 * | `type: idempotency_error` (HTTP 400) | `GatewayMisconfigured` | a key reused with other parameters: a bug, never retried |
 * | HTTP 400 `invalid_request_error`, 401, 403, 404, other 4xx | `GatewayMisconfigured` | parameters, credentials, permissions, unknown objects |
 * | HTTP 429 (`rate_limit`, `lock_timeout`) | `GatewayTransientError` | refused before anything was applied |
 * | HTTP 409 (a concurrent request with the same key) | unknown outcome¹ | the first request may still apply |
 * | HTTP 5xx, `api_error` | unknown outcome¹ | Stripe may have applied it; it replays a saved 5xx for the same key for 24 h |
 * | timeout, connection lost after sending, unreadable or undecodable body | unknown outcome¹ | (`internal/http.ts`) |
 * | connection refused / DNS failure | `GatewayTransientError` | nothing was sent (`internal/http.ts`) |
 *
 * ¹ `GatewayUnknownOutcome` on a money-moving call (confirm, capture, cancel, refund); a
 * `GatewayTransientError` on a read (retrieve, search, create of an unconfirmed intent).
 *
 * Because Stripe replays the first answer to a key (a 5xx included) for 24 hours, retrying a
 * confirm with the same key cannot learn what happened: the adapter reads the PaymentIntent by
 * its id instead (`getStatus` by reference).
 *
 * @internal
 */
import { Either, Schema } from "effect"
import { GatewayDeclined, type GatewayError, GatewayMisconfigured, GatewayTransientError } from "../../gateway/Gateway.js"
import { type Answer, type CallOptions, doubt } from "../internal/http.js"
import { ErrorBody } from "./wire.js"

const decodeError = Schema.decodeUnknownEither(ErrorBody, { onExcessProperty: "ignore" })

/** The decoded error body of an answer, if it has one. */
export const errorOf = (answer: Answer): ErrorBody["error"] | undefined =>
  Either.match(decodeError(answer.json), { onLeft: () => undefined, onRight: (body) => body.error })

const bounded = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}…` : text)

/**
 * The gateway error for a non-2xx answer, following the table above.
 */
export const classify = (answer: Answer, options: CallOptions): GatewayError => {
  const error = errorOf(answer)
  const code = error?.code ?? undefined
  const label = `HTTP ${answer.status}${error === undefined ? "" : ` ${error.type}${code === undefined ? "" : `/${code}`}`}`
  const reason = bounded(`${label}: ${error?.message ?? (answer.json === undefined ? "the answer is not JSON" : "no message")}`)
  if (error?.type === "card_error" || answer.status === 402) {
    const declineCode = error?.decline_code ?? code ?? "card_declined"
    return options.moneyMoving
      ? new GatewayDeclined({ gateway: options.gateway, code: declineCode, reason: bounded(error?.message ?? declineCode) })
      : new GatewayMisconfigured({ gateway: options.gateway, reason: `${options.operation}: ${reason}` })
  }
  if (answer.status === 409) {
    // a concurrent request with the same key (idempotency_key_in_use) or a conflicting update: the first may still apply
    return doubt(options, reason)
  }
  if (error?.type === "idempotency_error") {
    return new GatewayMisconfigured({ gateway: options.gateway, reason: `${options.operation}: idempotency key reused with other parameters (${reason})` })
  }
  if (answer.status === 429) {
    return new GatewayTransientError({ gateway: options.gateway, operation: options.operation, reason })
  }
  if (answer.status >= 500 || error?.type === "api_error") {
    return doubt(options, reason)
  }
  if (answer.status >= 400) {
    return new GatewayMisconfigured({ gateway: options.gateway, reason: `${options.operation}: ${reason}` })
  }
  return doubt(options, `unexpected ${reason}`)
}

/**
 * A failure of a call that moves no money, as the contract types it: a decline there is a
 * misconfiguration (no card was charged), a doubt is transient.
 */
export const asRead = (error: GatewayError): GatewayMisconfigured | GatewayTransientError => {
  switch (error._tag) {
    case "GatewayDeclined":
      return new GatewayMisconfigured({ gateway: error.gateway, reason: `declined on a read: ${error.code}` })
    case "GatewayUnknownOutcome":
      return new GatewayTransientError({ gateway: error.gateway, operation: error.operation, reason: error.reason })
    default:
      return error
  }
}
