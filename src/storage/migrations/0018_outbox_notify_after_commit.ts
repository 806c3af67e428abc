/**
 * The outbox's NOTIFY leaves the payment's transaction: the trigger `aegis_outbox_notify` (from
 * `0003`, `0008`) and its function are dropped. A transaction that notifies holds a database-wide
 * lock from the start of its commit to its end, so every payment write (each inserts outbox rows)
 * waited for the other writers' commits and flushes in turn. Relays in other processes are now
 * woken by `SqlStorage`, after the commit, with a NOTIFY of its own (at most one every 10 ms, and
 * only from processes with no relay of their own); the relay of the committing process is woken
 * in-process, as before.
 *
 * During a rolling upgrade, processes still on an earlier version no longer wake relays elsewhere:
 * those deliver their events on their next poll (1 second by default).
 *
 * @since 0.4.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP TRIGGER IF EXISTS aegis_outbox_notify ON aegis_outbox`
  yield* sql`DROP FUNCTION IF EXISTS aegis_outbox_notify()`
})
