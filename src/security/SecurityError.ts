/**
 * The errors of key management and envelope encryption. None of them carries key material,
 * plaintext or card data: only key ids and what went wrong.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Data protected under a key-encryption key (KEK) that is not configured: the key was removed
 * before every record under it was re-wrapped (see `SqlCardVault.rotate`), or the data comes
 * from another deployment.
 *
 * @since 0.1.0
 */
export class UnknownKeyId extends Schema.TaggedError<UnknownKeyId>()("UnknownKeyId", {
  keyId: Schema.String
}) {
  override get message(): string {
    return `no key-encryption key with id "${this.keyId}" is configured`
  }
}

/**
 * Authenticated decryption failed: the key is wrong, the data was altered, or the data was
 * opened in another context than the one it was sealed for (another tenant or vault token).
 * `stage` says whether the wrapped data key or the payload failed.
 *
 * @since 0.1.0
 */
export class DecryptionFailed extends Schema.TaggedError<DecryptionFailed>()("DecryptionFailed", {
  keyId: Schema.String,
  stage: Schema.Literal("data_key", "payload")
}) {
  override get message(): string {
    return `decryption of the ${this.stage === "data_key" ? "wrapped data key" : "payload"} under key "${this.keyId}" failed: wrong key, wrong context or altered data`
  }
}

/**
 * The key service could not be reached or refused the request (a KMS or HSM behind
 * `KeyManagement`). Nothing was decrypted; the operation may be retried.
 *
 * @since 0.1.0
 */
export class KeyManagementUnavailable extends Schema.TaggedError<KeyManagementUnavailable>()(
  "KeyManagementUnavailable",
  { operation: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `key management ${this.operation} failed: ${this.reason}`
  }
}

/**
 * Key material given to `KeyManagement.make` / `layer` is unusable (wrong length, empty or
 * duplicate key id). The message names the key id, never the key.
 *
 * @since 0.1.0
 */
export class InvalidKeyMaterial extends Schema.TaggedError<InvalidKeyMaterial>()("InvalidKeyMaterial", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid key material: ${this.reason}`
  }
}
