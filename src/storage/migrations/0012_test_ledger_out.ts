/**
 * The ledger of the SQL test gateway leaves the schema: `0002` created `aegis_test_ledger` and
 * `aegis_test_ledger_ops` in every database, production included. `0002` is released and stays
 * as it is (applied migrations are never edited); this migration drops the two tables where
 * both are empty (every production database: nothing but the test gateway writes them) and
 * keeps them, data and all, where the test gateway has written (a test database). The test kit
 * creates them itself since (`SqlLedgerGateway.setup`), so a new database never has them.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // plpgsql plans each statement when it runs: the reads below are planned only for tables that exist
  yield* sql`
    DO $$
    DECLARE
      used boolean := false;
    BEGIN
      IF to_regclass('aegis_test_ledger') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM aegis_test_ledger) THEN used := true; END IF;
      END IF;
      IF to_regclass('aegis_test_ledger_ops') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM aegis_test_ledger_ops) THEN used := true; END IF;
      END IF;
      IF NOT used THEN
        DROP TABLE IF EXISTS aegis_test_ledger_ops;
        DROP TABLE IF EXISTS aegis_test_ledger;
      END IF;
    END
    $$`
})
