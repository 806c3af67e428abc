/**
 * The vault keys of the facade (`keys` of `new AegisPay(config)`).
 *
 * @since 0.2.0
 */

/**
 * The keys of the card vault (and of everything sealed with it), as base64 strings.
 *
 * @since 0.2.0
 */
export interface KeysInput {
  /** The id of the current key-encryption key, stored with what it wraps (e.g. `"kek-2026-12"`). */
  readonly kekId: string
  /** The current key-encryption key: base64 of 32 bytes (`openssl rand -base64 32`). */
  readonly kek: string
  /** The key of card fingerprints: base64 of at least 32 bytes, unlike every KEK. */
  readonly fingerprintKey: string
  /** Retired KEKs by id (base64), still able to unwrap what they wrapped. */
  readonly retired?: Readonly<Record<string, string>> | undefined
}
