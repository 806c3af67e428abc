/**
 * An in-process announcement that outbox rows were committed, so that a relay in the same
 * process wakes at once instead of waiting for its next poll or for a NOTIFY (which, on the
 * embedded PGlite, does not cross connections at all).
 *
 * The SQL storage layer announces after each write that committed events; an outbox relay
 * subscribes. It lives in `storage/` so that storage never imports the relay: the relay depends
 * on this tag, not the other way round.
 *
 * - An announcement never waits and never fails: a subscriber that has not yet taken the previous
 *   one keeps a single pending wake-up (announcements coalesce, none is needed to be exact).
 * - It is only a hint: a relay still polls, and relays in other processes rely on NOTIFY.
 * - A relay registers while it runs ({@link OutboxSignal} `relayRunning`): the SQL storage layer
 *   sends relays in other processes a NOTIFY only while no relay runs in this one.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, PubSub } from "effect"
import type { Queue, Scope } from "effect"

/**
 * @since 0.1.0
 */
export class OutboxSignal extends Context.Tag("aegispay/OutboxSignal")<OutboxSignal, {
  /** Announces that outbox rows were committed. Never waits, never fails. */
  readonly committed: Effect.Effect<void>
  /**
   * Subscribes for the lifetime of the scope: the queue yields once after any number of
   * announcements made since it was last taken (announcements before the subscription are not
   * seen).
   */
  readonly subscribe: Effect.Effect<Queue.Dequeue<void>, never, Scope.Scope>
  /**
   * Like `subscribe`, for the announcements made while no outbox relay runs in this process (what
   * only relays elsewhere can deliver).
   */
  readonly subscribeWithoutRelay: Effect.Effect<Queue.Dequeue<void>, never, Scope.Scope>
  /** Registers, for the lifetime of the scope, an outbox relay running in this process. */
  readonly relayRunning: Effect.Effect<void, never, Scope.Scope>
  /** How many outbox relays run in this process now (registered with `relayRunning`). */
  readonly relays: Effect.Effect<number>
}>() {}

/**
 * The NOTIFY channel that wakes outbox relays in other processes: `SqlStorage` notifies on it
 * (while no relay runs in its process), `OutboxRelay` listens on it. Database-wide: compositions
 * in several schemas of one database share it (a wake-up is only a hint).
 *
 * @since 0.4.0
 */
export const channel = "aegis_outbox"

/**
 * A fresh signal.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<OutboxSignal["Type"]> = Effect.map(
  // capacity 1, sliding: publishing never waits, and a pending wake-up is all a subscriber needs
  Effect.zip(PubSub.sliding<void>(1), PubSub.sliding<void>(1)),
  ([pubsub, withoutRelay]) => {
    let relays = 0
    const announce = Effect.asVoid(PubSub.publish(pubsub, undefined))
    const announceWithoutRelay = Effect.zipRight(announce, PubSub.publish(withoutRelay, undefined))
    return OutboxSignal.of({
      committed: Effect.suspend(() => relays > 0 ? announce : announceWithoutRelay),
      subscribe: PubSub.subscribe(pubsub),
      subscribeWithoutRelay: PubSub.subscribe(withoutRelay),
      relayRunning: Effect.acquireRelease(Effect.sync(() => relays++), () => Effect.sync(() => relays--)),
      relays: Effect.sync(() => relays)
    })
  }
)

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<OutboxSignal> = Layer.effect(OutboxSignal, make)
