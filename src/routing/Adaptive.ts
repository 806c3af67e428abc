/**
 * Adaptive success-rate routing: the learning state behind the `ADAPTIVE` strategy of the
 * `Router`, success-rate routing as a non-stationary multi-armed bandit solved by Thompson
 * sampling over discounted Beta posteriors with hierarchical pooling, change detection,
 * elimination and probes.
 *
 * **Contexts.** A payment's context is its currency, payment method type, card brand (`none`
 * without a card) and amount band (under 10, 10–100, 100–1,000, 1,000 and more major units of
 * its currency). For every gateway the state keeps counters at four levels, each inside the one
 * before: `overall`, the currency (`c:EUR`), currency with method and brand
 * (`b:EUR/card/visa`), the full context (`x:EUR/card/visa/1`).
 *
 * **Counters.** Each counter holds discounted counts of approvals and failures (declines and
 * errors): every observation of the router, of any gateway and context, multiplies every count
 * by `1 − 1/memory` (lazily, when the counter is next touched: O(1)), so evidence fades with the
 * traffic that followed it and a gateway that is no longer chosen becomes uncertain again. A
 * second pair of counts with the short memory `changeMemory` watches for change: when the short
 * counts are unlikely under the long rate (a likelihood-ratio test at `changeThreshold` standard
 * deviations), the long counts are replaced by the short ones, at that level and every level
 * inside it, and for the next `memory` observations only the short counts are trusted there (a
 * step, an outage or a recovery is followed within a few hundred of the gateway's payments).
 *
 * **Posterior** of gateway g for a context (hierarchical pooling): overall Beta(1 + approvals,
 * 1 + failures); each level below borrows `pooling` pseudo-observations at the rate of the level
 * above (fewer while that level has fewer observations) and adds its own counts. The result is a
 * mean μ and an effective count n (standard deviation `√(μ(1 − μ)/(n + 1))`): a sparse context
 * borrows from its currency and its gateway; a well-observed one speaks for itself.
 *
 * **Choice.** A gateway never observed goes first (it is learned). Otherwise every gateway whose
 * upper bound `μ + confidence·σ` is below the best lower bound `max(μ − confidence·σ)` is
 * *eliminated*; each other one draws `θ = μ + exploration·σ·z` (z standard normal, from Effect's
 * `Random`) and the highest θ goes first (Thompson sampling: a gateway is tried about as often as
 * it may be the best, so exploration shrinks as the posteriors separate and stops for a gateway
 * that is confidently worse). A gateway not observed for `probeInterval` observations is tried
 * once (a probe), so a recovery is noticed. The rest follow by mean, the eliminated ones last:
 * never dropped (failover may still use them).
 *
 * Guarantees: O(1) work per observation (four counters, each updated in O(1)) and O(1) per
 * gateway per decision; never a scan over history. Memory is bounded: counters exist per gateway
 * and per value of finite sets (ISO 4217 currencies, payment method types, card brands, four
 * amount bands), 64 bytes each. Deterministic: the only randomness is the `Random` draws of the
 * caller. Pure data, mutated in place: callers serialise access (one `Effect.sync` at a time).
 *
 * @since 0.1.0
 */
import * as Currency from "../domain/Currency.js"
import type { Payment } from "../domain/Payment.js"
import type { Outcome } from "../observability/GatewayMetrics.js"

/**
 * Settings of the `ADAPTIVE` strategy. Every field is optional; see {@link defaults}.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * Observations (of all gateways) after which evidence weighs 1/e: the discount per
   * observation is `1 − 1/memory`. Default 2,500. Larger is steadier, smaller follows drift
   * faster and re-explores sooner.
   */
  readonly memory?: number | undefined
  /** Memory of the short counts that detect change (see the module doc). Default 300. */
  readonly changeMemory?: number | undefined
  /** Standard deviations (as a likelihood ratio) between short and long rate that count as a change. Default 4.5. */
  readonly changeThreshold?: number | undefined
  /**
   * A gateway not observed for this many observations (of the router) is tried once (a probe),
   * however bad it looked: recoveries are noticed. Default 1,000; `Infinity` never probes.
   */
  readonly probeInterval?: number | undefined
  /** Pseudo-observations a level borrows from the level above (hierarchical pooling). Default 50. */
  readonly pooling?: number | undefined
  /** Standard deviations of the elimination bounds. Default 3. */
  readonly confidence?: number | undefined
  /**
   * Scale of the Thompson draw: 1 samples the posterior, 0 is greedy (always the best mean;
   * probes and gateways never observed still go first). Default 0.5.
   */
  readonly exploration?: number | undefined
}

