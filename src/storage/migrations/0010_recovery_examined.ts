/**
 * Recovery walks the open payments round-robin: `recovery_examined_at` records when the recovery
 * worker last took a payment up, also when its recovery failed or left it open without writing
 * anything. The scan serves open payments by the later of their last update and their last
 * examination, least recent first, through a partial expression index (settled payments are
 * never read), so payments that keep failing (a gateway outage) cannot starve the others.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE aegis_payments ADD COLUMN recovery_examined_at timestamptz`
  // GREATEST ignores NULL: a payment never examined is due by its last update
  yield* sql`
    CREATE INDEX aegis_payments_open_due ON aegis_payments (GREATEST(updated_at, recovery_examined_at))
    WHERE open_work`
  yield* sql`DROP INDEX IF EXISTS aegis_payments_open_work`
})
