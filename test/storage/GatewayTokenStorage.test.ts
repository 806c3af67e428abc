/**
 * A gateway-token payment method round-trips through SQL storage (PGlite and real PostgreSQL):
 * the snapshot and the events hold `{ type: "gateway_token", gateway, token }`, a new process
 * (a fresh layer on the same database) reads and charges it at its gateway, and the SQL test
 * ledger gateway charges a token without the card vault.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import type { Layer } from "effect"
import { Effect, Layer as L, Option, Redacted, Schema } from "effect"
import { CardVault, EventStore, GatewayRegistry, Payment, PaymentRepository, PaymentService } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, MockGateway, SqlLedgerGateway, TestTokens } from "aegispay/testing"
import { request } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"

const encode = Schema.encodeSync(Payment.Payment)

const deadVault = L.succeed(
  CardVault.CardVault,
  CardVault.CardVault.of({
    tokenize: () => Effect.dieMessage("the card vault was called for a gateway token"),
    reveal: () => Effect.dieMessage("the card vault was called for a gateway token")
  })
)

const token = (gateway: string, value: string) => ({ type: "gateway_token" as const, gateway, token: value })

type Services = PaymentService.PaymentService | PaymentRepository.PaymentRepository | EventStore.EventStore | SqlClient.SqlClient

const suite = (name: string, layers: {
  readonly mock: () => Layer.Layer<Services | MockGateway.MockGateways, unknown>
  readonly ledger: () => Layer.Layer<Services, unknown>
}) =>
  describe(`gateway tokens in SQL storage: ${name}`, () => {
    const run = <A, E, R extends Services | MockGateway.MockGateways>(layer: Layer.Layer<R, unknown>, effect: Effect.Effect<A, E, R>) =>
      Effect.runPromise(Effect.scoped(Effect.provide(effect, layer)))

    it("the method round-trips through the snapshot and the events; another process charges it at its gateway", async () => {
      const created = await run(layers.mock(), Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        return yield* payments.createPayment(request({ idempotencyKey: "tok-sql", paymentMethod: token("beta", "pm_sql_1") }))
      }))
      // a fresh composition on the same database: what it reads was decoded from PostgreSQL
      const result = await run(layers.mock(), Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const read = yield* payments.getPayment(created.id)
        expect(read.paymentMethod).toEqual(created.paymentMethod)
        expect(read.paymentMethod).toMatchObject({ type: "gateway_token", gateway: "beta", token: "pm_sql_1" })
        const done = yield* payments.processPayment(created.id)
        const stored = Option.getOrThrow(yield* (yield* PaymentRepository.PaymentRepository).findById(created.id))
        const rebuilt = Option.getOrThrow(yield* (yield* EventStore.EventStore).rebuild(created.id))
        expect(encode(rebuilt)).toEqual(encode(stored))
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ method: unknown }>`SELECT snapshot::jsonb -> 'paymentMethod' AS method FROM aegis_payments WHERE id = ${created.id}`
        const method = rows[0]?.method
        expect(typeof method === "string" ? JSON.parse(method) : method).toEqual({ type: "gateway_token", gateway: "beta", token: "pm_sql_1" })
        const mocks = yield* MockGateway.MockGateways
        const charges = Object.fromEntries([...mocks].map(([id, mock]) => [id, mock.ledger]))
        return {
          state: done.state,
          gateways: done.attempts.map((a) => a.gateway),
          alpha: (yield* charges.alpha!).charges.length,
          beta: (yield* charges.beta!).charges.length
        }
      }))
      expect(result).toEqual({ state: "SUCCESS", gateways: ["beta"], alpha: 0, beta: 1 })
    }, 60_000)

    it("the SQL test ledger charges and declines gateway tokens without the vault", () =>
      run(layers.ledger(), Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const ok = yield* payments.createPayment(request({ idempotencyKey: "ledger-ok", paymentMethod: token("ledger", TestTokens.success) }))
        expect((yield* payments.processPayment(ok.id)).state).toBe("SUCCESS")
        const no = yield* payments.createPayment(request({ idempotencyKey: "ledger-no", paymentMethod: token("ledger", TestTokens.declined) }))
        const declined = yield* payments.processPayment(no.id)
        expect([declined.state, declined.declineCode]).toEqual(["FAILURE", "card_declined"])
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ payment_id: string; outcome: string }>`
          SELECT payment_id, outcome FROM aegis_test_ledger WHERE payment_id IN (${ok.id}, ${no.id}) ORDER BY outcome`
        expect(rows.map((r) => [r.payment_id, r.outcome])).toEqual([[ok.id, "charged"], [no.id, "declined"]])
      })), 60_000)
  })

const ledgerGateways = L.effect(
  GatewayRegistry.GatewayRegistry,
  Effect.flatMap(SqlLedgerGateway.make(), (gateway) => GatewayRegistry.make([gateway]))
)
const mockParts = () => AegisPayTest.parts({ mockGateways: [{ id: "alpha" }, { id: "beta" }] })
const quiet = { relay: false, recovery: false, retention: false } as const

describe.skipIf(databaseUrl === undefined)("postgres", () => {
  const url = useTestDatabase("tokens")
  suite("postgres", {
    mock: () => AegisPayPg.layer({ ...mockParts(), vault: deadVault, ...quiet, url: Redacted.make(url()) }),
    ledger: () => AegisPayPg.layer({ gateways: ledgerGateways, vault: deadVault, ...quiet, url: Redacted.make(url()) })
  })
})
