/**
 * Crash injection on real PostgreSQL: child processes are SIGKILLed at each step of the payment
 * flow (20 per step), then a restarted process runs recovery and every invariant is checked
 * against the database and the SQL ledger. `npm run crash` runs more kills.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { check, type PointReport, restarted, runCampaign } from "./Campaign.js"
import { killPoints } from "./KillPoints.js"

const KILLS_PER_POINT = 20

describe.skipIf(databaseUrl === undefined)("crash injection (SIGKILL) on PostgreSQL", () => {
  const url = useTestDatabase("crash")
  let reports: ReadonlyArray<PointReport> = []

  it(`${KILLS_PER_POINT} kills at each of ${killPoints.length} steps: recovery leaves no violation`, async () => {
    reports = await runCampaign({ url: url(), killsPerPoint: KILLS_PER_POINT, paymentsPerKill: 2, parallel: 4 })
    console.log(reports.map((r) =>
      `${r.point}: ${r.kills} kills, ${r.payments} payments, ${r.ledgerCharges} charges, ${r.ledgerRefunds} refunded, ` +
      `states ${JSON.stringify(r.states)}, ${r.violations.length} violations`
    ).join("\n"))
    expect(reports.map((r) => r.point)).toEqual([...killPoints])
    for (const report of reports) {
      expect(report.harnessErrors).toEqual([])
      expect(report.kills).toBe(KILLS_PER_POINT) // every child announced its point and died by SIGKILL
      expect(report.violations).toEqual([])
      expect(report.ledgerCharges).toBeGreaterThan(0)
    }
    // the refund point did kill refunds in flight, and recovery settled them at the gateway
    expect(reports.find((r) => r.point === "during-refund")!.ledgerRefunds).toBeGreaterThan(0)
  }, 600_000)

  it("the checker reports a second charge, a lost outbox row and a stuck payment", async () => {
    expect(reports.length).toBe(killPoints.length) // runs after the campaign, on its database
    const prefix = reports[0]!.point
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const [victim] = yield* sql<{ id: string; payment_id: string }>`
          SELECT l.idempotency_key AS id, l.payment_id FROM aegis_test_ledger l
          JOIN aegis_payments p ON p.id = l.payment_id
          WHERE l.outcome = 'charged' AND p.idempotency_key LIKE ${`%-${prefix}-%`} LIMIT 1`
        if (victim === undefined) return yield* Effect.dieMessage("no charge to tamper with")
        yield* sql`INSERT INTO aegis_test_ledger
          (idempotency_key, gateway, transaction_id, payment_id, currency, amount_minor, outcome, status, captured_minor)
          SELECT idempotency_key || '-twice', gateway, transaction_id || '-twice', payment_id, currency, amount_minor,
            outcome, status, captured_minor FROM aegis_test_ledger WHERE idempotency_key = ${victim.id}`
        yield* sql`DELETE FROM aegis_outbox WHERE event_id =
          (SELECT event_id FROM aegis_events WHERE payment_id = ${victim.payment_id} ORDER BY seq DESC LIMIT 1)`
        yield* sql`UPDATE aegis_payments SET open_work = true,
          snapshot = jsonb_set(snapshot, '{state}', '"PROCESSING"') WHERE id = ${victim.payment_id}`
        const prefixOf = yield* sql<{ key: string }>`SELECT idempotency_key AS key FROM aegis_payments WHERE id = ${victim.payment_id}`
        const key = prefixOf[0]!.key
        return yield* check(prefix, key.slice(0, key.lastIndexOf("-") + 1))
      }).pipe(Effect.provide(restarted(url())))
    )
    const found = new Set(result.violations.map((v) => v.invariant))
    expect(found).toContain("at-most-one-charge")
    expect(found).toContain("event-has-outbox-row")
    expect(found).toContain("nothing-stuck")
    expect(found).toContain("fold-equals-snapshot")
  }, 120_000)
})
