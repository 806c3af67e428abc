/**
 * Adaptive success-rate routing: the learning state behind the `ADAPTIVE` strategy of the
 * `Router`, success-rate routing as a non-stationary multi-armed bandit solved by Thompson
 * sampling over Beta posteriors, pooled between contexts by empirical Bayes, mixed over several
 * memories by how well each predicts, with elimination and probes.
 *
 * **Contexts.** A payment's context is its currency, payment method type, card brand (`none`
 * without a card) and amount band (under 10, 10–100, 100–1,000, 1,000 and more major units of
 * its currency). For every gateway the state keeps counters at four levels, each inside the one
 * before: `overall`, the currency (`c:EUR`), currency with method and brand
 * (`b:EUR/card/visa`), the full context (`x:EUR/card/visa/1`).
 *
 * **Counters and memories.** Each counter holds counts of approvals and failures (declines and
 * errors) at every memory m of `memories` (default 300, 1,000, 3,000, 10,000 and ∞
 * observations): every observation of the router, of any gateway and context, multiplies the
 * counts of memory m by `1 − 1/m` (lazily, when the counter is next touched), so evidence fades
 * with the traffic that followed it and a gateway no longer chosen becomes uncertain again under
 * the short memories.
 *
 * **Pooling (empirical Bayes).** For every gateway and level the state keeps, in O(1) per
 * observation, the chi-square of the counts of the contexts of that level around the level
 * above (longest memory). The variance τ² of the gateway's rate between contexts is its excess
 * over what chance gives (method of moments, less `heterogeneityMargin` standard deviations of
 * the chi-square: contexts are kept apart only on clear evidence); a context borrows
 * `p(1 − p)/τ²` pseudo-observations (clamped to [`pooling`, `maxPooling`]) from the level above. Contexts that agree are pooled
 * completely (a gateway is learned once, not per context); contexts that differ speak for
 * themselves.
 *
 * **Posterior.** Under memory m: the overall level at the longest memory is Beta(1 + approvals,
 * 1 + failures) plus `gatewayPooling` pseudo-observations at the pooled rate of all gateways (a
 * gateway unlucky in its first payments is not written off); a shorter memory borrows
 * `timePooling` pseudo-observations from the next longer one (a gateway not seen lately falls
 * back to its longer record, uncertain); each finer level
 * borrows its pooling strength from the level above. The memories are weighed by their
 * discounted predictive log-likelihood (`selectionMemory`) on every outcome observed plus, per
 * gateway, on that gateway's own (a change of one gateway moves its own weights first), with a
 * prior preference of `memoryPrior` nats per step towards the longer ones: a stationary world is
 * read with the longest memory, a step or a drift moves the weight to a short one within a few
 * hundred observations. The posterior is the mixture's mean μ and standard deviation σ.
 *
 * **Choice.** A gateway never observed goes first (it is learned). The leader is the highest
 * posterior mean; a gateway whose probability of beating it (normal approximation) is below
 * Φ(−`confidence`) is *eliminated*; each other one draws `θ = μ + s·z` (z standard normal, from
 * Effect's `Random`; s = `exploration`·σ, never below `explorationFloor` times the longest
 * memory's own standard deviation, nor, while the outcomes of all gateways are read off the
 * longest memory (gateways change), below `recentExploration` times that share of the weight
 * times the second-longest memory's own standard deviation) and the highest θ goes first (Thompson sampling: exploration shrinks as the
 * posteriors separate and stops for a gateway that is confidently worse). A gateway not
 * observed for `probeInterval` observations is tried once (a probe), so a recovery is noticed.
 * The rest follow by mean, the eliminated ones last: never dropped (failover may still use them).
 *
 * Guarantees: O(levels · memories) work per observation and per gateway per decision (4 × 5 by
 * default); never a scan over history, and no string built nor map searched by string per
 * decision once a context and gateway have been met: per state, a cache keeps each context's
 * counter keys and the references to its counters (nested maps by currency, method, brand and
 * band), with scratch arrays and the powers of the discounts for ages below 1,024 (the same
 * values, computed once). The caches hold at most 4,096 contexts, slots and gateways (plus those
 * of one call), then are emptied and rebuilt as met; they are derived data (a `WeakMap` by
 * state) and change no result, operation for operation. Memory is bounded: counters exist per
 * gateway and per value of finite sets (ISO 4217 currencies, payment method types, card brands,
 * four amount bands), two counts per memory each. Deterministic: the only randomness is the
 * `Random` draws of the caller. Pure data, mutated in place: callers serialise access (one
 * `Effect.sync` at a time) and leave the maps of {@link State} to this module (entries are added,
 * never replaced nor removed: the caches hold references to them).
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
   * The longest memory, in observations (of all gateways): the learner never keeps evidence
   * longer than this (evidence `memory` observations old weighs 1/e). Default `Infinity`.
   */
  readonly memory?: number | undefined
  /**
   * The memories the learner chooses among (see the module doc), in observations; those above
   * `memory` are left out and `memory` itself is added. Default 300, 1,000, 3,000, 10,000, ∞.
   */
  readonly memories?: ReadonlyArray<number> | undefined
  /** Memory of the predictive scores that weigh the models. Default 5,000. */
  readonly selectionMemory?: number | undefined
  /**
   * A gateway not observed for this many observations (of the router) is tried once (a probe),
   * however bad it looked: recoveries are noticed. Default 1,000; `Infinity` never probes.
   */
  readonly probeInterval?: number | undefined
  /**
   * The least pseudo-observations a level borrows from the level above (hierarchical pooling);
   * the strength is estimated from the data (empirical Bayes) between this and `maxPooling`.
   * Default 10.
   */
  readonly pooling?: number | undefined
  /** The most pseudo-observations a level borrows from the level above. Default 10,000. */
  readonly maxPooling?: number | undefined
  /**
   * Contexts are kept apart only on evidence: the chi-square of their counts must exceed its
   * expectation under no heterogeneity by this many of its standard deviations before the
   * variance between them counts. Default 3.
   */
  readonly heterogeneityMargin?: number | undefined
  /** Pseudo-observations a short memory borrows from the next longer one. Default 20. */
  readonly timePooling?: number | undefined
  /**
   * Pseudo-observations the overall level of a gateway borrows, at the longest memory, from the
   * pooled rate of all gateways (a gateway's prior is what gateways approve here, not 50%): a
   * gateway unlucky in its first few payments is not written off. Default 30.
   */
  readonly gatewayPooling?: number | undefined
  /**
   * Prior preference for longer memories: each step shorter costs this many nats of
   * log-likelihood in the weights. Default 1.
   */
  readonly memoryPrior?: number | undefined
  /**
   * A gateway is eliminated (not drawn; probes still reach it) when its posterior mean is more
   * than this many standard deviations of the difference below the leader's: a posterior
   * probability below Φ(−confidence) of being better. Default 2.33 (1%).
   */
  readonly confidence?: number | undefined
  /**
   * Scale of the Thompson draw: 1 samples the posterior, 0 is greedy (always the best mean;
   * probes and gateways never observed still go first). Default 0.5.
   */
  readonly exploration?: number | undefined
  /**
   * Least scale of the Thompson draw, as a multiple of the longest memory's own posterior
   * standard deviation (so a gateway is not starved when a short memory looks certain).
   * Default 0.6.
   */
  readonly explorationFloor?: number | undefined
  /**
   * Least scale of the Thompson draw while the world is changing, as a multiple of the posterior
   * standard deviation of the second-longest memory (10,000 observations by default) times the
   * weight of all outcomes off the longest memory (the evidence that gateways change): a gateway
   * seen little lately is tried again when the others are seen to change, not only by probes;
   * where nothing changes most weight stays on the longest memory and this adds little. Default 1;
   * 0 turns it off.
   */
  readonly recentExploration?: number | undefined
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
  readonly memories: ReadonlyArray<number>
  readonly selectionMemory: number
  readonly probeInterval: number
  readonly pooling: number
  readonly maxPooling: number
  readonly heterogeneityMargin: number
  readonly timePooling: number
  readonly gatewayPooling: number
  readonly memoryPrior: number
  readonly confidence: number
  readonly exploration: number
  readonly explorationFloor: number
  readonly recentExploration: number
} = {
  memory: Infinity,
  memories: [300, 1_000, 3_000, 10_000, Infinity],
  selectionMemory: 5_000,
  probeInterval: 1_000,
  pooling: 10,
  maxPooling: 10_000,
  heterogeneityMargin: 3,
  timePooling: 20,
  gatewayPooling: 30,
  memoryPrior: 1,
  confidence: 2.33,
  exploration: 0.5,
  explorationFloor: 0.6,
  recentExploration: 1
}

