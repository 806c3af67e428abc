/**
 * Four Node processes create and process the same 1,000 payments (same idempotency keys) at the
 * same time against one PostgreSQL database: exactly 1,000 payments and 1,000 ledger charges.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Redacted } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { AegisPayPg, Migrations } from "aegispay/pg"
import { SqlLedgerGateway } from "aegispay/testing"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { nodeArgs } from "../support/Children.js"

const PROCESSES = 4
const PAYMENTS = 1000
const worker = fileURLToPath(new URL("./worker.ts", import.meta.url))

const runWorker = (node: ReadonlyArray<string>, url: string, index: number) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [...node, String(PAYMENTS), String(index)], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += String(d)))
    child.stderr.on("data", (d) => (err += String(d)))
    child.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`worker ${index} exited ${code}: ${err}`))))
  })

describe.skipIf(databaseUrl === undefined)("several processes on one PostgreSQL database", () => {
  const databaseUrlOf = useTestDatabase("multiprocess")
  const withDb = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
    Effect.runPromise(Effect.provide(
      effect,
      Migrations.layer.pipe(
        Layer.provideMerge(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 2 }))
      )
    ))

  beforeAll(async () => {
    await withDb(SqlLedgerGateway.setup) // migrate once and create the ledger, before the workers start
  })

  it(`${PROCESSES} processes × the same ${PAYMENTS} payments → ${PAYMENTS} payments, ${PAYMENTS} charges`, async () => {
    const node = await nodeArgs(worker)
    const reports = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => runWorker(node, databaseUrlOf(), i)))
    const counts = await withDb(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ payments: string; charges: string; charged_payments: string; succeeded: string; mismatched: string }>`
        SELECT
          (SELECT count(*) FROM aegis_payments) AS payments,
          (SELECT count(*) FROM aegis_test_ledger WHERE outcome = 'charged') AS charges,
          (SELECT count(DISTINCT payment_id) FROM aegis_test_ledger WHERE outcome = 'charged') AS charged_payments,
          (SELECT count(*) FROM aegis_payments WHERE state = 'SUCCESS') AS succeeded,
          (SELECT count(*) FROM aegis_payments p
            WHERE p.version <> (SELECT count(*) FROM aegis_events e WHERE e.payment_id = p.id)) AS mismatched`
      return row!
    }))
    console.log(`multi-process: ${reports.join(" ")}`)
    expect(Number(counts.payments)).toBe(PAYMENTS)
    expect(Number(counts.charges)).toBe(PAYMENTS)
    expect(Number(counts.charged_payments)).toBe(PAYMENTS)
    expect(Number(counts.succeeded)).toBe(PAYMENTS)
    expect(Number(counts.mismatched)).toBe(0)
  }, 240_000)
})
