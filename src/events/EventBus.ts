/**
 * In-process publication of payment events to subscribers.
 *
 * Events are published after the write that recorded them has committed, in sequence order per
 * payment. Each subscriber has its own buffer of `capacity` events; a subscriber that falls that
 * far behind loses the oldest events rather than slowing payments down (the event store keeps
 * every event; the transactional outbox gives at-least-once delivery across processes).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, PubSub, Stream } from "effect"
import type { Queue, Scope } from "effect"
import type { PaymentEvent, PaymentEventType } from "../domain/PaymentEvent.js"
import * as Correlation from "../observability/Correlation.js"
import { CommittedEvents } from "../storage/CommittedEvents.js"

/**
 * @since 0.1.0
 */
export class EventBus extends Context.Tag("aegispay/EventBus")<EventBus, {
  readonly publish: (events: ReadonlyArray<PaymentEvent>) => Effect.Effect<void>
  /**
   * Subscribes, optionally to some event types only. The subscription starts when the scoped
   * effect runs (events published before are not seen) and ends with the scope.
   */
  readonly subscribe: (
    types?: ReadonlyArray<PaymentEventType>
  ) => Effect.Effect<Stream.Stream<PaymentEvent>, never, Scope.Scope>
  /**
   * Subscribes for the lifetime of the scope and hands over the subscription's queue itself: a
   * consumer that must see, at a point of its choosing, every event published before it
   * (`Queue.takeAll`) without a fiber in between. The queue holds up to `capacity` events, then
   * drops the oldest.
   */
  readonly subscribeQueue: Effect.Effect<Queue.Dequeue<PaymentEvent>, never, Scope.Scope>
}>() {}

/**
 * An in-process bus; each subscriber buffers up to `capacity` events (default 4,096).
 *
 * @since 0.1.0
 */
export const make = (options: { readonly capacity?: number } = {}) =>
  Effect.map(PubSub.sliding<PaymentEvent>(options.capacity ?? 4096), (pubsub) =>
    EventBus.of({
      publish: (events) => Effect.asVoid(PubSub.publishAll(pubsub, events)),
      subscribe: (types) =>
        Effect.map(PubSub.subscribe(pubsub), (queue) => {
          const all = Stream.fromQueue(queue)
          if (types === undefined) return all
          const wanted = new Set<string>(types)
          return Stream.filter(all, (event) => wanted.has(event._tag))
        }),
      subscribeQueue: PubSub.subscribe(pubsub)
    }))

/**
 * The bus, also as the {@link CommittedEvents} sink of the storage layers. The correlation id of
 * the fiber that committed events (`Correlation`) is kept beside them, in this process.
 *
 * @since 0.1.0
 */
export const layer = (options: { readonly capacity?: number } = {}): Layer.Layer<EventBus | CommittedEvents> =>
  Layer.effectContext(
    Effect.map(make(options), (bus) =>
      Context.make(EventBus, bus).pipe(Context.add(CommittedEvents, {
        // the committing fiber's correlation id stays with the events (Correlation.ofEvent)
        publish: (events) =>
          Effect.flatMap(Correlation.current, (id) => {
            if (id !== undefined) Correlation.rememberEvents(events, id)
            return bus.publish(events)
          })
      })))
  )

