/**
 * Learning of `ADAPTIVE` routing shared across processes through PostgreSQL: the
 * {@link SharedEvidence.Store} on the `SqlClient` in context (table `aegis_routing_evidence`,
 * migration 0017) and the exchange layer the SQL compositions use.
 *
 * Statements: registering a process is one `nextval`; a flush is one statement
 * (`aegis_routing_evidence_append`, one row per gateway and context touched since the last flush,
 * inserted under a transaction-level advisory lock so rows become visible in `seq` order); a read
 * is one statement (an index range on `seq`); a late start is one statement; the retention purge
 * deletes by `created_at` in batches. So each process runs two statements per `interval` (one when
 * it observed nothing) and one purge a minute.
 *
 * @since 0.3.0
 */
import { SqlClient } from "@effect/sql"
import { Config, Duration, Effect, Layer, Schema } from "effect"
import type { ConfigError } from "effect"
import { StorageError } from "../storage/StorageError.js"
import * as SharedEvidence from "./SharedEvidence.js"

const Row = Schema.Struct({
  seq: Schema.NumberFromString,
  process: Schema.NumberFromString,
  gateway: Schema.String,
  currency: Schema.String,
  method: Schema.String,
  brand: Schema.String,
  band: Schema.Number,
  successes: Schema.Number,
  failures: Schema.Number
})
const Top = Schema.Struct({ top: Schema.NumberFromString })
const Registered = Schema.Struct({ process: Schema.NumberFromString })

const storageError = (operation: string) => (cause: unknown) =>
  new StorageError({ operation, reason: cause instanceof Error ? cause.message : String(cause) })

const seconds = (d: Duration.Duration): number => Duration.toMillis(d) / 1000

/**
 * The store on the `SqlClient` in context (migrated: `Migrations.layer`).
 *
 * @since 0.3.0
 */
export const makeStore: Effect.Effect<SharedEvidence.Store, never, SqlClient.SqlClient> = Effect.map(
  SqlClient.SqlClient,
  (sql): SharedEvidence.Store => {
    const run = <A, I>(operation: string, schema: Schema.Schema<A, I>, statement: Effect.Effect<ReadonlyArray<unknown>, unknown>) =>
      statement.pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Array(schema))),
        Effect.mapError(storageError(`SqlRoutingEvidence.${operation}`))
      )
    return {
      register: run("register", Registered, sql`SELECT nextval('aegis_routing_processes')::text AS process`).pipe(
        Effect.map((rows) => rows[0]!.process)
      ),
      append: (process, increments) =>
        increments.length === 0 ? Effect.void : sql`SELECT aegis_routing_evidence_append(${process}, ${
          JSON.stringify(increments.map((i) => ({
            gateway: i.gateway,
            currency: i.currency,
            method: i.method,
            brand: i.brand,
            band: i.band,
            successes: i.successes,
            failures: i.failures
          })))
        }::jsonb)`.pipe(Effect.asVoid, Effect.mapError(storageError("SqlRoutingEvidence.append"))),
      since: (after, limit) =>
        run(
          "since",
          Row,
          sql`
            SELECT e.seq::text AS seq, e.process::text AS process, e.gateway, e.currency, e.method, e.brand, e.band,
              e.successes, e.failures
            FROM aegis_routing_evidence e WHERE e.seq > ${after} ORDER BY e.seq LIMIT ${limit}`
        ).pipe(Effect.map((entries) => ({ entries, watermark: entries.length === 0 ? after : entries[entries.length - 1]!.seq }))),
      recent: (observations, window) =>
        // one statement, one snapshot: the newest seq and the rows loaded agree (one row of nulls
        // but `top` when none is loaded)
        sql`
          WITH top AS (SELECT coalesce(max(seq), 0)::text AS top FROM aegis_routing_evidence),
          windowed AS (
            SELECT seq, process, gateway, currency, method, brand, band, successes, failures,
              sum(successes + failures) OVER (ORDER BY seq DESC) - (successes + failures) AS newer
            FROM aegis_routing_evidence
            WHERE created_at > clock_timestamp() - make_interval(secs => ${seconds(window)})
          )
          SELECT top.top, w.seq::text AS seq, w.process::text AS process, w.gateway, w.currency, w.method,
            w.brand, w.band, w.successes, w.failures
          FROM top LEFT JOIN windowed w ON w.newer < ${Number.isFinite(observations) ? observations : 1e15}
          ORDER BY w.seq`.pipe(
          Effect.flatMap((rows) =>
            Effect.all({
              watermark: Effect.map(Schema.decodeUnknown(Top)(rows[0]), (t) => t.top),
              entries: Schema.decodeUnknown(Schema.Array(Row))(rows.filter((r) => r.seq !== null))
            })
          ),
          Effect.mapError(storageError("SqlRoutingEvidence.recent"))
        ),
      prune: (olderThan, batchSize) => {
        const once = sql`
          DELETE FROM aegis_routing_evidence WHERE seq IN (
            SELECT seq FROM aegis_routing_evidence
            WHERE created_at < clock_timestamp() - make_interval(secs => ${seconds(olderThan)})
            LIMIT ${batchSize}
            FOR UPDATE SKIP LOCKED
          ) RETURNING seq`.pipe(Effect.map((rows) => rows.length), Effect.mapError(storageError("SqlRoutingEvidence.prune")))
        const go = (total: number): Effect.Effect<number, StorageError> =>
          Effect.flatMap(once, (n) => n >= batchSize ? go(total + n) : Effect.succeed(total + n))
        return go(0)
      }
    }
  }
)

/**
 * The flush interval when {@link Options} give none: `AEGISPAY_ROUTING_SHARE_INTERVAL` from the
 * `Config` provider (a duration: `1 second`, `500 millis`), default 1 second.
 *
 * @since 0.3.0
 */
export const intervalConfig: Config.Config<Duration.Duration> = Config.duration("AEGISPAY_ROUTING_SHARE_INTERVAL").pipe(
  Config.withDefault(Duration.seconds(1))
)

/**
 * Settings of {@link layer}: those of the exchange (see `SharedEvidence.Options`); `interval`
 * defaults to {@link intervalConfig}.
 *
 * @since 0.3.0
 */
export type Options = SharedEvidence.Options

/**
 * The exchange of this process through PostgreSQL, with its supervised loop (see
 * `SharedEvidence.layer`). Needs the migrated tables (migration 0017).
 *
 * @since 0.3.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<SharedEvidence.SharedEvidence, StorageError | ConfigError.ConfigError, SqlClient.SqlClient> =>
  Layer.unwrapEffect(
    Effect.map(
      options.interval !== undefined ? Effect.succeed(Duration.decode(options.interval)) : intervalConfig,
      (interval) => SharedEvidence.layer(makeStore, { ...options, interval })
    )
  )