/**
 * Discounted counts of one (gateway, level), one pair per memory, as of `tick`.
 *
 * @since 0.3.0
 */
export interface Counter {
  readonly successes: Float64Array
  readonly failures: Float64Array
  /** Tick the counts were last discounted to. */
  tick: number
  /** Tick of the last observation (or probe) of this gateway at this level. */
  seen: number
  /** Over the children of this counter (the next level), at the longest memory: Σ successes²/count. */
  childSquares: number
  /** Σ count² over the children. */
  childCounts2: number
  /** Number of children observed. */
  children: number
  /** This counter's terms in its gateway's heterogeneity sums: chi-square, its denominator. */
  chi2: number
  denominator: number
}

/**
 * Heterogeneity of one gateway's approval rate between the contexts of a level: sums over the
 * counters of the level above (the longest memory) of the chi-square of their children, its
 * degrees of freedom and the denominator of the method-of-moments estimate of the variance τ²
 * between contexts.
 *
 * @since 0.4.0
 */
export interface Heterogeneity {
  chi2: number
  df: number
  denominator: number
  tick: number
}

/**
 * Discounted predictive log-likelihood of every memory on the outcomes of one gateway.
 *
 * @since 0.5.0
 */
export interface GatewayScores {
  readonly scores: Float64Array
  tick: number
}

