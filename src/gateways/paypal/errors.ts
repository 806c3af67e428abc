/**
 * PayPal's HTTP statuses and error issues mapped to the four gateway error classes: the one
 * place this mapping lives (docs/gateways/PAYPAL.md shows the same table).
 *
 * | answer | money-moving call | read |
 * |---|---|---|
 * | 400 `INVALID_REQUEST` / `MALFORMED_REQUEST_JSON` | misconfigured | misconfigured |
 * | 401 (after one token refresh), 403, 404 | misconfigured | misconfigured |
 * | 409 `RESOURCE_CONFLICT` (previous request in progress) | unknown outcome | transient |
 * | 422 with a decline issue ({@link declineIssues}) | declined (`code` = issue in snake case) | — |
 * | 422 `ORDER_COMPLETION_IN_PROGRESS` | unknown outcome | transient |
 * | 422 any other issue (`DUPLICATE_INVOICE_ID`, `DECIMALS_NOT_SUPPORTED`, …) | misconfigured | misconfigured |
 * | 429 `RATE_LIMIT_REACHED` | transient | transient |
 * | 5xx, any other status | unknown outcome | transient |
 *
 * Transport failures (refused connection transient, timeouts and lost connections an unknown
 * outcome on money-moving calls) are classified by `internal/http.ts`. Some 422 issues are
 * answers rather than errors, handled where the call is made: `ORDER_ALREADY_CAPTURED`,
 * `ORDER_ALREADY_AUTHORIZED`, `AUTHORIZATION_ALREADY_CAPTURED` (the earlier call succeeded: read
 * it), `PREVIOUSLY_VOIDED` (void is done), `ORDER_NOT_APPROVED` / `PAYER_ACTION_REQUIRED` (the
 * customer has not finished: action required again).
 *
 * @internal
 */
import { Effect, Either, Schema } from "effect"
import type { GatewayError, GatewayReadError } from "../../gateway/Gateway.js"
import { GatewayDeclined, GatewayMisconfigured, GatewayTransientError } from "../../gateway/Gateway.js"
import type { Answer, CallOptions } from "../internal/http.js"
import { doubt } from "../internal/http.js"
import { ErrorBody, OAuthError } from "./wire.js"

/**
 * 422 issues that are the customer's or PayPal's refusal of this payment (not the merchant's
 * configuration): a {@link GatewayDeclined} whose `code` is the issue in snake case.
 */
export const declineIssues: ReadonlySet<string> = new Set([
  "INSTRUMENT_DECLINED",
  "PAYER_CANNOT_PAY",
  "PAYER_ACCOUNT_RESTRICTED",
  "PAYER_ACCOUNT_LOCKED_OR_CLOSED",
  "TRANSACTION_REFUSED",
  "TRANSACTION_LIMIT_EXCEEDED",
  "TRANSACTION_RECEIVING_LIMIT_EXCEEDED",
  "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
  "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
  "DECLINED_DUE_TO_RELATED_TXN",
  "COMPLIANCE_VIOLATION",
  "PAYEE_BLOCKED_TRANSACTION",
  "TRANSACTION_BLOCKED_BY_PAYEE",
  "CARD_EXPIRED",
  "REFERENCED_CARD_EXPIRED",
  "ORDER_EXPIRED",
  "ORDER_COMPLETED_OR_VOIDED",
  "AUTHORIZATION_DENIED",
  "AUTHORIZATION_EXPIRED",
  "AUTHORIZATION_VOIDED",
  "MAX_CAPTURE_AMOUNT_EXCEEDED",
  "MAX_CAPTURE_COUNT_EXCEEDED",
  "PREVIOUSLY_CAPTURED",
  "CANNOT_BE_VOIDED",
  "CAPTURE_FULLY_REFUNDED",
  "REFUND_AMOUNT_EXCEEDED",
  "REFUND_TIME_LIMIT_EXCEEDED",
  "REFUND_NOT_ALLOWED",
  "REFUND_FAILED_INSUFFICIENT_FUNDS",
  "PARTIAL_REFUND_NOT_ALLOWED",
  "MAX_NUMBER_OF_REFUNDS_EXCEEDED",
  "REFUND_NOT_PERMITTED_DUE_TO_CHARGEBACK",
  "TRANSACTION_DISPUTED",
  "PENDING_CAPTURE",
  "REFUND_IS_RESTRICTED"
])

/** 422 issues after which the outcome is in doubt (PayPal is still working on it). */
const inProgressIssues: ReadonlySet<string> = new Set(["ORDER_COMPLETION_IN_PROGRESS", "PREVIOUS_REQUEST_IN_PROGRESS"])

/** The first `details[].issue` of a PayPal error body, or its `name`. */
export const issueOf = (answer: Answer): { readonly issue: string | undefined; readonly name: string | undefined; readonly description: string } => {
  const body = Schema.decodeUnknownEither(ErrorBody)(answer.json)
  if (Either.isLeft(body)) {
    const oauth = Schema.decodeUnknownEither(OAuthError)(answer.json)
    if (Either.isRight(oauth)) {
      return { issue: undefined, name: oauth.right.error, description: oauth.right.error_description ?? oauth.right.error }
    }
    return { issue: undefined, name: undefined, description: answer.json === undefined ? "the answer is not JSON" : "unreadable error body" }
  }
  const detail = body.right.details?.[0]
  return {
    issue: detail?.issue,
    name: body.right.name,
    description: (detail?.description ?? body.right.message ?? body.right.name ?? "no description").slice(0, 300)
  }
}

/**
 * The gateway error for a PayPal answer that is not a success (see the table above). Never a
 * transient error on a money-moving call unless PayPal certainly did not act (429).
 */
export const classify = (answer: Answer, options: CallOptions): GatewayError => {
  const { description, issue, name } = issueOf(answer)
  const what = `${options.operation}: HTTP ${answer.status} ${issue ?? name ?? ""}`.trim()
  const misconfigured = () => new GatewayMisconfigured({ gateway: options.gateway, reason: `${what} (${description})` })
  switch (answer.status) {
    case 400:
    case 401:
    case 403:
    case 404:
      return misconfigured()
    case 409:
      return doubt(options, `${what}: a previous request is in progress`)
    case 422: {
      if (issue !== undefined && declineIssues.has(issue)) {
        return new GatewayDeclined({ gateway: options.gateway, code: issue.toLowerCase(), reason: description })
      }
      if (issue !== undefined && inProgressIssues.has(issue)) return doubt(options, `${what} (${description})`)
      return misconfigured()
    }
    case 429:
      return new GatewayTransientError({ gateway: options.gateway, operation: options.operation, reason: `${what}: rate limited` })
    default:
      return doubt(options, `${what} (${description})`)
  }
}

/**
 * A read's error: a read never moves money, so a doubt is transient and a refusal is a
 * misconfiguration (PayPal declines payments, not reads).
 */
export const toRead = (error: GatewayError): GatewayReadError => {
  switch (error._tag) {
    case "GatewayDeclined":
      return new GatewayMisconfigured({ gateway: error.gateway, reason: error.message })
    case "GatewayUnknownOutcome":
      return new GatewayTransientError({ gateway: error.gateway, operation: error.operation, reason: error.reason })
    default:
      return error
  }
}

/** {@link toRead} on an effect's errors. */
export const asRead = <A, R>(self: Effect.Effect<A, GatewayError, R>): Effect.Effect<A, GatewayReadError, R> =>
  Effect.mapError(self, toRead)
