/**
 * The composition shared by the crash child and the parent that recovers after it: every AegisPay
 * service on PostgreSQL (no outbox relay: delivery is checked after the restart), with the SQL
 * ledger gateway (`"ledger"`), whose ledger in PostgreSQL is the ground truth of what was charged.
 */
import { type Duration, Effect, Layer, Redacted } from "effect"
import { AegisPay, CardVault, type Gateway, GatewayRegistry } from "aegispay"
import { AegisPayPg, SqlLockManager } from "aegispay/pg"
import { AegisPayTest, SqlLedgerGateway, TestCards } from "aegispay/testing"

/** Both processes key the vault alike, as a real deployment shares its vault across restarts. */
export const fingerprintKey = Redacted.make("crash-injection-key")

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
    vault: AegisPayTest.vaultOf({ fingerprintKey }),
    storage: AegisPayPg.layerStorage(false),
    locks: SqlLockManager.layer({ ttl })
  }).pipe(
    Layer.provideMerge(AegisPayPg.layerClient({ url: Redacted.make(url), maxConnections: 4 }))
  )

/**
 * Registers the ledger gateway, changed by `wrap` (the child wraps it with its kill point), and
 * puts the test card in this process's vault (a restarted process needs it to resend a charge:
 * in production the vault is the provider's and outlives the process).
 */
export const registerLedger = (wrap: (gateway: Gateway.Gateway) => Gateway.Gateway = (g) => g) =>
  Effect.gen(function*() {
    const ledger = yield* SqlLedgerGateway.make()
    yield* (yield* GatewayRegistry.GatewayRegistry).register(wrap(ledger))
    const vault = yield* CardVault.CardVault
    yield* vault.tokenize({ ...card, number: Redacted.make(card.number), cvv: Redacted.make(card.cvv) })
  })