/**
 * The former name of {@link Options}.
 *
 * @since 0.1.0
 * @deprecated use {@link Options}
 */
export type Config = Options

/**
 * The default settings.
 *
 * @since 0.1.0
 */
export const defaults: {
  readonly memory: number
  readonly changeMemory: number
  readonly changeThreshold: number
  readonly probeInterval: number
  readonly pooling: number
  readonly confidence: number
  readonly exploration: number
} = {
  memory: 2_500,
  changeMemory: 300,
  changeThreshold: 4.5,
  probeInterval: 1_000,
  pooling: 50,
  confidence: 3,
  exploration: 0.5
}

/**
 * Discounted counts of one (gateway, level): long and short memory, as of `tick`.
 *
 * @since 0.3.0
 */
export interface Counter {
  successes: number
  failures: number
  shortSuccesses: number
  shortFailures: number
  /** Tick the counts were last discounted to. */
  tick: number
  /** Tick of the last observation (or probe) of this gateway at this level. */
  seen: number
  /** Tick of the last change detected here (−1: none). */
  changedAt: number
  /** The latest change above this level already applied here. */
  resetSeen: number
}

/**
 * The learning state.
 *
 * @since 0.1.0
 */
export interface State {
  /** Observations after which evidence weighs 1/e. */
  readonly memory: number
  /** Long discount per observation: `1 − 1/memory`. */
  readonly discount: number
  /** Short discount per observation: `1 − 1/changeMemory`. */
  readonly shortDiscount: number
  readonly changeThreshold: number
  readonly probeInterval: number
  readonly pooling: number
  readonly confidence: number
  readonly exploration: number
  /** Observations so far (outcome counts, local and shared): the clock of the discount. */
  tick: number
  /** Counters by `gateway|level` (`a|overall`, `a|c:EUR`, `a|x:EUR/card/visa/1`, …). */
  readonly counters: Map<string, Counter>
}

const positive = (x: number | undefined, fallback: number, min: number): number =>
  x !== undefined && Number.isFinite(x) ? Math.max(min, x) : x === Infinity ? Infinity : fallback

/**
 * A fresh state from `options` (missing fields take {@link defaults}; memories are at least 1,
 * the other settings at least 0; `memory: Infinity` never forgets).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): State => ({
  memory: positive(options.memory, defaults.memory, 1),
  discount: 1 - 1 / positive(options.memory, defaults.memory, 1),
  shortDiscount: 1 - 1 / positive(options.changeMemory, defaults.changeMemory, 1),
  changeThreshold: positive(options.changeThreshold, defaults.changeThreshold, 0),
  probeInterval: positive(options.probeInterval, defaults.probeInterval, 1),
  pooling: positive(options.pooling, defaults.pooling, 0),
  confidence: positive(options.confidence, defaults.confidence, 0),
  exploration: positive(options.exploration, defaults.exploration, 0),
  tick: 0,
  counters: new Map()
})

/**
 * The context of a payment as the learner sees it.
 *
 * @since 0.3.0
 */
export interface Context {
  readonly currency: string
  /** Payment method type: `card`, `gateway_token`, `checkout`. */
  readonly method: string
  /** Card brand; `none` without a card. */
  readonly brand: string
  /** Amount band 0–3: under 10, 10–100, 100–1,000, 1,000 and more major units. */
  readonly band: number
}

/**
 * The amount band of `minor` units of `currency`: 0 under 10 major units, 1 under 100, 2 under
 * 1,000, 3 from 1,000.
 *
 * @since 0.3.0
 */
export const band = (currency: Currency.CurrencyCode, minor: bigint): number => {
  const unit = 10n ** BigInt(Currency.exponent(currency))
  return minor < 10n * unit ? 0 : minor < 100n * unit ? 1 : minor < 1_000n * unit ? 2 : 3
}

/**
 * The context of `payment`.
 *
 * @since 0.3.0
 */
export const contextOf = (payment: Payment): Context => ({
  currency: payment.amount.currency,
  method: payment.paymentMethod.type,
  brand: payment.paymentMethod.type === "card" ? payment.paymentMethod.brand : "none",
  band: band(payment.amount.currency, payment.amount.minor)
})

/**
 * The level keys of a context, most general first: `overall`, the currency, the currency with
 * the payment method and card brand, the full context (with the amount band).
 *
 * @since 0.3.0
 */
export const levels = (context: Context): readonly [string, string, string, string] => [
  "overall",
  `c:${context.currency}`,
  `b:${context.currency}/${context.method}/${context.brand}`,
  `x:${context.currency}/${context.method}/${context.brand}/${context.band}`
]

