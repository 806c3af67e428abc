/**
 * Routing: orders the candidate gateways of a payment by a strategy.
 *
 * The router receives only usable candidates (capability and circuit filtering happen before it,
 * and a per-request gateway override bypasses it) and returns them best first; failover walks
 * the list in that order.
 *
 * Strategies (the seed's names):
 * - `ROUND_ROBIN`: rotates the list on every payment.
 * - `LEAST_LATENCY`: lowest recent p50 first (gateways without data first, to learn them).
 * - `HIGHEST_SUCCESS_RATE`: highest recent approval rate first (no data counts as 1).
 * - `COST_OPTIMIZED`: lowest fee first; fee = fixed + percentage of the amount, computed exactly
 *   in minor units (rounded up to the next minor unit).
 * - `RULE_BASED`: the enabled rule with the highest priority whose conditions all match names a
 *   gateway (or a volume split); the others follow in registration order.
 * - `INTELLIGENT`: weighted score of approval rate, latency and cost.
 * - `ADAPTIVE`: success-rate routing as a non-stationary bandit: Thompson sampling over Beta
 *   posteriors per gateway and payment context (currency, payment method, card brand, amount
 *   band), pooled between contexts by empirical Bayes, mixed over several memories by how well
 *   each predicts, with elimination of gateways confidently worse and probes (see
 *   {@link Adaptive}). It learns from {@link Router}'s `observe` and, where a `SharedEvidence` is
 *   in context when the router is built (the PostgreSQL composition provides one), from the
 *   outcomes of the other processes too.
 *
 * Only `ADAPTIVE` draws randomness, from Effect's `Random` service of the fiber calling `rank`
 * (seed it with `Effect.withRandom(Random.make(seed))` for reproducible runs).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Random, Ref } from "effect"
import type { Payment } from "../domain/Payment.js"
import type { Gateway } from "../gateway/Gateway.js"
import type { Outcome } from "../observability/GatewayMetrics.js"
import { GatewayMetrics } from "../observability/GatewayMetrics.js"
import * as Adaptive from "./Adaptive.js"
import * as Rules from "./Rules.js"
import * as SharedEvidence from "./SharedEvidence.js"

/**
 * @since 0.1.0
 */
export type Strategy =
  | "ROUND_ROBIN"
  | "LEAST_LATENCY"
  | "HIGHEST_SUCCESS_RATE"
  | "COST_OPTIMIZED"
  | "RULE_BASED"
  | "INTELLIGENT"
  | "ADAPTIVE"

/**
 * A gateway's fee: `fixedMinor` minor units (in the payment's currency) plus `basisPoints`
 * hundredths of a percent of the amount.
 *
 * @since 0.1.0
 */
export interface Fee {
  readonly fixedMinor: bigint
  readonly basisPoints: number
}

/**
 * Router settings.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly strategy: Strategy
  /** Fees per gateway id, for COST_OPTIMIZED and INTELLIGENT (a gateway without a fee costs 0). */
  readonly fees?: Readonly<Record<string, Fee>> | undefined
  /** Rules for RULE_BASED. */
  readonly rules?: ReadonlyArray<Rules.Rule> | undefined
  /** Weights for INTELLIGENT; default success 0.6, latency 0.2, cost 0.2. */
  readonly weights?: { readonly success: number; readonly latency: number; readonly cost: number } | undefined
  /** Settings of ADAPTIVE (see {@link Adaptive.Options} and {@link Adaptive.defaults}). */
  readonly adaptive?: Adaptive.Config | undefined
}

/**
 * The former name of {@link Options}.
 *
 * @since 0.1.0
 * @deprecated use {@link Options}
 */
export type Config = Options

/**
 * @since 0.1.0
 */
export class Router extends Context.Tag("aegispay/Router")<Router, {
  /** The candidates, best first: a permutation of `candidates` (none added, none dropped). */
  readonly rank: (payment: Payment, candidates: ReadonlyArray<Gateway>) => Effect.Effect<ReadonlyArray<Gateway>>
  /**
   * Feeds the outcome of a money-moving call of `payment` at `gateway` back to the strategy:
   * `approved`, `declined` (the gateway answered no) or `error` (no answer: transient failure,
   * timeout). Call it once per call. O(1); a no-op for strategies that do not learn (all but
   * ADAPTIVE, which read `GatewayMetrics` instead).
   */
  readonly observe: (payment: Payment, gateway: string, outcome: Outcome) => Effect.Effect<void>
}>() {}

/**
 * The exact fee of `gateway` for `payment`, in minor units (percentage part rounded up).
 *
 * @since 0.1.0
 */
export const fee = (fees: Config["fees"], gateway: string, payment: Payment): bigint => {
  const f = fees?.[gateway]
  if (f === undefined) return 0n
  const percent = payment.amount.minor * BigInt(Math.round(f.basisPoints))
  return f.fixedMinor + (percent + 9_999n) / 10_000n
}

