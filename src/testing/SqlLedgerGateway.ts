/**
 * A test gateway whose ledger lives in PostgreSQL (`aegis_test_ledger`, `aegis_test_ledger_ops`),
 * so that several processes share one ground truth of what was charged, exactly like a real
 * provider would. The test kit owns these tables: {@link setup} creates them (and {@link make}
 * runs it), AegisPay's migrations never do (since migration `0012`; see `Migrations`).
 *
 * It honours idempotency keys with the database's uniqueness: the same key moves money once
 * and returns the first result, whichever process sends it. Outcomes by card or gateway token:
 * `TestCards.declined` / `TestTokens.declined` and `TestCards.insufficientFunds` /
 * `TestTokens.insufficientFunds` decline; every other card or token of this gateway succeeds
 * (the vault is called for cards only).
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql"
import { Effect, Schema } from "effect"
import { Ids } from "../domain/Ids.js"
import { CardVault } from "../gateway/CardVault.js"
import {
  type Gateway,
  GatewayDeclined,
  GatewayMisconfigured,
  GatewayTransientError,
  GatewayUnknownOutcome,
  type StatusResult
} from "../gateway/Gateway.js"
import { outcomeOf } from "./MockGateway.js"

const LedgerRow = Schema.Struct({
  transaction_id: Schema.String,
  payment_id: Schema.String,
  amount_minor: Schema.Union(Schema.BigInt, Schema.BigIntFromNumber),
  outcome: Schema.String,
  decline_code: Schema.NullOr(Schema.String),
  status: Schema.String
})

const OpRow = Schema.Struct({
  transaction_id: Schema.String,
  kind: Schema.String,
  amount_minor: Schema.Union(Schema.BigInt, Schema.BigIntFromNumber),
  result_id: Schema.String
})

/**
 * Creates the ledger's tables where they are missing, in the database (and schema) of the
 * `SqlClient` in context. Idempotent, and safe when several processes run it at once (they take
 * a transaction-scoped advisory lock first); the tables of an existing ledger and their rows are
 * kept. {@link make} runs it; run it yourself to read the ledger before any gateway is made.
 *
 * @since 0.1.0
 */
export const setup: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.withTransaction(Effect.gen(function*() {
    // concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog: serialise them
    yield* sql`SELECT pg_advisory_xact_lock(hashtext('aegis_test_ledger'))`
    yield* sql`
      CREATE TABLE IF NOT EXISTS aegis_test_ledger (
        idempotency_key text PRIMARY KEY,
        gateway text NOT NULL,
        transaction_id text NOT NULL UNIQUE,
        payment_id text NOT NULL,
        currency text NOT NULL,
        amount_minor bigint NOT NULL,
        outcome text NOT NULL,
        decline_code text,
        status text NOT NULL,
        captured_minor bigint NOT NULL DEFAULT 0,
        refunded_minor bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CHECK (refunded_minor <= captured_minor)
      )`
    yield* sql`
      CREATE TABLE IF NOT EXISTS aegis_test_ledger_ops (
        idempotency_key text PRIMARY KEY,
        transaction_id text NOT NULL,
        kind text NOT NULL,
        amount_minor bigint NOT NULL,
        result_id text NOT NULL
      )`
  }))
})

/**
 * Creates the gateway (registry id `id`, default `"ledger"`) over the `SqlClient` in context,
 * after {@link setup} (its tables exist when this succeeds).
 *
 * @since 0.1.0
 */
