/**
 * Routing simulation (`npm run sim:routing`): the authorization rate of every routing strategy,
 * of random choice, of the best fixed gateway in hindsight and of a clairvoyant bound, on the
 * simulated worlds of `routingWorlds.ts` (2–6 gateways; drifting and stationary), each over
 * several seeds. See docs/ROUTING.md.
 *
 * - One attempt per payment, at the gateway the strategy ranks first (no failover: the
 *   comparison is of the first choice; failover would recover errors for every strategy alike).
 * - The real `Router.make` and a real `GatewayMetrics` run every strategy: each outcome is fed to
 *   `metrics.record` and `router.observe`. The router's randomness is Effect's `Random`, seeded.
 * - Outcomes use common random numbers: payment `t` draws one uniform `u[t]`, and gateway `g`
 *   approves it iff `u[t] < P(g approves t)`. Every strategy faces the same customers.
 * - Past data: in the new worlds a pilot of 2,000 payments per gateway, drawn from the world at
 *   its start, is given to every strategy alike before the run (into `metrics.record` and
 *   `router.observe`); RULE_BASED's rules are the best gateway per currency in it. `--cold` runs
 *   the previous rules: no past data for any strategy, RULE_BASED's rules still from the pilot.
 * - Per world: each row's mean over the seeds and its worst seed, and ADAPTIVE minus the best of
 *   the other strategies per seed (mean and worst seed); in the summary, `headroom` is the
 *   clairvoyant bound minus the best other strategy per seed (the most any router could gain,
 *   up to chance: an upper limit of the uplift). The last line is
 *   `adaptive uplift: D pp drifting, S pp stationary`, D (S) the minimum over the drifting
 *   (stationary) worlds of the per-world mean uplift.
 *
 *   npm run sim:routing                      # CI size: 5 seeds × 20,000 payments per world
 *   npm run sim:routing -- --full            # the full table: 5 seeds × 100,000 payments
 *   npm run sim:routing -- --cold            # the previous rules: no shared past data
 *   npx tsx test/sim/routing.ts [--seeds 5] [--payments 20000] [--worlds a,b] [--jobs 2] [--cold]
 *
 * `SIM_ADAPTIVE='{"memoryPrior":2,"memories":[300,3000]}'` overrides ADAPTIVE's settings; `SIM_ONLY=ADAPTIVE` runs
 * one strategy (the uplift lines then need every strategy: they are left out).
 */
import { spawn } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { DateTime, Effect, Either, Random, Schema } from "effect"
import { stubGateway } from "../helpers.js"
import { Customer, GatewayMetrics, Money, Payment, PaymentMethod, Router } from "aegispay"
import * as W from "./routingWorlds.js"

// ---------------------------------------------------------------- arguments

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}
const full = flag("full")
/** `--cold`: the previous rules, no past data for any strategy but RULE_BASED (whose rules come from the pilot). */
const cold = flag("cold")
const SEEDS = Number(option("seeds") ?? 5)
const N = Number(option("payments") ?? (full ? 100_000 : 20_000))
const JOBS = Number(option("jobs") ?? 2)
const selected = option("worlds")?.split(",")
const worlds = W.worlds.filter((w) => selected === undefined || selected.includes(w.name))
/** `--worker i/k`: run the (world, seed) pairs i, i + k, … and print their results as JSON. */
const worker = option("worker")

const adaptiveOverride = process.env.SIM_ADAPTIVE === undefined
  ? undefined
  : Schema.decodeUnknownSync(
    Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Union(Schema.Number, Schema.Array(Schema.Number)) }))
  )(
    process.env.SIM_ADAPTIVE
  )
const only = process.env.SIM_ONLY
/**
 * `SIM_CACHE=/tmp/file.json` (for tuning ADAPTIVE): the other rows of each (world, seed, size)
 * are read from this file when there, written to it otherwise; only ADAPTIVE is rerun.
 */
const cachePath = process.env.SIM_CACHE
const cache: Record<string, RunResult> = cachePath !== undefined && existsSync(cachePath)
  ? JSON.parse(readFileSync(cachePath, "utf8")) as Record<string, RunResult>
  : {}

// ---------------------------------------------------------------- payments

const customer = new Customer.Customer({ id: "c", email: Schema.decodeSync(Customer.Email)("sim@example.com") })

