/**
 * The error of a storage backend that could not do its work (connection lost, statement failed).
 * Nothing is known to have been written when it is raised inside a transaction.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @since 0.1.0
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `storage ${this.operation} failed: ${this.reason}`
  }
}
