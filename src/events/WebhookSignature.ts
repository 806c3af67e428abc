/**
 * Signatures of the webhooks AegisPay sends to merchants, and their verification.
 *
 * A request carries `AegisPay-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is the
 * HMAC-SHA256, keyed with the endpoint's secret (the whole `whsec_…` string, as UTF-8), of
 * `"<t>.<body>"`: the timestamp, a dot and the exact bytes of the body. During a secret rotation
 * a header may carry several `v1=` values; one matching is enough.
 *
 * Guarantees of {@link verify}: the comparison is constant-time; a body changed by one byte, another
 * secret, a missing or malformed header, or a timestamp further than `tolerance` from the
 * verifier's `Clock` (a replayed old request) is refused with {@link WebhookSignatureInvalid},
 * whose message never quotes the secret or the expected signature.
 *
 * @since 0.2.0
 */
import { Clock, Duration, Effect, Redacted, Schema } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"

/**
 * The header holding the signature.
 *
 * @since 0.2.0
 */
export const signatureHeader = "aegispay-signature"

/**
 * The header holding the event id (the same on every attempt and replay: dedupe by it).
 *
 * @since 0.2.0
 */
export const eventIdHeader = "aegispay-event-id"

/**
 * Why a webhook's signature was refused.
 *
 * @since 0.2.0
 */
export class WebhookSignatureInvalid extends Schema.TaggedError<WebhookSignatureInvalid>()("WebhookSignatureInvalid", {
  reason: Schema.Literal("missing_header", "malformed_header", "timestamp_outside_tolerance", "no_matching_signature")
}) {
  override get message(): string {
    return `webhook signature refused: ${this.reason}`
  }
}

const toBytes = (body: string | Uint8Array): Buffer =>
  typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength)

/**
 * The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
 *
 * @since 0.2.0
 */
export const compute = (secret: Redacted.Redacted<string>, timestamp: number, body: string | Uint8Array): string =>
  createHmac("sha256", Redacted.value(secret)).update(`${timestamp}.`, "utf8").update(toBytes(body)).digest("hex")

/**
 * The `AegisPay-Signature` value for `body` sent at `timestamp` (unix seconds).
 *
 * @since 0.2.0
 */
export const header = (secret: Redacted.Redacted<string>, timestamp: number, body: string | Uint8Array): string =>
  `t=${timestamp},v1=${compute(secret, timestamp, body)}`

/**
 * A parsed `AegisPay-Signature` value: its timestamp and every `v1` signature (unknown schemes
 * are ignored).
 *
 * @since 0.2.0
 */
export interface Parsed {
  readonly timestamp: number
  readonly signatures: ReadonlyArray<string>
}

/**
 * Parses an `AegisPay-Signature` value; `undefined` when it has no integer `t` or no `v1`.
 *
 * @since 0.2.0
 */
export const parse = (value: string): Parsed | undefined => {
  let timestamp: number | undefined
  const signatures: Array<string> = []
  for (const part of value.split(",")) {
    const at = part.indexOf("=")
    if (at === -1) continue
    const key = part.slice(0, at).trim()
    const item = part.slice(at + 1).trim()
    if (key === "t" && /^\d{1,12}$/.test(item)) timestamp = Number(item)
    else if (key === "v1" && /^[0-9a-f]{64}$/.test(item)) signatures.push(item)
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures }
}

/**
 * Headers as a plain record, a `Headers` object, or `@effect/platform`'s `Headers`: looked up
 * case-insensitively.
 *
 * @since 0.2.0
 */
export type HeadersInput =
  | { readonly get: (name: string) => string | null }
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

const headerOf = (headers: HeadersInput, name: string): string | undefined => {
  if ("get" in headers && typeof headers.get === "function") {
    const value = headers.get(name)
    return typeof value === "string" ? value : undefined
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue
    if (typeof value === "string") return value
    if (Array.isArray(value)) return value.join(",")
  }
  return undefined
}

/**
 * Verifies a webhook AegisPay sent: `body` must be the exact bytes received (not re-serialized
 * JSON), `secret` the endpoint's `whsec_…` secret, and the header's timestamp within `tolerance`
 * (default 5 minutes) of the `Clock`. Succeeds with the header's timestamp.
 *
 * @since 0.2.0
 */
export const verify = (
  secret: Redacted.Redacted<string>,
  headers: HeadersInput,
  body: string | Uint8Array,
  tolerance: Duration.DurationInput = "5 minutes"
): Effect.Effect<number, WebhookSignatureInvalid> =>
  Effect.gen(function*() {
    const value = headerOf(headers, signatureHeader)
    if (value === undefined) return yield* new WebhookSignatureInvalid({ reason: "missing_header" })
    const parsed = parse(value)
    if (parsed === undefined) return yield* new WebhookSignatureInvalid({ reason: "malformed_header" })
    const now = yield* Clock.currentTimeMillis
    if (Math.abs(now - parsed.timestamp * 1000) > Duration.toMillis(Duration.decode(tolerance))) {
      return yield* new WebhookSignatureInvalid({ reason: "timestamp_outside_tolerance" })
    }
    const expected = Buffer.from(compute(secret, parsed.timestamp, body), "hex")
    const matches = parsed.signatures.some((signature) => timingSafeEqual(Buffer.from(signature, "hex"), expected))
    if (!matches) return yield* new WebhookSignatureInvalid({ reason: "no_matching_signature" })
    return parsed.timestamp
  })