export const make = (options: { readonly id?: string } = {}) =>
  Effect.gen(function*() {
    const id = options.id ?? "ledger"
    const sql = yield* SqlClient.SqlClient
    yield* setup
    const vault = yield* CardVault
    const ids = yield* Ids

    const transient = (operation: string) => (e: SqlError.SqlError | { readonly message: string }) =>
      new GatewayTransientError({ gateway: id, operation, reason: e.message })
    const unknown = (operation: string) => (e: SqlError.SqlError | { readonly message: string }) =>
      new GatewayUnknownOutcome({ gateway: id, operation, reason: e.message })
    const declined = (code: string, reason: string) => new GatewayDeclined({ gateway: id, code, reason })

    const find = (key: string) =>
      sql`SELECT transaction_id, payment_id, amount_minor, outcome, decline_code, status
          FROM aegis_test_ledger WHERE idempotency_key = ${key}`.pipe(
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.succeed(undefined)
            : Schema.decodeUnknown(LedgerRow)(rows[0])
        ),
        Effect.mapError(transient("read"))
      )

    /** Records an operation once per key; returns the stored operation (this call's or the first). */
    const once = (
      key: string,
      kind: string,
      transactionId: string,
      amount: bigint,
      apply: Effect.Effect<void, GatewayDeclined | SqlError.SqlError>,
      resultId: string
    ) =>
      sql.withTransaction(Effect.gen(function*() {
        const inserted = yield* sql`
          INSERT INTO aegis_test_ledger_ops (idempotency_key, transaction_id, kind, amount_minor, result_id)
          VALUES (${key}, ${transactionId}, ${kind}, ${amount.toString()}, ${resultId})
          ON CONFLICT (idempotency_key) DO NOTHING RETURNING result_id`
        if (inserted.length > 0) {
          yield* apply
          return resultId
        }
        const rows = yield* sql`SELECT transaction_id, kind, amount_minor, result_id FROM aegis_test_ledger_ops
                                WHERE idempotency_key = ${key}`
        const op = yield* Schema.decodeUnknown(OpRow)(rows[0]).pipe(Effect.mapError(unknown(kind)))
        if (op.kind !== kind || op.transaction_id !== transactionId || op.amount_minor !== amount) {
          return yield* new GatewayMisconfigured({ gateway: id, reason: `idempotency key ${key} was used for another request` })
        }
        return op.result_id
      })).pipe(
        // the write (or its COMMIT) may have taken effect before the error reached us
        Effect.catchTag("SqlError", (e) => Effect.fail(unknown(kind)(e)))
      )

    const gateway: Gateway = {
      id,
      capabilities: { currencies: "all", manualCapture: true },
      initiate: (request) => Effect.succeed({ reference: `pi_${request.idempotencyKey}` }),
      authenticate: (request) => Effect.asVoid(outcomeOf(id, vault, request.paymentMethod, request.tenantId)),
      process: (request) =>
        Effect.gen(function*() {
          const outcome = yield* outcomeOf(id, vault, request.paymentMethod, request.tenantId)
          const decline = outcome === "declined"
            ? "card_declined"
            : outcome === "insufficientFunds"
            ? "insufficient_funds"
            : null
          const status = decline !== null ? "declined" : request.capture ? "captured" : "authorized"
          const transactionId = yield* ids.next(`txn_${id}`)
          yield* sql`
            INSERT INTO aegis_test_ledger
              (idempotency_key, gateway, transaction_id, payment_id, currency, amount_minor, outcome, decline_code, status,
               captured_minor)
            VALUES (${request.idempotencyKey}, ${id}, ${transactionId}, ${request.paymentId}, ${request.amount.currency},
              ${request.amount.minor.toString()}, ${decline === null ? "charged" : "declined"}, ${decline}, ${status},
              ${status === "captured" ? request.amount.minor.toString() : "0"})
            ON CONFLICT (idempotency_key) DO NOTHING`.pipe(
            // the insert may have committed before the error reached us: the outcome is unknown
            Effect.mapError((e) => new GatewayUnknownOutcome({ gateway: id, operation: "process", reason: e.message }))
          )
          const row = yield* find(request.idempotencyKey).pipe(Effect.mapError((e) => unknown("process")(e)))
          if (row === undefined) return yield* unknown("process")({ message: "ledger row missing after insert" })
          if (row.payment_id !== request.paymentId || row.amount_minor !== request.amount.minor) {
            return yield* new GatewayMisconfigured({
              gateway: id,
              reason: `idempotency key ${request.idempotencyKey} was used with different parameters`
            })
          }
          if (row.outcome === "declined") return yield* declined(row.decline_code ?? "card_declined", "declined")
          return { transactionId: row.transaction_id, status: row.status === "authorized" ? "authorized" : "succeeded" }
        }),
      capture: (request) =>
        Effect.map(
          once(
            request.idempotencyKey,
            "capture",
            request.transactionId,
            request.amount.minor,
            Effect.flatMap(
              sql`UPDATE aegis_test_ledger SET status = 'captured', captured_minor = ${request.amount.minor.toString()}
                  WHERE transaction_id = ${request.transactionId} AND status = 'authorized'
                    AND amount_minor >= ${request.amount.minor.toString()} RETURNING transaction_id`,
              (rows) => rows.length === 0 ? Effect.fail(declined("charge_not_capturable", "cannot capture")) : Effect.void
            ),
            request.transactionId
          ),
          (transactionId) => ({ transactionId })
        ),
      void: (request) =>
        Effect.asVoid(once(
          request.idempotencyKey,
          "void",
          request.transactionId,
          0n,
          Effect.flatMap(
            sql`UPDATE aegis_test_ledger SET status = 'voided'
                WHERE transaction_id = ${request.transactionId} AND status = 'authorized' RETURNING transaction_id`,
            (rows) => rows.length === 0 ? Effect.fail(declined("charge_not_voidable", "cannot void")) : Effect.void
          ),
          request.transactionId
        )),
      refund: (request) =>
        Effect.flatMap(ids.next(`re_${id}`), (refundId) =>
          Effect.map(
            once(
              request.idempotencyKey,
              "refund",
              request.transactionId,
              request.amount.minor,
              Effect.flatMap(
                sql`UPDATE aegis_test_ledger SET refunded_minor = refunded_minor + ${request.amount.minor.toString()}
                    WHERE transaction_id = ${request.transactionId} AND status = 'captured'
                      AND refunded_minor + ${request.amount.minor.toString()} <= captured_minor RETURNING transaction_id`,
                (rows) =>
                  rows.length === 0 ? Effect.fail(declined("amount_too_large", "refund exceeds the capture")) : Effect.void
              ),
              refundId
            ),
            (refundId) => ({ refundId })
          )),
      getStatus: (request) =>
        Effect.map(find(request.idempotencyKey), (row): StatusResult => {
          if (row === undefined) return { status: "not_found" }
          if (row.outcome === "declined") return { status: "failed", code: row.decline_code ?? "card_declined", reason: "declined" }
          return { status: row.status === "authorized" ? "authorized" : "succeeded", transactionId: row.transaction_id }
        }),
      healthCheck: Effect.succeed({ healthy: true, latencyMillis: 0 })
    }
    return gateway
  })
