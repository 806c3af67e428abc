/**
 * Per-tenant gateway instances: a tenant's own gateways, built from its stored credentials
 * (`TenantCredentials`) by the matching `GatewayProvider`, and registered for that tenant in the
 * `GatewayRegistry`, so `PaymentService` routes the tenant's payments to them (and only its own).
 *
 * Use it as the way in for credentials (the HTTP service's `POST /api/v1/providers/credentials`):
 * `save` checks the fields against the provider's `fields` and that the provider can build a
 * gateway from them, before anything is stored; then, before running a tenant's operations,
 * `ensure(tenantId)` (or {@link withTenant}) makes its gateways current.
 *
 * Guarantees:
 * - **Built once per version**: a tenant's gateway for a provider is built on first use and
 *   cached with the credentials' version; concurrent first uses (any number of fibers) build it
 *   once (one build at a time per tenant). It is rebuilt when the stored version changes: at once
 *   for a save or remove through this service, and within `recheckAfter` for a change made by
 *   another process.
 * - **Registered for the tenant only** (`registry.register(gateway, { tenantId })`): it replaces
 *   the global gateway of the same id (the provider's name) for that tenant, and other tenants
 *   never see it. Removing the credentials unregisters it: the tenant falls back to the global
 *   gateway of that id, if there is one.
 * - **Validated on save**: a missing required field or an unknown field is a `ValidationError`
 *   naming it; so is a provider that refuses the values (`GatewayMisconfigured` from `make`). An
 *   unknown provider is a `ValidationError` on `provider`. Nothing is stored then.
 * - A rebuild that fails (unreadable record, provider refusing the values) fails `ensure` with
 *   its typed error and keeps the previous instance registered: a tenant's payments are never
 *   sent to another merchant account (the global gateway) because its own could not be rebuilt.
 * - **Unknown tenants cost no memory**: `gateway` for a tenant never seen that has no credentials
 *   for the provider answers `CredentialsNotFound` after one read and keeps nothing (an
 *   unauthenticated webhook URL may name any tenant).
 * - Credentials stay `Redacted` from the store to the provider's `make`; nothing is logged.
 *
 * @since 0.2.0
 */
import { Clock, Context, Duration, Effect, Layer, Option, type Redacted } from "effect"
import { ValidationError } from "../domain/PaymentError.js"
import * as Tenant from "../domain/Tenant.js"
import type { Gateway, GatewayMisconfigured, GatewayProvider } from "../gateway/Gateway.js"
import { GatewayRegistry } from "../gateway/GatewayRegistry.js"
import type { StorageError } from "../storage/StorageError.js"
import {
  type Credentials,
  CredentialsNotFound,
  type CredentialsSummary,
  type CredentialsUnreadable,
  TenantCredentials,
  validateProvider
} from "./TenantCredentials.js"

/**
 * What `ensure` can fail with.
 *
 * @since 0.2.0
 */
export type EnsureError = CredentialsUnreadable | GatewayMisconfigured | StorageError

/**
 * @since 0.2.0
 */
export class TenantGateways extends Context.Tag("aegispay/TenantGateways")<TenantGateways, {
  /** The configured providers and the credential fields each needs. */
  readonly providers: ReadonlyArray<{ readonly provider: string; readonly fields: GatewayProvider["fields"] }>
  /**
   * Checks `fields` against the provider, stores them (a new version) and makes the tenant's
   * gateway for that provider use them.
   */
  readonly save: (input: {
    readonly tenantId: string
    readonly provider: string
    readonly fields: Readonly<Record<string, Redacted.Redacted<string>>>
  }) => Effect.Effect<CredentialsSummary, ValidationError | StorageError>
  /** The tenant's stored credentials, masked (see `TenantCredentials.describe`). */
  readonly describe: (tenantId: string) => Effect.Effect<ReadonlyArray<CredentialsSummary>, CredentialsUnreadable | StorageError>
  /** Removes the credentials and unregisters the tenant's gateway for that provider. */
  readonly remove: (
    input: { readonly tenantId: string; readonly provider: string }
  ) => Effect.Effect<void, CredentialsNotFound | StorageError>
  /**
   * Builds, rebuilds or drops the tenant's gateways so that they match its stored credentials,
   * and registers them for the tenant; returns them, by provider. Cheap when nothing changed
   * (no storage access within `recheckAfter` of the last check).
   */
  readonly ensure: (tenantId: string) => Effect.Effect<ReadonlyArray<Gateway>, EnsureError>
  /** The tenant's gateway for `provider` ({@link ensure} first). */
  readonly gateway: (
    input: { readonly tenantId: string; readonly provider: string }
  ) => Effect.Effect<Gateway, CredentialsNotFound | EnsureError>
}>() {}

