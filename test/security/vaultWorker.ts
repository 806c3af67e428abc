/**
 * Another OS process on the same vault: keys from the environment (KeyManagement.layerConfig),
 * cards from PostgreSQL.
 *
 *   DATABASE_URL=… AEGISPAY_KEK=… AEGISPAY_KEK_ID=… AEGISPAY_FINGERPRINT_KEY=… \
 *   TENANT=… CARD_NUMBER=… node --import tsx test/security/vaultWorker.ts tokenize
 *   … VAULT_TOKEN=… node --import tsx test/security/vaultWorker.ts reveal
 *
 * Prints one JSON line: `{ vaultToken }` or `{ last4, sha256 }` (never the number).
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer, Redacted, Schema } from "effect"
import { createHash } from "node:crypto"
import { CardVault, PaymentMethod } from "aegispay"
import * as SqlCardVault from "../../src/security/SqlCardVault.js"

const program = Effect.gen(function*() {
  const vault = yield* CardVault.CardVault
  const tenant = yield* Config.string("TENANT")
  if (process.argv[2] === "tokenize") {
    const number = yield* Config.redacted("CARD_NUMBER")
    const card = yield* Schema.decodeUnknown(PaymentMethod.CardInput)({
      type: "card",
      number: Redacted.value(number),
      expiryMonth: 12,
      expiryYear: 2031,
      cvv: "987",
      holderName: "Ada Lovelace"
    })
    const token = yield* vault.tokenize(card, tenant)
    return { vaultToken: token.vaultToken }
  }
  const card = yield* vault.reveal(yield* Config.string("VAULT_TOKEN"), tenant)
  const number = Redacted.value(card.number)
  return { last4: number.slice(-4), sha256: createHash("sha256").update(number).digest("hex") }
})

const layer = SqlCardVault.layerConfig.pipe(
  Layer.provide(PgClient.layerConfig({ url: Config.redacted("DATABASE_URL"), maxConnections: Config.succeed(1) }))
)

Effect.runPromise(Effect.provide(program, layer)).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(String(error))
    process.exit(1)
  }
)