/** Number of levels of a context (overall, currency, brand, full). */
const LEVELS = 4

/**
 * The learning state.
 *
 * @since 0.1.0
 */
export interface State {
  /** The memories, shortest first (the last may be `Infinity`). */
  readonly memories: ReadonlyArray<number>
  /** Discount per observation of each memory: `1 − 1/memory`. */
  readonly discounts: ReadonlyArray<number>
  /** Discount per observation of the predictive scores. */
  readonly selectionDiscount: number
  readonly probeInterval: number
  readonly pooling: number
  readonly maxPooling: number
  readonly heterogeneityMargin: number
  readonly timePooling: number
  readonly gatewayPooling: number
  readonly memoryPrior: number
  readonly confidence: number
  readonly exploration: number
  readonly explorationFloor: number
  readonly recentExploration: number
  /** Observations so far (outcome counts, local and shared): the clock of the discount. */
  tick: number
  /** Discounted log-likelihood of every model (level × memory) on the outcomes observed, as of `tick`. */
  readonly scores: Float64Array
  /**
   * Per gateway, the same scores on that gateway's outcomes only (as of their `tick`): the
   * weights of a gateway's memories add them to {@link State.scores}, so a change of one gateway
   * moves its own weights first.
   */
  readonly gatewayScores: Map<string, GatewayScores>
  /** Counts of every gateway together (overall level): the prior of each gateway's overall level. */
  readonly all: Counter
  /**
   * Counters by `gateway|level` (`a|overall`, `a|c:EUR`, `a|x:EUR/card/visa/1`, …). Read it; do
   * not replace or delete entries (this module never does, and its caches keep references).
   */
  readonly counters: Map<string, Counter>
  /** Heterogeneity by gateway, for levels 1–3 (index 0 unused). */
  readonly heterogeneity: Map<string, Array<Heterogeneity>>
}

const positive = (x: number | undefined, fallback: number, min: number): number =>
  x !== undefined && Number.isFinite(x) ? Math.max(min, x) : x === Infinity ? Infinity : fallback

/**
 * A fresh state from `options` (missing fields take {@link defaults}; memories are at least 1,
 * the other settings at least 0).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): State => {
  const longest = positive(options.memory, defaults.memory, 1)
  const memories = [
    ...new Set([...(options.memories ?? defaults.memories).map((m) => positive(m, 1, 1)).filter((m) => m < longest), longest])
  ].sort((a, b) => a - b)
  return {
    memories,
    discounts: memories.map((m) => 1 - 1 / m),
    selectionDiscount: 1 - 1 / positive(options.selectionMemory, defaults.selectionMemory, 1),
    probeInterval: positive(options.probeInterval, defaults.probeInterval, 1),
    pooling: positive(options.pooling, defaults.pooling, 0),
    maxPooling: Math.max(positive(options.pooling, defaults.pooling, 0), positive(options.maxPooling, defaults.maxPooling, 0)),
    heterogeneityMargin: positive(options.heterogeneityMargin, defaults.heterogeneityMargin, 0),
    timePooling: positive(options.timePooling, defaults.timePooling, 0),
    gatewayPooling: positive(options.gatewayPooling, defaults.gatewayPooling, 0),
    memoryPrior: positive(options.memoryPrior, defaults.memoryPrior, 0),
    confidence: positive(options.confidence, defaults.confidence, 0),
    exploration: positive(options.exploration, defaults.exploration, 0),
    explorationFloor: positive(options.explorationFloor, defaults.explorationFloor, 0),
    recentExploration: positive(options.recentExploration, defaults.recentExploration, 0),
    tick: 0,
    scores: new Float64Array(memories.length),
    gatewayScores: new Map(),
    all: {
      successes: new Float64Array(memories.length),
      failures: new Float64Array(memories.length),
      tick: 0,
      seen: 0,
      childSquares: 0,
      childCounts2: 0,
      children: 0,
      chi2: 0,
      denominator: 0
    },
    counters: new Map(),
    heterogeneity: new Map()
  }
}

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

/** The limits of the amount bands of each currency met (10, 100 and 1,000 major units, in minor units): at most one entry per ISO 4217 code. */
const bandLimits = new Map<Currency.CurrencyCode, readonly [bigint, bigint, bigint]>()

