/**
 * The system of record for payments.
 *
 * Writes take a {@link Decision}: the payment's new snapshot and the events that produced it are
 * written together, atomically, or not at all. `update` is guarded by the expected version
 * (optimistic locking): when the stored version differs nothing is written and the call fails
 * with {@link VersionConflict}.
 *
 * @since 0.1.0
 */
import type { DateTime, Effect, Option } from "effect"
import { Context, Schema } from "effect"
import type { Decision, Payment } from "../domain/Payment.js"
import type { VersionConflict } from "../domain/PaymentError.js"
import type { PaymentState } from "../domain/PaymentState.js"
import type { LockUnavailable } from "./LockManager.js"
import type { StorageError } from "./StorageError.js"

/**
 * A payment with this tenant and idempotency key already exists; nothing was written.
 *
 * @since 0.1.0
 */
export class DuplicateIdempotencyKey extends Schema.TaggedError<DuplicateIdempotencyKey>()(
  "DuplicateIdempotencyKey",
  { tenantId: Schema.String, idempotencyKey: Schema.String }
) {}

/**
 * A page of results, newest first. Pass `nextCursor` back to read the next page; it is absent on
 * the last page.
 *
 * @since 0.1.0
 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextCursor?: string | undefined
}

/**
 * The opaque cursor that points after a payment; every backend pages with it.
 *
 * @since 0.1.0
 */
export const encodeCursor = (paymentId: string): string => Buffer.from(paymentId, "utf8").toString("base64url")

/**
 * The payment id behind a cursor.
 *
 * @since 0.1.0
 */
export const decodeCursor = (cursor: string): string => Buffer.from(cursor, "base64url").toString("utf8")

/**
 * Paging options: `limit` (1–100) and the cursor of the previous page.
 *
 * @since 0.1.0
 */
export interface PageRequest {
  readonly limit: number
  readonly cursor?: string | undefined
}

/**
 * @since 0.1.0
 */
export class PaymentRepository extends Context.Tag("aegispay/PaymentRepository")<PaymentRepository, {
  /** Writes a new payment and its first events. Unique per (tenant, idempotency key). */
  readonly insert: (decision: Decision) => Effect.Effect<void, DuplicateIdempotencyKey | StorageError>
  /**
   * Writes the new snapshot and its events if the stored version is still `expectedVersion` and,
   * when the caller holds a fenced lease on the payment (`LockManager.CurrentLease`), no newer lease
   * exists (else `LockUnavailable`).
   *
   * `lastWrite`: the caller will neither write nor call a gateway again under its current lease
   * on this payment; a storage layer may release that lease in the same transaction (saving a
   * round trip). Ignored without such a lease.
   */
  readonly update: (
    decision: Decision,
    expectedVersion: number,
    options?: { readonly lastWrite?: boolean | undefined }
  ) => Effect.Effect<void, VersionConflict | LockUnavailable | StorageError>
  readonly findById: (id: string) => Effect.Effect<Option.Option<Payment>, StorageError>
  readonly findByIdempotencyKey: (
    tenantId: string,
    idempotencyKey: string
  ) => Effect.Effect<Option.Option<Payment>, StorageError>
  readonly findByGatewayTransactionId: (transactionId: string) => Effect.Effect<Option.Option<Payment>, StorageError>
  /** A customer's payments, newest first. */
  readonly findByCustomer: (
    tenantId: string,
    customerId: string,
    page: PageRequest
  ) => Effect.Effect<Page<Payment>, StorageError>
  /**
   * Payments with open work (`Payment.hasOpenWork`) neither updated nor examined by recovery
   * (`markExamined`) since `before`, least recently touched (the later of the two) first, at most
   * `limit`: the recovery scan. Because examining a payment moves it to the back, the scan walks
   * the open set round-robin: payments whose recovery keeps failing, or leaves them open without
   * a write, cannot starve the others. Indexed: it never scans settled payments.
   */
  readonly findOpen: (before: DateTime.Utc, limit: number) => Effect.Effect<ReadonlyArray<Payment>, StorageError>
  /**
   * Records that recovery took these payments up at `at` (for `findOpen`'s order only: the
   * payment, its version and its events are untouched). Unknown ids are ignored.
   */
  readonly markExamined: (paymentIds: ReadonlyArray<string>, at: DateTime.Utc) => Effect.Effect<void, StorageError>
  /**
   * Payments in `state`, least recently updated first, at most `limit`; with `updatedBefore`, only
   * those last updated before that instant (the recovery scan).
   */
  readonly findByState: (
    state: PaymentState,
    limit: number,
    updatedBefore?: DateTime.Utc | undefined
  ) => Effect.Effect<ReadonlyArray<Payment>, StorageError>
  /**
   * Payments with an open review item (`Payment.needsReview`), of one tenant or of all, in id
   * order, a page at a time. Indexed: it never scans payments without one.
   */
  readonly findNeedingReview: (
    tenantId: string | undefined,
    page: PageRequest
  ) => Effect.Effect<Page<Payment>, StorageError>
}>() {}
