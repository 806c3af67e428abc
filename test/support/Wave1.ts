/**
 * The wave-1 database of test/fixtures/wave1.sql (see its header) and the current composition
 * that upgrades it, shared by the upgrade and schema tests.
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { readFileSync } from "node:fs"
import { GatewayRegistry } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest, MockGateway } from "aegispay/testing"

const fixture = readFileSync(new URL("../fixtures/wave1.sql", import.meta.url), "utf8")

/** Loads the wave-1 dump on a connection of its own (the dump sets its session's search_path). */
export const loadWave1 = (url: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(fixture)).pipe(
    Effect.asVoid,
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
  )

/** The fixture's payments (12) by idempotency key, with their states. */
export const wave1States: Record<string, string> = {
  "w1-success": "SUCCESS",
  "w1-success-2": "SUCCESS",
  "w1-success-3": "SUCCESS",
  "w1-declined": "FAILURE",
  "w1-insufficient": "FAILURE",
  "w1-manual": "SUCCESS",
  "w1-authorized": "AUTHORIZED",
  "w1-void": "CANCELLED",
  "w1-cancel": "CANCELLED",
  "w1-timeout": "SUCCESS",
  "w1-retry": "SUCCESS",
  "w1-initiated": "INITIATED"
}

/**
 * The mock gateway, standing in for the provider that still holds the wave-1 charges: the new
 * process's mock ledger does not know them, a real provider does, so a refund of a charge the
 * mock never saw is accepted.
 */
export const gateways = GatewayRegistry.layerFrom([
  Effect.map(MockGateway.make(), (mock) => ({
    ...mock.gateway,
    refund: (refund: Parameters<typeof mock.gateway.refund>[0]) =>
      mock.gateway.refund(refund).pipe(
        Effect.catchIf(
          (e) => e._tag === "GatewayDeclined" && e.code === "resource_missing",
          () => Effect.succeed({ refundId: `re_provider_${refund.idempotencyKey}` })
        )
      )
  }))
])

/** The current production composition on `url` with the test parts (its workers but recovery). */
export const currentOn = (url: string, options: { readonly schema?: string } = {}) =>
  AegisPayPg.layer({
    ...AegisPayTest.parts(),
    gateways,
    url: Redacted.make(url),
    maxConnections: 4,
    recovery: false,
    ...options
  })

