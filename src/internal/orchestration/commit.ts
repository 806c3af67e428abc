/**
 * The one version-checked write of orchestration: a decision made from a payment read under its
 * lock is written only if the stored version is still the one it was made from (else
 * `VersionConflict`, and nothing is written).
 *
 * @internal
 */
import { DateTime, Effect, type Either } from "effect"
import type * as Payment from "../../domain/Payment.js"
import type { VersionConflict } from "../../domain/PaymentError.js"
import type { LockUnavailable } from "../../storage/LockManager.js"
import type { PaymentRepository } from "../../storage/PaymentRepository.js"
import type { StorageError } from "../../storage/StorageError.js"

/** The current time as a UTC `DateTime`, from Effect's `Clock`. */
export const now: Effect.Effect<DateTime.Utc> = Effect.clockWith((clock) => Effect.succeed(DateTime.unsafeMake(clock.unsafeCurrentTimeMillis())))

/**
 * Writes `decision` guarded by `from.version`. `lastWrite`: nothing else is written and no gateway
 * is called under the current payment lock after it (the storage may release the lock with this
 * write).
 */
export const write = (
  repository: PaymentRepository["Type"],
  from: Payment.Payment,
  decision: Payment.Decision,
  lastWrite = false
): Effect.Effect<Payment.Payment, VersionConflict | LockUnavailable | StorageError> =>
  Effect.as(
    repository.update(decision, from.version, { lastWrite }),
    decision.payment
  )

/**
 * Decides at the current time (`decide`), then writes the decision guarded by the version it was
 * made from and returns the new payment. See {@link write} for `lastWrite`.
 */
export const commit = <E>(
  repository: PaymentRepository["Type"],
  from: Payment.Payment,
  decide: (at: DateTime.Utc) => Either.Either<Payment.Decision, E>,
  lastWrite = false
): Effect.Effect<Payment.Payment, E | VersionConflict | LockUnavailable | StorageError> =>
  Effect.flatMap(Effect.flatMap(now, decide), (decision) => write(repository, from, decision, lastWrite))

/**
 * {@link commit} bound to a repository: `commit` (more writes may follow under the lock) and
 * `commitLast` (the last write under the current payment lock).
 */
export const committer = (repository: PaymentRepository["Type"]) => ({
  commit: <E>(from: Payment.Payment, decide: (at: DateTime.Utc) => Either.Either<Payment.Decision, E>) =>
    commit(repository, from, decide),
  commitLast: <E>(from: Payment.Payment, decide: (at: DateTime.Utc) => Either.Either<Payment.Decision, E>) =>
    commit(repository, from, decide, true)
})
