/**
 * What a provider reports that happened outside AegisPay: disputes and refunds made in its
 * dashboard. Both are recorded, never acted upon (no dispute workflow).
 *
 * @internal
 */
import type { DateTime } from "effect"
import * as Money from "../Money.js"
import * as Event from "../PaymentEvent.js"
import { emit } from "./command.js"
import type { Decision, Payment } from "./entities.js"

/**
 * Records a dispute opened or closed at the provider (a newer report of the same dispute updates
 * it).
 *
 * @since 0.2.0
 */
export const recordDispute = (
  payment: Payment,
  input: {
    readonly disputeId: string
    readonly gateway: string
    readonly status: "opened" | "closed"
    readonly amount?: Money.Money | undefined
    readonly reason?: string | undefined
    readonly outcome?: string | undefined
  },
  now: DateTime.Utc
): Decision =>
  emit(payment, now, (base) =>
    new Event.DisputeRecorded({
      ...base,
      disputeId: input.disputeId,
      gateway: input.gateway,
      status: input.status,
      ...(input.amount === undefined ? {} : { amount: input.amount }),
      ...(input.reason === undefined ? {} : { reason: input.reason }),
      ...(input.outcome === undefined ? {} : { outcome: input.outcome })
    }, true))

/**
 * What an outside refund of `reported` can add: what is left of the captured amount after every
 * succeeded, pending or in-review refund (the refunded amount never exceeds the captured one).
 *
 * @since 0.2.0
 */
export const externalRefundable = (payment: Payment, reported: Money.Money): Money.Money => {
  const left = payment.refundable.minor
  return Money.fromMinor(payment.amount.currency, reported.minor < left ? reported.minor : left < 0n ? 0n : left)
}

/**
 * Records a refund made outside AegisPay as a SUCCEEDED refund of at most what is left
 * refundable ({@link externalRefundable}). `undefined` when it is already recorded (the same
 * provider refund id, ours or outside), when the payment's currency differs or nothing is left.
 *
 * @since 0.2.0
 */
export const recordExternalRefund = (
  payment: Payment,
  input: {
    readonly refundId: string
    readonly gateway: string
    readonly gatewayRefundId: string
    readonly amount: Money.Money
  },
  now: DateTime.Utc
): Decision | undefined => {
  if (payment.refunds.some((r) => r.gatewayRefundId === input.gatewayRefundId)) return undefined
  if (input.amount.currency !== payment.amount.currency || !Money.isPositive(input.amount)) return undefined
  const amount = externalRefundable(payment, input.amount)
  if (!Money.isPositive(amount)) return undefined
  return emit(payment, now, (base) =>
    new Event.ExternalRefundRecorded({
      ...base,
      refundId: input.refundId,
      gateway: input.gateway,
      gatewayRefundId: input.gatewayRefundId,
      amount,
      ...(amount.minor === input.amount.minor ? {} : { reportedAmount: input.amount })
    }, true))
}