/**
 * Options of {@link make} / {@link layer}.
 *
 * @since 0.2.0
 */
export interface Options<R = never> {
  /** The providers tenants may have credentials for; the gateway id of each is its `provider`. */
  readonly providers: ReadonlyArray<GatewayProvider<R>>
  /**
   * How long `ensure` trusts its cache before reading the stored versions again (changes made by
   * other processes are seen within it); default 5 seconds. Zero: every `ensure` reads them.
   */
  readonly recheckAfter?: Duration.DurationInput | undefined
  /**
   * Build and register the gateways of every tenant that has credentials when the layer is built,
   * so background workers (recovery) find them before any request of the tenant; default true.
   * A tenant whose gateways cannot be built is logged and skipped.
   */
  readonly preload?: boolean | undefined
}

interface Built {
  readonly version: number
  readonly gateway: Gateway
}

interface TenantState {
  readonly lock: Effect.Semaphore
  readonly built: Map<string, Built>
  /** When the stored versions were last read; `undefined`: never, or invalidated. */
  checkedAt: number | undefined
}

/**
 * The service over the `TenantCredentials` and `GatewayRegistry` in context.
 *
 * @since 0.2.0
 */
export const make = <R = never>(
  options: Options<R>
): Effect.Effect<TenantGateways["Type"], never, TenantCredentials | GatewayRegistry | R> =>
  Effect.gen(function*() {
    const credentials = yield* TenantCredentials
    const registry = yield* GatewayRegistry
    const context = yield* Effect.context<R>()
    const recheckMillis = Duration.toMillis(Duration.decode(options.recheckAfter ?? "5 seconds"))
    const providers = new Map<string, GatewayProvider<R>>()
    for (const provider of options.providers) providers.set(provider.provider, provider)
    const states = new Map<string, TenantState>()

    const stateOf = (tenantId: string) =>
      Effect.gen(function*() {
        const existing = states.get(tenantId)
        if (existing !== undefined) return existing
        const created: TenantState = { lock: yield* Effect.makeSemaphore(1), built: new Map(), checkedAt: undefined }
        // another fiber may have created it while the semaphore was made
        const raced = states.get(tenantId)
        if (raced !== undefined) return raced
        states.set(tenantId, created)
        return created
      })

    const build = (provider: GatewayProvider<R>, fields: Credentials["fields"]) =>
      provider.make(fields, { id: provider.provider }).pipe(Effect.provide(context))

    const listOf = (state: TenantState) => [...state.built.values()].map((b) => b.gateway)

    /** Brings the tenant's gateways in line with the stored versions; under the tenant's lock. */
    const refresh = (tenantId: string, state: TenantState) =>
      Effect.gen(function*() {
        const stored = yield* credentials.versions(tenantId)
        const seen = new Set<string>()
        for (const { provider: name, version } of stored) {
          const provider = providers.get(name)
          if (provider === undefined) continue
          seen.add(name)
          const current = state.built.get(name)
          if (current !== undefined && current.version === version) continue
          const found = yield* credentials.get({ tenantId, provider: name }).pipe(
            Effect.map(Option.some),
            Effect.catchTag("CredentialsNotFound", () => Effect.succeedNone)
          )
          if (Option.isNone(found)) {
            seen.delete(name)
            continue
          }
          const gateway = yield* build(provider, found.value.fields)
          yield* registry.register(gateway, { tenantId })
          state.built.set(name, { version: found.value.version, gateway })
        }
        for (const name of [...state.built.keys()]) {
          if (!seen.has(name)) {
            state.built.delete(name)
            yield* registry.unregister(name, { tenantId })
          }
        }
        state.checkedAt = yield* Clock.currentTimeMillis
        return listOf(state)
      })

    const fresh = (state: TenantState) =>
      Effect.map(
        Clock.currentTimeMillis,
        (now) => state.checkedAt !== undefined && now - state.checkedAt < recheckMillis
      )

    const ensure = Effect.fn("TenantGateways.ensure")(function*(tenantId: string) {
      const state = yield* stateOf(tenantId)
      if (yield* fresh(state)) return listOf(state)
      return yield* state.lock.withPermits(1)(
        Effect.flatMap(fresh(state), (ok) => (ok ? Effect.succeed(listOf(state)) : refresh(tenantId, state)))
      )
    })

    const unknownField = (name: string) =>
      new ValidationError({ path: `fields.${name}`, message: `unknown field ${JSON.stringify(name)}` })

    const save = Effect.fn("TenantGateways.save")(function*(input: {
      readonly tenantId: string
      readonly provider: string
      readonly fields: Readonly<Record<string, Redacted.Redacted<string>>>
    }) {
      yield* validateProvider(input.provider)
      const provider = providers.get(input.provider)
      if (provider === undefined) {
        return yield* new ValidationError({
          path: "provider",
          message: `unknown provider ${JSON.stringify(input.provider)}; configured: ${[...providers.keys()].join(", ")}`
        })
      }
      const allowed = new Set(provider.fields.map((f) => f.name))
      for (const name of Object.keys(input.fields)) if (!allowed.has(name)) return yield* unknownField(name)
      for (const field of provider.fields) {
        if (field.optional !== true && input.fields[field.name] === undefined) {
          return yield* new ValidationError({ path: `fields.${field.name}`, message: `${field.name} is required` })
        }
      }
      // the provider must accept the values before they are stored
      const gateway = yield* build(provider, input.fields).pipe(
        Effect.mapError((e) =>
          new ValidationError({ path: "fields", message: `${input.provider} refused these credentials: ${e.reason}` })
        )
      )
      const state = yield* stateOf(input.tenantId)
      return yield* state.lock.withPermits(1)(Effect.gen(function*() {
        const summary = yield* credentials.save(input)
        const current = state.built.get(input.provider)
        if (current === undefined || current.version < summary.version) {
          state.built.set(input.provider, { version: summary.version, gateway })
          yield* registry.register(gateway, { tenantId: input.tenantId })
        }
        return summary
      }))
    })

    const remove = Effect.fn("TenantGateways.remove")(function*(input: { readonly tenantId: string; readonly provider: string }) {
      const state = yield* stateOf(input.tenantId)
      yield* state.lock.withPermits(1)(Effect.gen(function*() {
        yield* credentials.remove(input)
        if (state.built.delete(input.provider)) yield* registry.unregister(input.provider, { tenantId: input.tenantId })
      }))
    })

    const gateway = Effect.fn("TenantGateways.gateway")(function*(input: { readonly tenantId: string; readonly provider: string }) {
      // a tenant never seen (an unauthenticated webhook URL may name any) gets no cached state
      // unless it has credentials for the provider: unknown tenants cost a read, never memory
      if (!states.has(input.tenantId)) {
        const stored = yield* credentials.versions(input.tenantId)
        if (!stored.some((v) => v.provider === input.provider && providers.has(v.provider))) {
          return yield* new CredentialsNotFound({ provider: input.provider })
        }
      }
      yield* ensure(input.tenantId)
      const built = states.get(input.tenantId)?.built.get(input.provider)
      if (built === undefined) {
        return yield* new CredentialsNotFound({ provider: input.provider })
      }
      return built.gateway
    })

    return TenantGateways.of({
      providers: options.providers.map((p) => ({ provider: p.provider, fields: p.fields })),
      save,
      describe: credentials.describe,
      remove,
      ensure,
      gateway
    })
  })

