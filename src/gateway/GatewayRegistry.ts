/**
 * The registry of configured gateways.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Ref, Schema } from "effect"
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
 * Gateways by id, in registration order.
 *
 * @since 0.1.0
 */
export class GatewayRegistry extends Context.Tag("aegispay/GatewayRegistry")<GatewayRegistry, {
  /** The gateway registered as `id`. */
  readonly get: (id: string) => Effect.Effect<Gateway, GatewayNotFound>
  /** Every registered gateway, in registration order. */
  readonly all: Effect.Effect<ReadonlyArray<Gateway>>
  /** Registers a gateway at the end, or replaces the one with the same id in its place. */
  readonly register: (gateway: Gateway) => Effect.Effect<void>
}>() {}

/**
 * A registry holding `gateways`.
 *
 * @since 0.1.0
 */
export const make = (gateways: ReadonlyArray<Gateway>) =>
  Effect.gen(function*() {
    const ref = yield* Ref.make<ReadonlyArray<Gateway>>(gateways)
    return GatewayRegistry.of({
      get: (id) =>
        Effect.flatMap(Ref.get(ref), (all) => {
          const found = all.find((g) => g.id === id)
          return found === undefined ? Effect.fail(new GatewayNotFound({ gateway: id })) : Effect.succeed(found)
        }),
      all: Ref.get(ref),
      register: (gateway) =>
        Ref.update(ref, (all) =>
          all.some((g) => g.id === gateway.id)
            ? all.map((g) => (g.id === gateway.id ? gateway : g)) // a replacement keeps its place
            : [...all, gateway])
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
