/**
 * The deterministic simulation over many seeds (`npm run sim`): runs `Simulation.run` for each
 * seed on a pool of worker threads, then prints the faults injected, the operations run and the
 * violations found by invariant, each failing seed with the command that replays it, and as its
 * last line `violations: V in N seeds`. Exits with 1 when V > 0.
 *
 *   npm run sim                                   # 1,000 seeds × 200 payments
 *   npx tsx test/sim/sim.ts --seeds 50            # fewer seeds
 *   npx tsx test/sim/sim.ts --seed 123 --payments 200   # replay one seed, with every violation
 *   options: --seeds N  --payments P  --from S  --seed S  --workers W
 */
import { availableParallelism } from "node:os"
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads"
import { Simulation } from "aegispay/testing"

/** The workers' young generation (see where they are started). */
const YOUNG_GENERATION_MB = 192

interface Result {
  readonly seed: number
  readonly faults: Readonly<Record<string, number>>
  readonly operations: Readonly<Record<string, number>>
  readonly violations: ReadonlyArray<{ readonly invariant: string; readonly paymentId: string; readonly step: number; readonly detail: string }>
  readonly eventLogHash: string
  readonly replayCommand: string
  readonly millis: number
}

const simulate = async (seed: number, payments: number): Promise<Result> => {
  const start = performance.now()
  const report = await Simulation.runPromise({ seed, payments })
  return {
    seed,
    faults: report.faults,
    operations: report.operations,
    violations: report.violations.map((v) => ({ invariant: v.invariant, paymentId: v.paymentId, step: v.step, detail: v.detail })),
    eventLogHash: report.eventLogHash,
    replayCommand: report.replayCommand,
    millis: performance.now() - start
  }
}

if (!isMainThread) {
  const { payments } = workerData as { readonly payments: number }
  parentPort?.on("message", (seed: number | null) => {
    if (seed === null) return parentPort?.close()
    simulate(seed, payments).then(
      (result) => parentPort?.postMessage(result),
      // a run that dies is a finding too: report it with its seed, keep going
      (error: unknown): void =>
        parentPort?.postMessage({
          seed,
          faults: {},
          operations: {},
          violations: [{ invariant: "no-defect", paymentId: "-", step: 0, detail: `the run died: ${String(error)}` }],
          eventLogHash: "",
          replayCommand: Simulation.defaultReplayCommand(seed, payments),
          millis: 0
        } satisfies Result)
    )
  })
} else {
  const args = process.argv.slice(2)
  const flag = (name: string): number | undefined => {
    const i = args.indexOf(`--${name}`)
    if (i < 0) return undefined
    const value = Number(args[i + 1])
    if (!Number.isInteger(value) || value < 0) {
      console.error(`--${name} needs a non-negative integer`)
      process.exit(2)
    }
    return value
  }
  const one = flag("seed")
  const payments = flag("payments") ?? 200
  const from = one ?? flag("from") ?? 0
  const count = one === undefined ? flag("seeds") ?? 1000 : 1
  const workers = Math.max(1, Math.min(count, flag("workers") ?? availableParallelism()))
  const seeds = Array.from({ length: count }, (_, i) => from + i)

  console.log(`AegisPay simulation: ${count} seed(s) from ${from} × ${payments} payments on ${workers} worker(s)`)
  const started = performance.now()
  const results: Array<Result> = []
  let next = 0
  await new Promise<void>((resolve, reject) => {
    let live = workers
    for (let w = 0; w < workers; w++) {
      // workers do not inherit tsx's loader: register it, then load this file
      const worker = new Worker(
        `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}) })`,
        // a run allocates some 250 MB of short-lived objects per seed: a young generation 4× V8's
        // default (semi-spaces of 64 MB) scavenges less than half as often
        { eval: true, workerData: { payments }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } }
      )
      const feed = () => worker.postMessage(next < seeds.length ? seeds[next++] : null)
      worker.on("message", (result: Result) => {
        results.push(result)
        if (results.length % 100 === 0) {
          console.error(`  ${results.length}/${count} seeds, ${((performance.now() - started) / 1000).toFixed(1)} s`)
        }
        feed()
      })
      worker.on("error", reject)
      worker.on("exit", () => {
        if (--live === 0) resolve()
      })
      feed()
    }
  })
  results.sort((a, b) => a.seed - b.seed)
  const elapsed = (performance.now() - started) / 1000

  const sum = (pick: (r: Result) => Readonly<Record<string, number>>) => {
    const totals = new Map<string, number>()
    for (const r of results) for (const [k, v] of Object.entries(pick(r))) totals.set(k, (totals.get(k) ?? 0) + v)
    return totals
  }
  const table = (title: string, rows: ReadonlyMap<string, number>) => {
    console.log(`\n${title.padEnd(32)}${"total".padStart(12)}`)
    for (const [k, v] of rows) console.log(`  ${k.padEnd(30)}${String(v).padStart(12)}`)
  }
  table("faults injected", sum((r) => r.faults))
  table("operations", sum((r) => r.operations))
  const byInvariant = new Map<string, number>(Simulation.Invariant.literals.map((k) => [k, 0]))
  for (const r of results) for (const v of r.violations) byInvariant.set(v.invariant, (byInvariant.get(v.invariant) ?? 0) + 1)
  table("violations found", byInvariant)

  const failing = results.filter((r) => r.violations.length > 0)
  if (failing.length > 0) {
    console.log("\nfailing seeds")
    for (const r of failing) {
      const shown = one === undefined ? r.violations.slice(0, 3) : r.violations
      console.log(`  seed ${r.seed}: ${r.violations.length} violation(s); replay: ${r.replayCommand}`)
      for (const v of shown) console.log(`    step ${v.step} ${v.invariant} ${v.paymentId}: ${v.detail}`)
      if (shown.length < r.violations.length) console.log(`    … ${r.violations.length - shown.length} more`)
    }
  }
  if (one !== undefined && results[0] !== undefined) console.log(`\nevent log hash ${results[0].eventLogHash}`)
  const slowest = results.reduce((m, r) => Math.max(m, r.millis), 0)
  console.log(`\n${elapsed.toFixed(1)} s (slowest seed ${(slowest / 1000).toFixed(2)} s)`)
  const violations = results.reduce((n, r) => n + r.violations.length, 0)
  console.log(`violations: ${violations} in ${results.length} seeds`)
  process.exitCode = violations > 0 ? 1 : 0
}