/**
 * The amount band of `minor` units of `currency`: 0 under 10 major units, 1 under 100, 2 under
 * 1,000, 3 from 1,000.
 *
 * @since 0.3.0
 */
export const band = (currency: Currency.CurrencyCode, minor: bigint): number => {
  let limits = bandLimits.get(currency)
  if (limits === undefined) {
    const unit = 10n ** BigInt(Currency.exponent(currency))
    limits = [10n * unit, 100n * unit, 1_000n * unit]
    bandLimits.set(currency, limits)
  }
  return minor < limits[0] ? 0 : minor < limits[1] ? 1 : minor < limits[2] ? 2 : 3
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

const fresh = (state: State): Counter => ({
  successes: new Float64Array(state.memories.length),
  failures: new Float64Array(state.memories.length),
  tick: state.tick,
  seen: state.tick,
  childSquares: 0,
  childCounts2: 0,
  children: 0,
  chi2: 0,
  denominator: 0
})

// ---------------------------------------------------------------- derived caches
//
// What a decision or an observation would otherwise rebuild every time: the string keys of a
// context's counters and their map lookups, the scratch arrays, the powers of the discounts. All
// of it is derived from the state (references into its maps, values it determines), so it
// changes no figure: the arithmetic is the same, operation for operation.

/** Powers `base ** n` kept for the integers n below this (the ages met most often). */
const POWERS = 1_024

/** The powers of one discount: `table[n]` is `base ** n`, NaN until first asked for. */
interface Powers {
  readonly base: number
  readonly table: Float64Array
}

const powersOf = (base: number): Powers => ({ base, table: new Float64Array(POWERS).fill(NaN) })

/** `p.base ** n`: the same value, computed once per integer n below {@link POWERS}. */
const power = (p: Powers, n: number): number => {
  if (n >= 0 && n < POWERS && (n | 0) === n) {
    let v = p.table[n]!
    if (Number.isNaN(v)) p.table[n] = v = p.base ** n
    return v
  }
  return p.base ** n
}

/**
 * One gateway in one context: the keys of its counters (`gateway|level`, most general first) and
 * the counters as far as they exist (a counter, once in `State.counters`, is never replaced nor
 * removed, so the reference stays right; a missing one is looked up again until it exists).
 */
interface Slot {
  readonly keys: ReadonlyArray<string>
  readonly counters: Array<Counter | undefined>
}

/** One context met: its level keys and its slots by gateway. */
interface ContextCache {
  readonly levels: readonly [string, string, string, string]
  readonly slots: Map<string, Slot>
}

/** One gateway met: references to its entries of `State.gatewayScores` and `State.heterogeneity`, once they exist. */
interface GatewayCache {
  scores: GatewayScores | undefined
  heterogeneity: Array<Heterogeneity> | undefined
}

/**
 * Most contexts, slots and gateways the caches of one state hold together: past it (checked when
 * a call starts, so one call may add its candidates beyond it) they are dropped and rebuilt as
 * met. Contexts are finite sets in practice (64 in the simulation, × 2–6 gateways); the bound
 * holds whatever the strings a store hands over.
 */
const CACHE_ENTRIES = 4_096

interface Internals {
  /** The powers of each memory's discount, and of the scores' discount. */
  readonly discounts: ReadonlyArray<Powers>
  readonly selection: Powers
  /** The prior preference of each memory, `memoryPrior · (k − (K − 1))`. */
  readonly prior: Float64Array
  /** Scratch arrays (every function using one is done with it before the next starts). */
  readonly scores: Float64Array
  readonly weights: Float64Array
  readonly pool: Float64Array
  readonly mean: Float64Array
  readonly count: Float64Array
  /** currency → method → brand → band → context. */
  readonly contexts: Map<string, Map<string, Map<string, Map<number, ContextCache>>>>
  readonly gateways: Map<string, GatewayCache>
  /** Contexts, slots and gateways held. */
  entries: number
}

/** The caches of every state, dropped with it. */
const internals = new WeakMap<State, Internals>()

/** The caches of `state` (made at first use; emptied when they hold {@link CACHE_ENTRIES}). */
const internalsOf = (state: State): Internals => {
  let x = internals.get(state)
  if (x === undefined) {
    const K = state.memories.length
    x = {
      discounts: state.discounts.map(powersOf),
      selection: powersOf(state.selectionDiscount),
      prior: Float64Array.from({ length: K }, (_, k) => state.memoryPrior * (k - (K - 1))),
      scores: new Float64Array(K),
      weights: new Float64Array(K),
      pool: new Float64Array(LEVELS),
      mean: new Float64Array(K),
      count: new Float64Array(K),
      contexts: new Map(),
      gateways: new Map(),
      entries: 0
    }
    internals.set(state, x)
  } else if (x.entries >= CACHE_ENTRIES) {
    x.contexts.clear()
    x.gateways.clear()
    x.entries = 0
  }
  return x
}

/** The cache of `context`, made at first meeting. */
const contextCache = (x: Internals, context: Context): ContextCache => {
  let methods = x.contexts.get(context.currency)
  if (methods === undefined) x.contexts.set(context.currency, methods = new Map())
  let brands = methods.get(context.method)
  if (brands === undefined) methods.set(context.method, brands = new Map())
  let bands = brands.get(context.brand)
  if (bands === undefined) brands.set(context.brand, bands = new Map())
  let entry = bands.get(context.band)
  if (entry === undefined) {
    bands.set(context.band, entry = { levels: levels(context), slots: new Map() })
    x.entries++
  }
  return entry
}

/** The slot of `gateway` in a context, made at first meeting (no counter is created). */
const slotOf = (state: State, x: Internals, entry: ContextCache, gateway: string): Slot => {
  let slot = entry.slots.get(gateway)
  if (slot === undefined) {
    const keys = entry.levels.map((level) => `${gateway}|${level}`)
    slot = { keys, counters: keys.map((key) => state.counters.get(key)) }
    entry.slots.set(gateway, slot)
    x.entries++
  }
  return slot
}

/** The cache of `gateway`, made at first meeting. */
const gatewayCache = (x: Internals, gateway: string): GatewayCache => {
  let g = x.gateways.get(gateway)
  if (g === undefined) {
    x.gateways.set(gateway, g = { scores: undefined, heterogeneity: undefined })
    x.entries++
  }
  return g
}

const scoresOf = (state: State, g: GatewayCache, gateway: string): GatewayScores | undefined =>
  g.scores ?? (g.scores = state.gatewayScores.get(gateway))

const heterogeneityOf = (state: State, g: GatewayCache, gateway: string): Array<Heterogeneity> | undefined =>
  g.heterogeneity ?? (g.heterogeneity = state.heterogeneity.get(gateway))

// ---------------------------------------------------------------- counters and posteriors

/** Brings a counter to the state's tick (lazy discount). O(memories). */
const age = (state: State, x: Internals, c: Counter): void => {
  const dt = state.tick - c.tick
  if (dt <= 0) return
  for (let k = 0; k < state.memories.length; k++) {
    const d = state.discounts[k]!
    if (d === 1) continue
    const f = power(x.discounts[k]!, dt)
    c.successes[k]! *= f
    c.failures[k]! *= f
    if (k === state.memories.length - 1) {
      c.childSquares *= f
      c.childCounts2 *= f * f
      c.chi2 *= f
      c.denominator *= f
    }
  }
  c.tick = state.tick
}

/**
 * The pooling strength of each level of a gateway (index 1–3) from its heterogeneity sums `het`:
 * `p(1 − p)/τ²` with τ² the variance between the contexts of the level estimated by the method
 * of moments (DerSimonian–Laird) from the chi-square of the counts, clamped to [`pooling`,
 * `maxPooling`].
 */
const poolingOf = (
  state: State,
  x: Internals,
  het: Array<Heterogeneity> | undefined,
  overall: Counter | undefined,
  out: Float64Array
): void => {
  const K = state.memories.length
  const s = overall === undefined ? 0 : overall.successes[K - 1]!
  const n = overall === undefined ? 0 : s + overall.failures[K - 1]!
  const p = (s + 1) / (n + 2)
  for (let l = 1; l < LEVELS; l++) {
    const h = het?.[l]
    if (h !== undefined) ageHeterogeneity(state, x, h)
    // the chi-square beyond its expectation under no heterogeneity, less `heterogeneityMargin`
    // standard deviations of it (contexts are kept apart only on evidence)
    const excess = h === undefined ? 0 : h.chi2 - (h.df + state.heterogeneityMargin * Math.sqrt(2 * h.df)) * p * (1 - p)
    const tau2 = h === undefined || h.denominator <= 0 ? 0 : Math.max(0, excess / h.denominator)
    out[l] = tau2 <= 0 ? state.maxPooling : Math.min(state.maxPooling, Math.max(state.pooling, (p * (1 - p)) / tau2))
  }
}

const ageHeterogeneity = (state: State, x: Internals, h: Heterogeneity): void => {
  const dt = state.tick - h.tick
  const K = state.memories.length
  const d = state.discounts[K - 1]!
  if (dt > 0 && d !== 1) {
    const f = power(x.discounts[K - 1]!, dt)
    h.chi2 *= f
    h.denominator *= f
  }
  h.tick = state.tick
}

/**
 * The posterior mean and effective count of the finest level of one gateway in one context at
 * every memory k, into `mean[k]` and `count[k]`: the overall level at the longest memory is
 * Beta(1 + approvals, 1 + failures); a shorter memory borrows `timePooling` pseudo-observations
 * at the rate of the next longer one; a finer level borrows its pooling strength (`pool[l]`)
 * at the rate of the level above (the same memory), never more than that has beyond its own.
 * O(levels · memories).
 */
const models = (
  state: State,
  x: Internals,
  counters: ReadonlyArray<Counter | undefined>,
  pool: Float64Array,
  mean: Float64Array,
  count: Float64Array
): void => {
  const K = state.memories.length
  for (let l = 0; l < LEVELS; l++) {
    const c = counters[l]
    for (let k = K - 1; k >= 0; k--) {
      const s = c === undefined ? 0 : c.successes[k]!
      const n = c === undefined ? 0 : s + c.failures[k]!
      let priorMean: number
      let priorCount: number
      if (l > 0) {
        priorMean = mean[k]!
        priorCount = Math.min(pool[l]!, Math.max(0, count[k]! - n))
      } else if (k < K - 1) {
        priorMean = mean[k + 1]!
        priorCount = Math.min(state.timePooling, count[k + 1]!)
      } else {
        // the pooled rate of all gateways (Beta(1, 1) before any), `gatewayPooling` strong
        const all = state.all
        age(state, x, all)
        const as = all.successes[K - 1]!
        priorMean = (as + 1) / (as + all.failures[K - 1]! + 2)
        priorCount = 2 + state.gatewayPooling
      }
      const total = n + priorCount
      mean[k] = total > 0 ? (s + priorCount * priorMean) / total : priorMean
      count[k] = total
    }
  }
}

/** The counters of a slot at the levels of its context (undefined where none yet), aged. */
const countersOf = (state: State, x: Internals, slot: Slot): ReadonlyArray<Counter | undefined> => {
  const cs = slot.counters
  for (let l = 0; l < LEVELS; l++) {
    let c = cs[l]
    if (c === undefined) {
      c = state.counters.get(slot.keys[l]!)
      if (c === undefined) continue
      cs[l] = c
    }
    age(state, x, c)
  }
  return cs
}

const clampP = (p: number) => Math.min(1 - 1e-4, Math.max(1e-4, p))

/**
 * Records `successes` approvals and `failures` declines or errors of `gateway` in `context`
 * (observed here or by another process): O(levels · memories). Before counting them, every
 * model is scored on them (its predictive log-likelihood). The clock advances by their total.
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
  const K = state.memories.length
  const x = internalsOf(state)
  const slot = slotOf(state, x, contextCache(x, context), gateway)
  const cs = slot.counters
  for (let l = 0; l < LEVELS; l++) {
    if (cs[l] !== undefined) continue
    const key = slot.keys[l]!
    let c = state.counters.get(key)
    if (c === undefined) state.counters.set(key, c = fresh(state))
    cs[l] = c
  }
  for (let l = 0; l < LEVELS; l++) age(state, x, cs[l]!)
  const g = gatewayCache(x, gateway)
  const pool = x.pool
  poolingOf(state, x, heterogeneityOf(state, g, gateway), cs[0], pool)
  const mean = x.mean
  models(state, x, cs, pool, mean, x.count)
  const total = successes + failures
  const fade = power(x.selection, total)
  const own = gatewayScoresOf(state, x, g, gateway)
  for (let k = 0; k < K; k++) {
    const p = clampP(mean[k]!)
    const score = successes * Math.log(p) + failures * Math.log(1 - p)
    state.scores[k] = state.scores[k]! * fade + score
    own.scores[k] = own.scores[k]! * fade + score
  }
  own.tick = state.tick + total
  age(state, x, state.all)
  state.tick += total
  age(state, x, state.all)
  for (let k = 0; k < K; k++) {
    state.all.successes[k]! += successes
    state.all.failures[k]! += failures
  }
  let het = heterogeneityOf(state, g, gateway)
  if (het === undefined) {
    het = Array.from({ length: LEVELS }, () => ({ chi2: 0, df: 0, denominator: 0, tick: state.tick }))
    state.heterogeneity.set(gateway, het)
    g.heterogeneity = het
  }
  for (let l = 0; l < LEVELS; l++) {
    const c = cs[l]!
    age(state, x, c)
    const s0 = c.successes[K - 1]!
    const n0 = s0 + c.failures[K - 1]!
    for (let k = 0; k < K; k++) {
      c.successes[k]! += successes
      c.failures[k]! += failures
    }
    c.seen = state.tick
    if (l > 0) {
      // the parent's sums over its children, and its terms in the gateway's heterogeneity
      const parent = cs[l - 1]!
      const s1 = s0 + successes
      const n1 = n0 + total
      parent.childSquares += (s1 * s1) / n1 - (n0 > 0 ? (s0 * s0) / n0 : 0)
      parent.childCounts2 += n1 * n1 - n0 * n0
      if (n0 === 0) parent.children++
      const ps = parent.successes[K - 1]!
      const pn = ps + parent.failures[K - 1]!
      const chi2 = Math.max(0, parent.childSquares - (ps * ps) / pn)
      const denominator = Math.max(0, pn - parent.childCounts2 / pn)
      const h = het[l]!
      ageHeterogeneity(state, x, h)
      h.chi2 += chi2 - parent.chi2
      h.denominator += denominator - parent.denominator
      if (n0 === 0 && parent.children > 1) h.df++
      parent.chi2 = chi2
      parent.denominator = denominator
    }
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
  /** Observations of the gateway, all contexts, at the longest memory. */
  readonly samples: number
}

