/**
 * Marks payments with an open review item (`Payment.needsReview`), so the review list reads only
 * those, through a partial index.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE aegis_payments ADD COLUMN needs_review boolean NOT NULL DEFAULT false`
  yield* sql`
    UPDATE aegis_payments SET needs_review = true
    WHERE snapshot->'reviews' @> '[{"state": "OPEN"}]'`
  yield* sql`CREATE INDEX aegis_payments_needs_review ON aegis_payments (id) WHERE needs_review`
})
