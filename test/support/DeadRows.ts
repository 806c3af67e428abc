/**
 * Helpers for tests that count the pages a claim reads over rows settled (or deleted) before it
 * (real PostgreSQL only).
 *
 * An index scan marks the entries of row versions that are dead to every transaction as it passes
 * them, so later scans skip them. Whether a version is dead to every transaction is judged from
 * the oldest transaction still running in the whole cluster, in any database: while a writing
 * transaction older than the update (another test's, on another database) runs, nothing the
 * update left behind is marked, and a claim reads it again. A test of that marking waits for
 * those transactions first.
 */
import type { SqlClient } from "@effect/sql"
import { Effect, Schedule } from "effect"

/**
 * Waits until every transaction of the cluster that had started when this is called has ended,
 * so that the row versions updated or deleted before it are dead to every transaction (at most
 * a minute).
 */
export const olderTransactionsEnded = (sql: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    const [mark] = yield* sql<{ xid: string }>`SELECT pg_current_xact_id()::text AS xid`
    yield* sql<{ done: boolean }>`SELECT pg_snapshot_xmin(pg_current_snapshot()) > ${mark!.xid}::xid8 AS done`.pipe(
      Effect.repeat({ until: (rows) => rows[0]?.done === true, schedule: Schedule.spaced("20 millis") }),
      Effect.timeoutFail({
        duration: "60 seconds",
        onTimeout: () => new Error("a transaction that started before the test's writes ran for over a minute")
      })
    )
  })

/**
 * The pages of `table` read by `claim`: counted before and after it in one transaction, from
 * this backend's own counters (not flushed within a transaction; the statistics views would also
 * show other sessions' reads, such as the test's writes, whenever those sessions flush them).
 * `sql` must be the client `claim` runs on, with a single connection.
 */
export const pagesReadBy = <A, E, R>(sql: SqlClient.SqlClient, table: string, claim: Effect.Effect<A, E, R>) => {
  const fetched = Effect.map(
    sql<{ n: string }>`SELECT pg_stat_get_xact_blocks_fetched(${table}::regclass)::text AS n`,
    (rows) => Number(rows[0]!.n)
  )
  return sql.withTransaction(Effect.gen(function*() {
    const before = yield* fetched
    const result = yield* claim
    return { result, pages: (yield* fetched) - before }
  }))
}
