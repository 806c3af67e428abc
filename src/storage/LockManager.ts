/**
 * Keyed mutual exclusion.
 *
 * `withLock(key, effect)` runs `effect` while holding the lock for `key`; callers with the same
 * key run one at a time, callers with different keys do not wait for each other. The lock is
 * released when `effect` ends, whether it succeeds, fails or is interrupted, and a caller
 * interrupted while waiting never takes it.
 *
 * The memory layer excludes fibers of one process. Across processes, the PostgreSQL layer uses
 * leases with fencing tokens; optimistic version checks on every write guard correctness in both
 * cases, the lock only avoids wasted work and duplicate gateway calls.
 *
 * @since 0.1.0
 */
import { Context, Effect, FiberRef, Layer, Option, Schema } from "effect"

/**
 * The lock could not be acquired (held elsewhere beyond the wait limit, or the backend failed).
 *
 * @since 0.1.0
 */
export class LockUnavailable extends Schema.TaggedError<LockUnavailable>()("LockUnavailable", {
  key: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `lock ${this.key} unavailable: ${this.reason}`
  }
}

/**
 * The lease held by the current fiber, if a lock manager that issues fencing tokens granted one.
 * Storage layers add `token` to their writes of `key` so that a holder whose lease expired and
 * was taken over cannot write any more.
 *
 * @since 0.1.0
 */
export const CurrentLease: FiberRef.FiberRef<Option.Option<Lease>> = FiberRef.unsafeMake(Option.none())

/**
 * A fenced lease held by the current fiber.
 *
 * `releasedByWrite` is set by a storage layer that released the lease in the same transaction as
 * the holder's last write (see `PaymentRepository.update`'s `lastWrite`); the lock manager then
 * skips its own release.
 *
 * @since 0.1.0
 */
export interface Lease {
  readonly key: string
  readonly token: bigint
  releasedByWrite: boolean
}

/**
 * A lease of `key` not held yet, that the current fiber's first write of `key` must take in the
 * same statement, atomically with the write (the optimistic path of `SqlLockManager`'s payment
 * lock, see `PaymentLock.WithPaymentOptions`): with `owner`'s id and `ttl` (a PostgreSQL
 * interval). The storage layer sets `sent` when it sends that write, then `acquired` to the lease
 * the write took (from then on it is the holder's lease, fenced and released as any other), or,
 * when the write found the row changed or the lease held by another owner, writes nothing and
 * sets `lost`; no later write under a lost lease may be made. `sent` without either: the write's
 * outcome is unknown (it failed in flight).
 *
 * @since 0.1.0
 */
export interface DeferredLease {
  readonly key: string
  readonly owner: string
  readonly ttl: string
  sent: boolean
  acquired: Lease | undefined
  lost: boolean
}

/**
 * The deferred lease of the current fiber, if any (see {@link DeferredLease}).
 *
 * @since 0.1.0
 */
export const CurrentDeferredLease: FiberRef.FiberRef<Option.Option<DeferredLease>> = FiberRef.unsafeMake(Option.none())

/**
 * @since 0.1.0
 */
export class LockManager extends Context.Tag("aegispay/LockManager")<LockManager, {
  readonly withLock: <A, E, R>(
    key: string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | LockUnavailable, R>
}>() {}

interface Entry {
  readonly semaphore: Effect.Semaphore
  holders: number
}

/**
 * An in-process lock manager. Memory stays bounded: a key's entry exists only while some fiber
 * holds or waits for it.
 *
 * @since 0.1.0
 */
export const makeMemory = Effect.sync(() => {
  const entries = new Map<string, Entry>()
  const register = (key: string): Entry => {
    let entry = entries.get(key)
    if (entry === undefined) {
      entry = { semaphore: Effect.unsafeMakeSemaphore(1), holders: 0 }
      entries.set(key, entry)
    }
    entry.holders++
    return entry
  }
  const unregister = (key: string, entry: Entry) =>
    Effect.sync(() => {
      entry.holders--
      if (entry.holders === 0) entries.delete(key)
    })
  return LockManager.of({
    // registered and its release installed in one uninterruptible step (what acquireUseRelease
    // does, in fewer steps: this runs for every operation on a payment)
    withLock: (key, effect) =>
      Effect.uninterruptibleMask((restore) => {
        const entry = register(key)
        return Effect.ensuring(restore(entry.semaphore.withPermits(1)(effect)), unregister(key, entry))
      })
  })
})

/**
 * An in-process lock manager layer.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<LockManager> = Layer.effect(LockManager, makeMemory)
