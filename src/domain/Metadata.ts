/**
 * Merchant metadata attached to a payment.
 *
 * Rules (checked, never silently dropped): at most 50 keys; keys are letters, digits and
 * underscore, 1 to 128 characters; values are strings of at most 1,000 characters, finite
 * numbers or booleans. A violation is a parse error naming the key.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

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
 * A metadata key.
 *
 * @since 0.1.0
 */
export const MetadataKey = Schema.String.pipe(
  Schema.filter((key) =>
    key.length === 0
      ? "metadata key must not be empty"
      : key.length > MAX_KEY_LENGTH
      ? `metadata key ${JSON.stringify(key.slice(0, 32))}… is longer than ${MAX_KEY_LENGTH} characters`
      : KEY.test(key) || `metadata key ${JSON.stringify(key)} may contain only letters, digits and underscore`
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
    })
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
