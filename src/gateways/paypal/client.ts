/**
 * One authenticated PayPal API call: a Bearer token from the shared {@link TokenCache}, the
 * `PayPal-Request-Id` of a money-moving call, `Prefer: return=representation`, the per-call
 * timeout and the safe classification of `internal/http.ts`.
 *
 * A 401 means PayPal refused the token before acting on the request: the token is dropped and
 * the call is sent once more with a fresh one (the same `PayPal-Request-Id`, so even a
 * money-moving call cannot apply twice). A second 401 is answered as it is (misconfigured).
 *
 * @internal
 */
import type { HttpClient } from "@effect/platform"
import { HttpClientRequest } from "@effect/platform"
import type { Duration } from "effect"
import { createHash } from "node:crypto"
import { Effect, Redacted } from "effect"
import type { GatewayMisconfigured, GatewayTransientError, GatewayUnknownOutcome } from "../../gateway/Gateway.js"
import * as Http from "../internal/http.js"
import type { TokenCache } from "./token.js"

/** What an API call is. */
export interface Spec {
  readonly method: "GET" | "POST"
  /** Path and query under the API base, e.g. `/v2/checkout/orders/5O1…`. */
  readonly path: string
  /** The JSON body, already encoded (sent as is). */
  readonly body?: string | undefined
  /** `PayPal-Request-Id`: PayPal's idempotency key (stored 6 hours by default). */
  readonly requestId?: string | undefined
  readonly operation: string
  readonly moneyMoving: boolean
}

/** An authenticated PayPal API. */
export interface Api {
  readonly call: (spec: Spec) => Effect.Effect<Http.Answer, GatewayTransientError | GatewayUnknownOutcome | GatewayMisconfigured>
  readonly options: (operation: string, moneyMoving: boolean) => Http.CallOptions
}

/** PayPal's limit on `PayPal-Request-Id` (108 characters). */
const maxRequestId = 108

/**
 * The `PayPal-Request-Id` of `purpose` for an idempotency key: `key` itself for the order's
 * creation, `key:purpose` for a later step of the same attempt (capture, authorize), so each
 * step has its own stable id. Keys too long for PayPal are replaced by their SHA-256.
 */
export const requestId = (key: string, purpose?: string): string => {
  const raw = purpose === undefined ? key : `${key}:${purpose}`
  if (raw.length <= maxRequestId) return raw
  const digest = createHash("sha256").update(key, "utf8").digest("hex")
  return purpose === undefined ? digest : `${digest}:${purpose}`.slice(0, maxRequestId)
}

/** Builds the API over `client`. */
export const make = (options: {
  readonly client: HttpClient.HttpClient
  readonly apiBase: string
  readonly tokens: TokenCache
  readonly gateway: string
  readonly timeout: Duration.DurationInput
}): Api => {
  const callOptions = (operation: string, moneyMoving: boolean): Http.CallOptions => ({
    gateway: options.gateway,
    operation,
    moneyMoving,
    timeout: options.timeout
  })
  const once = (spec: Spec, token: Redacted.Redacted<string>) => {
    let request = HttpClientRequest.make(spec.method)(`${options.apiBase}${spec.path}`).pipe(
      HttpClientRequest.setHeader("Authorization", `Bearer ${Redacted.value(token)}`),
      HttpClientRequest.setHeader("Prefer", "return=representation"),
      HttpClientRequest.acceptJson
    )
    if (spec.requestId !== undefined) request = HttpClientRequest.setHeader(request, "PayPal-Request-Id", spec.requestId)
    if (spec.body !== undefined) request = HttpClientRequest.bodyText(request, spec.body, "application/json")
    return Http.call(options.client, request, callOptions(spec.operation, spec.moneyMoving))
  }
  const call = (spec: Spec) =>
    Effect.gen(function*() {
      const token = yield* options.tokens.get
      const answer = yield* once(spec, token.value)
      if (answer.status !== 401) return answer
      yield* options.tokens.invalidate(token)
      const fresh = yield* options.tokens.get
      return yield* once(spec, fresh.value)
    })
  return { call, options: callOptions }
}
