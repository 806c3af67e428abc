/**
 * Helpers to interrupt a fiber while its SQL statement is running on the server (real
 * PostgreSQL only).
 *
 * The recipe: make the statement wait for a row lock the test holds (`holdRowLock`), wait until
 * the server shows it waiting (`awaitLockWaiter`), interrupt the fiber, wait until the fiber has
 * taken the interruption in (`awaitInterruptionTaken`), then let the statement go on. When the
 * fiber's pool has a single connection, the driver's best-effort cancel (`pg_cancel_backend`,
 * sent through the pool) cannot overtake the statement: the statement commits after the fiber
 * was interrupted, which is the case under test.
 */
import type { SqlClient } from "@effect/sql"
import { Deferred, Effect, Fiber, FiberStatus, RuntimeFlags, Schedule } from "effect"

/**
 * Holds, in a transaction of its own, the row lock of every row `select` (a `SELECT … FOR
 * UPDATE`) returns until the returned effect is run; the lock is taken when this succeeds.
 */
export const holdRowLock = (sql: SqlClient.SqlClient, select: Effect.Effect<ReadonlyArray<unknown>, unknown>) =>
  Effect.gen(function*() {
    const locked = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const holder = yield* Effect.forkScoped(sql.withTransaction(
      Effect.zipRight(select, Effect.zipRight(Deferred.succeed(locked, undefined), Deferred.await(release)))
    ))
    yield* Deferred.await(locked)
    return Effect.zipRight(Deferred.succeed(release, undefined), Effect.orDie(Fiber.join(holder)))
  })

/**
 * Succeeds once `sessions` sessions (default one) of the current database wait for a lock. The
 * server has no way to announce it: this observes it (every 10 ms, at most 10 s), it does not
 * guess a duration.
 */
export const awaitLockWaiter = (sql: SqlClient.SqlClient, sessions = 1) =>
  sql<{ waiting: number }>`
    SELECT count(*)::int AS waiting FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`.pipe(
    Effect.filterOrFail((rows) => (rows[0]?.waiting ?? 0) >= sessions, () => `fewer than ${sessions} sessions wait for a lock yet`),
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo("10 seconds"))),
    Effect.asVoid
  )

/**
 * Succeeds once `fiber` has ended, or is suspended with interruption disabled (it is running
 * interruption handlers, or a region it made uninterruptible): an interruption sent before
 * cannot be ignored by it any more.
 */
export const awaitInterruptionTaken = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    for (;;) {
      const status = yield* fiber.status
      if (FiberStatus.isDone(status)) return
      if (FiberStatus.isSuspended(status) && !RuntimeFlags.interruptible(status.runtimeFlags)) return
      yield* Effect.yieldNow()
    }
  })
