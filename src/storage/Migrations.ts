/**
 * The numbered schema migrations, run by `PgMigrator`, in the PostgreSQL schema of the
 * connection.
 *
 * Migrations are TypeScript modules in `src/storage/migrations`, named `NNNN_description`. They
 * are bundled as a record (no file-system scan at run time), so they work the same from `src`
 * and from the published `dist`.
 *
 * **Schema.** Every statement of AegisPay names its tables unqualified; they resolve through the
 * connection's `search_path`. `AegisPayPg.layerClient({ schema })` (default `aegispay`) starts
 * every connection with `search_path = <schema>, public`; before migrating, {@link prepare}
 * creates that schema and the migrations table in it, and moves the tables of a database made
 * before the schema option (wave 1 and the releases up to migration 10: everything in `public`)
 * into it. On a connection whose `search_path` does not start with a schema name (a client you
 * built yourself, PGlite), the tables live in its `current_schema()`, usually `public`.
 *
 * @since 0.1.0
 */
// the module itself, not the package index: the index loads every Node module of the package (its HTTP
// client brings undici, 1 MB), which every program migrating would load for nothing
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Migrator, SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { Effect, Layer, Schema } from "effect"
import payments from "./migrations/0001_payments.js"
import locksAndLedger from "./migrations/0002_locks_and_ledger.js"
import outboxDelivery from "./migrations/0003_outbox_delivery.js"
import idempotency from "./migrations/0004_idempotency.js"
import lockAndRead from "./migrations/0005_lock_and_read.js"
import openWork from "./migrations/0006_open_work.js"
import needsReview from "./migrations/0007_needs_review.js"
import outboxNotifyPayload from "./migrations/0008_outbox_notify_payload.js"
import cardVault from "./migrations/0009_card_vault.js"
import recoveryExamined from "./migrations/0010_recovery_examined.js"
import tenantLockAndRead from "./migrations/0011_tenant_lock_and_read.js"
import testLedgerOut from "./migrations/0012_test_ledger_out.js"
import apiKeys from "./migrations/0013_api_keys.js"
import tenantCredentials from "./migrations/0014_tenant_credentials.js"
import merchantWebhooks from "./migrations/0015_merchant_webhooks.js"
import webhookSelectors from "./migrations/0016_webhook_selectors.js"
import routingEvidence from "./migrations/0017_routing_evidence.js"
import outboxNotifyAfterCommit from "./migrations/0018_outbox_notify_after_commit.js"
import webhookClaimIndex from "./migrations/0019_webhook_claim_index.js"

/**
 * Every migration by `NNNN_name`, in the order they were written. Forward-only: a released
 * migration is never edited or removed, and a new one takes a number above every existing one
 * (`PgMigrator` runs only the ids above the highest applied one, so a lower new number would be
 * skipped silently on every database already past it). `test/storage/Migrations.test.ts` checks
 * both against the hashes of the released files.
 *
 * @since 0.1.0
 */
export const migrations = {
  "0001_payments": payments,
  "0002_locks_and_ledger": locksAndLedger,
  "0003_outbox_delivery": outboxDelivery,
  "0004_idempotency": idempotency,
  "0005_lock_and_read": lockAndRead,
  "0006_open_work": openWork,
  "0007_needs_review": needsReview,
  "0008_outbox_notify_payload": outboxNotifyPayload,
  "0009_card_vault": cardVault,
  "0010_recovery_examined": recoveryExamined,
  "0011_tenant_lock_and_read": tenantLockAndRead,
  "0012_test_ledger_out": testLedgerOut,
  "0013_api_keys": apiKeys,
  "0014_tenant_credentials": tenantCredentials,
  "0015_merchant_webhooks": merchantWebhooks,
  "0016_webhook_selectors": webhookSelectors,
  "0017_routing_evidence": routingEvidence,
  "0018_outbox_notify_after_commit": outboxNotifyAfterCommit,
  "0019_webhook_claim_index": webhookClaimIndex
} as const

/**
 * Every migration, by `NNNN_name`.
 *
 * @since 0.1.0
 */
export const loader = Migrator.fromRecord(migrations)

/**
 * The schema of AegisPay's tables when none is given: `aegispay`.
 *
 * @since 0.1.0
 */
export const defaultSchema = "aegispay"

/**
 * Whether `name` can be AegisPay's schema: lower-case letters, digits and `_`, not starting with
 * a digit, at most 63 characters (PostgreSQL's limit), and not `pg_…` (reserved). Such a name
 * needs no quoting anywhere.
 *
 * @since 0.1.0
 */
export const isSchemaName = (name: string): boolean => /^[a-z_][a-z0-9_]{0,62}$/.test(name) && !name.startsWith("pg_")

/**
 * The highest migration of the releases made before the `schema` option: their databases hold
 * AegisPay's tables in `public`. A `public.aegis_migrations` at or below it is moved by
 * {@link prepare}; above it, it was made by a release that knows schemas (with `schema:
 * "public"` on purpose) and is left alone.
 *
 * @since 0.1.0
 */
export const lastMigrationBeforeSchemas = 10

/** What the migrations 1 to 10 created, by kind: what {@link prepare} moves out of `public`. */
const preSchemaTables = [
  "aegis_migrations",
  "aegis_payments",
  "aegis_events",
  "aegis_outbox",
  "aegis_inbox",
  "aegis_idempotency",
  "aegis_locks",
  "aegis_card_vault",
  "aegis_test_ledger",
  "aegis_test_ledger_ops"
] as const
const preSchemaSequences = ["aegis_lock_tokens"] as const
const preSchemaFunctions = ["aegis_lock_and_read(text,text,interval)", "aegis_outbox_notify()"] as const

