/**
 * The append-only log of payment events.
 *
 * Events are appended by {@link PaymentRepository} writes, in the same atomic step as the
 * snapshot, so the log and the snapshots never disagree. Per payment, sequence numbers start at 1
 * and have no gaps; `rebuild` folds them back into the payment.
 *
 * @since 0.1.0
 */
import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { MalformedEventLog, Payment } from "../domain/Payment.js"
import type { PaymentEvent } from "../domain/PaymentEvent.js"
import type { StorageError } from "./StorageError.js"

/**
 * @since 0.1.0
 */
export class EventStore extends Context.Tag("aegispay/EventStore")<EventStore, {
  /** The events of one payment, in sequence order. */
  readonly read: (paymentId: string) => Effect.Effect<ReadonlyArray<PaymentEvent>, StorageError>
  /** The payment rebuilt from its events alone; `None` when it has no events. */
  readonly rebuild: (paymentId: string) => Effect.Effect<Option.Option<Payment>, MalformedEventLog | StorageError>
}>() {}