const fresh = (tick: number): Counter => ({
  successes: 0,
  failures: 0,
  shortSuccesses: 0,
  shortFailures: 0,
  tick,
  seen: tick,
  changedAt: -1,
  resetSeen: -1
})

/**
 * Brings a counter to the state's tick (lazy discount) and applies a change detected above it
 * since it last looked (`changedAt` of an ancestor later than its `resetSeen`: its long counts
 * become its short ones). O(1).
 */
const age = (state: State, c: Counter, ancestorChange: number): void => {
  const dt = state.tick - c.tick
  if (dt > 0) {
    const long = state.discount ** dt
    const short = state.shortDiscount ** dt
    c.successes *= long
    c.failures *= long
    c.shortSuccesses *= short
    c.shortFailures *= short
    c.tick = state.tick
  }
  if (ancestorChange > c.resetSeen) {
    c.resetSeen = ancestorChange
    c.successes = Math.min(c.successes, c.shortSuccesses)
    c.failures = Math.min(c.failures, c.shortFailures)
  }
}

const logRatio = (p: number, q: number): number => (p <= 0 ? 0 : p * Math.log(p / q))

/**
 * Whether the short counts are unlikely under the long rate: the generalized likelihood ratio
 * `nS · KL(pS ‖ pL)` above `changeThreshold² / 2` (for many samples: the short rate
 * `changeThreshold` standard deviations from the long one; for few, a few successes where the
 * long rate says almost none also count).
 */
const changed = (state: State, c: Counter): boolean => {
  const nS = c.shortSuccesses + c.shortFailures
  const nL = c.successes + c.failures
  if (nS < 1 || nL < 2 * nS) return false
  const pS = c.shortSuccesses / nS
  const pL = Math.min(1 - 1e-6, Math.max(1e-6, (c.successes + 0.5) / (nL + 1)))
  const llr = nS * (logRatio(pS, pL) + logRatio(1 - pS, 1 - pL))
  return llr > (state.changeThreshold * state.changeThreshold) / 2
}

/** The counter of `key`, created empty at first use. */
const counter = (state: State, key: string): Counter => {
  let c = state.counters.get(key)
  if (c === undefined) state.counters.set(key, c = fresh(state.tick))
  return c
}

/**
 * Records `successes` approvals and `failures` declines or errors of `gateway` in `context`
 * (observed here or by another process): O(1). The clock advances by their total. A change
 * detected at a level resets the long counts of that level and, lazily, of every level below it.
 *
 * @since 0.3.0
 */
export const observeCounts = (
  state: State,
  gateway: string,
  context: Context,
  successes: number,
  failures: number
): void => {
  if (!(successes >= 0 && failures >= 0) || successes + failures === 0) return
  state.tick += successes + failures
  let ancestorChange = -1
  for (const level of levels(context)) {
    const c = counter(state, `${gateway}|${level}`)
    age(state, c, ancestorChange)
    c.successes += successes
    c.failures += failures
    c.shortSuccesses += successes
    c.shortFailures += failures
    c.seen = state.tick
    if (changed(state, c)) {
      c.successes = c.shortSuccesses
      c.failures = c.shortFailures
      c.changedAt = state.tick
    }
    ancestorChange = Math.max(ancestorChange, c.changedAt)
    c.resetSeen = Math.max(c.resetSeen, ancestorChange)
  }
}

/**
 * Records the outcome of `payment` at `gateway`: `approved` is a success, `declined` and `error`
 * failures. O(1).
 *
 * @since 0.1.0
 */
export const observe = (state: State, payment: Payment, gateway: string, outcome: Outcome): void =>
  outcome === "approved"
    ? observeCounts(state, gateway, contextOf(payment), 1, 0)
    : observeCounts(state, gateway, contextOf(payment), 0, 1)

/**
 * What the state knows of one gateway for one payment.
 *
 * @since 0.1.0
 */
export interface Estimate {
  /** Posterior mean of the approval probability, 0..1 (1 for a gateway never observed). */
  readonly rate: number
  /** Posterior standard deviation (0 for a gateway never observed). */
  readonly deviation: number
  /** Discounted observations of the gateway, all contexts. */
  readonly samples: number
}

/**
 * The posterior of `gateway` in `context` (see the module doc): O(1).
 *
 * @since 0.3.0
 */