const Where = Schema.Struct({ current: Schema.NullOr(Schema.String), path: Schema.String })
const Found = Schema.Struct({ found: Schema.Boolean })
const Latest = Schema.Struct({ latest: Schema.NullOr(Schema.Number) })

const failed = (message: string) => new Migrator.MigrationError({ reason: "failed", message })

/**
 * Makes the connection's schema ready for the migrations, in one transaction under an advisory
 * lock (processes starting together take turns):
 *
 * - the schema: the first entry of the connection's `search_path` when it is a schema name
 *   ({@link isSchemaName}; `AegisPayPg.layerClient` puts it there), else `current_schema()`;
 *   created when missing (`CREATE SCHEMA`, only then: an existing schema needs no privilege on
 *   the database);
 * - the upgrade: when the schema is not `public`, holds no `aegis_migrations`, and
 *   `public.aegis_migrations` exists at migration {@link lastMigrationBeforeSchemas} or below,
 *   AegisPay's tables (with their indexes, constraints, triggers and owned sequences), its
 *   sequence and its functions move from `public` into the schema (`ALTER … SET SCHEMA`: no row is
 *   copied); all of it or, on any error, none;
 * - the migrations table in the schema (the same definition `PgMigrator` uses), so the migrator
 *   finds this schema's, never another's further down the `search_path`.
 *
 * Returns the schema and the number of objects moved.
 *
 * @since 0.1.0
 */
export const prepare: Effect.Effect<
  { readonly schema: string; readonly moved: number },
  Migrator.MigrationError | SqlError.SqlError,
  SqlClient.SqlClient
> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const one = <A, I>(schema: Schema.Schema<A, I>, rows: ReadonlyArray<unknown>) =>
    Schema.decodeUnknown(schema)(rows[0]).pipe(Effect.mapError((e) => failed(`unexpected answer: ${e.message}`)))
  return yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(hashtext('aegis_migrations'))`
    const where = yield* one(Where, yield* sql`SELECT current_schema() AS current, current_setting('search_path') AS path`)
    const first = (where.path.split(",")[0] ?? "").trim()
    const schema = isSchemaName(first) ? first : where.current
    if (schema === null) {
      return yield* failed(`no schema to migrate in: search_path is "${where.path}" and names no existing schema`)
    }
    const exists = yield* one(Found, yield* sql`SELECT to_regnamespace(${schema}) IS NOT NULL AS found`)
    if (!exists.found) yield* sql`CREATE SCHEMA ${sql(schema)}`
    let moved = 0
    if (schema !== "public") {
      const here = yield* one(Found, yield* sql`SELECT to_regclass(${`${schema}.aegis_migrations`}) IS NOT NULL AS found`)
      const old = yield* one(Found, yield* sql`SELECT to_regclass('public.aegis_migrations') IS NOT NULL AS found`)
      if (!here.found && old.found) {
        const latest = yield* one(Latest, yield* sql`SELECT max(migration_id)::int AS latest FROM public.aegis_migrations`)
        if ((latest.latest ?? 0) <= lastMigrationBeforeSchemas) {
          for (const table of preSchemaTables) {
            const found = yield* one(Found, yield* sql`SELECT to_regclass(${`public.${table}`}) IS NOT NULL AS found`)
            if (found.found) {
              yield* sql`ALTER TABLE public.${sql(table)} SET SCHEMA ${sql(schema)}`
              moved++
            }
          }
          for (const sequence of preSchemaSequences) {
            const found = yield* one(Found, yield* sql`SELECT to_regclass(${`public.${sequence}`}) IS NOT NULL AS found`)
            if (found.found) {
              yield* sql`ALTER SEQUENCE public.${sql(sequence)} SET SCHEMA ${sql(schema)}`
              moved++
            }
          }
          for (const fn of preSchemaFunctions) {
            const found = yield* one(Found, yield* sql`SELECT to_regprocedure(${`public.${fn}`}) IS NOT NULL AS found`)
            if (found.found) {
              // a signature is not an identifier: `fn` is one of the constants above
              yield* sql.unsafe(`ALTER FUNCTION public.${fn} SET SCHEMA ${schema}`)
              moved++
            }
          }
          yield* Effect.logWarning(
            `AegisPay: moved ${moved} tables, sequences and functions from schema public to ${schema} ` +
              `(a database made before the schema option, at migration ${latest.latest ?? 0})`
          )
        }
      }
    }
    yield* sql`
      CREATE TABLE IF NOT EXISTS ${sql(schema)}.aegis_migrations (
        migration_id integer primary key,
        created_at timestamp with time zone not null default now(),
        name text not null
      )`
    return { schema, moved }
  }))
})

/**
 * Runs {@link prepare}, then the pending migrations (table `aegis_migrations` in the schema),
 * when built. Migrations are forward-only: a database is never migrated down, and a released
 * migration is never changed.
 *
 * @since 0.1.0
 */
export const layer = Layer.effectDiscard(
  Effect.zipRight(prepare, PgMigrator.run({ loader, table: "aegis_migrations" }))
).pipe(Layer.provide(NodeContext.layer))
