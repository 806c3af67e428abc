/**
 * The registry of configured gateways: global ones and per-tenant ones added at run time.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { Scope } from "effect"
import { maskCardNumbers } from "../domain/Sanitize.js"
import type { Gateway } from "./Gateway.js"

/**
 * No gateway is registered under this id (card numbers in it are masked: it may come from a request).
 *
 * @since 0.1.0
 */
export class GatewayNotFound extends Schema.TaggedError<GatewayNotFound>()("GatewayNotFound", {
  gateway: Schema.String
}) {
  constructor(props: { readonly gateway: string }, options?: Schema.MakeOptions) {
    super({ gateway: maskCardNumbers(props.gateway) }, options)
  }
  override get message(): string {
    return `no gateway registered as ${JSON.stringify(this.gateway)}`
  }
}

/**
 * The gateways one tenant's payments may use (see {@link GatewayRegistry}'s `forTenant`).
 *
 * @since 0.1.0
 */
export interface TenantGateways {
  /** The tenant's gateway registered as `id`, else the global one; O(1). */
  readonly get: (id: string) => Effect.Effect<Gateway, GatewayNotFound>
  /**
   * The global gateways in registration order, each replaced in place by the tenant's gateway of
   * the same id, then the tenant's other gateways in their registration order (routing and
   * failover follow it). Built once per change of the registry, not per call.
   */
  readonly all: Effect.Effect<ReadonlyArray<Gateway>>
}

/**
 * Options of `register`.
 *
 * @since 0.1.0
 */
export interface RegisterOptions {
  /**
   * Registers the gateway for this tenant only: its payments use it in addition to the global
   * gateways, or instead of the global gateway with the same id; other tenants never see it.
   * Absent: a global gateway, for every tenant.
   */
  readonly tenantId?: string | undefined
}

/**
 * Gateways by id, in registration order: global ones, for every tenant, and per-tenant ones added
 * at run time (e.g. built from a tenant's own stored credentials).
 *
 * Guarantees:
 * - A tenant's gateway is only ever seen through `forTenant` of that tenant: payments of other
 *   tenants are never routed to it, and it never replaces their gateways.
 * - The orchestration (`PaymentService`, `Compensation`) looks every gateway of a payment up
 *   through `forTenant(payment.tenantId)`: charges, captures, voids, refunds and status checks of
 *   a payment go to its tenant's instance of the gateway.
 * - Lookups by id are O(1); the ordered list of a tenant is rebuilt only after a registration.
 * - Circuit breakers and gateway metrics are per gateway id: a tenant's gateway shares them with a
 *   global gateway of the same id.
 *
 * @since 0.1.0
 */
export class GatewayRegistry extends Context.Tag("aegispay/GatewayRegistry")<GatewayRegistry, {
  /** The global gateway registered as `id`. */
  readonly get: (id: string) => Effect.Effect<Gateway, GatewayNotFound>
  /** Every global gateway, in registration order. */
  readonly all: Effect.Effect<ReadonlyArray<Gateway>>
  /**
   * Registers a gateway at the end, or replaces the one with the same id in its place: globally,
   * or, with `tenantId`, for that tenant only (see {@link RegisterOptions}).
   */
  readonly register: (gateway: Gateway, options?: RegisterOptions) => Effect.Effect<void>
  /**
   * Removes the tenant's own gateway registered as `id` (e.g. when its credentials were
   * removed): the tenant falls back to the global gateway of that id, if any. Nothing happens when
   * the tenant has none. Global gateways are not removable.
   */
  readonly unregister: (id: string, options: { readonly tenantId: string }) => Effect.Effect<void>
  /** The gateways the payments of `tenantId` may use; always current (it reads the registry per call). */
  readonly forTenant: (tenantId: string) => TenantGateways
}>() {}

