/**
 * Fixed-size sliding windows of gateway call outcomes: O(1) work per recorded call, bounded
 * memory, never a scan over history.
 *
 * A window keeps the last `size` calls in a ring. Counters (successes, failures) and a
 * latency histogram with fixed log-spaced buckets are updated incrementally as a call enters and
 * the oldest leaves, so success rate is O(1) and latency percentiles are O(buckets), a constant.
 *
 * Pure data: callers serialise access (e.g. in a `Ref` or `SynchronizedRef`).
 *
 * @since 0.1.0
 */

/**
 * Upper bounds (ms) of the latency buckets; the last bucket is open-ended.
 *
 * @since 0.1.0
 */
export const latencyBuckets: ReadonlyArray<number> = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000,
  7_000, 10_000, 15_000, 20_000, 30_000, 60_000
]

const bucketOf = (millis: number): number => {
  // binary search over a fixed array of 28 bounds: constant work
  let lo = 0
  let hi = latencyBuckets.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (millis <= latencyBuckets[mid]!) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * A window of the last `size` calls.
 *
 * @since 0.1.0
 */
export interface SlidingWindow {
  readonly size: number
  readonly outcomes: Uint8Array
  readonly buckets: Uint16Array
  readonly histogram: Uint32Array
  next: number
  count: number
  successes: number
}

/**
 * An empty window of `size` calls (1 to 65,535).
 *
 * @since 0.1.0
 */
export const make = (size: number): SlidingWindow => {
  const n = Math.max(1, Math.min(65_535, Math.floor(size)))
  return {
    size: n,
    outcomes: new Uint8Array(n),
    buckets: new Uint16Array(n),
    histogram: new Uint32Array(latencyBuckets.length + 1),
    next: 0,
    count: 0,
    successes: 0
  }
}

/**
 * Records one call in O(1), evicting the oldest when the window is full.
 *
 * @since 0.1.0
 */
export const record = (window: SlidingWindow, success: boolean, latencyMillis: number): void => {
  const i = window.next
  if (window.count === window.size) {
    window.successes -= window.outcomes[i]!
    window.histogram[window.buckets[i]!]!--
  } else {
    window.count++
  }
  const bucket = bucketOf(Math.max(0, latencyMillis))
  window.outcomes[i] = success ? 1 : 0
  window.buckets[i] = bucket
  window.histogram[bucket]!++
  window.successes += success ? 1 : 0
  window.next = (i + 1) % window.size
}

/**
 * The share of successful calls in the window, or `undefined` when it is empty.
 *
 * @since 0.1.0
 */
export const successRate = (window: SlidingWindow): number | undefined =>
  window.count === 0 ? undefined : window.successes / window.count

/**
 * The latency below which `q` (0–1) of the window's calls fall, as the upper bound of its bucket
 * (an over-estimate by at most one bucket); `undefined` when empty.
 *
 * @since 0.1.0
 */
export const percentile = (window: SlidingWindow, q: number): number | undefined => {
  if (window.count === 0) return undefined
  const rank = Math.max(1, Math.ceil(q * window.count))
  let seen = 0
  for (let b = 0; b < window.histogram.length; b++) {
    seen += window.histogram[b]!
    if (seen >= rank) return latencyBuckets[b] ?? latencyBuckets[latencyBuckets.length - 1]! * 2
  }
  return latencyBuckets[latencyBuckets.length - 1]! * 2
}

/**
 * A summary of the window.
 *
 * @since 0.1.0
 */
export interface Summary {
  readonly requests: number
  readonly successRate: number | undefined
  readonly p50: number | undefined
  readonly p95: number | undefined
  readonly p99: number | undefined
}

/**
 * @since 0.1.0
 */
export const summary = (window: SlidingWindow): Summary => ({
  requests: window.count,
  successRate: successRate(window),
  p50: percentile(window, 0.5),
  p95: percentile(window, 0.95),
  p99: percentile(window, 0.99)
})
