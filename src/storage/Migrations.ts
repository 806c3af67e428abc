/**
 * The numbered schema migrations, run by `PgMigrator`.
 *
 * Migrations are TypeScript modules in `src/storage/migrations`, named `NNNN_description`. They
 * are bundled as a record (no file-system scan at run time), so they work the same from `src`
 * and from the published `dist`.
 *
 * @since 0.1.0
 */
import { NodeContext } from "@effect/platform-node"
import { Migrator } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { Layer } from "effect"
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
import testLedgerOut from "./migrations/0011_test_ledger_out.js"

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
  "0011_test_ledger_out": testLedgerOut
} as const

/**
 * Every migration, by `NNNN_name`.
 *
 * @since 0.1.0
 */
export const loader = Migrator.fromRecord(migrations)

/**
 * Runs pending migrations when built (table `aegis_migrations`).
 *
 * @since 0.1.0
 */
export const layer = PgMigrator.layer({ loader, table: "aegis_migrations" }).pipe(
  Layer.provide(NodeContext.layer)
)
