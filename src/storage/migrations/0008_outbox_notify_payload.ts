/**
 * The outbox's wake-up notification carries a payload: `@effect/sql-pg`'s `PgClient.listen`
 * drops notifications whose payload is empty, so with `0003`'s `pg_notify('aegis_outbox', '')`
 * relays never woke and only their polling delivered. Still one NOTIFY per statement, not per
 * row; PostgreSQL folds identical notifications of one transaction into one.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE OR REPLACE FUNCTION aegis_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('aegis_outbox', 'inserted');
      RETURN NULL;
    END $$`
})