/** Gateways by id plus their order; a replacement keeps its place. */
class Ordered {
  readonly byId = new Map<string, Gateway>()
  list: ReadonlyArray<Gateway> = []
  constructor(gateways: ReadonlyArray<Gateway>) {
    for (const gateway of gateways) this.add(gateway)
  }
  remove(id: string): boolean {
    if (!this.byId.delete(id)) return false
    this.list = this.list.filter((g) => g.id !== id)
    return true
  }
  add(gateway: Gateway): void {
    const replaced = this.byId.has(gateway.id)
    this.byId.set(gateway.id, gateway)
    this.list = replaced ? this.list.map((g) => (g.id === gateway.id ? gateway : g)) : [...this.list, gateway]
  }
}

/**
 * A registry holding `gateways` (global).
 *
 * @since 0.1.0
 */
export const make = (gateways: ReadonlyArray<Gateway>) =>
  Effect.sync(() => {
    const global = new Ordered(gateways)
    const tenants = new Map<string, { readonly own: Ordered; merged?: { readonly generation: number; readonly list: ReadonlyArray<Gateway> } | undefined }>()
    /** Bumped by every global registration: each tenant's merged list is rebuilt on its next read. */
    let generation = 0

    const notFound = (id: string) => Effect.fail(new GatewayNotFound({ gateway: id }))
    const getGlobal = (id: string) => {
      const found = global.byId.get(id)
      return found === undefined ? notFound(id) : Effect.succeed(found)
    }
    const merge = (own: Ordered): ReadonlyArray<Gateway> => [
      ...global.list.map((g) => own.byId.get(g.id) ?? g),
      ...own.list.filter((g) => !global.byId.has(g.id))
    ]

    const forTenant = (tenantId: string): TenantGateways => ({
      get: (id) =>
        Effect.suspend(() => {
          const found = tenants.get(tenantId)?.own.byId.get(id)
          return found === undefined ? getGlobal(id) : Effect.succeed(found)
        }),
      all: Effect.sync(() => {
        const entry = tenants.get(tenantId)
        if (entry === undefined) return global.list
        if (entry.merged === undefined || entry.merged.generation !== generation) {
          entry.merged = { generation, list: merge(entry.own) }
        }
        return entry.merged.list
      })
    })

    return GatewayRegistry.of({
      get: (id) => Effect.suspend(() => getGlobal(id)),
      all: Effect.sync(() => global.list),
      register: (gateway, options) =>
        Effect.sync(() => {
          const tenantId = options?.tenantId
          if (tenantId === undefined) {
            global.add(gateway)
            generation++
            return
          }
          let entry = tenants.get(tenantId)
          if (entry === undefined) tenants.set(tenantId, entry = { own: new Ordered([]) })
          entry.own.add(gateway)
          entry.merged = undefined
        }),
      unregister: (id, options) =>
        Effect.sync(() => {
          const entry = tenants.get(options.tenantId)
          if (entry !== undefined && entry.own.remove(id)) entry.merged = undefined
        }),
      forTenant
    })
  })

/**
 * A registry layer holding `gateways`.
 *
 * @since 0.1.0
 */
export const layer = (gateways: ReadonlyArray<Gateway>): Layer.Layer<GatewayRegistry> =>
  Layer.effect(GatewayRegistry, make(gateways))

/**
 * One gateway for {@link layerFrom}: a ready {@link Gateway}, or an effect that builds one (it may
 * read its own `Config`, use an `HttpClient`, the card vault, or acquire resources in a `Scope`).
 *
 * @since 0.1.0
 */
export type Source<E = never, R = never> = Gateway | Effect.Effect<Gateway, E, R>

/**
 * A registry holding the gateways built from `sources`, in this order (routing and failover
 * follow it). Each source is built once, when the layer is built; a source that fails fails the
 * layer (a missing production credential is a `ConfigError` at start-up).
 *
 * @since 0.1.0
 */
export const layerFrom = <E = never, R = never>(
  sources: ReadonlyArray<Source<E, R>>
): Layer.Layer<GatewayRegistry, E, Exclude<R, Scope.Scope>> =>
  Layer.scoped(
    GatewayRegistry,
    Effect.flatMap(
      Effect.forEach(sources, (source) => Effect.isEffect(source) ? source : Effect.succeed(source)),
      make
    )
  )
