/**
 * API key secrets: their format, their keyed hash and its constant-time check.
 *
 * A key is `ak_live_<keyId>_<secret>`: `keyId` is 16 lower-case hex characters (8 random bytes),
 * public, the id of the key's row; `secret` is 32 bytes from a CSPRNG (`SecureRandom`) in
 * base64url (43 characters). Only the keyed hash of the secret is stored:
 * HMAC-SHA256(pepper, "aegispay/api-key/v1" ‖ keyId ‖ secret), length-prefixed parts, with the
 * server pepper `AEGISPAY_API_KEY_PEPPER` held outside the database.
 *
 * Why HMAC with a pepper rather than a password hash: the secret has 256 bits of entropy, so a
 * slow hash buys nothing against guessing, and a fast one keeps authentication O(1) per request.
 * The pepper adds that a database dump alone cannot even check a candidate key. The key id is
 * bound into the hash, so a hash copied onto another row does not authenticate there.
 *
 * Guarantees:
 * - {@link verify} compares the full 32-byte digests with node:crypto `timingSafeEqual`: its time
 *   does not depend on where the digests differ;
 * - {@link parse} accepts exactly the format above and nothing else (no trimming);
 * - no secret, pepper or digest appears in an error or a log: secrets are `Redacted`.
 *
 * @since 0.2.0
 */
import { Config, ConfigError, Context, Effect, Either, Encoding, Layer, Option, Redacted } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"
import { context } from "./Envelope.js"
import * as SecureRandom from "./SecureRandom.js"

/**
 * The server-side secret mixed into every API key hash: at least 32 bytes.
 *
 * @since 0.2.0
 */
export class ApiKeyPepper extends Context.Tag("aegispay/ApiKeyPepper")<ApiKeyPepper, Redacted.Redacted<Uint8Array>>() {}

/**
 * The minimum length of the pepper, in bytes.
 *
 * @since 0.2.0
 */
export const PEPPER_MIN_BYTES = 32

/**
 * The start of every key.
 *
 * @since 0.2.0
 */
export const KEY_PREFIX = "ak_live_"

const KEY_ID_BYTES = 8
const SECRET_BYTES = 32
const FORMAT = /^ak_live_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/
const HASH_CONTEXT = "aegispay/api-key/v1"

/**
 * The pepper from `AEGISPAY_API_KEY_PEPPER`: base64 of at least 32 random bytes
 * (`openssl rand -base64 32`). Required: a missing or short value is a `ConfigError` naming the
 * variable, never its value. There is no default.
 *
 * @since 0.2.0
 */
export const config: Config.Config<Redacted.Redacted<Uint8Array>> = Config.redacted("AEGISPAY_API_KEY_PEPPER").pipe(
  Config.mapOrFail((value) => {
    const decoded = Encoding.decodeBase64(Redacted.value(value).trim())
    if (Either.isLeft(decoded)) {
      return Either.left(ConfigError.InvalidData(["AEGISPAY_API_KEY_PEPPER"], "AEGISPAY_API_KEY_PEPPER must be base64"))
    }
    if (decoded.right.length < PEPPER_MIN_BYTES) {
      return Either.left(
        ConfigError.InvalidData(["AEGISPAY_API_KEY_PEPPER"], `AEGISPAY_API_KEY_PEPPER must be at least ${PEPPER_MIN_BYTES} bytes`)
      )
    }
    return Either.right(Redacted.make(decoded.right))
  })
)

/**
 * The pepper from {@link config}; a `ConfigError` at start-up when it is missing or malformed.
 *
 * @since 0.2.0
 */
export const layerConfig: Layer.Layer<ApiKeyPepper, ConfigError.ConfigError> = Layer.effect(ApiKeyPepper, config)

/**
 * An explicit pepper (e.g. from the application's secret store). Dies when it is shorter than
 * {@link PEPPER_MIN_BYTES}: a programming error, not a run-time condition.
 *
 * @since 0.2.0
 */
export const layer = (pepper: Redacted.Redacted<Uint8Array>): Layer.Layer<ApiKeyPepper> =>
  Layer.effect(
    ApiKeyPepper,
    Redacted.value(pepper).length < PEPPER_MIN_BYTES
      ? Effect.dieMessage(`the API key pepper must be at least ${PEPPER_MIN_BYTES} bytes`)
      : Effect.succeed(pepper)
  )

/**
 * A key split into its public id and its secret.
 *
 * @since 0.2.0
 */
export interface ParsedKey {
  readonly keyId: string
  readonly secret: Redacted.Redacted<string>
}

/**
 * Splits a presented key; `None` for anything not exactly in the key format.
 *
 * @since 0.2.0
 */
export const parse = (raw: Redacted.Redacted<string>): Option.Option<ParsedKey> => {
  const match = FORMAT.exec(Redacted.value(raw))
  return match === null || match[1] === undefined || match[2] === undefined
    ? Option.none()
    : Option.some({ keyId: match[1], secret: Redacted.make(match[2]) })
}

/**
 * The full key of `keyId` and `secret`.
 *
 * @since 0.2.0
 */
export const format = (keyId: string, secret: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(`${KEY_PREFIX}${keyId}_${Redacted.value(secret)}`)

/**
 * The public prefix shown for a key: `ak_live_<keyId>`.
 *
 * @since 0.2.0
 */
export const displayPrefix = (keyId: string): string => `${KEY_PREFIX}${keyId}`

/**
 * A fresh key id: 8 bytes from `SecureRandom`, as 16 hex characters.
 *
 * @since 0.2.0
 */
export const generateKeyId: Effect.Effect<string> = Effect.map(SecureRandom.bytes(KEY_ID_BYTES), Encoding.encodeHex)

/**
 * A fresh secret: 32 bytes from `SecureRandom`, base64url without padding (43 characters).
 *
 * @since 0.2.0
 */
export const generateSecret: Effect.Effect<Redacted.Redacted<string>> = Effect.map(
  SecureRandom.bytes(SECRET_BYTES),
  (bytes) => Redacted.make(Encoding.encodeBase64Url(bytes))
)

/**
 * The stored hash of `secret` for the key `keyId`: HMAC-SHA256 under the pepper, 32 bytes.
 *
 * @since 0.2.0
 */
export const hash = (keyId: string, secret: Redacted.Redacted<string>): Effect.Effect<Uint8Array, never, ApiKeyPepper> =>
  Effect.map(ApiKeyPepper, (pepper) =>
    new Uint8Array(
      createHmac("sha256", Redacted.value(pepper)).update(context(HASH_CONTEXT, keyId, Redacted.value(secret))).digest()
    ))

/** Compared against when no row matches, so an unknown key id costs the same hash and comparison. */
const absent = new Uint8Array(32)

/**
 * Whether `secret` is the key `keyId`'s, given its stored hash (`undefined` when no key has that
 * id: the same hash and comparison run, and the answer is `false`). Constant time in the digests:
 * node:crypto `timingSafeEqual` over 32 bytes.
 *
 * @since 0.2.0
 */
export const verify = (
  keyId: string,
  secret: Redacted.Redacted<string>,
  stored: Uint8Array | undefined
): Effect.Effect<boolean, never, ApiKeyPepper> =>
  Effect.map(hash(keyId, secret), (computed) => {
    const expected = stored !== undefined && stored.length === computed.length ? stored : absent
    const equal = timingSafeEqual(computed, expected)
    return equal && expected !== absent
  })
