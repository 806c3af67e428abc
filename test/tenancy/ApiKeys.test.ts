/**
 * ApiKeys in memory: the contract, plus the hashing helper.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Option, Redacted } from "effect"
import * as ApiKeyHash from "../../src/security/ApiKeyHash.js"
import { TenancyTest } from "../../src/testing/index.js"
import { apiKeysContract, parses } from "./ApiKeysContract.js"

describe("ApiKeys.layerMemory", () => {
  apiKeysContract(TenancyTest.layerApiKeys, (name) => name)
})

describe("ApiKeyHash", () => {
  it("parses exactly the key format", () => {
    const secret = "A".repeat(43)
    expect(Option.isSome(parses(`ak_live_0123456789abcdef_${secret}`))).toBe(true)
    for (
      const bad of [
        `ak_live_0123456789abcdef_${secret} `,
        ` ak_live_0123456789abcdef_${secret}`,
        `ak_live_0123456789ABCDEF_${secret}`,
        `ak_live_0123456789abcde_${secret}`,
        `ak_test_0123456789abcdef_${secret}`,
        `ak_live_0123456789abcdef_${secret}A`,
        `ak_live_0123456789abcdef_${"A".repeat(42)}=`
      ]
    ) expect(Option.isNone(parses(bad))).toBe(true)
  })

  it.effect("the hash binds the key id and depends on the pepper; verify is false without a stored hash", () =>
    Effect.gen(function*() {
      const secret = Redacted.make("s".repeat(43))
      const a = yield* ApiKeyHash.hash("0000000000000001", secret)
      const b = yield* ApiKeyHash.hash("0000000000000002", secret)
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
      expect(a).toHaveLength(32)
      expect(yield* ApiKeyHash.verify("0000000000000001", secret, a)).toBe(true)
      expect(yield* ApiKeyHash.verify("0000000000000002", secret, a)).toBe(false)
      expect(yield* ApiKeyHash.verify("0000000000000001", secret, undefined)).toBe(false)
      expect(yield* ApiKeyHash.verify("0000000000000001", secret, new Uint8Array(32))).toBe(false)
      const other = yield* ApiKeyHash.hash("0000000000000001", secret).pipe(
        Effect.provide(ApiKeyHash.layer(Redacted.make(new Uint8Array(32).fill(7))))
      )
      expect(Buffer.from(a).equals(Buffer.from(other))).toBe(false)
    }).pipe(Effect.provide(TenancyTest.layerPepper)))

  it.effect("the pepper comes from AEGISPAY_API_KEY_PEPPER, with no default", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) =>
        Effect.either(ApiKeyHash.config).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      expect(Either.isLeft(yield* read({}))).toBe(true)
      expect(Either.isLeft(yield* read({ AEGISPAY_API_KEY_PEPPER: Buffer.alloc(16, 1).toString("base64") }))).toBe(true)
      const ok = yield* read({ AEGISPAY_API_KEY_PEPPER: Buffer.alloc(32, 1).toString("base64") })
      expect(Either.isRight(ok) && Redacted.value(ok.right).length).toBe(32)
      const shown = yield* read({ AEGISPAY_API_KEY_PEPPER: "!!" })
      expect(Either.isLeft(shown) && shown.left.toString()).not.toContain("!!")
    }))
})
