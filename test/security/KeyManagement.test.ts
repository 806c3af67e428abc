/**
 * KeyManagement (keys from Config or given) and envelope encryption: round trip, AAD binding,
 * tampering, re-wrapping under a new key-encryption key.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as Envelope from "../../src/security/Envelope.js"
import * as KeyManagement from "../../src/security/KeyManagement.js"
import { fingerprintKey, kek } from "./Keys.js"

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")
const fromEnv = (env: Record<string, string>) =>
  Effect.flatMap(KeyManagement.KeyManagement, (keys) => Effect.succeed(keys)).pipe(
    Effect.provide(KeyManagement.layerConfig),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )
const text = (s: string) => Redacted.make<Uint8Array>(Buffer.from(s, "utf8"))
const utf8 = (r: Redacted.Redacted<Uint8Array>) => Buffer.from(Redacted.value(r)).toString("utf8")

describe("KeyManagement.layerConfig", () => {
  const kekA = randomBytes(32)
  const kekOld = randomBytes(32)
  const fp = randomBytes(32)
  const env = { AEGISPAY_KEK: b64(kekA), AEGISPAY_KEK_ID: "kek-a", AEGISPAY_FINGERPRINT_KEY: b64(fp) }

  it.effect("reads the current key, retired keys and the fingerprint key", () =>
    Effect.gen(function*() {
      const keys = yield* fromEnv({ ...env, AEGISPAY_KEK_RETIRED: `kek-old=${b64(kekOld)}` })
      expect(keys.currentKeyId).toBe("kek-a")
      const old = yield* KeyManagement.make({ current: { id: "kek-old", key: Redacted.make<Uint8Array>(kekOld) }, fingerprintKey })
      const wrapped = yield* old.wrap(Redacted.make<Uint8Array>(randomBytes(32)))
      // the configured layer unwraps what the retired key wrapped
      yield* keys.unwrap(wrapped)
    }))

  it.effect("a missing key is a ConfigError at start-up, never a default", () =>
    Effect.gen(function*() {
      for (const missing of ["AEGISPAY_KEK", "AEGISPAY_KEK_ID", "AEGISPAY_FINGERPRINT_KEY"] as const) {
        const { [missing]: _, ...rest } = env
        const error = yield* Effect.flip(fromEnv(rest))
        expect(error).toMatchObject({ _tag: "ConfigError", _op: "MissingData" })
      }
    }))

  it.effect("malformed keys are ConfigErrors that do not quote the key", () =>
    Effect.gen(function*() {
      const short = b64(randomBytes(16))
      const cases = [
        { ...env, AEGISPAY_KEK: short },
        { ...env, AEGISPAY_KEK: "not base64!" },
        { ...env, AEGISPAY_FINGERPRINT_KEY: b64(randomBytes(8)) },
        { ...env, AEGISPAY_FINGERPRINT_KEY: env.AEGISPAY_KEK },
        { ...env, AEGISPAY_KEK_RETIRED: "kek-a=" + b64(kekOld) },
        { ...env, AEGISPAY_KEK_RETIRED: "no-equals-sign" }
      ]
      for (const c of cases) {
        const error = yield* Effect.flip(fromEnv(c))
        expect(error).toMatchObject({ _tag: "ConfigError", _op: "InvalidData" })
        expect(String(error)).not.toContain(short)
        expect(String(error)).not.toContain(env.AEGISPAY_KEK)
      }
    }))
})

describe("KeyManagement.make", () => {
  it.effect("rejects short keys, bad ids and duplicate ids", () =>
    Effect.gen(function*() {
      const bad = [
        { current: { id: "a", key: Redacted.make<Uint8Array>(randomBytes(31)) }, fingerprintKey },
        { current: { id: "has space", key: Redacted.make<Uint8Array>(randomBytes(32)) }, fingerprintKey },
        { current: kek("a"), retired: [kek("a")], fingerprintKey },
        { current: kek("a"), fingerprintKey: Redacted.make<Uint8Array>(randomBytes(16)) }
      ]
      for (const keys of bad) {
        expect((yield* Effect.flip(KeyManagement.make(keys)))._tag).toBe("InvalidKeyMaterial")
      }
    }))

  it.effect("fingerprints are keyed: another key gives another value", () =>
    Effect.gen(function*() {
      const a = yield* KeyManagement.make({ current: kek("a"), fingerprintKey })
      const b = yield* KeyManagement.make({ current: kek("a"), fingerprintKey: Redacted.make<Uint8Array>(randomBytes(32)) })
      const data = Redacted.make("4242424242424242")
      expect(yield* a.fingerprint(data)).toBe(yield* a.fingerprint(data))
      expect(yield* a.fingerprint(data)).not.toBe(yield* b.fingerprint(data))
    }))
})

describe("Envelope", () => {
  const keyA = kek("kek-a")
  const keyB = kek("kek-b")
  const onlyA = KeyManagement.layer({ current: keyA, fingerprintKey })
  const bWithA = KeyManagement.layer({ current: keyB, retired: [keyA], fingerprintKey })
  const onlyB = KeyManagement.layer({ current: keyB, fingerprintKey })
  const aad = Envelope.context("tenant-1", "card_1")

  it.effect("round trip; a fresh data key and nonce per record", () =>
    Effect.gen(function*() {
      const one = yield* Envelope.seal(text("secret"), aad)
      const two = yield* Envelope.seal(text("secret"), aad)
      expect(one.keyId).toBe("kek-a")
      expect(Buffer.from(one.ciphertext).equals(Buffer.from(two.ciphertext))).toBe(false)
      expect(Buffer.from(one.wrappedKey).equals(Buffer.from(two.wrappedKey))).toBe(false)
      expect(Buffer.from(one.ciphertext).includes(Buffer.from("secret"))).toBe(false)
      expect(utf8(yield* Envelope.open(one, aad))).toBe("secret")
    }).pipe(Effect.provide(onlyA)))

  it.effect("another context (tenant, token) fails to decrypt", () =>
    Effect.gen(function*() {
      const sealed = yield* Envelope.seal(text("secret"), aad)
      for (const other of [Envelope.context("tenant-2", "card_1"), Envelope.context("tenant-1", "card_2"), Envelope.context("tenant-1card_1")]) {
        const error = yield* Effect.flip(Envelope.open(sealed, other))
        expect(error).toMatchObject({ _tag: "DecryptionFailed", stage: "payload" })
      }
    }).pipe(Effect.provide(onlyA)))

  it.effect("a tampered ciphertext, nonce or wrapped key fails; a relabelled key id fails", () =>
    Effect.gen(function*() {
      const sealed = yield* Envelope.seal(text("secret"), aad)
      const flip = (bytes: Uint8Array, at: number) => {
        const copy = Buffer.from(bytes)
        copy[at] = copy[at]! ^ 1
        return copy
      }
      for (let at = 0; at < sealed.ciphertext.length; at++) {
        expect((yield* Effect.flip(Envelope.open({ ...sealed, ciphertext: flip(sealed.ciphertext, at) }, aad)))._tag)
          .toBe("DecryptionFailed")
      }
      expect(yield* Effect.flip(Envelope.open({ ...sealed, nonce: flip(sealed.nonce, 0) }, aad)))
        .toMatchObject({ _tag: "DecryptionFailed", stage: "payload" })
      expect(yield* Effect.flip(Envelope.open({ ...sealed, wrappedKey: flip(sealed.wrappedKey, 20) }, aad)))
        .toMatchObject({ _tag: "DecryptionFailed", stage: "data_key" })
      expect(yield* Effect.flip(Envelope.open({ ...sealed, ciphertext: sealed.ciphertext.subarray(0, 10) }, aad)))
        .toMatchObject({ _tag: "DecryptionFailed" })
      // the same key material under another id: the wrap authenticates its key id
      const twin = yield* KeyManagement.make({ current: keyA, retired: [{ id: "kek-twin", key: keyA.key }], fingerprintKey })
      expect(yield* Effect.flip(Envelope.open({ ...sealed, keyId: "kek-twin" }, aad).pipe(
        Effect.provideService(KeyManagement.KeyManagement, twin)
      ))).toMatchObject({ _tag: "DecryptionFailed", stage: "data_key" })
    }).pipe(Effect.provide(onlyA)))

  it.effect("rotation: re-wrapped under the new key, it opens without the old one; unrotated, it fails with UnknownKeyId", () =>
    Effect.gen(function*() {
      const sealed = yield* Envelope.seal(text("secret"), aad).pipe(Effect.provide(onlyA))
      const unrotated = yield* Effect.flip(Envelope.open(sealed, aad).pipe(Effect.provide(onlyB)))
      expect(unrotated).toMatchObject({ _tag: "UnknownKeyId", keyId: "kek-a" })
      expect(unrotated.message).toContain("kek-a")

      expect(utf8(yield* Envelope.open(sealed, aad).pipe(Effect.provide(bWithA))))
        .toBe("secret")
      const rotated = yield* Envelope.rewrap(sealed).pipe(Effect.provide(bWithA))
      expect(rotated.keyId).toBe("kek-b")
      expect(Buffer.from(rotated.ciphertext).equals(Buffer.from(sealed.ciphertext))).toBe(true)
      expect(utf8(yield* Envelope.open(rotated, aad).pipe(Effect.provide(onlyB)))).toBe("secret")
      // already current: unchanged
      expect(yield* Envelope.rewrap(rotated).pipe(Effect.provide(onlyB))).toEqual(rotated)
    }))

  it("a key configured from Either-validated material never prints", () => {
    const keys = { current: kek("a"), fingerprintKey }
    expect(Either.isRight(KeyManagement.validate(keys))).toBe(true)
    expect(String(keys.current.key)).toBe("<redacted>")
    expect(JSON.stringify(keys)).not.toContain(Buffer.from(Redacted.value(keys.current.key)).toString("base64"))
    expect(Layer.isLayer(KeyManagement.layerConfig)).toBe(true)
  })
})
