/**
 * The Razorpay error table, in one place (mirrored in `docs/gateways/RAZORPAY.md`): how an HTTP
 * status and Razorpay's error body become one of the four gateway error classes.
 *
 * | answer | error |
 * |---|---|
 * | 400 `BAD_REQUEST_ERROR` about the payment (`source` customer, bank, issuer, gateway, network…, or `step` payment_authentication / payment_authorization / …) | `GatewayDeclined` (`code` = Razorpay's `reason`) |
 * | 400 `BAD_REQUEST_ERROR` about the request (`source` business / internal / NA, validation) | `GatewayMisconfigured` |
 * | 400 "The id provided does not exist" / 404 on a read by id | not found (`undefined`: `not_found` for a status) |
 * | 401 (key id or secret wrong), 403, 404, other 4xx | `GatewayMisconfigured` |
 * | 409 (an idempotent refund with the same key is still being processed) | unknown outcome on a money-moving call, transient on a read |
 * | 429 (rate limited: not applied) | `GatewayTransientError` |
 * | 5xx, `SERVER_ERROR`, `GATEWAY_ERROR` in any status | unknown outcome on a money-moving call, transient on a read |
 * | an answer that is not JSON or not Razorpay's shape, any other status | unknown outcome on a money-moving call, transient on a read |
 * | connection refused before sending / timeout or reset after sending | transient / unknown outcome (`internal/http.ts`) |
 *
 * @internal
 */
import { Either, Schema } from "effect"
import type { GatewayDeclined, GatewayTransientError, GatewayUnknownOutcome } from "../../gateway/Gateway.js"
import { GatewayDeclined as Declined, GatewayMisconfigured, GatewayTransientError as Transient } from "../../gateway/Gateway.js"
import type { Answer, CallOptions } from "../internal/http.js"
import { doubt } from "../internal/http.js"
import { ErrorBody } from "./wire.js"

/** Every error a Razorpay answer can be classified as. */
export type AnswerError = GatewayDeclined | GatewayTransientError | GatewayUnknownOutcome | GatewayMisconfigured

/** `source` values that put the failure on the payment (the customer, their bank, the network), not on the request. */
const paymentSources = new Set(["customer", "bank", "issuer", "issuer_bank", "gateway", "network", "customer_psp", "beneficiary_bank", "acquirer", "razorpay_risk", "risk"])

/** `step` values of a payment being authenticated or authorized. */
const paymentSteps = new Set(["payment_authentication", "payment_authorization", "payment_debit", "payment_credit", "payment_capture"])

/** Razorpay error codes that mean Razorpay or its bank failed, whatever the status. */
const serverCodes = new Set(["SERVER_ERROR", "GATEWAY_ERROR"])

const bounded = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}…` : text)

/** The decoded error body of an answer, if it has Razorpay's shape. */
export const errorOf = (answer: Answer): ErrorBody["error"] | undefined =>
  Either.match(Schema.decodeUnknownEither(ErrorBody, { onExcessProperty: "ignore" })(answer.json), {
    onLeft: () => undefined,
    onRight: (body) => body.error
  })

/** Whether a 400 is about the payment (a decline) rather than about the request. */
export const isAboutPayment = (error: ErrorBody["error"]): boolean =>
  (error.source != null && paymentSources.has(error.source.toLowerCase())) ||
  (error.step != null && paymentSteps.has(error.step.toLowerCase()))

const describe = (answer: Answer, error: ErrorBody["error"] | undefined): string =>
  error === undefined
    ? `HTTP ${answer.status}${answer.text.length > 0 ? `: ${bounded(answer.text)}` : ""}`
    : `HTTP ${answer.status} ${error.code}: ${bounded(error.description ?? error.reason ?? "no description")}`

/**
 * Classifies an answer that is not a success (any status outside 2xx), by the table above.
 */
export const classify = (answer: Answer, options: CallOptions): AnswerError => {
  const error = errorOf(answer)
  const detail = `${options.operation}: ${describe(answer, error)}`
  if (error !== undefined && serverCodes.has(error.code)) return doubt(options, detail)
  const status = answer.status
  if (status === 429) return new Transient({ gateway: options.gateway, operation: options.operation, reason: detail })
  if (status >= 500 || status === 409) return doubt(options, detail)
  if (status === 400 && error !== undefined && isAboutPayment(error)) {
    return new Declined({
      gateway: options.gateway,
      code: (error.reason ?? error.code).toLowerCase(),
      reason: bounded(error.description ?? error.reason ?? error.code)
    })
  }
  if (status === 401) {
    return new GatewayMisconfigured({ gateway: options.gateway, reason: `${detail} (check the key id and key secret)` })
  }
  if (status >= 400 && status < 500) return new GatewayMisconfigured({ gateway: options.gateway, reason: detail })
  // 1xx, 3xx or anything else Razorpay does not answer: we cannot tell what happened.
  return doubt(options, `${options.operation}: unexpected HTTP ${status}`)
}

/**
 * Whether an answer says the id in the path does not exist: Razorpay's 400 `BAD_REQUEST_ERROR`
 * "The id provided does not exist" (also what an id of the other mode, test or live, gets), or a
 * 404.
 */
export const isUnknownId = (answer: Answer): boolean => {
  if (answer.status === 404) return true
  if (answer.status !== 400) return false
  const error = errorOf(answer)
  return error !== undefined && /id provided does not exist/i.test(error.description ?? "")
}

/** Whether an answer is a success (2xx). */
export const isSuccess = (answer: Answer): boolean => answer.status >= 200 && answer.status < 300
