/**
 * Key management: the key-encryption keys (KEKs) that wrap per-record data keys, and the secret
 * key of card fingerprints.
 *
 * Guarantees of every implementation:
 * - `wrap` protects a data key under the current KEK and names that KEK by id; `unwrap` opens
 *   it only with the KEK of that id, failing with `UnknownKeyId` when the id is not configured
 *   and `DecryptionFailed` when the wrapped key was altered or relabelled with another id.
 * - `fingerprint` is a keyed hash (HMAC-SHA256 in the memory implementation): equal inputs give
 *   equal outputs, and without the key an output cannot be recomputed from a guessed input.
 * - No key material, data key or fingerprinted input appears in an error, a span or a log line.
 *
 * The memory implementation here holds the keys in process memory, from `Config`
 * ({@link layerConfig}) or given explicitly ({@link layer}); there is no default key. A KMS or an
 * HSM can stand behind the same `KeyManagement` tag: `wrap`/`unwrap` map to its
 * encrypt/decrypt (or wrap/unwrap) calls and `fingerprint` to its HMAC (`GenerateMac`).
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Context, Effect, Either, Encoding, Layer, Option, Redacted } from "effect"
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto"
import { DecryptionFailed, InvalidKeyMaterial, type KeyManagementUnavailable, UnknownKeyId } from "./SecurityError.js"

/**
 * A data key wrapped (encrypted) by the key-encryption key `keyId`.
 *
 * @since 0.1.0
 */
export interface WrappedKey {
  readonly keyId: string
  readonly wrapped: Uint8Array
}

/**
 * @since 0.1.0
 */
export class KeyManagement extends Context.Tag("aegispay/KeyManagement")<KeyManagement, {
  /** The id of the KEK that `wrap` uses. Records under any other id are due for rotation. */
  readonly currentKeyId: string
  /**
   * Wraps a 32-byte data key under the current KEK. The caller zeroes `dataKey` once this
   * completes: an implementation must not keep a reference to it.
   */
  readonly wrap: (dataKey: Redacted.Redacted<Uint8Array>) => Effect.Effect<WrappedKey, KeyManagementUnavailable>
  /**
   * Unwraps a data key with the KEK it names: current or retired. Returns a fresh buffer, which
   * the caller zeroes after use (an implementation that caches data keys must return copies).
   */
  readonly unwrap: (
    key: WrappedKey
  ) => Effect.Effect<Redacted.Redacted<Uint8Array>, UnknownKeyId | DecryptionFailed | KeyManagementUnavailable>
  /** The keyed hash (lower-case hex) of `data` under the fingerprint key. */
  readonly fingerprint: (data: Redacted.Redacted<string>) => Effect.Effect<string, KeyManagementUnavailable>
}>() {}

/**
 * A key-encryption key: 32 bytes (AES-256) and the id stored next to what it wraps.
 *
 * @since 0.1.0
 */
export interface KeyEncryptionKey {
  readonly id: string
  readonly key: Redacted.Redacted<Uint8Array>
}

/**
 * The keys of the memory implementation.
 *
 * - `current`: wraps new data keys;
 * - `retired`: older KEKs, only unwrapped with, until `SqlCardVault.rotate` has re-wrapped every
 *   record under them and they can be removed;
 * - `fingerprintKey`: at least 32 bytes, distinct from every KEK.
 *
 * @since 0.1.0
 */
export interface Keys {
  readonly current: KeyEncryptionKey
  readonly retired?: ReadonlyArray<KeyEncryptionKey> | undefined
  readonly fingerprintKey: Redacted.Redacted<Uint8Array>
}

const KEK_BYTES = 32
const FINGERPRINT_KEY_MIN_BYTES = 32
const NONCE_BYTES = 12
const TAG_BYTES = 16
const WRAP_VERSION = 1
const WRAPPED_BYTES = 1 + NONCE_BYTES + KEK_BYTES + TAG_BYTES
const KEY_ID = /^[A-Za-z0-9._:-]{1,64}$/

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0

/**
 * Checks key lengths and ids: every KEK 32 bytes under a distinct id of 1 to 64 characters
 * `[A-Za-z0-9._:-]`, the fingerprint key at least 32 bytes and unlike every KEK.
 *
 * @since 0.1.0
 */
export const validate = (keys: Keys): Either.Either<Keys, InvalidKeyMaterial> => {
  const all = [keys.current, ...(keys.retired ?? [])]
  const seen = new Set<string>()
  for (const kek of all) {
    if (!KEY_ID.test(kek.id)) {
      return Either.left(new InvalidKeyMaterial({ reason: "a key id must be 1 to 64 characters of [A-Za-z0-9._:-]" }))
    }
    if (seen.has(kek.id)) return Either.left(new InvalidKeyMaterial({ reason: `key id "${kek.id}" is given twice` }))
    seen.add(kek.id)
    if (Redacted.value(kek.key).length !== KEK_BYTES) {
      return Either.left(new InvalidKeyMaterial({ reason: `key "${kek.id}" must be ${KEK_BYTES} bytes` }))
    }
  }
  const fingerprintKey = Redacted.value(keys.fingerprintKey)
  if (fingerprintKey.length < FINGERPRINT_KEY_MIN_BYTES) {
    return Either.left(new InvalidKeyMaterial({ reason: `the fingerprint key must be at least ${FINGERPRINT_KEY_MIN_BYTES} bytes` }))
  }
  if (all.some((kek) => sameBytes(Redacted.value(kek.key), fingerprintKey))) {
    return Either.left(new InvalidKeyMaterial({ reason: "the fingerprint key must differ from every key-encryption key" }))
  }
  return Either.right(keys)
}