const stableSort = <A>(items: ReadonlyArray<A>, key: (a: A) => number): ReadonlyArray<A> =>
  items.map((item, index) => ({ item, index, k: key(item) }))
    .sort((a, b) => a.k - b.k || a.index - b.index)
    .map((x) => x.item)

/**
 * Builds a router.
 *
 * @since 0.1.0
 */
export const make = (config: Config) =>
  Effect.gen(function*() {
    const metrics = yield* GatewayMetrics
    const turn = yield* Ref.make(0)
    const weights = config.weights ?? { success: 0.6, latency: 0.2, cost: 0.2 }
    const adaptive = config.strategy === "ADAPTIVE" ? Adaptive.make(config.adaptive) : undefined
    // learning shared across processes, where the composition provides it (SQL compositions)
    const shared = yield* Effect.serviceOption(SharedEvidence.SharedEvidence)
    const share = adaptive !== undefined && Option.isSome(shared) ? yield* shared.value.attach(adaptive) : undefined
    // ADAPTIVE: one uniform per candidate for the Thompson draws (none when greedy), in candidate
    // order, then the synchronous choice; without a generator (it is most of a decision's cost)
    const rankAdaptive = (state: Adaptive.State) =>
    (payment: Payment, candidates: ReadonlyArray<Gateway>): Effect.Effect<ReadonlyArray<Gateway>> =>
      candidates.length <= 1
        ? Effect.succeed(candidates)
        : state.exploration === 0
        ? Effect.sync(() => Adaptive.choose(state, Adaptive.contextOf(payment), candidates, []))
        : Effect.map(
          Effect.forEach(candidates, () => Random.next),
          (uniform) => Adaptive.choose(state, Adaptive.contextOf(payment), candidates, uniform)
        )
    const rankOthers = (payment: Payment, candidates: ReadonlyArray<Gateway>): Effect.Effect<ReadonlyArray<Gateway>> =>
      Effect.gen(function*() {
        if (candidates.length <= 1) return candidates
        switch (config.strategy) {
          case "ROUND_ROBIN": {
            const n = yield* Ref.getAndUpdate(turn, (t) => (t + 1) % 1_000_000)
            const shift = n % candidates.length
            return [...candidates.slice(shift), ...candidates.slice(0, shift)]
          }
          case "LEAST_LATENCY": {
            const p50 = yield* Effect.forEach(candidates, (g) => Effect.map(metrics.get(g.id), (s) => s.p50 ?? -1))
            return stableSort(candidates, (g) => p50[candidates.indexOf(g)]!)
          }
          case "HIGHEST_SUCCESS_RATE": {
            const rate = yield* Effect.forEach(candidates, (g) => Effect.map(metrics.get(g.id), (s) => s.successRate ?? 1))
            return stableSort(candidates, (g) => -rate[candidates.indexOf(g)]!)
          }
          case "COST_OPTIMIZED":
            return stableSort(candidates, (g) => Number(fee(config.fees, g.id, payment)))
          case "RULE_BASED":
            return Rules.apply(config.rules ?? [], payment, candidates)
          case "INTELLIGENT": {
            const summaries = yield* Effect.forEach(candidates, (g) => metrics.get(g.id))
            const costs = candidates.map((g) => Number(fee(config.fees, g.id, payment)))
            const latencies = summaries.map((s) => s.p50 ?? 0)
            const maxLatency = Math.max(1, ...latencies)
            const maxCost = Math.max(1, ...costs)
            const score = candidates.map((_, i) =>
              weights.success * (summaries[i]!.successRate ?? 1) +
              weights.latency * (1 - latencies[i]! / maxLatency) +
              weights.cost * (1 - costs[i]! / maxCost)
            )
            return stableSort(candidates, (g) => -score[candidates.indexOf(g)]!)
          }
          case "ADAPTIVE":
            // not reached: a router with this strategy has a learner and ranks with rankAdaptive
            return candidates
        }
      })
    const rank = adaptive === undefined ? rankOthers : rankAdaptive(adaptive)
    const observe = (payment: Payment, gateway: string, outcome: Outcome): Effect.Effect<void> => {
      if (adaptive === undefined) return Effect.void
      const state = adaptive
      return Effect.sync(() => {
        Adaptive.observe(state, payment, gateway, outcome)
        share?.(payment, gateway, outcome)
      })
    }
    return Router.of({ rank, observe })
  })

/**
 * A router layer with `config`'s strategy. (Without one, the `AegisPay` layers use
 * {@link layerRegistrationOrder}.)
 *
 * @since 0.1.0
 */
export const layer = (config: Config): Layer.Layer<Router, never, GatewayMetrics> => Layer.effect(Router, make(config))

/**
 * Keeps the candidates in registration order.
 *
 * @since 0.1.0
 */
export const layerRegistrationOrder: Layer.Layer<Router> = Layer.succeed(Router, {
  rank: (_, candidates) => Effect.succeed(candidates),
  observe: () => Effect.void
})
