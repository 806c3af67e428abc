/**
 * Exclusive access to one payment: `withPayment(id, use)` takes the payment's lock, reads the
 * payment after the lock is held, and runs `use` with it; the lock is released when `use` ends
 * (success, failure or interruption).
 *
 * Guarantees:
 * - The payment handed to `use` is the latest committed one: every earlier holder's writes
 *   committed before its lock was released.
 * - Callers with the same payment id run one at a time; the backend's lock semantics apply (the
 *   memory layer excludes fibers of one process; the PostgreSQL layer uses fenced leases across
 *   processes, see `SqlLockManager`). Writes stay version-checked in every case.
 * - A payment that does not exist fails with {@link PaymentNotFound}; an id no storage can hold
 *   (see `Sanitize.isStorable`) fails with it at once, without locking.
 * - **Tenant scoping.** Only payments of the current `Tenant` are handed to `use`: a payment of
 *   another tenant fails with exactly the {@link PaymentNotFound} of a missing id (same fields,
 *   same message), `use` never runs, and its lock is not taken (so waiting on another tenant's
 *   busy payment cannot tell that it exists). Every operation on an existing payment goes through
 *   here, so none can forget the check.
 *
 * The generic {@link layer} composes any {@link LockManager} with the {@link PaymentRepository};
 * `SqlLockManager.layer` provides a PostgreSQL version that takes the lease and reads the payment
 * in one round trip.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option } from "effect"
import type { Payment } from "../domain/Payment.js"
import { PaymentNotFound } from "../domain/PaymentError.js"
import { isStorable } from "../domain/Sanitize.js"
import { Tenant } from "../domain/Tenant.js"
import { LockManager, layerMemory as LockManagerMemory, type LockUnavailable } from "./LockManager.js"
import { PaymentRepository } from "./PaymentRepository.js"
import type { StorageError } from "./StorageError.js"

/**
 * @since 0.1.0
 */
export class PaymentLock extends Context.Tag("aegispay/PaymentLock")<PaymentLock, {
  readonly withPayment: <A, E, R>(
    paymentId: string,
    use: (payment: Payment) => Effect.Effect<A, E, R>,
    options?: WithPaymentOptions
  ) => Effect.Effect<A, E | PaymentNotFound | LockUnavailable | StorageError, R>
}>() {}

/**
 * Options of {@link PaymentLock}'s `withPayment`.
 *
 * `optimistic`: `use` may run before the lock is taken when the payment lock already knows the
 * payment's latest version (the PostgreSQL lock does for a payment this process wrote last) and
 * `optimistic(payment)` holds for it. The lock is then taken by `use`'s first write, in the same
 * statement and only if the payment is still at that version and no one else holds its lock: a
 * round trip saved. When that write finds the payment changed or locked, nothing is written and
 * `use` runs again from the start, under the lock, with the payment read then; when `use` ends
 * without writing, its result stands only if the payment is still at the version it was given
 * (else, again, `use` runs under the lock). Hence `use` must do nothing irrevocable before its
 * first write: no money-moving or provider-changing call (reading calls, such as a status or an
 * authentication, and hooks that only decide are fine; they may run twice in such a race). Every
 * guarantee above holds from the first write on, and a payment is never written by two holders.
 * Lock implementations that cannot do this ignore the option.
 *
 * @since 0.1.0
 */
export interface WithPaymentOptions {
  readonly optimistic?: ((payment: Payment) => boolean) | undefined
}

/**
 * The payment if it belongs to the current `Tenant`; else (missing, or another tenant's) the same
 * {@link PaymentNotFound}. Every lookup of a payment for an operation ends here.
 *
 * @since 0.1.0
 */
export const orNotFound = (paymentId: string, found: Option.Option<Payment>): Effect.Effect<Payment, PaymentNotFound> =>
  Effect.flatMap(Tenant, (tenant) =>
    Option.isSome(found) && found.value.tenantId === tenant.id
      ? Effect.succeed(found.value)
      : Effect.fail(new PaymentNotFound({ paymentId })))

/**
 * A payment lock from the {@link LockManager} and {@link PaymentRepository} in context: read (a
 * payment that is not the current tenant's ends here, unlocked), lock, read again.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const locks = yield* LockManager
  const repository = yield* PaymentRepository
  const read = (paymentId: string) =>
    Effect.flatMap(repository.findById(paymentId), (found) => orNotFound(paymentId, found))
  return PaymentLock.of({
    withPayment: (paymentId, use) =>
      isStorable(paymentId)
        ? Effect.zipRight(read(paymentId), locks.withLock(paymentId, Effect.flatMap(read(paymentId), use)))
        : Effect.fail(new PaymentNotFound({ paymentId }))
  })
})

/**
 * The generic payment lock layer.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<PaymentLock, never, LockManager | PaymentRepository> = Layer.effect(PaymentLock, make)

/**
 * The in-process {@link LockManager} and the payment lock over it.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<PaymentLock | LockManager, never, PaymentRepository> = layer.pipe(
  Layer.provideMerge(LockManagerMemory)
)
