/**
 * Envelope encryption: every record is encrypted with its own fresh data key (AES-256-GCM), and
 * only the data key, wrapped by a key-encryption key of `KeyManagement`, is stored next to it.
 *
 * Guarantees:
 * - a fresh random 32-byte data key and 12-byte nonce per `seal` (node:crypto `randomBytes`);
 *   the plaintext data key is zeroed once wrapped or used;
 * - the caller's context (`aad`, e.g. tenant and vault token: see {@link context}) is
 *   authenticated, not stored: opening with another context, another key or altered bytes fails
 *   with `DecryptionFailed`, never with wrong plaintext;
 * - {@link rewrap} moves an envelope to the current KEK by re-wrapping its data key only: the
 *   ciphertext is not touched, so rotation costs one unwrap and one wrap per record.
 *
 * @since 0.1.0
 */
import { Effect, Redacted } from "effect"
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { KeyManagement, type WrappedKey } from "./KeyManagement.js"
import { DecryptionFailed, type KeyManagementUnavailable, type UnknownKeyId } from "./SecurityError.js"

/**
 * A sealed record: what is stored.
 *
 * @since 0.1.0
 */
export interface Envelope {
  /** The id of the KEK that wrapped `wrappedKey`. */
  readonly keyId: string
  readonly wrappedKey: Uint8Array
  /** The 12-byte AES-GCM nonce. */
  readonly nonce: Uint8Array
  /** The AES-256-GCM ciphertext followed by its 16-byte authentication tag. */
  readonly ciphertext: Uint8Array
}

const DATA_KEY_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16

/**
 * Encodes context strings as additional authenticated data, each length-prefixed so that no two
 * different lists encode alike (`["a:b", "c"]` ≠ `["a", "b:c"]`).
 *
 * @since 0.1.0
 */
export const context = (...parts: ReadonlyArray<string>): Uint8Array =>
  Buffer.concat(parts.flatMap((part) => {
    const bytes = Buffer.from(part, "utf8")
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    return [length, bytes]
  }))

/**
 * Encrypts `plaintext` under a fresh data key, bound to `aad`, and wraps the data key with the
 * current KEK.
 *
 * @since 0.1.0
 */
export const seal: (
  plaintext: Redacted.Redacted<Uint8Array>,
  aad: Uint8Array
) => Effect.Effect<Envelope, KeyManagementUnavailable, KeyManagement> = Effect.fn("Envelope.seal")(
  function*(plaintext: Redacted.Redacted<Uint8Array>, aad: Uint8Array) {
    const keys = yield* KeyManagement
    const dataKey = randomBytes(DATA_KEY_BYTES)
    return yield* Effect.gen(function*() {
      const nonce = randomBytes(NONCE_BYTES)
      const cipher = createCipheriv("aes-256-gcm", dataKey, nonce)
      cipher.setAAD(aad)
      const ciphertext = Buffer.concat([cipher.update(Redacted.value(plaintext)), cipher.final(), cipher.getAuthTag()])
      const wrapped = yield* keys.wrap(Redacted.make<Uint8Array>(dataKey))
      return { keyId: wrapped.keyId, wrappedKey: wrapped.wrapped, nonce, ciphertext }
    }).pipe(Effect.ensuring(Effect.sync(() => dataKey.fill(0))))
  }
)

/**
 * Decrypts an envelope sealed with the same `aad`. The plaintext is returned `Redacted`.
 *
 * @since 0.1.0
 */
export const open: (
  envelope: Envelope,
  aad: Uint8Array
) => Effect.Effect<
  Redacted.Redacted<Uint8Array>,
  UnknownKeyId | DecryptionFailed | KeyManagementUnavailable,
  KeyManagement
> = Effect.fn("Envelope.open")(function*(envelope: Envelope, aad: Uint8Array) {
  const keys = yield* KeyManagement
  const dataKey = yield* keys.unwrap({ keyId: envelope.keyId, wrapped: envelope.wrappedKey })
  const failed = new DecryptionFailed({ keyId: envelope.keyId, stage: "payload" })
  const key = Redacted.value(dataKey)
  if (
    key.length !== DATA_KEY_BYTES || envelope.nonce.length !== NONCE_BYTES || envelope.ciphertext.length < TAG_BYTES
  ) {
    return yield* failed
  }
  return yield* Effect.try({
    try: () => {
      const body = Buffer.from(envelope.ciphertext)
      const decipher = createDecipheriv("aes-256-gcm", key, envelope.nonce)
      decipher.setAAD(aad)
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES))
      return Redacted.make<Uint8Array>(Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]))
    },
    catch: () => failed
  }).pipe(Effect.ensuring(Effect.sync(() => key.fill(0))))
})

/**
 * A wrapped data key re-wrapped under the current KEK; unchanged when it is already under it.
 * The data key itself does not change, so whatever it encrypted stays valid.
 *
 * @since 0.1.0
 */
export const rewrapKey: (
  key: WrappedKey
) => Effect.Effect<WrappedKey, UnknownKeyId | DecryptionFailed | KeyManagementUnavailable, KeyManagement> = Effect.fn(
  "Envelope.rewrapKey"
)(function*(key: WrappedKey) {
  const keys = yield* KeyManagement
  if (key.keyId === keys.currentKeyId) return key
  const dataKey = yield* keys.unwrap(key)
  return yield* keys.wrap(dataKey).pipe(Effect.ensuring(Effect.sync(() => Redacted.value(dataKey).fill(0))))
})

/**
 * The same envelope with its data key re-wrapped under the current KEK ({@link rewrapKey}); the
 * ciphertext and nonce are kept.
 *
 * @since 0.1.0
 */
export const rewrap = (
  envelope: Envelope
): Effect.Effect<Envelope, UnknownKeyId | DecryptionFailed | KeyManagementUnavailable, KeyManagement> =>
  Effect.map(
    rewrapKey({ keyId: envelope.keyId, wrapped: envelope.wrappedKey }),
    (key) => ({ ...envelope, keyId: key.keyId, wrappedKey: key.wrapped })
  )
