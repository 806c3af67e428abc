/**
 * Tuning harness for ADAPTIVE (see docs/ROUTING.md): runs `AdaptiveRouting.choose` and
 * `observeCounts` directly on the worlds of `routingWorlds.ts`, several settings at once, against
 * the other strategies' rows cached by the simulation (`SIM_CACHE` of `routing.ts`: run it once
 * with the same `--seeds`, and `--cold` or not, first). The payments, outcomes and past data
 * (pilot) are the simulation's; the router's uniforms are a mulberry32 stream, or Effect's
 * `Random` exactly as the Router draws them with `--effect-random` (then ADAPTIVE's figures are
 * the simulation's, digit for digit, and runs are slower).
 *
 *   SIM_CACHE=/tmp/routing.json npx tsx test/sim/routing.ts --seeds 10
 *   npx tsx test/sim/routingTune.ts /tmp/routing.json '{"default":{},"x35":{"exploration":0.35}}' \
 *     [--seeds 1-10] [--worlds steps,five-near-equal] [--payments 20000] [--cold] [--effect-random] [--trace]
 *
 * A setting `"oracle": true` restarts the learner from nothing at every true change point of the
 * world (where gateway 0's probability for segment 0 changes: the change points of `steps`), an
 * upper reference for change detection. `--trace` prints every 1,000 payments the levels, the
 * traffic shares and the posteriors (segment 0). Output: per world, the mean uplift over the best
 * other strategy per seed and the mean distance to the clairvoyant bound, then the minimum over the
 * drifting and the stationary worlds, per setting.
 */
import { readFileSync } from "node:fs"
import { Effect, Random } from "effect"
import { AdaptiveRouting as A } from "aegispay"
import * as W from "./routingWorlds.js"

const argv = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}
interface Cached {
  readonly rates: Record<string, number>
}
const cache = JSON.parse(readFileSync(argv[0]!, "utf8")) as Record<string, Cached>
const variants = JSON.parse(argv[1]!) as Record<string, A.Options & { readonly oracle?: boolean }>
const [firstSeed, lastSeed] = (option("seeds") ?? "1-5").split("-").map(Number)
const N = Number(option("payments") ?? 20_000)
const selected = option("worlds")?.split(",")
const cold = argv.includes("--cold")
const trace = argv.includes("--trace")
const effectRandom = argv.includes("--effect-random")

const contexts: ReadonlyArray<A.Context> = Array.from({ length: W.SEGMENTS }, (_, s) => {
  const brand = W.brands[W.brandOf(s)]!
  return {
    currency: W.currencies[W.currencyOf(s)]!,
    method: brand === "checkout" ? "checkout" : "card",
    brand: brand === "checkout" ? "none" : brand,
    band: W.bandOf(s)
  }
})

const approves = (model: W.Model, segment: number, u: number, g: number, t: number): boolean =>
  u < (1 - model.error(g, t, segment)) * Math.min(1, Math.max(0, model.approve(g, t, segment)))

