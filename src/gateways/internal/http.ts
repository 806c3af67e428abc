/**
 * What every provider adapter needs around `HttpClient`: one send with a per-call timeout that
 * classifies transport failures safely, exact-body reading and Schema decoding into typed
 * gateway errors, and the HMAC and constant-time helpers of webhook verification.
 *
 * The rule this module enforces: **a failure after the request may have reached the provider is
 * never a transient error on a money-moving call.** A refused connection (nothing was sent) is
 * transient; a timeout, a reset connection, an unreadable or undecodable answer to a
 * money-moving call is an unknown outcome, so the orchestration asks the provider's status
 * before anything else. No generic retry is applied here: AegisPay's own retry decides.
 *
 * @internal
 */
import type { HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { HttpClient } from "@effect/platform"
import type { Duration} from "effect";
import { Effect, Either, ParseResult, Redacted, Schema } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"
import { GatewayMisconfigured, GatewayTransientError, GatewayUnknownOutcome } from "../../gateway/Gateway.js"

/**
 * How one provider call is made and classified.
 */
export interface CallOptions {
  readonly gateway: string
  /** The contract operation (`process`, `capture`, `getStatus`, …), used in error messages. */
  readonly operation: string
  /** Whether the call can move money: then any doubt is an unknown outcome, never transient. */
  readonly moneyMoving: boolean
  readonly timeout: Duration.DurationInput
}

/** Error codes of a connection that was never established: nothing reached the provider. */
const notSentCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "CERT_HAS_EXPIRED"])

const errorCode = (cause: unknown): string | undefined => {
  let current: unknown = cause
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code: unknown = Reflect.get(current, "code")
    if (typeof code === "string") return code
    current = Reflect.get(current, "cause")
  }
  return undefined
}

/**
 * The error for a call whose outcome is in doubt: unknown on a money-moving call, transient
 * otherwise.
 */
export const doubt = (options: CallOptions, reason: string): GatewayTransientError | GatewayUnknownOutcome =>
  options.moneyMoving
    ? new GatewayUnknownOutcome({ gateway: options.gateway, operation: options.operation, reason })
    : new GatewayTransientError({ gateway: options.gateway, operation: options.operation, reason })

/**
 * Sends `request` with `client` under `options.timeout`. Transport failures are classified: a
 * connection never established is transient; a timeout or a connection lost after sending is
 * {@link doubt}; a request that cannot even be built is misconfigured.
 */
export const send = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  options: CallOptions
): Effect.Effect<HttpClientResponse.HttpClientResponse, GatewayTransientError | GatewayUnknownOutcome | GatewayMisconfigured> =>
  client.execute(request).pipe(
    Effect.timeoutFail({
      duration: options.timeout,
      onTimeout: () => doubt(options, "timed out waiting for the provider")
    }),
    Effect.catchTag("RequestError", (error: HttpClientError.RequestError): Effect.Effect<never, GatewayTransientError | GatewayUnknownOutcome | GatewayMisconfigured> => {
      if (error.reason !== "Transport") {
        return Effect.fail(new GatewayMisconfigured({ gateway: options.gateway, reason: `${options.operation}: request could not be built (${error.reason})` }))
      }
      const code = errorCode(error.cause)
      return Effect.fail(
        code !== undefined && notSentCodes.has(code)
          ? new GatewayTransientError({ gateway: options.gateway, operation: options.operation, reason: `connection failed (${code})` })
          : doubt(options, `connection lost${code === undefined ? "" : ` (${code})`}`)
      )
    }),
    Effect.catchTag("ResponseError", () => Effect.fail(doubt(options, "response could not be read")))
  )

/**
 * A provider's answer: its status and its body parsed as JSON (`undefined` when the body is
 * empty or not JSON; `text` keeps the raw body, bounded, for error messages).
 */
export interface Answer {
  readonly status: number
  readonly json: unknown
  readonly text: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Reads the whole body of `response`. A body that cannot be read is {@link doubt}.
 */
export const read = (
  response: HttpClientResponse.HttpClientResponse,
  options: CallOptions
): Effect.Effect<Answer, GatewayTransientError | GatewayUnknownOutcome> =>
  response.text.pipe(
    Effect.timeoutFail({ duration: options.timeout, onTimeout: () => doubt(options, "timed out reading the provider's answer") }),
    Effect.catchTag("ResponseError", () => Effect.fail(doubt(options, "response body could not be read"))),
    Effect.map((text) => ({
      status: response.status,
      json: parseJson(text),
      text: text.length > 500 ? `${text.slice(0, 500)}…` : text,
      headers: response.headers
    }))
  )

/** `JSON.parse`, or `undefined` for a body that is not JSON. */
export const parseJson = (text: string): unknown => {
  if (text.length === 0) return undefined
  try {
    const value: unknown = JSON.parse(text)
    return value
  } catch {
    return undefined
  }
}

/**
 * Sends and reads in one step.
 */
export const call = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  options: CallOptions
): Effect.Effect<Answer, GatewayTransientError | GatewayUnknownOutcome | GatewayMisconfigured> =>
  Effect.scoped(Effect.flatMap(send(client, request, options), (response) => read(response, options)))

/**
 * Decodes a provider's JSON with `schema`. A body that does not match is {@link doubt} on a
 * money-moving call (the provider answered something we do not understand: money may have
 * moved), transient otherwise. Never a defect.
 */
export const decode = <A, I>(
  schema: Schema.Schema<A, I>,
  answer: Answer,
  options: CallOptions
): Effect.Effect<A, GatewayTransientError | GatewayUnknownOutcome> =>
  Either.match(Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })(answer.json), {
    onLeft: (error) =>
      Effect.fail(
        doubt(
          options,
          answer.json === undefined
            ? `HTTP ${answer.status}: the answer is not JSON`
            : `HTTP ${answer.status}: unexpected answer (${ParseResult.TreeFormatter.formatErrorSync(error).slice(0, 300)})`
        )
      ),
    onRight: Effect.succeed
  })

/**
 * HMAC-SHA256 of `data` with `secret`, hex encoded.
 */
export const hmacSha256Hex = (secret: Redacted.Redacted<string> | Uint8Array, data: string | Uint8Array): string =>
  createHmac("sha256", secret instanceof Uint8Array ? secret : Redacted.value(secret)).update(data).digest("hex")

/**
 * HMAC-SHA256 of `data` with `secret`, base64 encoded.
 */
export const hmacSha256Base64 = (secret: Redacted.Redacted<string> | Uint8Array, data: string | Uint8Array): string =>
  createHmac("sha256", secret instanceof Uint8Array ? secret : Redacted.value(secret)).update(data).digest("base64")

/**
 * Compares two strings in time independent of where they differ (lengths are not secret).
 */
export const constantTimeEqual = (a: string, b: string): boolean => {
  const left = Buffer.from(a, "utf8")
  const right = Buffer.from(b, "utf8")
  return left.length === right.length && timingSafeEqual(left, right)
}

/**
 * A header of a webhook request (names are lower-cased by the caller), or `undefined`.
 */
export const header = (headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined =>
  headers[name.toLowerCase()]

/**
 * The body of a webhook as UTF-8 text.
 */
export const utf8 = (body: Uint8Array): string => new TextDecoder("utf-8", { fatal: false }).decode(body)

/**
 * A client that reports every send through {@link send}: re-exported for adapters' `make`.
 */
export { HttpClient }