/** One payment per segment: what the router reads of a payment. */
const segmentPayments: ReadonlyArray<Payment.Payment> = Array.from({ length: W.SEGMENTS }, (_, s) => {
  const currency = W.currencies[W.currencyOf(s)]!
  const brand = W.brands[W.brandOf(s)]!
  return Payment.initiate({
    id: `pay_${s}`,
    tenantId: "sim",
    idempotencyKey: `k_${s}`,
    requestFingerprint: "sim",
    amount: Either.getOrThrow(Money.fromDecimalString(W.bands[W.bandOf(s)]!, currency)),
    captureMethod: "automatic",
    paymentMethod: brand === "checkout"
      ? new PaymentMethod.CheckoutMethod({ type: "checkout" })
      : new PaymentMethod.CardToken({
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
    customer,
    metadata: {}
  }, DateTime.unsafeMake(0)).payment
})

// ---------------------------------------------------------------- one run

/** The payments of one run: segment and outcome uniform, shared by every strategy. */
interface Stream {
  readonly segment: Uint8Array
  readonly u: Float64Array
  readonly noise: Float64Array
}

const stream = (model: W.Model, rand: () => number, n: number): Stream => {
  const s: Stream = { segment: new Uint8Array(n), u: new Float64Array(n), noise: new Float64Array(n) }
  for (let t = 0; t < n; t++) {
    s.segment[t] = model.segment(t, rand(), rand(), rand())
    s.u[t] = rand()
    s.noise[t] = Math.exp(0.4 * (rand() + rand() + rand() - 1.5))
  }
  return s
}

type Outcome = "approved" | "declined" | "error"

const outcomeOf = (model: W.Model, s: Stream, g: number, t: number): Outcome => {
  const segment = s.segment[t]!
  const e = model.error(g, t, segment)
  const p = Math.min(1, Math.max(0, model.approve(g, t, segment)))
  const u = s.u[t]!
  return u < (1 - e) * p ? "approved" : u >= 1 - e ? "error" : "declined"
}

const names = ["atlas", "borealis", "cygnus", "draco", "eridanus", "fornax"]

/** One payment of the pilot: past data from the start of the world, one gateway per payment. */
interface PilotPayment {
  readonly g: number
  readonly segment: number
  readonly outcome: Outcome
  readonly latency: number
}

/**
 * The pilot of a new world: 2,000 payments per gateway drawn from the world at its start (the
 * merchant's past data). Empty in the two previous scenarios, whose rules name the home markets.
 */
const pilotOf = (world: W.World, model: W.Model, rand: () => number, latency: ReadonlyArray<number>, seed: number) => {
  const pilot: Array<PilotPayment> = []
  if (world.name.startsWith("legacy-")) return pilot
  const noise = W.prng(seed)
  for (let g = 0; g < model.gateways; g++) {
    for (let i = 0; i < 2_000; i++) {
      const segment = model.segment(0, rand(), rand(), rand())
      const u = rand()
      const e = model.error(g, 0, segment)
      const outcome: Outcome = u < (1 - e) * model.approve(g, 0, segment) ? "approved" : u >= 1 - e ? "error" : "declined"
      const n = Math.exp(0.4 * (noise() + noise() + noise() - 1.5))
      pilot.push({ g, segment, outcome, latency: outcome === "error" ? 5_000 : latency[g]! * n })
    }
  }
  return pilot
}

/**
 * The strategies of one world: fees and latencies drawn per world. RULE_BASED routes each
 * currency to the gateway a merchant would name: in the previous scenarios the best gateway of
 * the currency at the start (the gateways' home markets, as before); in the new worlds the best
 * of the pilot (a merchant's rules come from past data, not from the true rates).
 */
const strategiesOf = (
  world: W.World,
  model: W.Model,
  rand: () => number,
  latency: ReadonlyArray<number>,
  seed: number
): { readonly configs: ReadonlyArray<Router.Config>; readonly pilot: ReadonlyArray<PilotPayment> } => {
  const G = model.gateways
  const fees: Record<string, Router.Fee> = Object.fromEntries(names.slice(0, G).map((id) => [id, {
    fixedMinor: BigInt(20 + Math.floor(rand() * 15)),
    basisPoints: 240 + Math.floor(rand() * 80)
  }]))
  const score = W.currencies.map(() => new Array<number>(G).fill(0))
  const pilot = pilotOf(world, model, rand, latency, seed)
  if (world.name.startsWith("legacy-")) {
    for (let c = 0; c < W.C; c++) {
      for (let g = 0; g < G; g++) {
        for (let b = 0; b < W.B; b++) for (let a = 0; a < W.A; a++) score[c]![g]! += model.approve(g, 0, W.segmentOf(c, b, a))
      }
    }
  } else {
    const seen = W.currencies.map(() => new Array<number>(G).fill(0))
    for (const p of pilot) {
      const c = W.currencyOf(p.segment)
      seen[c]![p.g]!++
      if (p.outcome === "approved") score[c]![p.g]!++
    }
    for (let c = 0; c < W.C; c++) for (let g = 0; g < G; g++) score[c]![g]! /= Math.max(1, seen[c]![g]!)
  }
  const rules = W.currencies.map((currency, c) => ({
    id: currency,
    priority: 1,
    enabled: true,
    conditions: [{ field: "currency", operator: "equals", value: currency }],
    target: names[score[c]!.indexOf(Math.max(...score[c]!))]!
  } as const))
  const all: ReadonlyArray<Router.Config> = [
    { strategy: "ROUND_ROBIN" },
    { strategy: "LEAST_LATENCY" },
    { strategy: "HIGHEST_SUCCESS_RATE" },
    { strategy: "COST_OPTIMIZED", fees },
    { strategy: "RULE_BASED", rules },
    { strategy: "INTELLIGENT", fees },
    { strategy: "ADAPTIVE", ...(adaptiveOverride === undefined ? {} : { adaptive: adaptiveOverride }) }
  ]
  return { configs: all.filter((c) => only === undefined || c.strategy === only), pilot }
}

/** Runs one strategy through the real Router and GatewayMetrics; returns the approvals. */
const runStrategy = (
  config: Router.Config,
  model: W.Model,
  s: Stream,
  latency: ReadonlyArray<number>,
  routerSeed: number,
  pilot: ReadonlyArray<PilotPayment>
): number =>
  Effect.gen(function*() {
    const metrics = yield* GatewayMetrics.make({ exportMetrics: false })
    const router = yield* Router.make(config).pipe(Effect.provideService(GatewayMetrics.GatewayMetrics, metrics))
    const gateways = names.slice(0, model.gateways).map(stubGateway)
    const index = new Map(gateways.map((g, i) => [g.id, i]))
    // the past data, given to every strategy alike (unless --cold): payment i of every gateway
    // in turn, into the metrics and the router, as outcomes observed before the run
    if (!cold) {
      const per = pilot.length / model.gateways
      for (let i = 0; i < per; i++) {
        for (let g = 0; g < model.gateways; g++) {
          const p = pilot[g * per + i]!
          yield* metrics.record(names[g]!, "process", p.outcome, p.latency)
          yield* router.observe(segmentPayments[p.segment]!, names[g]!, p.outcome)
        }
      }
    }
    let approved = 0
    for (let t = 0; t < s.u.length; t++) {
      const payment = segmentPayments[s.segment[t]!]!
      const first = (yield* router.rank(payment, gateways))[0]!
      const g = index.get(first.id)!
      const outcome = outcomeOf(model, s, g, t)
      if (outcome === "approved") approved++
      yield* metrics.record(first.id, "process", outcome, outcome === "error" ? 5_000 : latency[g]! * s.noise[t]!)
      yield* router.observe(payment, first.id, outcome)
    }
    return approved
  }).pipe(Effect.withRandom(Random.make(routerSeed)), Effect.runSync)

/** Rates of one (world, seed): row name → approval rate; `fixed` names the best fixed gateway. */
interface RunResult {
  readonly world: string
  readonly seed: number
  readonly rates: Record<string, number>
  readonly fixed: string
}

const ROW_RANDOM = "random choice"
const ROW_FIXED = "best fixed gateway (hindsight)"
const ROW_SEGMENT = "best fixed per segment (hindsight)"
const ROW_BOUND = "clairvoyant (upper bound)"

const runOne = (world: W.World, worldIndex: number, seed: number): RunResult => {
  const base = seed * 1_000 + worldIndex
  const model = world.build(W.prng(base), N)
  const s = stream(model, W.prng(base + 500_000), N)
  const G = model.gateways
  const setup = W.prng(base + 700_000)
  const latency = Array.from({ length: G }, () => 100 + Math.floor(setup() * 200))
  const rates: Record<string, number> = {}
  const cached = cache[`${world.name}/${seed}/${N}${cold ? "/cold" : ""}`]
  const { configs, pilot } = strategiesOf(world, model, setup, latency, base + 800_000)
  for (const config of configs) {
    if (cached !== undefined && config.strategy !== "ADAPTIVE") continue
    rates[config.strategy] = runStrategy(config, model, s, latency, base * 7_919 + 1, pilot) / N
  }
  if (cached !== undefined) {
    return { ...cached, rates: { ...cached.rates, ADAPTIVE: rates.ADAPTIVE! } }
  }
  const rand = W.prng(base + 900_000)
  const fixed = new Array<number>(G).fill(0)
  const perSegment = Array.from({ length: W.SEGMENTS }, () => new Array<number>(G).fill(0))
  let random = 0
  let clairvoyant = 0
  for (let t = 0; t < N; t++) {
    const segment = s.segment[t]!
    let best = 0
    let bestP = -1
    for (let g = 0; g < G; g++) {
      if (outcomeOf(model, s, g, t) === "approved") {
        fixed[g]!++
        perSegment[segment]![g]!++
      }
      const p = (1 - model.error(g, t, segment)) * model.approve(g, t, segment)
      if (p > bestP) [best, bestP] = [g, p]
    }
    if (outcomeOf(model, s, Math.floor(rand() * G), t) === "approved") random++
    if (outcomeOf(model, s, best, t) === "approved") clairvoyant++
  }
  const bestFixed = fixed.indexOf(Math.max(...fixed))
  rates[ROW_RANDOM] = random / N
  rates[ROW_FIXED] = fixed[bestFixed]! / N
  rates[ROW_SEGMENT] = perSegment.reduce((sum, row) => sum + Math.max(...row), 0) / N
  rates[ROW_BOUND] = clairvoyant / N
  return { world: world.name, seed, rates, fixed: names[bestFixed]! }
}

// ---------------------------------------------------------------- jobs

const pairs = worlds.flatMap((world) => Array.from({ length: SEEDS }, (_, i) => ({ world, seed: i + 1 })))

const runPart = (part: number, parts: number): Array<RunResult> =>
  pairs.filter((_, i) => i % parts === part).map(({ seed, world }) => runOne(world, W.worlds.indexOf(world), seed))

const runParallel = (jobs: number): Promise<Array<RunResult>> =>
  Promise.all(Array.from({ length: jobs }, (_, part) =>
    new Promise<Array<RunResult>>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv, "--worker", `${part}/${jobs}`], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      let out = ""
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
      child.on("error", reject)
      child.on("exit", (code) =>
        code === 0 ? resolve(JSON.parse(out) as Array<RunResult>) : reject(new Error(`worker ${part} exited with ${code}`))
      )
    })
  )).then((parts) => parts.flat())