export const estimateContext = (state: State, gateway: string, context: Context): Estimate => {
  let rate = 0.5
  let n = 0
  let samples = 0
  let ancestorChange = -1
  for (const level of levels(context)) {
    const c = state.counters.get(`${gateway}|${level}`)
    if (c === undefined) break
    age(state, c, ancestorChange)
    ancestorChange = Math.max(ancestorChange, c.changedAt)
    // within `memory` observations of a change here or above, only the short counts are trusted
    const settled = ancestorChange < 0 || state.tick - ancestorChange >= state.memory
    const successes = settled ? c.successes : Math.min(c.successes, c.shortSuccesses)
    const own = settled ? c.successes + c.failures : successes + Math.min(c.failures, c.shortFailures)
    if (level === "overall") {
      samples = own
      if (c.successes + c.failures < 1e-9) break
      rate = (successes + 1) / (own + 2)
      n = own + 2
    } else {
      // the level above lends at most `pooling` pseudo-observations, and no more than it has
      const k = Math.min(state.pooling, n)
      rate = own + k > 0 ? (successes + k * rate) / (own + k) : rate
      n = own + k
    }
  }
  if (n === 0) return { rate: 1, deviation: 0, samples: 0 }
  return { rate, deviation: Math.sqrt((rate * (1 - rate)) / (n + 1)), samples }
}

/**
 * The posterior of `gateway` for `payment`: O(1).
 *
 * @since 0.1.0
 */
export const estimate = (state: State, gateway: string, payment: Payment): Estimate =>
  estimateContext(state, gateway, contextOf(payment))

/**
 * The standard normal quantile of `p` in (0, 1) (Acklam's rational approximation, relative
 * error below 1.2e-9); `p` is clamped away from 0 and 1.
 *
 * @since 0.3.0
 */
export const normalQuantile = (p: number): number => {
  const q0 = Math.min(1 - 1e-12, Math.max(1e-12, p))
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155211841]
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const tail = (q: number) => {
    const r = Math.sqrt(-2 * Math.log(q))
    return (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) /
      ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1)
  }
  if (q0 < 0.02425) return tail(q0)
  if (q0 > 1 - 0.02425) return -tail(1 - q0)
  const q = q0 - 0.5
  const r = q * q
  return (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
}

/**
 * The candidates, the chosen one first: a gateway never observed if any (the first such),
 * otherwise the highest Thompson draw among those not eliminated; the rest by posterior mean,
 * eliminated ones last, ties in the given order. `uniform[i]` is the uniform draw in [0, 1) of candidate i
 * (one per candidate, unused with `exploration` 0; default: the state's). O(n log n) in the candidates.
 *
 * @since 0.3.0
 */
export const choose = <G extends { readonly id: string }>(
  state: State,
  context: Context,
  candidates: ReadonlyArray<G>,
  uniform: ReadonlyArray<number>,
  exploration: number = state.exploration,
  probe: boolean = true
): Array<G> => {
  const rows = candidates.map((g, index) => ({ g, index, e: estimateContext(state, g.id, context), eliminated: false, draw: 0 }))
  let bestLower = -Infinity
  for (const r of rows) bestLower = Math.max(bestLower, r.e.rate - state.confidence * r.e.deviation)
  for (const r of rows) {
    r.eliminated = r.e.rate + state.confidence * r.e.deviation < bestLower
    r.draw = r.e.samples === 0
      ? Infinity
      : r.eliminated
      ? -Infinity
      : r.e.rate + (exploration === 0 ? 0 : exploration * r.e.deviation * normalQuantile(uniform[r.index] ?? 0.5))
  }
  const rest = [...rows].sort((a, b) =>
    (a.eliminated === b.eliminated ? 0 : a.eliminated ? 1 : -1) || b.e.rate - a.e.rate || a.index - b.index
  )
  let first = rows[0]!
  for (const r of rows) if (r.draw > first.draw) first = r
  if (probe && first.draw !== Infinity) {
    // a gateway not observed for probeInterval observations is tried once
    for (const r of rows) {
      const key = `${r.g.id}|overall`
      const c = state.counters.get(key)
      if (c !== undefined && state.tick - c.seen <= state.probeInterval) continue
      if (c === undefined) {
        state.counters.set(key, fresh(state.tick))
      } else {
        c.seen = state.tick
      }
      if (r !== first) {
        first = r
        break
      }
    }
  }
  return [first.g, ...rest.filter((r) => r !== first).map((r) => r.g)]
}

/**
 * The candidates ordered by exploitation alone (no draw): a gateway never observed first, then
 * not eliminated before eliminated, then by posterior mean, ties in the given order.
 *
 * @since 0.1.0
 */
export const order = <G extends { readonly id: string }>(
  state: State,
  payment: Payment,
  candidates: ReadonlyArray<G>
): Array<G> => choose(state, contextOf(payment), candidates, [], 0, false)
