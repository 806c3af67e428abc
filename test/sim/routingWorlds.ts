/**
 * The simulated worlds of `npm run sim:routing` (see test/sim/routing.ts and docs/ROUTING.md).
 *
 * A world is a set of 2–6 gateways and, for every payment `t` of a run of `n`, the traffic mix it
 * is drawn from and the probability that each gateway approves it or fails with an error (the
 * rest are declines). Everything random about a world (levels, effects, change points, phases)
 * is drawn from the seeded PRNG it is built with, so a seed is a different world of the same kind.
 * Times are fractions of the run (a step at 40% of the run, a cycle per quarter of the run), so a
 * CI-sized run is the same world, compressed.
 *
 * Segments: currency (USD, EUR, GBP, BRL) × method/brand (visa, mastercard, amex card, or a
 * checkout) × amount band (5.00, 40.00, 400.00, 3,000.00): 64 segments, indexed
 * `(currency · 4 + brand) · 4 + band`.
 */

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export const prng = (s: number): () => number => {
  let a = s >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

export const currencies = ["USD", "EUR", "GBP", "BRL"] as const
/** Card brands, and `checkout` (a payment the customer finishes at the provider: no brand). */
export const brands = ["visa", "mastercard", "amex", "checkout"] as const
/** Amounts of the four bands, in major units of the payment's currency. */
export const bands = ["5.00", "40.00", "400.00", "3000.00"] as const
export const C = currencies.length
export const B = brands.length
export const A = bands.length
export const SEGMENTS = C * B * A

export const segmentOf = (c: number, b: number, a: number): number => (c * B + b) * A + a
export const currencyOf = (segment: number): number => Math.floor(segment / (B * A))
export const brandOf = (segment: number): number => Math.floor(segment / A) % B
export const bandOf = (segment: number): number => segment % A

/** A world instantiated for one seed and one run length. */
export interface Model {
  readonly gateways: number
  /** Draws the segment of payment `t` from the traffic mix at `t`, with `u1`, `u2`, `u3` uniform. */
  readonly segment: (t: number, u1: number, u2: number, u3: number) => number
  /** Probability that gateway `g` approves payment `t` of `segment` when it answers. */
  readonly approve: (g: number, t: number, segment: number) => number
  /** Probability that gateway `g` fails payment `t` with an error (no answer). */
  readonly error: (g: number, t: number, segment: number) => number
}

export interface World {
  readonly name: string
  readonly kind: "drifting" | "stationary"
  readonly gateways: number
  readonly description: string
  readonly build: (rand: () => number, n: number) => Model
}

// ---------------------------------------------------------------- helpers

const pick = (mix: ReadonlyArray<number>, u: number): number => {
  let total = 0
  for (const w of mix) total += w
  let acc = 0
  for (let i = 0; i < mix.length; i++) if (u * total < (acc += mix[i]!)) return i
  return mix.length - 1
}

const between = (rand: () => number, lo: number, hi: number) => lo + (hi - lo) * rand()
const effects = (rand: () => number, count: number, spread: number) =>
  Array.from({ length: count }, () => between(rand, -spread, spread))
const shuffle = <X>(rand: () => number, xs: ReadonlyArray<X>): Array<X> => {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** A fixed traffic mix over currencies, brands and bands. */
const fixedMix = (currency: ReadonlyArray<number>, brand: ReadonlyArray<number>, band: ReadonlyArray<number>) =>
(_t: number, u1: number, u2: number, u3: number) => segmentOf(pick(currency, u1), pick(brand, u2), pick(band, u3))

/**
 * A mix that changes through the day (`days` days in the run): the Americas (USD, BRL) by
 * "night" in Europe, EUR and GBP by "day"; larger amounts during business hours.
 */
const dailyMix = (n: number, days: number) => {
  const day = n / days
  return (t: number, u1: number, u2: number, u3: number) => {
    const phase = Math.sin((2 * Math.PI * t) / day)
    const currency = [0.35 - 0.2 * phase, 0.3 + 0.2 * phase, 0.15 + 0.08 * phase, 0.2 - 0.08 * phase]
    const band = [0.3 - 0.1 * phase, 0.4, 0.2 + 0.07 * phase, 0.1 + 0.03 * phase]
    return segmentOf(pick(currency, u1), pick([0.5, 0.3, 0.1, 0.1], u2), pick(band, u3))
  }
}

const clamp = (p: number) => Math.min(0.995, Math.max(0.01, p))
const BASE_ERROR = 0.003

// ---------------------------------------------------------------- the previous scenarios

/** The three gateways of the original simulation (additive currency and brand effects; no BRL, no checkout). */
const legacyGateways = [
  { base: 0.88, currency: [0.03, -0.035, -0.01, 0], brand: [0.005, 0, -0.03, 0] },
  { base: 0.875, currency: [-0.03, 0.035, 0.005, 0], brand: [0, 0.01, -0.05, 0] },
  { base: 0.86, currency: [-0.005, -0.01, 0.025, 0], brand: [-0.005, -0.005, 0.06, 0] }
]
const legacyMix = fixedMix([0.45, 0.35, 0.2, 0], [0.55, 0.33, 0.12, 0], [0, 1, 0, 0])
const legacyApproval = (g: number, segment: number) => {
  const m = legacyGateways[g]!
  return m.base + m.currency[currencyOf(segment)]! + m.brand[brandOf(segment)]!
}

const legacyStationary: World = {
  name: "legacy-stationary",
  kind: "stationary",
  gateways: 3,
  description: "the original stationary scenario: 3 gateways, additive currency × brand effects",
  build: () => ({ gateways: 3, segment: legacyMix, approve: (g, _t, s) => legacyApproval(g, s), error: () => BASE_ERROR })
}

const legacyDrifting: World = {
  name: "legacy-drifting",
  kind: "drifting",
  gateways: 3,
  description: "the original drifting scenario: sinusoidal drift ±4–7 pp, two error outages per gateway",
  build: (rand, n) => {
    const drift = legacyGateways.map(() => ({
      amplitude: 0.04 + 0.03 * rand(),
      period: n * (0.35 + 0.4 * rand()),
      phase: 2 * Math.PI * rand()
    }))
    const outages = legacyGateways.map(() =>
      Array.from({ length: 2 }, () => {
        const start = Math.floor(rand() * n * 0.95)
        return { start, end: start + Math.floor(n * (0.01 + 0.02 * rand())) }
      })
    )
    return {
      gateways: 3,
      segment: legacyMix,
      approve: (g, t, s) => {
        const d = drift[g]!
        return legacyApproval(g, s) + d.amplitude * Math.sin((2 * Math.PI * t) / d.period + d.phase)
      },
      error: (g, t) => (outages[g]!.some((o) => t >= o.start && t < o.end) ? 0.85 : BASE_ERROR)
    }
  }
}

// ---------------------------------------------------------------- drifting worlds

const interactions: World = {
  name: "interactions",
  kind: "drifting",
  gateways: 4,
  description: "4 gateways, approval by gateway × currency × brand (non-additive, ±6 pp), slow cycles ±3 pp",
  build: (rand, n) => {
    const G = 4
    const base = Array.from({ length: G }, () => between(rand, 0.84, 0.88))
    const cell = Array.from({ length: G }, () => effects(rand, C * B, 0.06))
    const cycle = Array.from({ length: G }, () => ({ period: n * between(rand, 0.3, 0.7), phase: 2 * Math.PI * rand() }))
    return {
      gateways: G,
      segment: fixedMix([0.4, 0.3, 0.15, 0.15], [0.45, 0.3, 0.1, 0.15], [0.3, 0.4, 0.2, 0.1]),
      approve: (g, t, s) =>
        clamp(base[g]! + cell[g]![currencyOf(s) * B + brandOf(s)]! +
          0.03 * Math.sin((2 * Math.PI * t) / cycle[g]!.period + cycle[g]!.phase)),
      error: () => BASE_ERROR
    }
  }
}

const currencyOutage: World = {
  name: "currency-outage",
  kind: "drifting",
  gateways: 3,
  description: "3 gateways; the best fails one currency with declines (not errors) for 12% of the run, another one later for 6%",
  build: (rand, n) => {
    const G = 3
    const base = shuffle(rand, [0.9, 0.875, 0.86])
    const currency = Array.from({ length: G }, () => effects(rand, C, 0.02))
    const best = base.indexOf(0.9)
    const second = base.indexOf(0.875)
    const o1 = { g: best, c: Math.floor(rand() * 2), start: Math.floor(n * between(rand, 0.15, 0.45)), length: 0.12 * n }
    const o2 = { g: second, c: 2 + Math.floor(rand() * 2), start: Math.floor(n * between(rand, 0.55, 0.85)), length: 0.06 * n }
    const out = (g: number, t: number, s: number) =>
      [o1, o2].some((o) => o.g === g && o.c === currencyOf(s) && t >= o.start && t < o.start + o.length)
    return {
      gateways: G,
      segment: fixedMix([0.4, 0.35, 0.15, 0.1], [0.55, 0.3, 0.1, 0.05], [0.3, 0.4, 0.2, 0.1]),
      approve: (g, t, s) => clamp((out(g, t, s) ? 0.25 : base[g]!) + currency[g]![currencyOf(s)]!),
      error: () => BASE_ERROR
    }
  }
}

const trend: World = {
  name: "decline-challenger",
  kind: "drifting",
  gateways: 3,
  description: "3 gateways; the best declines linearly 91 → 83%, a challenger improves 84 → 92%, a third stays at 86%",
  build: (rand, n) => {
    const [best, challenger] = shuffle(rand, [0, 1, 2])
    const brand = Array.from({ length: 3 }, () => effects(rand, B, 0.01))
    return {
      gateways: 3,
      segment: fixedMix([0.5, 0.3, 0.1, 0.1], [0.55, 0.3, 0.1, 0.05], [0.3, 0.4, 0.2, 0.1]),
      approve: (g, t, s) => {
        const x = t / n
        const level = g === best ? 0.91 - 0.08 * x : g === challenger ? 0.84 + 0.08 * x : 0.86
        return clamp(level + brand[g]![brandOf(s)]!)
      },
      error: () => BASE_ERROR
    }
  }
}

const steps: World = {
  name: "steps",
  kind: "drifting",
  gateways: 5,
  description: "5 gateways whose levels (80–92%) are redrawn at 4 random change points; brand effects ±2 pp",
  build: (rand, n) => {
    const G = 5
    const points = [0, ...Array.from({ length: 4 }, () => Math.floor(rand() * n)).sort((a, b) => a - b)]
    const levels = points.map(() => Array.from({ length: G }, () => between(rand, 0.8, 0.92)))
    const brand = Array.from({ length: G }, () => effects(rand, B, 0.02))
    const epochOf = (t: number) => {
      let e = 0
      while (e + 1 < points.length && t >= points[e + 1]!) e++
      return e
    }
    return {
      gateways: G,
      segment: fixedMix([0.45, 0.3, 0.15, 0.1], [0.5, 0.3, 0.1, 0.1], [0.3, 0.4, 0.2, 0.1]),
      approve: (g, t, s) => clamp(levels[epochOf(t)]![g]! + brand[g]![brandOf(s)]!),
      error: () => BASE_ERROR
    }
  }
}

const dailyCycles: World = {
  name: "daily-cycles",
  kind: "drifting",
  gateways: 4,
  description: "4 gateways with daily cycles ±4 pp (5 days), a mix that changes through the day, one gateway −12 pp on large amounts",
  build: (rand, n) => {
    const G = 4
    const days = 5
    const base = Array.from({ length: G }, () => between(rand, 0.84, 0.89))
    const currency = Array.from({ length: G }, () => effects(rand, C, 0.03))
    const phase = Array.from({ length: G }, () => 2 * Math.PI * rand())
    const weakOnLarge = Math.floor(rand() * G)
    return {
      gateways: G,
      segment: dailyMix(n, days),
      approve: (g, t, s) =>
        clamp(
          base[g]! + currency[g]![currencyOf(s)]! + 0.04 * Math.sin((2 * Math.PI * t * days) / n + phase[g]!) -
            (g === weakOnLarge && bandOf(s) >= 2 ? 0.12 : 0)
        ),
      error: () => BASE_ERROR
    }
  }
}

const sixGateways: World = {
  name: "six-mixed",
  kind: "drifting",
  gateways: 6,
  description: "6 gateways: linear trends ±5 pp, one step, a brand outage with declines, error bursts, amount effects",
  build: (rand, n) => {
    const G = 6
    const base = Array.from({ length: G }, () => between(rand, 0.82, 0.9))
    const slope = Array.from({ length: G }, () => between(rand, -0.05, 0.05))
    const band = Array.from({ length: G }, () => effects(rand, A, 0.03))
    const brand = Array.from({ length: G }, () => effects(rand, B, 0.02))
    const stepG = Math.floor(rand() * G)
    const stepAt = n * between(rand, 0.2, 0.8)
    const stepBy = rand() < 0.5 ? -0.08 : 0.06
    const outG = Math.floor(rand() * G)
    const outB = Math.floor(rand() * 3)
    const outStart = n * between(rand, 0.1, 0.8)
    const errG = Math.floor(rand() * G)
    const errStart = n * between(rand, 0.1, 0.9)
    return {
      gateways: G,
      segment: dailyMix(n, 3),
      approve: (g, t, s) =>
        clamp(
          base[g]! + slope[g]! * (t / n) + band[g]![bandOf(s)]! + brand[g]![brandOf(s)]! +
            (g === stepG && t >= stepAt ? stepBy : 0) -
            (g === outG && brandOf(s) === outB && t >= outStart && t < outStart + 0.1 * n ? 0.5 : 0)
        ),
      error: (g, t) => (g === errG && t >= errStart && t < errStart + 0.02 * n ? 0.7 : BASE_ERROR)
    }
  }
}

// ---------------------------------------------------------------- stationary worlds

const farApart: World = {
  name: "two-far-apart",
  kind: "stationary",
  gateways: 2,
  description: "2 gateways, 92% and 80%, the same for every segment",
  build: (rand) => {
    const level = shuffle(rand, [0.92, 0.8])
    return {
      gateways: 2,
      segment: fixedMix([0.5, 0.3, 0.1, 0.1], [0.5, 0.3, 0.1, 0.1], [0.3, 0.4, 0.2, 0.1]),
      approve: (g) => level[g]!,
      error: () => BASE_ERROR
    }
  }
}

const nearEqual: World = {
  name: "five-near-equal",
  kind: "stationary",
  gateways: 5,
  description: "5 gateways 0.5 pp apart (88.0, 87.5, 87.0, 86.5, 86.0%), the same for every segment",
  build: (rand) => {
    const level = shuffle(rand, [0.88, 0.875, 0.87, 0.865, 0.86])
    return {
      gateways: 5,
      segment: fixedMix([0.5, 0.3, 0.1, 0.1], [0.5, 0.3, 0.1, 0.1], [0.3, 0.4, 0.2, 0.1]),
      approve: (g) => level[g]!,
      error: () => BASE_ERROR
    }
  }
}

const heterogeneous: World = {
  name: "amount-brand-daily",
  kind: "stationary",
  gateways: 4,
  description: "4 gateways, additive currency ±3, brand ±4, amount-band ±5 pp effects; the mix changes through the day",
  build: (rand, n) => {
    const G = 4
    const base = Array.from({ length: G }, () => between(rand, 0.84, 0.88))
    const currency = Array.from({ length: G }, () => effects(rand, C, 0.03))
    const brand = Array.from({ length: G }, () => effects(rand, B, 0.04))
    const band = Array.from({ length: G }, () => effects(rand, A, 0.05))
    return {
      gateways: G,
      segment: dailyMix(n, 4),
      approve: (g, _t, s) => clamp(base[g]! + currency[g]![currencyOf(s)]! + brand[g]![brandOf(s)]! + band[g]![bandOf(s)]!),
      error: () => BASE_ERROR
    }
  }
}

const specialist: World = {
  name: "six-specialist",
  kind: "stationary",
  gateways: 6,
  description: "6 gateways within 1.5 pp of each other; one of them +8 pp on amex and −3 pp elsewhere",
  build: (rand) => {
    const G = 6
    const base = Array.from({ length: G }, () => between(rand, 0.855, 0.87))
    const s = Math.floor(rand() * G)
    return {
      gateways: G,
      segment: fixedMix([0.45, 0.3, 0.15, 0.1], [0.45, 0.3, 0.15, 0.1], [0.3, 0.4, 0.2, 0.1]),
      approve: (g, _t, seg) => clamp(base[g]! + (g === s ? (brandOf(seg) === 2 ? 0.08 : -0.03) : 0)),
      error: () => BASE_ERROR
    }
  }
}

/** Every world, drifting first. */
export const worlds: ReadonlyArray<World> = [
  legacyDrifting,
  interactions,
  currencyOutage,
  trend,
  steps,
  dailyCycles,
  sixGateways,
  legacyStationary,
  farApart,
  nearEqual,
  heterogeneous,
  specialist
]
