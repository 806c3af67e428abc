/**
 * Where a storage layer hands the events of a committed write for in-process delivery.
 *
 * Storage does not know the `EventBus` (that would make `storage` and `events` import each
 * other): the memory storage publishes committed events to this sink right after the write, and
 * `EventBus.layer` provides the sink as its own `publish`. (SQL storage delivers through the
 * transactional outbox and the relay instead, see `OutboxSignal`.)
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { PaymentEvent } from "../domain/PaymentEvent.js"

/**
 * @since 0.1.0
 */
export class CommittedEvents extends Context.Tag("aegispay/CommittedEvents")<CommittedEvents, {
  /** Delivers the events of a committed write, in order; never fails and never waits long. */
  readonly publish: (events: ReadonlyArray<PaymentEvent>) => Effect.Effect<void>
}>() {}