/**
 * The service as a layer. With `preload` (the default) it builds and registers the gateways of
 * every tenant that has credentials when it is built; a tenant that fails is logged (at Error,
 * with the typed cause: no credential values) and skipped, so one tenant's bad credentials never
 * stop the service.
 *
 * @since 0.2.0
 */
export const layer = <R = never>(
  options: Options<R>
): Layer.Layer<TenantGateways, never, TenantCredentials | GatewayRegistry | R> =>
  Layer.effect(
    TenantGateways,
    Effect.gen(function*() {
      const service = yield* make(options)
      if (options.preload ?? true) {
        const credentials = yield* TenantCredentials
        const tenants = yield* credentials.tenants.pipe(
          Effect.tapError((e) => Effect.logError("TenantGateways: could not list the tenants with credentials", e)),
          Effect.orElseSucceed((): ReadonlyArray<string> => [])
        )
        yield* Effect.forEach(tenants, (tenantId) =>
          service.ensure(tenantId).pipe(
            Effect.tapError((e) => Effect.logError(`TenantGateways: the gateways of tenant ${JSON.stringify(tenantId)} could not be built`, e)),
            Effect.ignore
          ), { discard: true })
      }
      return service
    })
  )

/**
 * Runs `self` for the tenant `tenantId` (`Tenant.with`) after making its gateways current
 * (`ensure`): what a request handler does once it knows its caller's tenant.
 *
 * @since 0.2.0
 */
export const withTenant = (tenantId: string) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | EnsureError, R | TenantGateways> =>
  Effect.flatMap(TenantGateways, (gateways) => Effect.zipRight(gateways.ensure(tenantId), self.pipe(Tenant.with(tenantId))))
