/**
 * Marks payments with open work (`Payment.hasOpenWork`: processing not finished, an unknown
 * outcome, a pending capture or void, a pending refund) so the recovery scan reads only those,
 * through a partial index, never the settled history.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE aegis_payments ADD COLUMN open_work boolean NOT NULL DEFAULT false`
  yield* sql`UPDATE aegis_payments SET open_work = true WHERE state IN ('AUTHENTICATED', 'PROCESSING')`
  yield* sql`
    UPDATE aegis_payments SET open_work = true
    WHERE (snapshot->>'requiresReconciliation')::boolean
       OR snapshot ? 'pendingOperation'
       OR snapshot->'refunds' @> '[{"state": "PENDING"}]'`
  yield* sql`CREATE INDEX aegis_payments_open_work ON aegis_payments (updated_at) WHERE open_work`
})