/** The scores of `gateway`'s own outcomes, created empty at first use, aged to the state's tick. */
const gatewayScoresOf = (state: State, x: Internals, g: GatewayCache, gateway: string): GatewayScores => {
  let own = scoresOf(state, g, gateway)
  if (own === undefined) {
    state.gatewayScores.set(gateway, own = { scores: new Float64Array(state.memories.length), tick: state.tick })
    g.scores = own
  }
  const dt = state.tick - own.tick
  if (dt > 0) {
    const f = power(x.selection, dt)
    for (let k = 0; k < own.scores.length; k++) own.scores[k]! *= f
    own.tick = state.tick
  }
  return own
}

/**
 * The weight of every memory: its score's likelihood relative to the best, normalised; the
 * scores of all outcomes, plus `own` (a gateway's own outcomes' scores) when given. Into the
 * scratch array `x.weights`, valid until the next call.
 */
const weightsOf = (state: State, x: Internals, own: GatewayScores | undefined): Float64Array => {
  const K = state.scores.length
  const scores = x.scores
  const prior = x.prior
  if (own !== undefined) {
    const f = power(x.selection, Math.max(0, state.tick - own.tick))
    for (let k = 0; k < K; k++) scores[k] = state.scores[k]! + f * own.scores[k]!
  } else {
    for (let k = 0; k < K; k++) scores[k] = state.scores[k]!
  }
  const w = x.weights
  let max = -Infinity
  for (let k = 0; k < K; k++) max = Math.max(max, scores[k]! + prior[k]!)
  let sum = 0
  for (let k = 0; k < K; k++) sum += w[k] = Math.exp(scores[k]! + prior[k]! - max)
  for (let m = 0; m < K; m++) w[m]! /= sum
  return w
}

