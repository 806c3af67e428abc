/**
 * The facade's event dispatcher: hands the events of a bus subscription to `on` handlers one at
 * a time, in order, and tells `close()` when everything it has received has been handled.
 *
 * @internal
 */
import { Chunk, Deferred, Effect, Option, Queue } from "effect"

/**
 * @internal
 */
export interface Dispatcher {
  /** Handles the subscription's events until interrupted. */
  readonly run: Effect.Effect<never>
  /**
   * Waits until every event in the subscription has been handled (the dispatcher waits for the
   * next one). An event published is in the subscription at once, but one handed straight to the
   * dispatcher's waiting `take` is seen only once the dispatcher fiber resumes: after the relay's
   * flush the events it vouched for were published at least one database round trip earlier
   * (the answering claim), by when the dispatcher has taken them.
   */
  readonly drained: Effect.Effect<void>
}

/**
 * @internal
 */
export const make = <A>(queue: Queue.Dequeue<A>, handleEvent: (event: A) => Effect.Effect<void>): Dispatcher => {
  // an event that cannot be handled (a defect) is logged; the dispatcher goes on with the next
  const handle = (event: A) =>
    handleEvent(event).pipe(Effect.catchAllDefect((defect) => Effect.logError("an AegisPay event could not be dispatched", defect)))
  /** Whether the dispatcher waits for an event, having handled all it took. */
  let idle = false
  let waiting: Array<Deferred.Deferred<void>> = []
  const run = Effect.gen(function*() {
    while (true) {
      const ready = yield* Queue.takeAll(queue)
      if (Chunk.isEmpty(ready)) {
        idle = true
        const done = waiting
        waiting = []
        yield* Effect.forEach(done, (deferred) => Deferred.succeed(deferred, undefined), { discard: true })
        const next = yield* Queue.take(queue)
        idle = false
        yield* handle(next)
      } else {
        for (const event of ready) yield* handle(event)
      }
    }
  })
  const drained = Effect.suspend(() =>
    idle && Option.getOrElse(queue.unsafeSize(), () => 0) === 0
      ? Effect.void
      : Effect.flatMap(Deferred.make<void>(), (deferred) => {
        waiting.push(deferred)
        return Deferred.await(deferred)
      })
  )
  return { run, drained }
}
