/**
 * The card vault: the one place that holds card numbers, so that nothing else has to.
 *
 * `tokenize` turns a validated {@link CardInput} into a {@link CardToken} (brand, BIN, last four,
 * expiry, a keyed fingerprint and an opaque vault reference). Only gateway adapters call
 * `reveal`, to pass the card to their provider. The CVV is checked at the boundary and then
 * dropped: it is never kept, not even in the vault.
 *
 * The memory vault keeps cards in process memory, as `Redacted` values. In production, plug in
 * your provider's tokenisation or a PCI-compliant vault behind the same interface.
 *
 * @since 0.1.0
 */
import { Config, Context, Effect, Layer, Redacted, Schema } from "effect"
import { createHmac } from "node:crypto"
import { brandOf, CardToken } from "../domain/PaymentMethod.js"
import type { CardInput } from "../domain/PaymentMethod.js"

/**
 * What the vault gives a gateway adapter: the card number and expiry, redacted.
 *
 * @since 0.1.0
 */
export interface VaultedCard {
  readonly number: Redacted.Redacted<string>
  readonly expiryMonth: number
  readonly expiryYear: number
  readonly holderName: string
}

/**
 * The vault holds no card under this token.
 *
 * @since 0.1.0
 */
export class CardNotInVault extends Schema.TaggedError<CardNotInVault>()("CardNotInVault", {
  vaultToken: Schema.String
}) {
  override get message(): string {
    return `no card in the vault under ${this.vaultToken}`
  }
}

/**
 * @since 0.1.0
 */
export class CardVault extends Context.Tag("aegispay/CardVault")<CardVault, {
  /** Stores the card and returns what may be kept. The same card gives the same token. */
  readonly tokenize: (card: CardInput) => Effect.Effect<CardToken>
  /** The card behind a token; for gateway adapters only. */
  readonly reveal: (vaultToken: string) => Effect.Effect<VaultedCard, CardNotInVault>
}>() {}

const hmac = (key: Redacted.Redacted<string>, data: string): string =>
  createHmac("sha256", Redacted.value(key)).update(data).digest("hex")

/**
 * A vault in process memory. `fingerprintKey` keys the card fingerprints: with it the
 * fingerprint of a known card can be recomputed, without it the fingerprint reveals nothing.
 *
 * @since 0.1.0
 */
export const make = (fingerprintKey: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    // Plain Map mutated inside Effect.sync: each step runs atomically on the JS thread, O(1).
    const cards = yield* Effect.sync(() => new Map<string, VaultedCard>())
    return CardVault.of({
      tokenize: (card) => {
        const digits = Redacted.value(card.number)
        const vaultToken = `card_${
          hmac(fingerprintKey, `token:${digits}:${card.expiryMonth}:${card.expiryYear}:${card.holderName}`).slice(0, 24)
        }`
        const token = new CardToken({
          type: "card",
          brand: brandOf(digits),
          bin: digits.slice(0, 6),
          last4: digits.slice(-4),
          expiryMonth: card.expiryMonth,
          expiryYear: card.expiryYear,
          holderName: card.holderName,
          fingerprint: hmac(fingerprintKey, `fingerprint:${digits}`).slice(0, 32),
          vaultToken
        })
        return Effect.sync(() => {
          if (!cards.has(vaultToken)) {
            cards.set(vaultToken, {
              number: card.number,
              expiryMonth: card.expiryMonth,
              expiryYear: card.expiryYear,
              holderName: card.holderName
            })
          }
          return token
        })
      },
      reveal: (vaultToken) =>
        Effect.suspend(() => {
          const card = cards.get(vaultToken)
          return card === undefined ? Effect.fail(new CardNotInVault({ vaultToken })) : Effect.succeed(card)
        })
    })
  })

/**
 * A memory vault layer.
 *
 * @since 0.1.0
 */
export const layerMemory = (fingerprintKey: Redacted.Redacted<string>): Layer.Layer<CardVault> =>
  Layer.effect(CardVault, make(fingerprintKey))

/**
 * A memory vault keyed by `AEGISPAY_FINGERPRINT_KEY` from the `Config` provider (required: a
 * missing key is a `ConfigError` when the layer is built, never a default).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  fingerprintKey: Config.Config<Redacted.Redacted<string>> = Config.redacted("AEGISPAY_FINGERPRINT_KEY")
) => Layer.effect(CardVault, Effect.flatMap(fingerprintKey, make))
