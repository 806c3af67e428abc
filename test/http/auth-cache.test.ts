/**
 * `Auth.cached`: a key that authenticated is trusted for `ttl` without asking the key store; a
 * revocation takes effect once `ttl` has passed; failures are never kept; at most `capacity` keys.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted, Ref, TestClock } from "effect"
import { Auth } from "aegispay/http"

const principal = (keyId: string): Auth.ApiKeyPrincipal => ({ keyId, tenantId: "acme", scopes: ["payments:read"] })

/** A key store that counts its calls; `revoked` keys fail. */
const store = Effect.gen(function*() {
  const calls = yield* Ref.make(0)
  const revoked = yield* Ref.make(new Set<string>())
  const authenticator = Auth.Authenticator.of({
    authenticate: (raw) =>
      Effect.gen(function*() {
        yield* Ref.update(calls, (n) => n + 1)
        const key = Redacted.value(raw)
        if ((yield* Ref.get(revoked)).has(key) || !key.startsWith("ak_")) {
          return yield* Effect.fail(new Auth.InvalidApiKey({ reason: "invalid API key" }))
        }
        return principal(key)
      })
  })
  return { authenticator, calls, revoke: (key: string) => Ref.update(revoked, (set) => new Set([...set, key])) }
})

const authenticate = (authenticator: Auth.Authenticator["Type"], key: string) =>
  Effect.either(authenticator.authenticate(Redacted.make(key)))

describe("Auth.cached", () => {
  it.effect("asks the key store once per ttl; a revocation takes effect when the ttl has passed", () =>
    Effect.gen(function*() {
      const { authenticator, calls, revoke } = yield* store
      const cached = Auth.cached(authenticator, { ttl: "2 seconds" })
      expect(Either.isRight(yield* authenticate(cached, "ak_one"))).toBe(true)
      expect(Either.isRight(yield* authenticate(cached, "ak_one"))).toBe(true)
      expect(yield* Ref.get(calls)).toBe(1)
      yield* revoke("ak_one")
      yield* TestClock.adjust("1999 millis")
      expect(Either.isRight(yield* authenticate(cached, "ak_one"))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(Either.isLeft(yield* authenticate(cached, "ak_one"))).toBe(true)
      expect(Either.isLeft(yield* authenticate(cached, "ak_one"))).toBe(true)
      expect(yield* Ref.get(calls)).toBe(3)
    }))

  it.effect("never keeps a failure: a bad key asks the store every time", () =>
    Effect.gen(function*() {
      const { authenticator, calls } = yield* store
      const cached = Auth.cached(authenticator)
      for (let i = 0; i < 3; i++) expect(Either.isLeft(yield* authenticate(cached, "bad"))).toBe(true)
      expect(yield* Ref.get(calls)).toBe(3)
    }))

  it.effect("keeps at most capacity keys, the oldest going first", () =>
    Effect.gen(function*() {
      const { authenticator, calls } = yield* store
      const cached = Auth.cached(authenticator, { capacity: 2 })
      yield* authenticate(cached, "ak_a")
      yield* authenticate(cached, "ak_b")
      yield* authenticate(cached, "ak_c") // a goes
      expect(yield* Ref.get(calls)).toBe(3)
      yield* authenticate(cached, "ak_c")
      expect(yield* Ref.get(calls)).toBe(3)
      yield* authenticate(cached, "ak_a")
      expect(yield* Ref.get(calls)).toBe(4)
    }))
})