/**
 * The weight of each memory (`state.memories`, shortest first) in the posterior now: how well
 * each has predicted the recent outcomes (discounted log-likelihood, `selectionMemory`), with
 * the prior preference `memoryPrior` for longer ones; with `gateway`, the weights its posteriors
 * use (its own outcomes' scores added). Sums to 1.
 *
 * @since 0.4.0
 */
export const memoryWeights = (state: State, gateway?: string): ReadonlyArray<number> =>
  Array.from(weightsOf(state, internalsOf(state), gateway === undefined ? undefined : state.gatewayScores.get(gateway)))

interface Posterior extends Estimate {
  /** Standard deviation of the longest memory's posterior alone. */
  readonly longestDeviation: number
  /** Standard deviation of the second-longest memory's posterior alone. */
  readonly recentDeviation: number
}

/** The posterior of the gateway of `slot` (its cache `g`) under the memories' `weights`. */
const estimateWith = (
  state: State,
  x: Internals,
  weights: Float64Array,
  g: GatewayCache,
  gateway: string,
  slot: Slot
): Posterior => {
  const K = state.memories.length
  const cs = countersOf(state, x, slot)
  const overall = cs[0]
  const samples = overall === undefined ? 0 : overall.successes[K - 1]! + overall.failures[K - 1]!
  if (samples === 0) return { rate: 1, deviation: 0, samples: 0, longestDeviation: 0, recentDeviation: 0 }
  const pool = x.pool
  poolingOf(state, x, heterogeneityOf(state, g, gateway), overall, pool)
  const mean = x.mean
  const count = x.count
  models(state, x, cs, pool, mean, count)
  // the mixture of the models, by weight: its mean and standard deviation
  let mu = 0
  let second = 0
  for (let m = 0; m < K; m++) {
    const w = weights[m]!
    if (w < 1e-9) continue
    const p = mean[m]!
    mu += w * p
    second += w * (p * p + (p * (1 - p)) / (count[m]! + 1))
  }
  const longest = mean[K - 1]!
  const r = Math.max(0, K - 2)
  const recent = mean[r]!
  return {
    rate: mu,
    deviation: Math.sqrt(Math.max(0, second - mu * mu)),
    samples,
    longestDeviation: Math.sqrt((longest * (1 - longest)) / (count[K - 1]! + 1)),
    recentDeviation: Math.sqrt((recent * (1 - recent)) / (count[r]! + 1))
  }
}

