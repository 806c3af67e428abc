/**
 * Authentication, scopes and the per-key rate limit of the HTTP API.
 *
 * Every `/v1` and `/api/v1` route (except incoming webhooks, which providers sign instead) needs
 * `Authorization: Bearer <api key>`. The {@link Authentication} middleware hands the raw key to
 * the {@link Authenticator}: the tenancy module's `ApiKeys.authenticate` ({@link layerApiKeys}),
 * or your own. It answers with the key's {@link Principal}: its id, its tenant and its scopes.
 *
 * Guarantees:
 * - **The tenant comes from the key only.** Handlers run under `Tenant.with(principal.tenantId)`
 *   ({@link authorized}); no body, path or header can choose another tenant, so another tenant's
 *   payment is a 404 exactly like a missing one.
 * - **Scopes are checked before anything runs**: `payments:read`, `payments:write`,
 *   `refunds:write`, `admin` (which includes every other scope). A missing scope is a 403 and
 *   nothing happens.
 * - **Rate limit per key that refuses, never queues**: over the limit a request is answered 429
 *   with `Retry-After` (whole seconds, at least 1) before the handler runs (`@effect/experimental`
 *   `RateLimiter`, fixed window, `onExceeded: "fail"`).
 * - A missing, malformed, unknown or revoked key is a 401 with the same body, whatever the
 *   reason; the key itself is `Redacted` and never logged.
 * - **Authentication cache** ({@link layerApiKeys}): a key that authenticated is trusted for
 *   `ttl` (default 2 s) in this process without asking the key store again, so a revocation,
 *   a suspension or a scope change takes effect within `ttl` (`cache: false`: on the next
 *   request). Only successes are kept, under the SHA-256 of the key (never the key), at most
 *   `capacity` (10,000) of them.
 *
 * @since 0.2.0
 */
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { RateLimiter } from "@effect/experimental"
import { Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { createHash } from "node:crypto"
import * as Tenant from "../domain/Tenant.js"
import * as ApiKeys from "../tenancy/ApiKeys.js"
import * as TenantGateways from "../tenancy/TenantGateways.js"
import { Forbidden, InternalError, RateLimited, Unauthenticated } from "./ApiError.js"
import * as RequestLog from "./RequestLog.js"

/**
 * The scopes an API key can carry (`ApiKeys.Scope`).
 *
 * @since 0.2.0
 */
export const Scope = ApiKeys.Scope

/**
 * @since 0.2.0
 */
export type Scope = ApiKeys.Scope

/**
 * Who is calling: the API key's id (its public prefix), its tenant and its scopes
 * (`ApiKeys.ApiKeyPrincipal`).
 *
 * @since 0.2.0
 */
export type ApiKeyPrincipal = ApiKeys.ApiKeyPrincipal

/**
 * The caller of the current request, provided by {@link Authentication}.
 *
 * @since 0.2.0
 */
export class Principal extends Context.Tag("aegispay/http/Principal")<Principal, ApiKeyPrincipal>() {}

/**
 * The key is missing, malformed, unknown or revoked (one error for all: the answer never tells
 * which).
 *
 * @since 0.2.0
 */
export class InvalidApiKey extends Schema.TaggedError<InvalidApiKey>()("InvalidApiKey", {
  reason: Schema.String
}) {}

/**
 * The key store could not be asked (the request is answered 500, never 401).
 *
 * @since 0.2.0
 */
export class AuthenticatorUnavailable extends Schema.TaggedError<AuthenticatorUnavailable>()("AuthenticatorUnavailable", {
  reason: Schema.String
}) {}

/**
 * Turns a raw API key into its principal. In a full installation this is the tenancy module's
 * `ApiKeys` (see `AegisPayHttp.layer`); tests and embedders may provide their own.
 *
 * @since 0.2.0
 */
export class Authenticator extends Context.Tag("aegispay/http/Authenticator")<Authenticator, {
  readonly authenticate: (
    raw: Redacted.Redacted<string>
  ) => Effect.Effect<ApiKeyPrincipal, InvalidApiKey | AuthenticatorUnavailable>
  /**
   * Whether the key store answers now (a cheap read), for `/ready` (check `apiKeys`); absent: not
   * checked.
   */
  readonly ready?: Effect.Effect<void, AuthenticatorUnavailable> | undefined
}>() {}

/**
 * How long a key that authenticated is trusted without asking the key store again.
 *
 * @since 0.2.0
 */
export interface CacheOptions {
  /** Default 2 seconds: a revoked key stops working within this time. */
  readonly ttl?: Duration.DurationInput | undefined
  /** Most keys kept at once (the oldest goes first); default 10,000. */
  readonly capacity?: number | undefined
}

/**
 * An {@link Authenticator} that keeps what `authenticate` answered for `ttl`: successes only,
 * keyed by the SHA-256 of the key.
 *
 * @since 0.2.0
 */
export const cached = (
  inner: Authenticator["Type"],
  options: CacheOptions = {}
): Authenticator["Type"] => {
  const ttl = Duration.toMillis(Duration.decode(options.ttl ?? "2 seconds"))
  const capacity = Math.max(1, options.capacity ?? 10_000)
  const entries = new Map<string, { readonly principal: ApiKeyPrincipal; readonly until: number }>()
  return Authenticator.of({
    // readiness always asks the store itself
    ...(inner.ready === undefined ? {} : { ready: inner.ready }),
    authenticate: (raw) =>
      Effect.clockWith((clock) => {
        const id = createHash("sha256").update(Redacted.value(raw)).digest("base64")
        const now = clock.unsafeCurrentTimeMillis()
        const hit = entries.get(id)
        if (hit !== undefined && hit.until > now) return Effect.succeed(hit.principal)
        entries.delete(id)
        return Effect.map(inner.authenticate(raw), (principal) => {
          if (entries.size >= capacity) {
            const oldest = entries.keys().next()
            if (oldest.done !== true) entries.delete(oldest.value)
          }
          entries.set(id, { principal, until: now + ttl })
          return principal
        })
      })
  })
}

/**
 * The {@link Authenticator} of the tenancy module's `ApiKeys`: every way a key fails
 * (`ApiKeys.InvalidApiKey`) is a 401; a storage failure is a 500, never a 401. Successes are
 * {@link cached} (default 2 s; `false`: every request asks the key store). Its `ready` (for
 * `/ready`) lists the keys of a tenant that cannot exist: never cached.
 *
 * @since 0.2.0
 */
export const layerApiKeysWith = (options: { readonly cache?: CacheOptions | false | undefined } = {}): Layer.Layer<
  Authenticator,
  never,
  ApiKeys.ApiKeys
> =>
  Layer.effect(
    Authenticator,
    Effect.map(ApiKeys.ApiKeys, (keys) => {
      const direct = Authenticator.of({
        authenticate: (raw) =>
          keys.authenticate(raw).pipe(
            Effect.catchTags({
              InvalidApiKey: () => Effect.fail(new InvalidApiKey({ reason: "invalid API key" })),
              StorageError: (e) => Effect.fail(new AuthenticatorUnavailable({ reason: e.message }))
            })
          ),
        // the keys of a tenant that cannot exist: one indexed read of the key store
        ready: keys.list("__readiness").pipe(
          Effect.asVoid,
          Effect.mapError((e) => new AuthenticatorUnavailable({ reason: e.message }))
        )
      })
      return options.cache === false ? direct : cached(direct, options.cache)
    })
  )

/**
 * {@link layerApiKeysWith} with the default cache (2 s).
 *
 * @since 0.2.0
 */
export const layerApiKeys: Layer.Layer<Authenticator, never, ApiKeys.ApiKeys> = layerApiKeysWith()

/**
 * The bearer-token middleware: authenticates, then takes one unit of the key's rate limit.
 *
 * @since 0.2.0
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("aegispay/http/Authentication", {
  failure: Schema.Union(Unauthenticated, RateLimited, InternalError),
  provides: Principal,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/**
 * The rate limit of each API key: at most `limit` requests per `window` (default 100 per second).
 *
 * @since 0.2.0
 */
export interface RateLimitOptions {
  readonly limit?: number | undefined
  readonly window?: Duration.DurationInput | undefined
}

const unauthenticated = new Unauthenticated({
  code: "invalid_api_key",
  message: "missing, unknown or revoked API key: send Authorization: Bearer <key>"
})

/**
 * The {@link Authentication} middleware over the {@link Authenticator} and a `RateLimiter`
 * (provide `RateLimiter.layer` with a store, e.g. `RateLimiter.layerStoreMemory`).
 *
 * @since 0.2.0
 */
export const layer = (
  options: RateLimitOptions = {}
): Layer.Layer<Authentication, never, Authenticator | RateLimiter.RateLimiter> =>
  Layer.effect(
    Authentication,
    Effect.gen(function*() {
      const authenticator = yield* Authenticator
      const limiter = yield* RateLimiter.RateLimiter
      const limit = options.limit ?? 100
      const window = Duration.decode(options.window ?? "1 second")
      const exceeded = `rate limit of ${limit} requests per ${Duration.format(window)} exceeded`
      const limited = (principal: ApiKeyPrincipal): Effect.Effect<ApiKeyPrincipal, RateLimited> =>
        limiter.consume({ algorithm: "fixed-window", onExceeded: "fail", window, limit, key: `http:${principal.keyId}` }).pipe(
          Effect.matchEffect({
            onFailure: (e) => {
              if (e.reason === "Exceeded") {
                const seconds = Math.max(1, Math.ceil(Duration.toMillis(e.retryAfter) / 1000))
                return Effect.fail(new RateLimited({ code: "rate_limited", message: exceeded, retryAfterSeconds: seconds }))
              }
              // a store that cannot be reached refuses nothing (memory stores never fail)
              return Effect.as(Effect.logWarning("rate limiter store failed", e.message), principal)
            },
            onSuccess: () => Effect.succeed(principal)
          })
        )
      const authenticated = (principal: ApiKeyPrincipal) =>
        Effect.as(RequestLog.set({ tenantId: principal.tenantId, keyId: principal.keyId }), principal)
      return {
        bearer: (token: Redacted.Redacted<string>) =>
          Redacted.value(token).length === 0
            ? Effect.fail(unauthenticated)
            : authenticator.authenticate(token).pipe(
              Effect.catchTags({
                InvalidApiKey: () => Effect.fail(unauthenticated),
                AuthenticatorUnavailable: (e) =>
                  Effect.zipRight(
                    Effect.logError("API key store unavailable", e.reason),
                    Effect.fail(new InternalError({ code: "internal_error", message: "internal error" }))
                  )
              }),
              Effect.flatMap(limited),
              Effect.tap(authenticated)
            )
      }
    })
  )

/**
 * Whether `principal` holds `scope` (`admin` holds every scope).
 *
 * @since 0.2.0
 */
export const hasScope = (principal: ApiKeyPrincipal, scope: Scope): boolean => ApiKeys.allows(principal.scopes, scope)

/**
 * Makes the tenant's own gateways current (`TenantGateways.ensure`: built on first use, rebuilt
 * when its stored credentials changed) where the installation provides `TenantGateways`. A tenant
 * whose gateways cannot be built is answered 500 (logged with the typed cause, never a credential
 * value), never served by the global gateway of the same name instead of its own.
 */
const ensureTenantGateways = (tenantId: string): Effect.Effect<void, InternalError> =>
  Effect.flatMap(Effect.serviceOption(TenantGateways.TenantGateways), (service) =>
    Option.isNone(service) ? Effect.void : service.value.ensure(tenantId).pipe(
      Effect.asVoid,
      Effect.catchAll((e) =>
        Effect.zipRight(
          Effect.logError("the tenant's gateways could not be built from its stored credentials", e),
          Effect.fail(new InternalError({ code: "internal_error", message: "internal error" }))
        ))
    ))

/**
 * Runs `effect` for the caller if its key holds `scope`: under `Tenant.with(principal.tenantId)`,
 * with `tenantId` in its log annotations, after making the tenant's own gateways current (where
 * `TenantGateways` is provided). Without the scope: 403, `effect` does not run.
 *
 * @since 0.2.0
 */
export const authorized = (scope: Scope) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | Forbidden | InternalError, R | Principal> =>
  Effect.flatMap(Principal, (principal): Effect.Effect<A, E | Forbidden | InternalError, R> =>
    hasScope(principal, scope)
      ? Effect.zipRight(ensureTenantGateways(principal.tenantId), effect).pipe(
        Tenant.with(principal.tenantId),
        Effect.annotateLogs({ tenantId: principal.tenantId })
      )
      : Effect.fail(
        new Forbidden({ code: "missing_scope", message: `this API key lacks the scope ${scope}` })
      ))
