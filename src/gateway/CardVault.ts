/**
 * The card vault: the one place that holds card numbers, so that nothing else has to.
 *
 * `tokenize` turns a validated {@link CardInput} into a {@link CardToken} (brand, BIN, last four,
 * expiry, a keyed fingerprint and an opaque vault reference) for a tenant. Only gateway adapters
 * call `reveal`, to pass the card to their provider, for the tenant of the payment. The CVV is
 * checked at the boundary and then dropped: it is never kept, not even in the vault (PCI DSS
 * forbids keeping it after authorization; AegisPay does not keep it before either).
 *
 * Implementations:
 * - {@link layerMemory} here keeps cards in process memory, as `Redacted` values: tests and
 *   single-process demos (a card tokenized in one process cannot be revealed by another);
 * - `SqlCardVault` (security/) keeps them envelope-encrypted in PostgreSQL, for every process
 *   and across restarts;
 * - or a provider's tokenisation / a PCI-compliant vault behind the same tag.
 *
 * Every implementation guarantees: the same card tokenized twice for a tenant gives the same
 * token; a token is revealed only for the tenant it was tokenized for (for another tenant it is
 * `CardNotInVault`); no card number, CVV or key appears in an error or a log line.
 *
 * @since 0.1.0
 */
import { Context, Schema } from "effect"
import type { Effect, Redacted } from "effect"
import type { CardInput, CardToken } from "../domain/PaymentMethod.js"
import * as internal from "../internal/cardVault.js"
import type { StorageError } from "../storage/StorageError.js"

/**
 * The tenant of a vault call that names none: `"default"`, as in `CreatePaymentRequest`.
 *
 * @since 0.1.0
 */
export const defaultTenant: string = internal.defaultTenant

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
 * The vault holds no card under this token for this tenant.
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
 * The vault holds a record under this token but cannot open it: the record was altered or copied
 * from another tenant or token (`decryption_failed`), or the key-encryption key `keyId` is not
 * configured (`unknown_key_id`: it was retired before rotation finished).
 *
 * @since 0.1.0
 */
export class CardUnreadable extends Schema.TaggedError<CardUnreadable>()("CardUnreadable", {
  vaultToken: Schema.String,
  keyId: Schema.String,
  reason: Schema.Literal("decryption_failed", "unknown_key_id")
}) {
  override get message(): string {
    return this.reason === "unknown_key_id"
      ? `the card under ${this.vaultToken} is encrypted under key "${this.keyId}", which is not configured`
      : `the card under ${this.vaultToken} failed authenticated decryption (key "${this.keyId}"): altered or misplaced record`
  }
}

/**
 * @since 0.1.0
 */
export class CardVault extends Context.Tag("aegispay/CardVault")<CardVault, {
  /**
   * Stores the card for `tenantId` (default {@link defaultTenant}) and returns what may be kept.
   * The same card for the same tenant gives the same token. `StorageError`: the vault's store or
   * key service failed; nothing is known to be stored, and the call may be repeated.
   */
  readonly tokenize: (card: CardInput, tenantId?: string) => Effect.Effect<CardToken, StorageError>
  /** The card behind a token of `tenantId` (default {@link defaultTenant}); for gateway adapters only. */
  readonly reveal: (
    vaultToken: string,
    tenantId?: string
  ) => Effect.Effect<VaultedCard, CardNotInVault | CardUnreadable | StorageError>
}>() {}
