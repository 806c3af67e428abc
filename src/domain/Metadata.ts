/**
 * Merchant metadata attached to a payment.
 *
 * Rules (checked, never silently dropped): at most 50 keys; keys are letters, digits and
 * underscore, 1 to 128 characters, except `__proto__` (reserved: a JavaScript object cannot hold
 * it as a plain key, so it would be lost); values are strings of at most 1,000 characters that
 * every storage backend can hold (no NUL, no unpaired surrogate), finite numbers or booleans. A
 * violation is a parse error naming the key. Every key accepted is stored exactly as sent.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { isStorable, quote, unstorableMessage } from "./Sanitize.js"

/**
 * @since 0.1.0
 */
export const MAX_KEYS = 50

/**
 * @since 0.1.0
 */
export const MAX_KEY_LENGTH = 128

/**
 * @since 0.1.0
 */
export const MAX_STRING_LENGTH = 1000

const KEY = /^[A-Za-z0-9_]+$/

/**
 * Keys refused although they match the key pattern: `__proto__` is an accessor on every plain
 * object, so assigning it stores nothing and the key would silently vanish.
 *
 * @since 0.1.0
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__"])

/**
 * A metadata key.
 *
 * @since 0.1.0
 */
export const MetadataKey = Schema.String.pipe(
  Schema.filter((key) =>
    key.length === 0
      ? "metadata key must not be empty"
      : key.length > MAX_KEY_LENGTH
      ? `metadata key ${quote(key, 32)} is longer than ${MAX_KEY_LENGTH} characters`
      : !KEY.test(key)
      ? `metadata key ${quote(key, 140)} may contain only letters, digits and underscore`
      : !RESERVED_KEYS.has(key) || `metadata key ${JSON.stringify(key)} is reserved`
  )
)

/**
 * A metadata value.
 *
 * @since 0.1.0
 */
export const MetadataValue = Schema.Union(
  Schema.String.pipe(
    Schema.maxLength(MAX_STRING_LENGTH, {
      message: () => `metadata string values are at most ${MAX_STRING_LENGTH} characters`
    }),
    Schema.filter((value) => isStorable(value) || unstorableMessage("metadata string values"))
  ),
  Schema.Number.pipe(Schema.finite({ message: () => "metadata numbers must be finite" })),
  Schema.Boolean
)

/**
 * Payment metadata.
 *
 * @since 0.1.0
 */
export const Metadata = Schema.Record({ key: MetadataKey, value: MetadataValue }).pipe(
  Schema.filter((record) => {
    const count = Object.keys(record).length
    return count <= MAX_KEYS || `metadata has ${count} keys; at most ${MAX_KEYS} are allowed`
  })
)

/**
 * @since 0.1.0
 */
export type Metadata = typeof Metadata.Type