const names = ["atlas", "borealis", "cygnus", "draco", "eridanus", "fornax"]
const others = ["ROUND_ROBIN", "LEAST_LATENCY", "HIGHEST_SUCCESS_RATE", "COST_OPTIMIZED", "RULE_BASED", "INTELLIGENT"]
const pct = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`

interface Row {
  readonly variant: string
  readonly world: W.World
  readonly uplift: number
  readonly gap: number
}
const rows: Array<Row> = []

for (const [worldIndex, world] of W.worlds.entries()) {
  if (selected !== undefined && !selected.includes(world.name)) continue
  for (let seed = firstSeed!; seed <= lastSeed!; seed++) {
    // the payments of routing.ts's runOne and stream
    const base = seed * 1_000 + worldIndex
    const model = world.build(W.prng(base), N)
    const rand = W.prng(base + 500_000)
    const segment = new Uint8Array(N)
    const u = new Float64Array(N)
    for (let t = 0; t < N; t++) {
      segment[t] = model.segment(t, rand(), rand(), rand())
      u[t] = rand()
      for (let i = 0; i < 3; i++) rand() // latency noise
    }
    const G = model.gateways
    // the pilot of routing.ts's pilotOf: after the latencies and the fees of the setup stream
    const setup = W.prng(base + 700_000)
    for (let i = 0; i < 3 * G; i++) setup()
    const pilot: Array<{ readonly segment: number; readonly approved: boolean }> = []
    if (!world.name.startsWith("legacy-")) {
      for (let g = 0; g < G; g++) {
        for (let i = 0; i < 2_000; i++) {
          const s = model.segment(0, setup(), setup(), setup())
          pilot.push({ segment: s, approved: approves(model, s, setup(), g, 0) })
        }
      }
    }
    const cached = cache[`${world.name}/${seed}/${N}${cold ? "/cold" : ""}`]
    if (cached === undefined) throw new Error(`no cached rows for ${world.name}/${seed}/${N}: run routing.ts with SIM_CACHE first`)
    const bestOther = Math.max(...others.map((k) => cached.rates[k]!))
    const candidates = names.slice(0, G).map((id) => ({ id }))
    for (const [variant, { oracle, ...options }] of Object.entries(variants)) {
      let state = A.make(options)
      if (!cold) {
        const per = pilot.length / G
        for (let i = 0; i < per; i++) {
          for (let g = 0; g < G; g++) {
            const p = pilot[g * per + i]!
            A.observeCounts(state, names[g]!, contexts[p.segment]!, p.approved ? 1 : 0, p.approved ? 0 : 1)
          }
        }
      }
      const random = Random.make(base * 7_919 + 1)
      const uniform = effectRandom ? () => Effect.runSync(random.next) : W.prng(base * 7_919 + 1)
      const draws = new Array<number>(G)
      const share = new Array<number>(G).fill(0)
      let approved = 0
      for (let t = 0; t < N; t++) {
        if (oracle === true && t > 0 && model.approve(0, t, 0) !== model.approve(0, t - 1, 0)) state = A.make(options)
        const context = contexts[segment[t]!]!
        if (state.exploration !== 0) for (let g = 0; g < G; g++) draws[g] = uniform()
        const g = names.indexOf(A.choose(state, context, candidates, state.exploration === 0 ? [] : draws)[0]!.id)
        const ok = approves(model, segment[t]!, u[t]!, g, t)
        if (ok) approved++
        A.observeCounts(state, names[g]!, context, ok ? 1 : 0, ok ? 0 : 1)
        if (trace) {
          share[g]!++
          if ((t + 1) % 1_000 === 0) {
            const levels = Array.from({ length: G }, (_, h) => (100 * model.approve(h, t, 0)).toFixed(1)).join(" ")
            const estimates = candidates.map((c) => {
              const e = A.estimateContext(state, c.id, contexts[0]!)
              return `${(100 * e.rate).toFixed(1)}±${(100 * e.deviation).toFixed(1)}`
            }).join(" ")
            console.log(`${variant} ${world.name} seed ${seed} t=${t + 1}: levels ${levels} | shares ${share.join(" ")} | estimates ${estimates}`)
            share.fill(0)
          }
        }
      }
      const rate = approved / N
      rows.push({ variant, world, uplift: rate - bestOther, gap: cached.rates["clairvoyant (upper bound)"]! - rate })
    }
  }
}

const settings = Object.keys(variants)
const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
console.log(`${"world (uplift/bound − ADAPTIVE)".padEnd(34)}${settings.map((v) => v.padStart(16)).join("")}`)
const minimum: Record<string, number> = {}
for (const world of W.worlds) {
  if (!rows.some((r) => r.world === world)) continue
  let line = world.name.padEnd(34)
  for (const v of settings) {
    const rs = rows.filter((r) => r.world === world && r.variant === v)
    const uplift = mean(rs.map((r) => r.uplift))
    line += `${pct(uplift)}/${pct(mean(rs.map((r) => r.gap)))}`.padStart(16)
    minimum[`${v}/${world.kind}`] = Math.min(minimum[`${v}/${world.kind}`] ?? Infinity, uplift)
  }
  console.log(line)
}
for (const kind of ["drifting", "stationary"]) {
  console.log(`${`minimum, ${kind}`.padEnd(34)}${settings.map((v) => pct(minimum[`${v}/${kind}`] ?? NaN).padStart(16)).join("")}`)
}
