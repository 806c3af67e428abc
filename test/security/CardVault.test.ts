/**
 * The vault's tenant argument end to end: the memory vault scopes tokens by tenant, and
 * PaymentService passes the payment's tenant to `tokenize` and, through the gateway request, to
 * `reveal` (with the memory vault, and with SqlCardVault under SQL storage).
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Redacted } from "effect"
import { CardVault, CircuitBreaker, EventBus, GatewayMetrics, GatewayRegistry, Hooks, Ids, PaymentService, Router, Tenant } from "aegispay"
import { Embedded } from "aegispay/embedded"
import { Migrations, SqlLockManager, SqlStorage } from "aegispay/pg"
import { AegisPayTest, MemoryCardVault, SqlLedgerGateway } from "aegispay/testing"
import * as KeyManagement from "../../src/security/KeyManagement.js"
import * as SqlCardVault from "../../src/security/SqlCardVault.js"
import { cardInput, fingerprintKey, kek, numbers } from "./Keys.js"

const createAndProcess = (tenantId: string | undefined, key: string) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const created = yield* payments.createPayment({
      idempotencyKey: key,
      ...(tenantId === undefined ? {} : { tenantId }),
      amount: "10.00",
      currency: "USD",
      paymentMethod: { type: "card", number: numbers[0], expiryMonth: 12, expiryYear: 2031, cvv: "987", holderName: "Ada" },
      customer: { id: "cus_1", email: "ada@example.com" }
    })
    return yield* payments.processPayment(created.id)
  }).pipe(Tenant.with(tenantId ?? Tenant.defaultId))

describe("CardVault.layerMemory", () => {
  it.effect("tokens are per tenant; a token reveals only for its tenant", () =>
    Effect.gen(function*() {
      const vault = yield* CardVault.CardVault
      const card = cardInput(numbers[0])
      const a = yield* vault.tokenize(card, "a")
      const b = yield* vault.tokenize(card, "b")
      const d = yield* vault.tokenize(card)
      expect(a.vaultToken).not.toBe(b.vaultToken)
      expect(a.fingerprint).toBe(b.fingerprint)
      expect(yield* vault.tokenize(card, "a")).toEqual(a)
      expect(Redacted.value((yield* vault.reveal(a.vaultToken, "a")).number)).toBe(numbers[0])
      expect(Redacted.value((yield* vault.reveal(d.vaultToken)).number)).toBe(numbers[0])
      expect(yield* vault.tokenize(card, CardVault.defaultTenant)).toEqual(d)
      expect((yield* Effect.flip(vault.reveal(a.vaultToken, "b")))._tag).toBe("CardNotInVault")
      expect((yield* Effect.flip(vault.reveal(a.vaultToken)))._tag).toBe("CardNotInVault")
    }).pipe(Effect.provide(MemoryCardVault.layer(Redacted.make("k")))))

  it.effect("a payment of another tenant than the default is charged (the tenant reaches the gateway's reveal)", () =>
    Effect.gen(function*() {
      expect((yield* createAndProcess("acme", "order-acme")).state).toBe("SUCCESS")
      expect((yield* createAndProcess(undefined, "order-default")).state).toBe("SUCCESS")
    }).pipe(Effect.provide(AegisPayTest.layerMemory({ ids: "sequential" }))))
})

/** PaymentService on PGlite with the SQL vault and a gateway whose ledger is a SQL table. */
const onSql = () => {
  const client = Layer.provideMerge(Migrations.layer, Embedded.layerClient())
  const base = Layer.mergeAll(
    SqlCardVault.layer.pipe(Layer.provide(KeyManagement.layer({ current: kek("kek-1"), fingerprintKey }))),
    Ids.layer
  )
  const registry = Layer.effect(
    GatewayRegistry.GatewayRegistry,
    Effect.flatMap(SqlLedgerGateway.make(), (gateway) => GatewayRegistry.make([gateway]))
  )
  return PaymentService.layer().pipe(
    Layer.provideMerge(Layer.mergeAll(
      registry,
      SqlStorage.layer,
      SqlLockManager.layer(),
      EventBus.layer(),
      CircuitBreaker.layer(),
      GatewayMetrics.layer(),
      Router.layerRegistrationOrder,
      Hooks.layer()
    )),
    Layer.provideMerge(base),
    Layer.provideMerge(client),
    Layer.orDie
  )
}

describe("SqlCardVault under PaymentService (PGlite)", () => {
  it.live("payments of two tenants are charged with cards from the SQL vault", () =>
    Effect.gen(function*() {
      expect((yield* createAndProcess("acme", "order-1")).state).toBe("SUCCESS")
      expect((yield* createAndProcess(undefined, "order-1")).state).toBe("SUCCESS")
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ tenant_id: string }>`SELECT tenant_id FROM aegis_card_vault ORDER BY tenant_id`
      expect(rows.map((r) => r.tenant_id)).toEqual(["acme", "default"])
    }).pipe(Effect.provide(onSql())), 60_000)
})
