/**
 * What every card vault derives alike: the keyed inputs of the vault token and fingerprint, and
 * the token kept by payments. Not public.
 *
 * @internal
 */
import { Redacted } from "effect"
import { brandOf, type CardInput, CardToken } from "../domain/PaymentMethod.js"

/** The tenant of a vault call that names none. */
export const defaultTenant = "default"

/**
 * The keyed-hash input of the vault token: per tenant and card (number, expiry, holder), so the
 * same card tokenized twice for a tenant gives the same token, and another tenant another one.
 */
export const tokenInput = (tenantId: string, card: CardInput): Redacted.Redacted<string> =>
  Redacted.make(
    JSON.stringify(["aegispay/vault-token/v1", tenantId, Redacted.value(card.number), card.expiryMonth, card.expiryYear, card.holderName])
  )

/** The keyed-hash input of the card fingerprint: the number only, the same in every tenant. */
export const fingerprintInput = (card: CardInput): Redacted.Redacted<string> =>
  Redacted.make(`fingerprint:${Redacted.value(card.number)}`)

/** The token a payment keeps, from the keyed hashes (hex) of {@link tokenInput} and {@link fingerprintInput}. */
export const cardToken = (card: CardInput, tokenHash: string, fingerprintHash: string): CardToken => {
  const digits = Redacted.value(card.number)
  // every field comes from a decoded card (`CardInput`) and hex hashes: nothing to validate again
  return new CardToken({
    type: "card",
    brand: brandOf(digits),
    bin: digits.slice(0, 6),
    last4: digits.slice(-4),
    expiryMonth: card.expiryMonth,
    expiryYear: card.expiryYear,
    holderName: card.holderName,
    fingerprint: fingerprintHash.slice(0, 32),
    vaultToken: `card_${tokenHash.slice(0, 32)}`
  }, true)
}
