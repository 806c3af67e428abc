/**
 * Adaptive success-rate routing: the learning state behind the `ADAPTIVE` strategy of the
 * `Router`, success-rate routing treated as a non-stationary multi-armed bandit.
 *
 * For every gateway the state keeps fixed-size sliding windows of its recent outcomes
 * (approved = 1; declined or error = 0):
 * - `overall`: every payment the gateway took;
 * - one per dimension value of the payment: `currency:EUR`, `method:card`, `brand:visa`;
 * - one per segment, the three together: `segment:EUR/card/visa`;
 * - `recent`: the gateway's last `minSamples` outcomes, for elimination.
 * A window keeps its last `windowSize` outcomes and forgets those older than `horizon`
 * observations of the router (its clock is the count of observations), so a gateway that is
 * rarely chosen is judged on recent evidence.
 *
 * **Estimate** of a gateway for a payment (a hierarchical shrinkage estimator):
 * 1. `base` = the overall window's rate with one optimistic phantom success,
 *    `(successes + 1) / (count + 1)`: an untried gateway estimates 1, so it is tried and learned;
 * 2. each dimension window moves the estimate by its deviation from `base`, weighted by
 *    `n / (n + minSamples)` (`n` its sample count): `base + Σ w_d · (rate_d − base)`;
 * 3. the segment window pulls the result towards its own rate with the same weight.
 * A window with few samples hardly counts; one with many dominates. The result is clamped to
 * 0..1.
 *
 * **Elimination**: a gateway whose last `minSamples` outcomes (at least that many) approved less
 * than `eliminationThreshold` of the time is eliminated: ranked behind every gateway that is not,
 * never dropped (failover may still use it), and still explored.
 *
 * Guarantees: O(1) work per observation (a fixed number of ring-buffer updates; forgetting by
 * age is amortised O(1), each outcome leaves once) and O(1) per estimate; never a scan over
 * history. Memory is bounded: windows exist only per (gateway, currency | payment method |
 * card brand | segment), each of those sets is finite (ISO 4217 currencies, the card brands),
 * and each window takes `windowSize` × 5 bytes.
 *
 * Pure data, mutated in place: callers serialise access (one `Effect.sync` at a time).
 *
 * @since 0.1.0
 */
import type { Payment } from "../domain/Payment.js"
import type { Outcome } from "../observability/GatewayMetrics.js"

/**
 * Settings of the `ADAPTIVE` strategy. Every field is optional; see {@link defaults}.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Outcomes kept per window (1 to 65,535). Default 200. Smaller forgets faster, larger is steadier. */
  readonly windowSize?: number | undefined
  /**
   * The share of payments (0..1) for which a gateway other than the best estimated one is put
   * first, chosen uniformly among the other candidates (eliminated ones included). Default 0.03.
   */
  readonly explorationShare?: number | undefined
  /** Below this recent approval rate (0..1) a gateway is eliminated (ranked last). Default 0.4. */
  readonly eliminationThreshold?: number | undefined
  /**
   * Samples at which a window counts half in the estimate, and the length of the recent window
   * that decides elimination. Default 20.
   */
  readonly minSamples?: number | undefined
  /**
   * Outcomes older than this many observations (of all gateways, by this router) leave every
   * window, so a rarely chosen gateway is judged on recent evidence, not on what it did long
   * ago. Default 10,000; `Infinity` keeps the last `windowSize` outcomes whatever their age.
   */
  readonly horizon?: number | undefined
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
  readonly windowSize: number
  readonly explorationShare: number
  readonly eliminationThreshold: number
  readonly minSamples: number
  readonly horizon: number
} = {
  windowSize: 200,
  explorationShare: 0.03,
  eliminationThreshold: 0.4,
  minSamples: 20,
  horizon: 10_000
}

/**
 * A ring of the last `size` outcomes, each with the tick (the router's observation count) at
 * which it was recorded, and a running count of successes.
 *
 * @since 0.1.0
 */
export interface Window {
  readonly size: number
  readonly outcomes: Uint8Array
  readonly ticks: Uint32Array
  next: number
  count: number
  successes: number
}

/**
 * An empty window of `size` outcomes (1 to 65,535).
 *
 * @since 0.1.0
 */
export const window = (size: number): Window => {
  const n = Math.max(1, Math.min(65_535, Math.floor(size)))
  return { size: n, outcomes: new Uint8Array(n), ticks: new Uint32Array(n), next: 0, count: 0, successes: 0 }
}

/**
 * Drops the outcomes recorded `horizon` or more ticks before `now`, oldest first. Each outcome
 * is dropped at most once, so this is O(1) amortised over the pushes (at most `size` at once).
 *
 * @since 0.1.0
 */
export const expire = (w: Window, now: number, horizon: number): void => {
  while (w.count > 0) {
    const oldest = (w.next - w.count + w.size) % w.size
    if (((now - w.ticks[oldest]!) >>> 0) < horizon) return
    w.successes -= w.outcomes[oldest]!
    w.count--
  }
}

/**
 * Records one outcome at tick `now` in O(1), evicting the oldest when the window is full.
 *
 * @since 0.1.0
 */
export const push = (w: Window, success: boolean, now: number): void => {
  const i = w.next
  if (w.count === w.size) w.successes -= w.outcomes[i]!
  else w.count++
  const bit = success ? 1 : 0
  w.outcomes[i] = bit
  w.ticks[i] = now >>> 0
  w.successes += bit
  w.next = i + 1 === w.size ? 0 : i + 1
}