/**
 * The posterior of `gateway` in `context` (see the module doc): O(levels · memories).
 *
 * @since 0.3.0
 */
export const estimateContext = (state: State, gateway: string, context: Context): Estimate => {
  const x = internalsOf(state)
  const g = gatewayCache(x, gateway)
  const slot = slotOf(state, x, contextCache(x, context), gateway)
  return estimateWith(state, x, weightsOf(state, x, scoresOf(state, g, gateway)), g, gateway, slot)
}

/**
 * The posterior of `gateway` for `payment`: O(1).
 *
 * @since 0.1.0
 */
export const estimate = (state: State, gateway: string, payment: Payment): Estimate =>
  estimateContext(state, gateway, contextOf(payment))

// Acklam's coefficients
const qa = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239]
const qb = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155211841]
const qc = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
const qd = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]

const quantileTail = (q: number) => {
  const c = qc
  const d = qd
  const r = Math.sqrt(-2 * Math.log(q))
  return (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) /
    ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1)
}

/**
 * The standard normal quantile of `p` in (0, 1) (Acklam's rational approximation, relative
 * error below 1.2e-9); `p` is clamped away from 0 and 1.
 *
 * @since 0.3.0
 */
export const normalQuantile = (p: number): number => {
  const q0 = Math.min(1 - 1e-12, Math.max(1e-12, p))
  if (q0 < 0.02425) return quantileTail(q0)
  if (q0 > 1 - 0.02425) return -quantileTail(1 - q0)
  const a = qa
  const b = qb
  const q = q0 - 0.5
  const r = q * q
  return (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
}

/** One candidate of a decision. */
interface Row<G> {
  readonly g: G
  readonly index: number
  readonly slot: Slot
  readonly e: Posterior
  eliminated: boolean
  draw: number
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
  const x = internalsOf(state)
  const entry = contextCache(x, context)
  const rows = candidates.map((g, index): Row<G> => {
    const cache = gatewayCache(x, g.id)
    const slot = slotOf(state, x, entry, g.id)
    const e = estimateWith(state, x, weightsOf(state, x, scoresOf(state, cache, g.id)), cache, g.id, slot)
    return { g, index, slot, e, eliminated: false, draw: 0 }
  })
  // while the outcomes of all gateways are read with shorter memories than the longest (gateways
  // change), a gateway's draw is never narrower than its second-longest memory's deviation, in
  // proportion: one seen little lately is tried again
  const recent = state.recentExploration === 0
    ? 0
    : state.recentExploration * (1 - weightsOf(state, x, undefined)[state.memories.length - 1]!)
  // the leader: the highest posterior mean among the gateways observed
  let leader: Row<G> | undefined
  for (const r of rows) if (r.e.samples > 0 && (leader === undefined || r.e.rate > leader.e.rate)) leader = r
  for (const r of rows) {
    // eliminated: the posterior probability that it beats the leader is below Φ(−confidence)
    r.eliminated = leader !== undefined && r !== leader && r.e.samples > 0 &&
      leader.e.rate - r.e.rate > state.confidence * Math.hypot(r.e.deviation, leader.e.deviation)
    r.draw = r.e.samples === 0
      ? Infinity
      : r.eliminated
      ? -Infinity
      : r.e.rate + (exploration === 0
        ? 0
        : Math.max(exploration * r.e.deviation, state.explorationFloor * r.e.longestDeviation, recent * r.e.recentDeviation) *
          normalQuantile(uniform[r.index] ?? 0.5))
  }
  let first = rows[0]!
  for (const r of rows) if (r.draw > first.draw) first = r
  if (probe && first.draw !== Infinity) {
    // a gateway not observed for probeInterval observations is tried once
    for (const r of rows) {
      const slot = r.slot
      let c = slot.counters[0]
      if (c === undefined) {
        c = state.counters.get(slot.keys[0]!)
        if (c !== undefined) slot.counters[0] = c
      }
      if (c !== undefined && state.tick - c.seen <= state.probeInterval) continue
      if (c === undefined) {
        state.counters.set(slot.keys[0]!, slot.counters[0] = fresh(state))
      } else {
        c.seen = state.tick
      }
      if (r !== first) {
        first = r
        break
      }
    }
  }
  // the rest by mean, eliminated ones last (the order of the rows no longer matters above)
  rows.sort((a, b) => (a.eliminated === b.eliminated ? 0 : a.eliminated ? 1 : -1) || b.e.rate - a.e.rate || a.index - b.index)
  const ranked: Array<G> = [first.g]
  for (const r of rows) if (r !== first) ranked.push(r.g)
  return ranked
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
