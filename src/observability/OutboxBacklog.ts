/**
 * The transactional outbox's backlog, for readiness (`/ready`'s `outbox` check): the creation
 * time of the oldest undelivered (pending) message, whichever relay will deliver it.
 *
 * The SQL compositions provide {@link layerSql}; a memory composition has no outbox (events are
 * published as they commit) and provides none.
 *
 * @since 0.2.0
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { StorageError } from "../storage/StorageError.js"

/**
 * @since 0.2.0
 */
export class OutboxBacklog extends Context.Tag("aegispay/OutboxBacklog")<OutboxBacklog, {
  /**
   * Epoch milliseconds (the writer's `Clock`, as the message's `created_at`) of the oldest
   * pending message; none when the outbox is drained.
   */
  readonly oldestPendingAt: Effect.Effect<Option.Option<number>, StorageError>
}>() {}

const OldestRow = Schema.Struct({ oldest: Schema.NullOr(Schema.Union(Schema.Number, Schema.NumberFromString)) })

/**
 * {@link OutboxBacklog} on the `SqlClient` in context: one aggregate over the pending messages
 * (their partial index), no lock taken.
 *
 * @since 0.2.0
 */
export const layerSql: Layer.Layer<OutboxBacklog, never, SqlClient.SqlClient> = Layer.effect(
  OutboxBacklog,
  Effect.map(SqlClient.SqlClient, (sql) => ({
    oldestPendingAt: sql`SELECT (EXTRACT(EPOCH FROM min(created_at)) * 1000)::float8 AS oldest FROM aegis_outbox WHERE status = 'pending'`.pipe(
      Effect.flatMap((rows) => Schema.decodeUnknown(OldestRow)(rows[0] ?? { oldest: null })),
      Effect.map((row) => Option.fromNullable(row.oldest)),
      Effect.mapError((e) => new StorageError({ operation: "outbox.oldestPending", reason: e.message }))
    )
  }))
)

/**
 * A fixed backlog (for tests): `oldestPendingAt` as given by `get` on each call.
 *
 * @since 0.2.0
 */
export const layerFrom = (get: Effect.Effect<Option.Option<number>>): Layer.Layer<OutboxBacklog> =>
  Layer.succeed(OutboxBacklog, { oldestPendingAt: get })
