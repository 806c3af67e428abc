/**
 * Whether a payment still has work a later call or the recovery worker must drive on.
 *
 * @internal
 */
import type { Payment } from "./entities.js"

/**
 * Whether something on the payment is still open and must be driven on by a later call (or the
 * recovery worker): processing not finished (AUTHENTICATED, PROCESSING, an unknown outcome), a
 * payment waiting for the customer (ACTION_REQUIRED: its status is asked, and after its expiry the
 * provider is asked to cancel), a
 * capture or void sent without a known answer, a refund or a compensation still PENDING, a
 * failed-over attempt whose gateway's status has not been checked.
 *
 * @since 0.1.0
 */
export const hasOpenWork = (payment: Payment): boolean =>
  payment.state === "AUTHENTICATED" || payment.state === "PROCESSING" || payment.state === "ACTION_REQUIRED" || payment.requiresReconciliation ||
  payment.pendingOperation !== undefined || payment.refunds.some((r) => r.state === "PENDING") ||
  payment.compensations.some((c) => c.state === "PENDING") || payment.attempts.some((a) => a.needsStatusCheck)
