/**
 * The SQL test gateway's ledger belongs to the test kit: a migrated database has no
 * `aegis_test_ledger*` tables (migration 0012 drops the empty ones 0002 created), the gateway
 * creates them itself, and a database whose ledger holds data keeps it across the migration.
 */
import { describe, expect, it } from "@effect/vitest"
import { Migrator, SqlClient } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"
import { GatewayRegistry, PaymentService } from "aegispay"
import { AegisPayPg, Migrations } from "aegispay/pg"
import { AegisPayTest, SqlLedgerGateway } from "aegispay/testing"
import { request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"

const ledgerTables = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ name: string }>`SELECT c.relname AS name FROM pg_class c
      WHERE c.relname LIKE 'aegis\\_test\\_ledger%' AND c.relkind = 'r' ORDER BY 1`
).pipe(Effect.map((rows) => rows.map((r) => r.name)))

const clientOn = (url: string) => AegisPayPg.layerClient({ url: Redacted.make(url), maxConnections: 2 })

describe.skipIf(databaseUrl === undefined)("the SQL test ledger on PostgreSQL", () => {
  const freshUrl = useTestDatabase("ledger_fresh")
  const usedUrl = useTestDatabase("ledger_used")

  it.live("a migrated database has no test-ledger table; the gateway's setup creates them and it charges", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        expect(yield* ledgerTables).toEqual([])
      }).pipe(Effect.provide(Migrations.layer.pipe(Layer.provideMerge(clientOn(freshUrl())))))

      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        expect(yield* ledgerTables).toEqual(["aegis_test_ledger", "aegis_test_ledger_ops"])
        const payments = yield* PaymentService.PaymentService
        const payment = yield* payments.createPayment(request({ idempotencyKey: "ledger-1" }))
        expect((yield* payments.processPayment(payment.id)).state).toBe("SUCCESS")
        yield* payments.refundPayment({ paymentId: payment.id, idempotencyKey: "ledger-rf", amount: "1.00" })
        const rows = yield* sql<{ payment_id: string; refunded_minor: string }>`
          SELECT payment_id, refunded_minor::text FROM aegis_test_ledger`
        expect(rows).toEqual([{ payment_id: payment.id, refunded_minor: "100" }])
        yield* SqlLedgerGateway.setup // again: idempotent, keeps the rows
        expect((yield* sql`SELECT 1 FROM aegis_test_ledger`).length).toBe(1)
      }).pipe(
        Effect.provide(AegisPayPg.layer({
          ...AegisPayTest.parts(),
          gateways: GatewayRegistry.layerFrom([SqlLedgerGateway.make()]),
          url: Redacted.make(freshUrl()),
          maxConnections: 4,
          recovery: false,
          relay: false,
          retention: false
        })),
        Effect.scoped
      )
    }), 60_000)

  it.live("a database whose test ledger holds data keeps it through migration 0012", () =>
    Effect.gen(function*() {
      const upTo10 = Migrator.fromRecord(
        Object.fromEntries(Object.entries(Migrations.migrations).filter(([key]) => key < "0012"))
      )
      yield* Migrations.prepare
      yield* PgMigrator.run({ loader: upTo10, table: "aegis_migrations" }).pipe(Effect.provide(NodeContext.layer))
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO aegis_test_ledger_ops (idempotency_key, transaction_id, kind, amount_minor, result_id)
                 VALUES ('k', 't', 'refund', 1, 'r')`
      yield* Effect.provide(Layer.build(Migrations.layer), NodeContext.layer).pipe(Effect.scoped)
      expect(yield* ledgerTables).toEqual(["aegis_test_ledger", "aegis_test_ledger_ops"])
      expect((yield* sql`SELECT 1 FROM aegis_test_ledger_ops`).length).toBe(1)
    }).pipe(Effect.provide(clientOn(usedUrl()))), 60_000)
})
