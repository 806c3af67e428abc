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
 * - `flush` wakes the relays of this process and waits until each has delivered what was
 *   committed before the call (a graceful shutdown's last step before it stops them).
 *
 * @since 0.1.0
 */
import { Context, Deferred, Effect, Exit, FiberId, Layer, PubSub } from "effect"
import type { Queue, Scope } from "effect"

/**
 * What a relay registered with `relayRunning` reports to `flush`.
 *
 * @since 0.6.0
 */
export interface RelayRegistration {
  /** How many `flush` calls had been made when the relay registered (those are not its to answer). */
  readonly since: number
  /** How many `flush` calls were made so far: read it when a round starts, before its claim. */
  readonly flushRequests: Effect.Effect<number>
  /**
   * Answers the `flush` calls numbered up to `upTo` (a value of `flushRequests`) for this relay:
   * `vouched` when a round that read `upTo` before its claim left nothing behind that was
   * committed before those calls (it claimed nothing, or was not full and took only later
   * messages) and this relay holds no message it claimed without publishing or handing it back; otherwise
   * (after a failed round, whose claimed messages may stay leased to it) those calls answer
   * `false`.
   */
  readonly flushed: (upTo: number, vouched: boolean) => Effect.Effect<void>
}

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
  readonly relayRunning: Effect.Effect<RelayRegistration, never, Scope.Scope>
  /** How many outbox relays run in this process now (registered with `relayRunning`). */
  readonly relays: Effect.Effect<number>
  /**
   * Wakes the outbox relays running in this process and waits until each of them has delivered
   * what was committed before the call: a round that began after the call left nothing due
   * behind of it, and what it had published is recorded as delivered. Then `true`. `false` at
   * once when no relay runs here; `false` when one of them stops first, or cannot vouch for it
   * (within a lease of a failed round, messages it claimed may still be leased to it).
   *
   * Not waited for: messages waiting for a retry after a failed publication, and messages leased
   * by relays of other processes. It has no bound of its own (a relay whose database is down
   * keeps retrying): give it one with `Effect.timeout`. Other processes' later commits do not
   * prolong it (a relay reads the highest outbox id once per flush and answers at the first claim,
   * not full, that took nothing up to it). Interrupting it only stops the wait.
   */
  readonly flush: Effect.Effect<boolean>
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
    /** The relays running now, by registration number. */
    const running = new Set<number>()
    let registrations = 0
    let requests = 0
    interface Waiter {
      readonly seq: number
      /** The relays that have not answered it yet. */
      readonly relays: Set<number>
      /** Whether a relay could not vouch for it, or stopped first. */
      doubtful: boolean
      readonly done: Deferred.Deferred<boolean>
    }
    const waiting = new Set<Waiter>()
    /** Synchronous: a waiter is completed in the step that removes it, never left behind. */
    const answer = (relay: number, applies: (waiter: Waiter) => boolean, vouched: boolean) => {
      for (const waiter of waiting) {
        if (!applies(waiter) || !waiter.relays.delete(relay)) continue
        if (!vouched) waiter.doubtful = true
        if (waiter.relays.size === 0) {
          waiting.delete(waiter)
          Deferred.unsafeDone(waiter.done, Exit.succeed(!waiter.doubtful))
        }
      }
    }
    const announce = Effect.asVoid(PubSub.publish(pubsub, undefined))
    const announceWithoutRelay = Effect.zipRight(announce, PubSub.publish(withoutRelay, undefined))
    return OutboxSignal.of({
      committed: Effect.suspend(() => running.size > 0 ? announce : announceWithoutRelay),
      subscribe: PubSub.subscribe(pubsub),
      subscribeWithoutRelay: PubSub.subscribe(withoutRelay),
      relayRunning: Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => {
            const relay = ++registrations
            running.add(relay)
            return { relay, since: requests }
          }),
          // a flush still waiting for this relay answers `false` (it stopped before serving it)
          ({ relay }) =>
            Effect.sync(() => {
              running.delete(relay)
              answer(relay, () => true, false)
            })
        ),
        ({ relay, since }): RelayRegistration => ({
          since,
          flushRequests: Effect.sync(() => requests),
          flushed: (upTo, vouched) => Effect.sync(() => answer(relay, (waiter) => waiter.seq <= upTo, vouched))
        })
      ),
      relays: Effect.sync(() => running.size),
      flush: Effect.suspend(() => {
        if (running.size === 0) return Effect.succeed(false)
        // registered in this same step as the check: a relay stopping now answers it
        const waiter: Waiter = { seq: ++requests, relays: new Set(running), doubtful: false, done: Deferred.unsafeMake(FiberId.none) }
        waiting.add(waiter)
        return announce.pipe(
          Effect.zipRight(Deferred.await(waiter.done)),
          Effect.ensuring(Effect.sync(() => waiting.delete(waiter)))
        )
      })
    })
  }
)

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<OutboxSignal> = Layer.effect(OutboxSignal, make)
