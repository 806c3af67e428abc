/**
 * npm run crash [-- --kills N] [--payments P] [--parallel C]
 *
 * Crash injection on real PostgreSQL (DATABASE_URL; a fresh database is created and dropped):
 * for each kill point, N child processes are SIGKILLed there, then recovery runs and the
 * invariants are checked. The last line is `crash: V violations in K kills`.
 */
import { createTestDatabase } from "../support/TestDatabase.js"
import { runCampaign } from "./Campaign.js"

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

const main = async () => {
  const database = await createTestDatabase("crash")
  const started = performance.now()
  try {
    const reports = await runCampaign({
      url: database.url,
      killsPerPoint: flag("kills", 50),
      paymentsPerKill: flag("payments", 2),
      parallel: flag("parallel", 4),
      onProgress: (line) => console.log(line)
    })
    const violations = reports.flatMap((r) => r.violations)
    const errors = reports.flatMap((r) => r.harnessErrors)
    for (const v of violations.slice(0, 50)) console.log(`  ${v.point} ${v.invariant} ${v.paymentId}: ${v.detail}`)
    for (const e of errors.slice(0, 10)) console.log(`  harness error: ${e}`)
    const kills = reports.reduce((n, r) => n + r.kills, 0)
    console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`)
    console.log(`crash: ${violations.length} violations in ${kills} kills`)
    return violations.length === 0 && errors.length === 0 ? 0 : 1
  } finally {
    await database.drop()
  }
}

main().then((code) => process.exit(code), (error) => {
  console.error(error)
  process.exit(1)
})
