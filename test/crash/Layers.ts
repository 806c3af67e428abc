/**
 * The composition shared by the crash child and the parent that recovers after it: every AegisPay
 * service on PostgreSQL (no outbox relay: delivery is checked after the restart), with the SQL
 * ledger gateway (`"ledger"`), whose ledger in PostgreSQL is the ground truth of what was charged.
 */
import { type Duration, Effect, Layer, Redacted } from "effect"
import { AegisPay, type Gateway, GatewayRegistry, KeyManagement } from "aegispay"
import { AegisPayPg, SqlCardVault, SqlLockManager } from "aegispay/pg"
import { AegisPayTest, SqlLedgerGateway, TestCards } from "aegispay/testing"

/**
 * The keys of the SQL card vault: both processes use the same, as a real deployment does across
 * restarts. The card is tokenized only by the process that creates a payment; a restarted process
 * reads it from the encrypted vault in PostgreSQL.
 */
const keys = {
  current: { id: "crash-kek", key: Redacted.make<Uint8Array>(new Uint8Array(32).fill(7)) },
  fingerprintKey: Redacted.make<Uint8Array>(new Uint8Array(32).fill(9))
}

/** The card every crash payment uses. */
export const card = {
  type: "card" as const,
  number: TestCards.success,
  expiryMonth: 12,
  expiryYear: 2099,
  cvv: "123",
  holderName: "Crash Test"
}

/**
 * AegisPay on `url`. `ttl` is the payment leases' life: a killed process's leases expire after it,
 * and a restarted process's lock waits for that (bounded by the lock's wait timeout).
 */
export const layer = (url: string, ttl: Duration.DurationInput) =>
  AegisPay.layerWith({
    gateways: AegisPayTest.layerGateways(),
    vault: SqlCardVault.layer.pipe(Layer.provide(KeyManagement.layer(keys))),
    storage: AegisPayPg.layerStorage(false),
    locks: SqlLockManager.layer({ ttl })
  }).pipe(
    Layer.provideMerge(AegisPayPg.layerClient({ url: Redacted.make(url), maxConnections: 4 }))
  )

/**
 * Registers the ledger gateway, changed by `wrap` (the child wraps it with its kill point).
 */
export const registerLedger = (wrap: (gateway: Gateway.Gateway) => Gateway.Gateway = (g) => g) =>
  Effect.gen(function*() {
    const ledger = yield* SqlLedgerGateway.make()
    yield* (yield* GatewayRegistry.GatewayRegistry).register(wrap(ledger))
  })