// ---------------------------------------------------------------- report

const pct = (x: number) => `${(100 * x).toFixed(2)}%`
const pp = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`
const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

const report = (results: ReadonlyArray<RunResult>): string => {
  const lines: Array<string> = []
  const strategyNames = Object.keys(results[0]!.rates).filter((k) => ![ROW_RANDOM, ROW_FIXED, ROW_SEGMENT, ROW_BOUND].includes(k))
  const others = strategyNames.filter((k) => k !== "ADAPTIVE")
  const summary: Array<
    { world: W.World; meanUplift: number; worst: number; worstSeed: number; gap: number; vsBest: number; headroom: number }
  > = []
  lines.push(
    `routing simulation: ${worlds.length} worlds × ${SEEDS} seeds × ${N} payments${full ? " (full)" : ""}` +
      (cold ? ", cold start (no past data but RULE_BASED's pilot)" : ", the pilot shared as past data by every strategy in the new worlds")
  )
  for (const world of worlds) {
    const runs = results.filter((r) => r.world === world.name).sort((a, b) => a.seed - b.seed)
    lines.push("")
    lines.push(`${world.name} (${world.kind}, ${world.gateways} gateways): ${world.description}`)
    const hasAdaptive = strategyNames.includes("ADAPTIVE")
    lines.push(
      `  ${"".padEnd(36)}${"mean".padStart(9)}${"worst".padStart(9)}${hasAdaptive ? `${"ADAPTIVE −".padStart(13)}${"worst".padStart(9)}` : ""}`
    )
    for (const row of Object.keys(runs[0]!.rates)) {
      const rates = runs.map((r) => r.rates[row]!)
      const diffs = runs.map((r) => r.rates.ADAPTIVE! - r.rates[row]!)
      const note = row === ROW_FIXED ? `  (${[...new Set(runs.map((r) => r.fixed))].join(", ")})` : ""
      lines.push(
        `  ${row.padEnd(36)}${pct(mean(rates)).padStart(9)}${pct(Math.min(...rates)).padStart(9)}` +
          (hasAdaptive && row !== "ADAPTIVE" ? `${pp(mean(diffs)).padStart(13)}${pp(Math.min(...diffs)).padStart(9)}` : "") +
          note
      )
    }
    if (hasAdaptive && others.length > 0) {
      const uplift = runs.map((r) => r.rates.ADAPTIVE! - Math.max(...others.map((k) => r.rates[k]!)))
      const worst = Math.min(...uplift)
      const worstSeed = runs[uplift.indexOf(worst)]!.seed
      const gap = mean(runs.map((r) => r.rates[ROW_BOUND]! - r.rates.ADAPTIVE!))
      // a reference, not the target's definition: ADAPTIVE against the one strategy with the best
      // mean over the seeds (a merchant picks a strategy once, not per seed in hindsight)
      const vsBest = mean(runs.map((r) => r.rates.ADAPTIVE!)) -
        Math.max(...others.map((k) => mean(runs.map((r) => r.rates[k]!))))
      // the most any router could gain here: the bound less the best other strategy, per seed
      const headroom = mean(runs.map((r) => r.rates[ROW_BOUND]! - Math.max(...others.map((k) => r.rates[k]!))))
      summary.push({ world, meanUplift: mean(uplift), worst, worstSeed, gap, vsBest, headroom })
      lines.push(
        `  uplift (ADAPTIVE − best other strategy, per seed): mean ${pp(mean(uplift))} pp, worst ${pp(worst)} pp (seed ${worstSeed}); ` +
          `seeds ${uplift.map((u) => pp(u)).join(" ")}`
      )
    }
  }
  if (summary.length > 0) {
    lines.push("")
    lines.push(
      `${"world".padEnd(22)}${"kind".padEnd(12)}${"uplift mean".padStart(12)}${"worst seed".padStart(12)}${"bound − ADAPTIVE".padStart(18)}` +
        `${"vs best strategy".padStart(18)}${"headroom".padStart(10)}`
    )
    for (const s of summary) {
      lines.push(
        `${s.world.name.padEnd(22)}${s.world.kind.padEnd(12)}${pp(s.meanUplift).padStart(12)}${pp(s.worst).padStart(12)}${pp(s.gap).padStart(18)}` +
          `${pp(s.vsBest).padStart(18)}${pp(s.headroom).padStart(10)}`
      )
    }
    const min = (kind: string) => {
      const xs = summary.filter((s) => s.world.kind === kind).map((s) => s.meanUplift)
      return xs.length === 0 ? "n/a" : (100 * Math.min(...xs)).toFixed(2)
    }
    const legacy = summary.find((s) => s.world.name === "legacy-drifting")
    if (legacy !== undefined) lines.push(`previous drifting scenario: ${pp(legacy.meanUplift)} pp (mean over seeds)`)
    lines.push(`adaptive uplift: ${min("drifting")} pp drifting, ${min("stationary")} pp stationary`)
  }
  return lines.join("\n")
}

// ---------------------------------------------------------------- main

if (worker !== undefined) {
  const [part, parts] = worker.split("/").map(Number)
  process.stdout.write(JSON.stringify(runPart(part!, parts!)))
} else {
  const started = performance.now()
  const results = JOBS > 1 ? await runParallel(JOBS) : runPart(0, 1)
  if (cachePath !== undefined) {
    for (const r of results) cache[`${r.world}/${r.seed}/${N}${cold ? "/cold" : ""}`] = r
    writeFileSync(cachePath, JSON.stringify(cache))
  }
  console.error(`(${((performance.now() - started) / 1000).toFixed(1)} s)`)
  console.log(report(results))
}
