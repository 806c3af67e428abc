import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { SlidingWindow } from "aegispay"

describe("SlidingWindow", () => {
  it("keeps only the last `size` calls", () => {
    const w = SlidingWindow.make(4)
    for (const ok of [false, false, true, true, true, true]) SlidingWindow.record(w, ok, 10)
    expect(SlidingWindow.successRate(w)).toBe(1)
    SlidingWindow.record(w, false, 10)
    expect(SlidingWindow.successRate(w)).toBe(0.75)
    expect(SlidingWindow.summary(w).requests).toBe(4)
  })

  it("property: success rate and percentiles match a recomputation over the last `size` calls", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 70_000 })), { maxLength: 300 }),
        (size, calls) => {
          const w = SlidingWindow.make(size)
          for (const [ok, ms] of calls) SlidingWindow.record(w, ok, ms)
          const last = calls.slice(-size)
          if (last.length === 0) {
            expect(SlidingWindow.successRate(w)).toBeUndefined()
            return
          }
          expect(SlidingWindow.successRate(w)).toBeCloseTo(last.filter(([ok]) => ok).length / last.length, 10)
          const sorted = last.map(([, ms]) => ms).sort((a, b) => a - b)
          for (const q of [0.5, 0.95, 0.99]) {
            const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
            const estimate = SlidingWindow.percentile(w, q)!
            expect(estimate).toBeGreaterThanOrEqual(exact) // the bucket's upper bound
            const bucket = SlidingWindow.latencyBuckets.findIndex((b) => exact <= b)
            const previous = bucket <= 0 ? 0 : SlidingWindow.latencyBuckets[bucket - 1]!
            expect(previous <= exact).toBe(true)
          }
        }
      )
    )
  })
})
