/**
 * Routing simulation (`npm run sim:routing`): the authorization rate of every routing strategy,
 * of random choice and of the best fixed gateway in hindsight, over 100,000 payments on three
 * simulated gateways, in a drifting and in a stationary scenario. See docs/ROUTING.md.
 *
 * - Each payment has a currency (USD, EUR, GBP) and a card brand (visa, mastercard, amex) drawn
 *   from a fixed mix. A gateway approves it with a probability that depends on the gateway,
 *   the currency and the brand (additive effects); in the drifting scenario each gateway's
 *   level also drifts slowly (seeded sinusoids) and each gateway has two outage windows in
 *   which most calls fail with an error.
 * - One attempt per payment, at the gateway the strategy ranks first (no failover: the
 *   comparison is of the first choice; failover would recover errors for every strategy alike).
 * - The real `Router.make` and a real `GatewayMetrics` run every strategy: each outcome is fed to
 *   `metrics.record` and `router.observe`. The router's randomness is Effect's `Random`, seeded.
 * - Outcomes use common random numbers: payment `t` draws one uniform `u[t]`, and gateway `g`
 *   approves it iff `u[t] < P(g approves t)`. Every strategy faces the same customers.
 *
 *   npm run sim:routing            # or: npx tsx test/sim/routing.ts [seed] [payments]
 */
import { DateTime, Effect, Either, Random, Schema } from "effect"
import { stubGateway } from "../helpers.js"
import { Customer, GatewayMetrics, Money, Payment, PaymentMethod, Router } from "aegispay"

const seed = Number(process.argv[2] ?? 42)
const N = Number(process.argv[3] ?? 100_000)