/** What the wrap authenticates besides the key: the KEK id, so a wrapped key cannot be relabelled. */
const wrapContext = (keyId: string) => Buffer.from(`aegispay/kek/v${WRAP_VERSION}\u0000${keyId}`, "utf8")

const build = (keys: Keys): KeyManagement["Type"] => {
  const keks = new Map<string, Redacted.Redacted<Uint8Array>>()
  for (const kek of [keys.current, ...(keys.retired ?? [])]) keks.set(kek.id, kek.key)
  const current = keys.current
  return KeyManagement.of({
    currentKeyId: current.id,
    wrap: (dataKey) =>
      Effect.sync(() => {
        const nonce = randomBytes(NONCE_BYTES)
        const cipher = createCipheriv("aes-256-gcm", Redacted.value(current.key), nonce)
        cipher.setAAD(wrapContext(current.id))
        const sealed = Buffer.concat([cipher.update(Redacted.value(dataKey)), cipher.final()])
        return {
          keyId: current.id,
          wrapped: Buffer.concat([Buffer.of(WRAP_VERSION), nonce, sealed, cipher.getAuthTag()])
        }
      }),
    unwrap: ({ keyId, wrapped }) =>
      Effect.suspend((): Effect.Effect<Redacted.Redacted<Uint8Array>, UnknownKeyId | DecryptionFailed> => {
        const kek = keks.get(keyId)
        if (kek === undefined) return Effect.fail(new UnknownKeyId({ keyId }))
        const failed = new DecryptionFailed({ keyId, stage: "data_key" })
        if (wrapped.length !== WRAPPED_BYTES || wrapped[0] !== WRAP_VERSION) return Effect.fail(failed)
        return Effect.try({
          try: () => {
            const bytes = Buffer.from(wrapped)
            const decipher = createDecipheriv("aes-256-gcm", Redacted.value(kek), bytes.subarray(1, 1 + NONCE_BYTES))
            decipher.setAAD(wrapContext(keyId))
            decipher.setAuthTag(bytes.subarray(WRAPPED_BYTES - TAG_BYTES))
            const dataKey = Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES, WRAPPED_BYTES - TAG_BYTES)), decipher.final()])
            return Redacted.make<Uint8Array>(dataKey)
          },
          catch: () => failed
        })
      }),
    fingerprint: (data) =>
      Effect.sync(() => createHmac("sha256", Redacted.value(keys.fingerprintKey)).update(Redacted.value(data), "utf8").digest("hex"))
  })
}

/**
 * Key management over keys held in memory. Fails with `InvalidKeyMaterial` when
 * {@link validate} rejects the keys.
 *
 * @since 0.1.0
 */
export const make = (keys: Keys): Effect.Effect<KeyManagement["Type"], InvalidKeyMaterial> =>
  Effect.map(validate(keys), build)

/**
 * Key management over explicit keys, e.g. fetched by the application from its secret store.
 *
 * @since 0.1.0
 */
export const layer = (keys: Keys): Layer.Layer<KeyManagement, InvalidKeyMaterial> => Layer.effect(KeyManagement, make(keys))

const base64Key = (name: string) =>
  Config.redacted(name).pipe(
    Config.mapOrFail((value) =>
      Either.mapBoth(Encoding.decodeBase64(Redacted.value(value).trim()), {
        onLeft: () => ConfigError.InvalidData([name], `${name} must be base64`),
        onRight: (bytes) => Redacted.make(bytes)
      })
    )
  )

const parseRetired = (value: Redacted.Redacted<string>): Either.Either<ReadonlyArray<KeyEncryptionKey>, ConfigError.ConfigError> => {
  const keys: Array<KeyEncryptionKey> = []
  for (const entry of Redacted.value(value).split(/[\s,]+/)) {
    if (entry === "") continue
    const at = entry.indexOf("=")
    const decoded = at > 0 ? Encoding.decodeBase64(entry.slice(at + 1)) : undefined
    if (decoded === undefined || Either.isLeft(decoded)) {
      return Either.left(ConfigError.InvalidData(["AEGISPAY_KEK_RETIRED"], "AEGISPAY_KEK_RETIRED must be a list of id=base64 entries"))
    }
    keys.push({ id: entry.slice(0, at), key: Redacted.make(decoded.right) })
  }
  return Either.right(keys)
}

/**
 * The keys from configuration, all required except the retired ones; a missing or malformed key
 * is a `ConfigError` (there is no default):
 *
 * - `AEGISPAY_KEK`: the current KEK, base64 of 32 bytes (`openssl rand -base64 32`);
 * - `AEGISPAY_KEK_ID`: its id, stored with every record it wraps (e.g. `kek-2026-12`);
 * - `AEGISPAY_KEK_RETIRED` (optional): retired KEKs as `id=base64` entries separated by commas;
 * - `AEGISPAY_FINGERPRINT_KEY`: base64 of at least 32 bytes, unlike every KEK.
 *
 * @since 0.1.0
 */
export const config: Config.Config<Keys> = Config.all({
  current: Config.all({ id: Config.string("AEGISPAY_KEK_ID"), key: base64Key("AEGISPAY_KEK") }),
  retired: Config.option(Config.redacted("AEGISPAY_KEK_RETIRED")).pipe(
    Config.mapOrFail(Option.match({ onNone: () => Either.right([]), onSome: parseRetired }))
  ),
  fingerprintKey: base64Key("AEGISPAY_FINGERPRINT_KEY")
}).pipe(
  Config.mapOrFail((keys) => Either.mapLeft(validate(keys), (e) => ConfigError.InvalidData([], e.message)))
)

/**
 * Key management with its keys from {@link config}. Fails at start-up with a `ConfigError` when a
 * key is missing or malformed.
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<KeyManagement, ConfigError.ConfigError> = Layer.effect(
  KeyManagement,
  Effect.map(config, build)
)
