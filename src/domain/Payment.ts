/**
 * The Payment aggregate: an immutable value, changed only by applying its events.
 *
 * Every command here is a pure function `(payment, input, now) → Either<Decision, Error>`; a
 * {@link Decision} is the events produced and the payment after applying them with
 * {@link apply}. Because the snapshot is always built by folding events, the payment as stored
 * equals {@link fold} of its events by construction. `version` is the sequence number of the
 * last event applied.
 *
 * This module only re-exports: the rules are written in `src/domain/payment/`, one module per
 * capability (entities, evolve, command, charge, settlement, refunds, strayCharges, review,
 * openWork, notifications, external); `docs/ARCHITECTURE.md` maps each rule to its file.
 *
 * @since 0.1.0
 */
export {
  Attempt,
  RefundState,
  Refund,
  Dispute,
  MAX_DISPUTES,
  MAX_REFUNDS,
  MAX_NOTIFICATION_IDS,
  PendingOperation,
  CompensationState,
  Compensation,
  ReviewResolution,
  ReviewItem,
  Payment,
  requiredGateway
} from "./payment/entities.js"
export type { Decision } from "./payment/entities.js"
export {
  reviewIdOf,
  MalformedEventLog,
  start,
  apply,
  fold
} from "./payment/evolve.js"
export type { ChangeEvent } from "./payment/evolve.js"
export {
  andThen
} from "./payment/command.js"
export {
  initiate,
  authenticate,
  startAttempt,
  recordRetry,
  failover,
  outcomeUnknown,
  reconciled,
  succeed,
  authorize,
  fail,
  findAttemptByKey,
  attemptStatusChecked,
  recordReference,
  requireAction,
  pendingAtProvider
} from "./payment/charge.js"
export type { InitiateInput } from "./payment/charge.js"
export {
  checkAmount,
  checkCapture,
  capture,
  cancel,
  requestOperation,
  operationFailed
} from "./payment/settlement.js"
export {
  requestRefund,
  findRefundByKey,
  refundSucceeded,
  refundFailed,
  refundNeedsReview
} from "./payment/refunds.js"
export {
  ownsCharge,
  requestCompensation,
  compensationSucceeded,
  compensationNeedsReview
} from "./payment/strayCharges.js"
export {
  needsReview,
  resolveReview
} from "./payment/review.js"
export {
  hasOpenWork
} from "./payment/openWork.js"
export {
  recordNotification
} from "./payment/notifications.js"
export {
  recordDispute,
  externalRefundable,
  recordExternalRefund
} from "./payment/external.js"
