/**
 * Pagadito's webhook signature: an RSA signature by Pagadito's certificate over
 * `notification_id|timestamp|event_id|crc32(body)|wsk` (see `protocol.ts`), checked over the
 * exact bytes received.
 *
 * @internal
 */
import type { Redacted } from "effect"
import { Redacted as R } from "effect"
import { createPublicKey, verify, X509Certificate } from "node:crypto"
import type { KeyObject } from "node:crypto"
import { crc32 } from "node:zlib"
import * as Protocol from "./protocol.js"

/** The public key of a PEM certificate or public key, or `undefined` when it is neither. */
export const publicKeyOf = (pem: string): KeyObject | undefined => {
  try {
    return pem.includes("BEGIN CERTIFICATE") ? new X509Certificate(pem).publicKey : createPublicKey(pem)
  } catch {
    return undefined
  }
}

/** The signature headers of a notification, all present, or `undefined`. */
export interface SignatureHeaders {
  readonly notificationId: string
  readonly timestamp: string
  readonly authAlgo: string
  readonly certUrl: string
  readonly signature: string
}

/** The signature headers when every one of them is present and non-empty. */
export const signatureHeaders = (headers: Readonly<Record<string, string | undefined>>): SignatureHeaders | undefined => {
  const get = (name: string) => {
    const value = headers[name]
    return value === undefined || value.trim() === "" ? undefined : value.trim()
  }
  const notificationId = get(Protocol.webhookHeaders.notificationId)
  const timestamp = get(Protocol.webhookHeaders.timestamp)
  const authAlgo = get(Protocol.webhookHeaders.authAlgo)
  const certUrl = get(Protocol.webhookHeaders.certUrl)
  const signature = get(Protocol.webhookHeaders.signature)
  return notificationId === undefined || timestamp === undefined || authAlgo === undefined || certUrl === undefined ||
      signature === undefined
    ? undefined
    : { notificationId, timestamp, authAlgo, certUrl, signature }
}

/** Whether any signature header is present (a partial set is a bad signature, not "unsigned"). */
export const hasAnySignatureHeader = (headers: Readonly<Record<string, string | undefined>>): boolean =>
  Object.values(Protocol.webhookHeaders).some((name) => headers[name] !== undefined)

/**
 * Checks the signature of `body` (the exact bytes) against `key`. `Left` with the reason when it
 * does not verify; never throws.
 */
export const check = (input: {
  readonly headers: SignatureHeaders
  readonly body: Uint8Array
  readonly eventId: string
  readonly wsk: Redacted.Redacted<string>
  readonly key: KeyObject
}): { readonly ok: true } | { readonly ok: false; readonly reason: string } => {
  const algorithm = Protocol.signatureAlgorithm(input.headers.authAlgo)
  if (algorithm === undefined) return { ok: false, reason: "unsupported signature algorithm" }
  const signature = Buffer.from(input.headers.signature, "base64")
  if (signature.length === 0) return { ok: false, reason: "empty signature" }
  const data = Protocol.signedString({
    notificationId: input.headers.notificationId,
    timestamp: input.headers.timestamp,
    eventId: input.eventId,
    crc32: crc32(input.body),
    wsk: R.value(input.wsk)
  })
  try {
    return verify(algorithm, Buffer.from(data, "utf8"), input.key, signature)
      ? { ok: true }
      : { ok: false, reason: "signature does not match" }
  } catch {
    return { ok: false, reason: "signature could not be checked" }
  }
}