/**
 * The learning state.
 *
 * @since 0.1.0
 */
export interface State {
  readonly windowSize: number
  readonly explorationShare: number
  readonly eliminationThreshold: number
  readonly minSamples: number
  readonly horizon: number
  /** Observations so far: the clock of the windows. */
  tick: number
  /** Windows by `gateway|key` (`gateway|overall`, `gateway|recent`, `gateway|currency:EUR`, …). */
  readonly windows: Map<string, Window>
}

const clamp01 = (x: number, fallback: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : fallback)

/**
 * A fresh state from `config` (missing fields take {@link defaults}; out-of-range values are
 * clamped: shares and thresholds to 0..1, sizes to at least 1).
 *
 * @since 0.1.0
 */
export const make = (config: Config = {}): State => ({
  windowSize: Math.max(1, Math.floor(config.windowSize ?? defaults.windowSize)),
  explorationShare: clamp01(config.explorationShare ?? defaults.explorationShare, defaults.explorationShare),
  eliminationThreshold: clamp01(config.eliminationThreshold ?? defaults.eliminationThreshold, defaults.eliminationThreshold),
  minSamples: Math.max(1, Math.floor(config.minSamples ?? defaults.minSamples)),
  horizon: Math.min(2 ** 31, Math.max(1, config.horizon ?? defaults.horizon)),
  tick: 0,
  windows: new Map()
})

/** The card brand of a payment; `none` for a gateway token (the provider holds the card). */
const brandOf = (payment: Payment): string =>
  payment.paymentMethod.type === "card" ? payment.paymentMethod.brand : "none"

/**
 * The dimension keys of a payment: currency, payment method type, card brand (`none` for a
 * gateway token).
 *
 * @since 0.1.0
 */
export const dimensions = (payment: Payment): readonly [string, string, string] => [
  `currency:${payment.amount.currency}`,
  `method:${payment.paymentMethod.type}`,
  `brand:${brandOf(payment)}`
]

/**
 * The segment key of a payment: its three dimensions together.
 *
 * @since 0.1.0
 */
export const segment = (payment: Payment): string =>
  `segment:${payment.amount.currency}/${payment.paymentMethod.type}/${brandOf(payment)}`

const record = (state: State, key: string, size: number, success: boolean): void => {
  let w = state.windows.get(key)
  if (w === undefined) state.windows.set(key, w = window(size))
  else expire(w, state.tick, state.horizon)
  push(w, success, state.tick)
}

/** The window of `key` without its expired outcomes (undefined if never recorded). */
const read = (state: State, key: string): Window | undefined => {
  const w = state.windows.get(key)
  if (w !== undefined) expire(w, state.tick, state.horizon)
  return w
}

/**
 * Records the outcome of `payment` at `gateway` in every window it belongs to: O(1).
 *
 * @since 0.1.0
 */
export const observe = (state: State, payment: Payment, gateway: string, outcome: Outcome): void => {
  const success = outcome === "approved"
  state.tick++
  record(state, `${gateway}|overall`, state.windowSize, success)
  record(state, `${gateway}|recent`, state.minSamples, success)
  for (const key of dimensions(payment)) record(state, `${gateway}|${key}`, state.windowSize, success)
  record(state, `${gateway}|${segment(payment)}`, state.windowSize, success)
}

/**
 * What the state knows of one gateway for one payment.
 *
 * @since 0.1.0
 */
export interface Estimate {
  /** Estimated approval probability, 0..1 (1 for an untried gateway). */
  readonly rate: number
  /** Outcomes in the gateway's overall window. */
  readonly samples: number
  /** Whether the gateway is eliminated (see the module doc). */
  readonly eliminated: boolean
}

/**
 * The estimate of `gateway` for `payment`: O(1).
 *
 * @since 0.1.0
 */
export const estimate = (state: State, gateway: string, payment: Payment): Estimate => {
  const overall = read(state, `${gateway}|overall`)
  if (overall === undefined || overall.count === 0) return { rate: 1, samples: 0, eliminated: false }
  const k = state.minSamples
  const base = (overall.successes + 1) / (overall.count + 1)
  let rate = base
  for (const key of dimensions(payment)) {
    const w = read(state, `${gateway}|${key}`)
    if (w !== undefined && w.count > 0) rate += (w.count / (w.count + k)) * (w.successes / w.count - base)
  }
  const s = read(state, `${gateway}|${segment(payment)}`)
  if (s !== undefined && s.count > 0) rate += (s.count / (s.count + k)) * (s.successes / s.count - rate)
  const recent = read(state, `${gateway}|recent`)
  const eliminated = recent !== undefined && recent.count >= k && recent.successes < state.eliminationThreshold * recent.count
  return { rate: Math.min(1, Math.max(0, rate)), samples: overall.count, eliminated }
}

/**
 * The candidates ordered by exploitation alone: not eliminated before eliminated, then by
 * estimated rate (highest first), ties in the given order. O(n log n) in the candidates.
 *
 * @since 0.1.0
 */
export const order = <G extends { readonly id: string }>(
  state: State,
  payment: Payment,
  candidates: ReadonlyArray<G>
): Array<G> =>
  candidates
    .map((g, index) => ({ g, index, e: estimate(state, g.id, payment) }))
    .sort((a, b) =>
      (a.e.eliminated === b.e.eliminated ? 0 : a.e.eliminated ? 1 : -1) || b.e.rate - a.e.rate || a.index - b.index
    )
    .map((x) => x.g)
