/**
 * Consumer-side deduplication by event id: the other half of at-least-once delivery.
 *
 * `handle(event, effect)` runs `effect` only for an event id this consumer has not processed
 * yet. With the SQL inbox the id is recorded in the same transaction as `effect`'s own SQL
 * writes, so a crash either keeps both or neither: exactly-once processing for database effects.
 * Only database writes belong in that effect: a call to the outside world (an email, a gateway,
 * `PaymentService`) cannot be rolled back with the transaction. `PaymentService` refuses to run
 * inside it (its writes must commit on their own before any gateway call).
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql"
import { Effect } from "effect"
import type { PaymentEvent } from "../domain/PaymentEvent.js"

/**
 * An inbox for one consumer.
 *
 * @since 0.1.0
 */
export interface Inbox<E = never> {
  /** Runs `effect` unless `event` was handled before; returns whether it ran. */
  readonly handle: <A, E2, R>(
    event: Pick<PaymentEvent, "eventId">,
    effect: Effect.Effect<A, E2, R>
  ) => Effect.Effect<boolean, E | E2, R>
}

/**
 * An inbox in process memory remembering the last `capacity` event ids (default 100,000):
 * bounded, oldest forgotten first.
 *
 * @since 0.1.0
 */
export const makeMemory = (capacity = 100_000): Effect.Effect<Inbox> =>
  Effect.sync(() => {
    const seen = new Set<string>()
    return {
      handle: (event, effect) =>
        Effect.suspend(() => {
          if (seen.has(event.eventId)) return Effect.succeed(false)
          // claim the id before running, so a concurrent duplicate is skipped; forget it on failure
          seen.add(event.eventId)
          if (seen.size > capacity) {
            const oldest = seen.values().next()
            if (oldest.done !== true) seen.delete(oldest.value)
          }
          return effect.pipe(
            Effect.onExit((exit) => exit._tag === "Failure" ? Effect.sync(() => seen.delete(event.eventId)) : Effect.void),
            Effect.as(true)
          )
        })
    }
  })

/**
 * An inbox in the `aegis_inbox` table for `consumer`.
 *
 * @since 0.1.0
 */
export const makeSql = (consumer: string): Effect.Effect<Inbox<SqlError.SqlError>, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql) => ({
    handle: (event, effect) =>
      sql.withTransaction(Effect.gen(function*() {
        const inserted = yield* sql`
          INSERT INTO aegis_inbox (consumer, event_id) VALUES (${consumer}, ${event.eventId})
          ON CONFLICT DO NOTHING RETURNING event_id`
        if (inserted.length === 0) return false
        yield* effect
        return true
      }))
  }))
