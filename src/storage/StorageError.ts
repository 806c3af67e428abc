/**
 * The error of a storage backend that could not do its work (connection lost, statement failed).
 * Nothing is known to have been written when it is raised inside a transaction.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { maskCardNumbers } from "../domain/Sanitize.js"

/**
 * `reason` (often the database's own message, which may quote a value) has card numbers masked
 * (see `Sanitize.maskCardNumbers`).
 *
 * @since 0.1.0
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  constructor(props: { readonly operation: string; readonly reason: string }, options?: Schema.MakeOptions) {
    super({ operation: props.operation, reason: maskCardNumbers(props.reason) }, options)
  }
  override get message(): string {
    return `storage ${this.operation} failed: ${this.reason}`
  }
}
