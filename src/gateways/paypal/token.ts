/**
 * PayPal's OAuth2 client-credentials token, cached and shared.
 *
 * Guarantees:
 * - one token request at a time: however many fibers need a token while none is fresh, one
 *   `POST /v1/oauth2/token` is sent and every one of them gets its answer;
 * - a token is refreshed before it expires: it is used until `expires_in` minus a margin (5
 *   minutes, or half its lifetime for a short-lived token), measured with `Clock` (TestClock in
 *   tests);
 * - {@link TokenCache.invalidate} drops a token PayPal refused (a 401), unless a newer one
 *   already replaced it, so concurrent 401s cause one refresh;
 * - a failed or interrupted refresh leaves no token behind and fails only the callers waiting
 *   for it: the next call tries again. A token request never moves money, so its failures are
 *   transient (refused connection, timeout, 5xx, 429) or misconfigured (401/400: bad client id or
 *   secret); the secret is sent only in the `Authorization` header and never logged.
 *
 * @internal
 */
import type { HttpClient } from "@effect/platform"
import { HttpClientRequest } from "@effect/platform"
import type { Duration, Redacted as R } from "effect"
import { Clock, Deferred, Effect, Exit, Redacted, Ref } from "effect"
import { GatewayMisconfigured, GatewayTransientError } from "../../gateway/Gateway.js"
import * as Http from "../internal/http.js"
import { issueOf } from "./errors.js"
import { Token } from "./wire.js"

/** Errors of getting a token: it never moves money. */
export type TokenError = GatewayTransientError | GatewayMisconfigured

/** A token and the time (epoch ms) after which it is no longer used. */
export interface CachedToken {
  readonly value: R.Redacted<string>
  readonly refreshAt: number
}

type State =
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Ready"; readonly token: CachedToken }
  | { readonly _tag: "Fetching"; readonly deferred: Deferred.Deferred<CachedToken, TokenError> }

/**
 * The shared token of one PayPal client.
 */
export interface TokenCache {
  /** A fresh token: the cached one, or the answer of the one refresh in flight. */
  readonly get: Effect.Effect<CachedToken, TokenError>
  /** Drops `token` (PayPal refused it) unless a newer token already replaced it. */
  readonly invalidate: (token: CachedToken) => Effect.Effect<void>
  /** How many token requests were sent (for health and tests). */
  readonly requests: Effect.Effect<number>
}

/** How long before `expires_in` a token is refreshed. */
export const refreshMarginSeconds = (expiresIn: number): number => Math.min(300, expiresIn / 2)

/**
 * Builds the cache for `clientId`/`clientSecret` at `apiBase`.
 */
export const make = (options: {
  readonly client: HttpClient.HttpClient
  readonly apiBase: string
  readonly clientId: R.Redacted<string>
  readonly clientSecret: R.Redacted<string>
  readonly gateway: string
  readonly timeout: Duration.DurationInput
}): Effect.Effect<TokenCache> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>({ _tag: "Empty" })
    const count = yield* Ref.make(0)
    const call: Http.CallOptions = { gateway: options.gateway, operation: "oauth2.token", moneyMoving: false, timeout: options.timeout }

    const fetch: Effect.Effect<CachedToken, TokenError> = Effect.gen(function*() {
      yield* Ref.update(count, (n) => n + 1)
      const basic = Buffer.from(`${Redacted.value(options.clientId)}:${Redacted.value(options.clientSecret)}`, "utf8").toString("base64")
      const request = HttpClientRequest.post(`${options.apiBase}/v1/oauth2/token`).pipe(
        HttpClientRequest.setHeader("Authorization", `Basic ${basic}`),
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyText("grant_type=client_credentials", "application/x-www-form-urlencoded")
      )
      const answer = yield* Http.call(options.client, request, call).pipe(
        // not money-moving: `call` never answers an unknown outcome here
        Effect.catchTag("GatewayUnknownOutcome", (e) => Effect.fail(new GatewayTransientError({ gateway: e.gateway, operation: e.operation, reason: e.reason })))
      )
      if (answer.status !== 200) {
        const { description, name } = issueOf(answer)
        if (answer.status === 429 || answer.status >= 500) {
          return yield* new GatewayTransientError({ gateway: options.gateway, operation: "oauth2.token", reason: `HTTP ${answer.status} ${name ?? ""}`.trim() })
        }
        return yield* new GatewayMisconfigured({
          gateway: options.gateway,
          reason: `oauth2.token: HTTP ${answer.status} ${name ?? ""} (${description}): check the client id and secret and the environment`
        })
      }
      const token = yield* Http.decode(Token, answer, call).pipe(
        Effect.catchTag("GatewayUnknownOutcome", (e) => Effect.fail(new GatewayTransientError({ gateway: e.gateway, operation: e.operation, reason: e.reason })))
      )
      const now = yield* Clock.currentTimeMillis
      return {
        value: Redacted.make(token.access_token),
        refreshAt: now + Math.floor((token.expires_in - refreshMarginSeconds(token.expires_in)) * 1000)
      }
    })

    const get: Effect.Effect<CachedToken, TokenError> = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const mine = yield* Deferred.make<CachedToken, TokenError>()
        const step = yield* Ref.modify(state, (s): [
          { readonly _tag: "hit"; readonly token: CachedToken } | { readonly _tag: "wait"; readonly deferred: Deferred.Deferred<CachedToken, TokenError> } | { readonly _tag: "fetch" },
          State
        ] => {
          if (s._tag === "Ready" && now < s.token.refreshAt) return [{ _tag: "hit", token: s.token }, s]
          if (s._tag === "Fetching") return [{ _tag: "wait", deferred: s.deferred }, s]
          return [{ _tag: "fetch" }, { _tag: "Fetching", deferred: mine }]
        })
        if (step._tag === "hit") return step.token
        if (step._tag === "wait") return yield* restore(Deferred.await(step.deferred))
        const exit = yield* Effect.exit(restore(fetch))
        const outcome: Exit.Exit<CachedToken, TokenError> = Exit.isSuccess(exit) || !Exit.isInterrupted(exit)
          ? exit
          : Exit.fail(new GatewayTransientError({ gateway: options.gateway, operation: "oauth2.token", reason: "token request interrupted" }))
        yield* Ref.set(state, Exit.isSuccess(outcome) ? { _tag: "Ready", token: outcome.value } : { _tag: "Empty" })
        yield* Deferred.done(mine, outcome)
        return yield* exit
      })
    )

    const invalidate = (token: CachedToken) =>
      Ref.update(state, (s): State => s._tag === "Ready" && s.token === token ? { _tag: "Empty" } : s)

    return { get, invalidate, requests: Ref.get(count) }
  })

