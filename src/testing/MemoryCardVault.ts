/**
 * A card vault in process memory, for tests and single-process demos only: cards are lost with
 * the process and held as `Redacted` values, never encrypted. Production compositions use
 * `SqlCardVault` (aegispay/pg).
 *
 * @since 0.1.0
 */
import { Effect, Layer, Redacted } from "effect"
import { createHmac } from "node:crypto"
import { CardNotInVault, CardVault, type VaultedCard } from "../gateway/CardVault.js"
import * as internal from "../internal/cardVault.js"

const hmac = (key: Redacted.Redacted<string>, data: Redacted.Redacted<string>): string =>
  createHmac("sha256", Redacted.value(key)).update(Redacted.value(data)).digest("hex")

/** The most keyed hashes a memory vault remembers (the oldest is forgotten first). */
const HASHES_REMEMBERED = 1024

/**
 * `hmac` under one key, remembering its latest answers: a pure function of its input, so a card
 * tokenized again (the same customer paying again) costs no new hash. The inputs are card data,
 * kept in process memory as the vault's cards are.
 */
const rememberingHmac = (key: Redacted.Redacted<string>) => {
  const hashes = new Map<string, string>()
  return (data: Redacted.Redacted<string>): string => {
    const input = Redacted.value(data)
    const known = hashes.get(input)
    if (known !== undefined) return known
    const hash = hmac(key, data)
    hashes.set(input, hash)
    if (hashes.size > HASHES_REMEMBERED) {
      const oldest = hashes.keys().next()
      if (oldest.done !== true) hashes.delete(oldest.value)
    }
    return hash
  }
}

/**
 * A vault in process memory. `fingerprintKey` keys the card fingerprints and vault tokens: with
 * it the fingerprint of a known card can be recomputed, without it the fingerprint reveals
 * nothing. Cards are lost with the process.
 *
 * @since 0.1.0
 */
export const make = (fingerprintKey: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    // Plain Map mutated inside Effect.sync: each step runs atomically on the JS thread, O(1).
    const cards = yield* Effect.sync(() => new Map<string, VaultedCard>())
    const keyOf = (tenantId: string, vaultToken: string) => JSON.stringify([tenantId, vaultToken])
    const keyed = rememberingHmac(fingerprintKey)
    return CardVault.of({
      tokenize: (card, tenantId = internal.defaultTenant) =>
        Effect.sync(() => {
          const token = internal.cardToken(
            card,
            keyed(internal.tokenInput(tenantId, card)),
            keyed(internal.fingerprintInput(card))
          )
          const key = keyOf(tenantId, token.vaultToken)
          if (!cards.has(key)) {
            cards.set(key, {
              number: card.number,
              expiryMonth: card.expiryMonth,
              expiryYear: card.expiryYear,
              holderName: card.holderName
            })
          }
          return token
        }),
      reveal: (vaultToken, tenantId = internal.defaultTenant) =>
        Effect.suspend(() => {
          const card = cards.get(keyOf(tenantId, vaultToken))
          return card === undefined ? Effect.fail(new CardNotInVault({ vaultToken })) : Effect.succeed(card)
        })
    })
  })

/**
 * A memory vault layer.
 *
 * @since 0.1.0
 */
export const layer = (fingerprintKey: Redacted.Redacted<string>): Layer.Layer<CardVault> =>
  Layer.effect(CardVault, make(fingerprintKey))