// ---------------------------------------------------------------- seeded PRNG (the sim's own)

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
const prng = (s: number) => {
  let a = s >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

// ---------------------------------------------------------------- the world

const currencies = ["USD", "EUR", "GBP"] as const
const currencyMix = [0.45, 0.35, 0.2]
const brands = ["visa", "mastercard", "amex"] as const
const brandMix = [0.55, 0.33, 0.12]
type CurrencyCode = (typeof currencies)[number]
type Brand = (typeof brands)[number]

interface GatewayModel {
  readonly id: string
  /** Approval probability level, before the currency and brand effects. */
  readonly base: number
  readonly currency: Readonly<Record<CurrencyCode, number>>
  readonly brand: Readonly<Record<Brand, number>>
  /** Median latency in ms. */
  readonly latency: number
  readonly fee: Router.Fee
}

/** A US acquirer, an EU acquirer, a global one that is strong on amex and GBP. */
const models: ReadonlyArray<GatewayModel> = [
  {
    id: "atlas",
    base: 0.88,
    currency: { USD: 0.03, EUR: -0.035, GBP: -0.01 },
    brand: { visa: 0.005, mastercard: 0, amex: -0.03 },
    latency: 180,
    fee: { fixedMinor: 30n, basisPoints: 290 }
  },
  {
    id: "borealis",
    base: 0.875,
    currency: { USD: -0.03, EUR: 0.035, GBP: 0.005 },
    brand: { visa: 0, mastercard: 0.01, amex: -0.05 },
    latency: 120,
    fee: { fixedMinor: 25n, basisPoints: 250 }
  },
  {
    id: "cygnus",
    base: 0.86,
    currency: { USD: -0.005, EUR: -0.01, GBP: 0.025 },
    brand: { visa: -0.005, mastercard: -0.005, amex: 0.06 },
    latency: 250,
    fee: { fixedMinor: 20n, basisPoints: 310 }
  }
]
const G = models.length

/** A scenario: approval and error probability of gateway `g` for payment `t` of segment (c, b). */
interface Scenario {
  readonly name: string
  readonly approve: (g: number, t: number, c: number, b: number) => number
  readonly error: (g: number, t: number) => number
}

const BASE_ERROR = 0.003

const staticApproval = (g: number, c: number, b: number) => {
  const m = models[g]!
  return m.base + m.currency[currencies[c]!] + m.brand[brands[b]!]
}

const stationary: Scenario = {
  name: "stationary",
  approve: (g, _t, c, b) => staticApproval(g, c, b),
  error: () => BASE_ERROR
}

/** Gradual drift of every gateway's level (seeded sinusoids) plus two outages per gateway. */
const drifting = (rand: () => number, n: number): Scenario => {
  const drift = models.map(() => ({
    amplitude: 0.04 + 0.03 * rand(), // ±4–7 pp
    period: n * (0.35 + 0.4 * rand()), // one cycle per 35–75% of the run
    phase: 2 * Math.PI * rand()
  }))
  const outages = models.map(() =>
    Array.from({ length: 2 }, () => {
      const start = Math.floor(rand() * n * 0.95)
      return { start, end: start + Math.floor(n * (0.01 + 0.02 * rand())) } // 1–3% of the run each
    })
  )
  return {
    name: "drifting",
    approve: (g, t, c, b) => {
      const d = drift[g]!
      return staticApproval(g, c, b) + d.amplitude * Math.sin((2 * Math.PI * t) / d.period + d.phase)
    },
    error: (g, t) => (outages[g]!.some((o) => t >= o.start && t < o.end) ? 0.85 : BASE_ERROR)
  }
}

// ---------------------------------------------------------------- payments and gateways

const gateway = stubGateway
const gateways = models.map((m) => gateway(m.id))

/** One payment per segment (currency × brand): what the router reads of a payment. */
const segmentPayments: ReadonlyArray<Payment.Payment> = currencies.flatMap((currency) =>
  brands.map((brand) =>
    Payment.initiate({
      id: `pay_${currency}_${brand}`,
      tenantId: "sim",
      idempotencyKey: `${currency}_${brand}`,
      requestFingerprint: "sim",
      amount: Either.getOrThrow(Money.fromDecimalString("40.00", currency)),
      captureMethod: "automatic",
      paymentMethod: new PaymentMethod.CardToken({
        type: "card",
        brand,
        bin: "400000",
        last4: "0000",
        expiryMonth: 12,
        expiryYear: 2099,
        holderName: "Sim",
        fingerprint: "fp",
        vaultToken: "t"
      }),
      customer: new Customer.Customer({ id: "c", email: Schema.decodeSync(Customer.Email)("sim@example.com") }),
      metadata: {}
    }, DateTime.unsafeMake(0)).payment
  )
)

const pick = (mix: ReadonlyArray<number>, u: number) => {
  let acc = 0
  for (let i = 0; i < mix.length; i++) if (u < (acc += mix[i]!)) return i
  return mix.length - 1
}

/** The payments of one run: segment, outcome uniform and latency noise, shared by every strategy. */
interface Stream {
  readonly currency: Uint8Array
  readonly brand: Uint8Array
  readonly u: Float64Array
  readonly noise: Float64Array
}

const stream = (rand: () => number, n: number): Stream => {
  const s: Stream = { currency: new Uint8Array(n), brand: new Uint8Array(n), u: new Float64Array(n), noise: new Float64Array(n) }
  for (let t = 0; t < n; t++) {
    s.currency[t] = pick(currencyMix, rand())
    s.brand[t] = pick(brandMix, rand())
    s.u[t] = rand()
    s.noise[t] = Math.exp(0.4 * (rand() + rand() + rand() - 1.5)) // log-normal-ish, median 1
  }
  return s
}

type Outcome = "approved" | "declined" | "error"

/** Gateway g's answer to payment t: approved iff u < (1 − e)·p; an error iff u ≥ 1 − e. */
const outcomeOf = (scenario: Scenario, s: Stream, g: number, t: number): Outcome => {
  const e = scenario.error(g, t)
  const p = Math.min(1, Math.max(0, scenario.approve(g, t, s.currency[t]!, s.brand[t]!)))
  const u = s.u[t]!
  return u < (1 - e) * p ? "approved" : u >= 1 - e ? "error" : "declined"
}

// ---------------------------------------------------------------- strategies

const fees: Record<string, Router.Fee> = Object.fromEntries(models.map((m) => [m.id, m.fee]))

/**
 * The merchant's static rules, written from the gateways' home markets: USD → atlas,
 * EUR → borealis, GBP → cygnus (per currency, the best gateway of the stationary world).
 */
const rules = [
  { id: "usd", priority: 1, enabled: true, conditions: [{ field: "currency", operator: "equals", value: "USD" }], target: "atlas" },
  { id: "eur", priority: 1, enabled: true, conditions: [{ field: "currency", operator: "equals", value: "EUR" }], target: "borealis" },
  { id: "gbp", priority: 1, enabled: true, conditions: [{ field: "currency", operator: "equals", value: "GBP" }], target: "cygnus" }
] as const

/** `SIM_ADAPTIVE='{"explorationShare":0.05}'` overrides ADAPTIVE's settings (to explore them). */
const adaptiveOverride = process.env.SIM_ADAPTIVE === undefined ? undefined : Schema.decodeUnknownSync(
  Schema.parseJson(Schema.Struct({
    windowSize: Schema.optional(Schema.Number),
    explorationShare: Schema.optional(Schema.Number),
    eliminationThreshold: Schema.optional(Schema.Number),
    minSamples: Schema.optional(Schema.Number),
    horizon: Schema.optional(Schema.Number)
  }))
)(process.env.SIM_ADAPTIVE)
/** `SIM_ONLY=ADAPTIVE` runs one strategy (the uplift line then needs every strategy: it is left out). */
const only = process.env.SIM_ONLY

const allStrategies: ReadonlyArray<Router.Config> = [
  { strategy: "ROUND_ROBIN" },
  { strategy: "LEAST_LATENCY" },
  { strategy: "HIGHEST_SUCCESS_RATE" },
  { strategy: "COST_OPTIMIZED", fees },
  { strategy: "RULE_BASED", rules },
  { strategy: "INTELLIGENT", fees },
  { strategy: "ADAPTIVE", ...(adaptiveOverride === undefined ? {} : { adaptive: adaptiveOverride }) }
]
const strategies = allStrategies.filter((c) => only === undefined || c.strategy === only)

/** Runs one strategy through the real Router and GatewayMetrics; returns the approvals. */
const runStrategy = (config: Router.Config, scenario: Scenario, s: Stream, routerSeed: number): number =>
  Effect.gen(function*() {
    const metrics = yield* GatewayMetrics.make({ exportMetrics: false })
    const router = yield* Router.make(config).pipe(Effect.provideService(GatewayMetrics.GatewayMetrics, metrics))
    const index = new Map(models.map((m, i) => [m.id, i]))
    let approved = 0
    for (let t = 0; t < s.u.length; t++) {
      const payment = segmentPayments[s.currency[t]! * brands.length + s.brand[t]!]!
      const first = (yield* router.rank(payment, gateways))[0]!
      const g = index.get(first.id)!
      const outcome = outcomeOf(scenario, s, g, t)
      if (outcome === "approved") approved++
      const latency = outcome === "error" ? 5_000 : models[g]!.latency * s.noise[t]!
      yield* metrics.record(first.id, "process", outcome, latency)
      yield* router.observe(payment, first.id, outcome)
    }
    return approved
  }).pipe(Effect.withRandom(Random.make(routerSeed)), Effect.runSync)

interface Row {
  readonly name: string
  readonly rate: number
  readonly note?: string
}

const runScenario = (scenario: Scenario, s: Stream): ReadonlyArray<Row> => {
  const n = s.u.length
  const rows: Array<Row> = []
  for (const config of strategies) {
    rows.push({ name: config.strategy, rate: runStrategy(config, scenario, s, seed * 7919 + 1) / n })
  }
  // baselines, on the same customers
  const rand = prng(seed * 31 + 7)
  const fixed = new Array<number>(G).fill(0)
  const perSegment = Array.from({ length: currencies.length * brands.length }, () => new Array<number>(G).fill(0))
  let random = 0
  let clairvoyant = 0
  for (let t = 0; t < n; t++) {
    const segmentIndex = s.currency[t]! * brands.length + s.brand[t]!
    let best = -1
    let bestP = -1
    for (let g = 0; g < G; g++) {
      if (outcomeOf(scenario, s, g, t) === "approved") {
        fixed[g]!++
        perSegment[segmentIndex]![g]!++
      }
      const p = (1 - scenario.error(g, t)) * scenario.approve(g, t, s.currency[t]!, s.brand[t]!)
      if (p > bestP) [best, bestP] = [g, p]
    }
    if (outcomeOf(scenario, s, Math.floor(rand() * G), t) === "approved") random++
    if (outcomeOf(scenario, s, best, t) === "approved") clairvoyant++
  }
  const bestFixed = fixed.indexOf(Math.max(...fixed))
  rows.push({ name: "random choice", rate: random / n })
  rows.push({ name: "best fixed gateway (hindsight)", rate: fixed[bestFixed]! / n, note: models[bestFixed]!.id })
  rows.push({
    name: "best fixed per segment (hindsight)",
    rate: perSegment.reduce((sum, row) => sum + Math.max(...row), 0) / n,
    note: "static table per currency × brand"
  })
  rows.push({ name: "clairvoyant (upper bound)", rate: clairvoyant / n, note: "knows every current rate" })
  return rows
}

// ---------------------------------------------------------------- main

const started = performance.now()
const worldRand = prng(seed)
const driftingScenario = drifting(worldRand, N)
const driftingRows = runScenario(driftingScenario, stream(prng(seed + 1), N))
const stationaryRows = runScenario(stationary, stream(prng(seed + 2), N))

const pct = (x: number) => `${(100 * x).toFixed(2)}%`
const nonAdaptive = strategies.filter((c) => c.strategy !== "ADAPTIVE").map((c) => c.strategy)
const uplift = (rows: ReadonlyArray<Row>) => {
  const adaptive = rows.find((r) => r.name === "ADAPTIVE")!.rate
  const best = Math.max(...rows.filter((r) => nonAdaptive.some((name) => name === r.name)).map((r) => r.rate))
  return (100 * (adaptive - best)).toFixed(2)
}

const lines: Array<string> = []
lines.push(`routing simulation: ${N} payments per scenario, gateways ${models.map((m) => m.id).join(", ")}, seed ${seed}`)
lines.push(`${"strategy".padEnd(36)}${"drifting".padStart(10)}${"stationary".padStart(12)}`)
driftingRows.forEach((row, i) => {
  const other = stationaryRows[i]!
  const note = row.note !== undefined && other.note !== undefined && row.note !== other.note
    ? `  (${row.note} / ${other.note})`
    : row.note !== undefined ? `  (${row.note})` : ""
  lines.push(`${row.name.padEnd(36)}${pct(row.rate).padStart(10)}${pct(other.rate).padStart(12)}${note}`)
})
if (only === undefined) {
  lines.push(`adaptive uplift: ${uplift(driftingRows)} pp drifting, ${uplift(stationaryRows)} pp stationary`)
}
console.error(`(${((performance.now() - started) / 1000).toFixed(1)} s)`)
console.log(lines.join("\n"))
