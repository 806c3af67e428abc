/**
 * Gateway notifications (webhooks), at the library level: an adapter verifies the signature and
 * hands over a {@link GatewayNotification}; `Notifications.apply` brings the payment up to date.
 *
 * Guarantees:
 * - **Idempotent.** A verified notification is recorded (`NotificationReceived`) in the same
 *   write as the changes it causes; a redelivery with the same id changes nothing and answers
 *   `Duplicate`.
 * - **Forward only, safe out of order.** A notification only moves a payment forward along the
 *   state machine: an older status (a failure after the success, a charge of an attempt already
 *   settled) never moves it back; it is recorded as `ignored`.
 * - **Stray charges are returned.** A charge reported for an attempt that is not the payment's
 *   own (failed over, or its payment failed or was cancelled) is compensated automatically
 *   (see `Compensation`).
 * - **Waiting payments.** A verified charge of the attempt waiting for the customer
 *   (ACTION_REQUIRED) or the provider settles it; `charge.failed`, `charge.expired` and
 *   `charge.canceled` of it fail it (nothing was charged); `charge.pending` and
 *   `charge.action_required` carry no action of their own and are applied by asking the provider
 *   (as `processPayment` does).
 * - **Recorded, not acted upon.** `dispute.opened` / `dispute.closed` are recorded on the payment
 *   (`DisputeRecorded`); `refund.external` (a refund made in the provider's dashboard) is recorded
 *   as a SUCCEEDED refund (`ExternalRefundRecorded`) of at most what is left refundable, once per
 *   provider refund id; one that is a refund of ours settles it instead.
 * - **Unverified means "go and ask".** A notification whose signature could not be verified
 *   never changes anything by itself: it only triggers a status check with the gateway (the
 *   attempt's status, a resent refund with its own key, a resent compensation).
 * - Every change happens under the payment's lock and is version-checked, like every other
 *   operation.
 *
 * @since 0.1.0
 */
import type { DateTime} from "effect";
import { Context, Effect, Either, Layer, Option } from "effect"
import * as Money from "../domain/Money.js"
import * as Payment from "../domain/Payment.js"
import * as Commit from "../internal/orchestration/commit.js"
import type { ValidationError } from "../domain/PaymentError.js";
import { InvalidTransition, PaymentNotFound } from "../domain/PaymentError.js"
import { GatewayNotification } from "../gateway/Webhook.js"
import * as Request from "../domain/PaymentRequest.js"
import * as Tenant from "../domain/Tenant.js"
import { PaymentLock } from "../storage/PaymentLock.js"
import { PaymentRepository } from "../storage/PaymentRepository.js"
import { Compensation } from "./Compensation.js"
import { PaymentService } from "./PaymentService.js"

/**
 * A gateway notification, as an adapter hands it over (defined with the gateway contract).
 *
 * @since 0.1.0
 */
export { GatewayNotification } from "../gateway/Webhook.js"

/**
 * What `apply` did: `Applied` (the payment moved on), `Ignored` (recorded, nothing to change),
 * `Duplicate` (this id was applied before), `Checked` (unverified: the gateway was asked).
 *
 * @since 0.1.0
 */
export interface NotificationResult {
  readonly _tag: "Applied" | "Ignored" | "Duplicate" | "Checked"
  readonly detail: string
  readonly payment: Payment.Payment
}

type ServiceError<K extends "processPayment" | "refundPayment"> = Effect.Effect.Error<
  ReturnType<Context.Tag.Service<PaymentService>[K]>
>

type CompensationError<K extends "check" | "resume" | "compensateLocked"> = Effect.Effect.Error<
  ReturnType<Context.Tag.Service<Compensation>[K]>
>

/**
 * Everything `apply` can fail with: a malformed notification, or what the status check or the
 * changes it needs can fail with (the adapter should answer the gateway with an error so that
 * it redelivers).
 *
 * @since 0.1.0
 */
export type NotificationError =
  | ValidationError
  | ServiceError<"processPayment">
  | ServiceError<"refundPayment">
  | CompensationError<"check">
  | CompensationError<"resume">
  | CompensationError<"compensateLocked">

/**
 * Options of `apply`.
 *
 * @since 0.2.0
 */
export interface ApplyOptions {
  /**
   * Only a payment of this tenant: a notification about another tenant's payment is a
   * `PaymentNotFound` and nothing is applied or asked. For webhooks received for one tenant's own
   * gateway (verified with that tenant's secret, which the tenant itself knows).
   */
  readonly tenantId?: string | undefined
}

/**
 * @since 0.1.0
 */
export class Notifications extends Context.Tag("aegispay/Notifications")<Notifications, {
  readonly apply: (notification: GatewayNotification, options?: ApplyOptions) => Effect.Effect<NotificationResult, NotificationError>
}>() {}

type Verdict =
  | { readonly _tag: "change"; readonly decide: (at: DateTime.Utc) => Either.Either<Payment.Decision, InvalidTransition>; readonly detail: string }
  | { readonly _tag: "compensate"; readonly attempt: Payment.Attempt; readonly charge: { readonly status: "succeeded" | "authorized"; readonly transactionId: string }; readonly detail: string }
  | { readonly _tag: "ignore"; readonly detail: string }

const ignore = (detail: string): Verdict => ({ _tag: "ignore", detail })

/** The notification's exact amount in its currency, when it carries a valid one. */
const moneyOf = (n: typeof GatewayNotification.Type): Money.Money | undefined =>
  n.amount === undefined || n.currency === undefined
    ? undefined
    : Either.getOrUndefined(Money.fromDecimalString(n.amount, n.currency))

/**
 * What a verified notification means for the payment as it is now (pure).
 */
const judge = (payment: Payment.Payment, n: typeof GatewayNotification.Type): Verdict => {
  switch (n.type) {
    case "charge.succeeded":
    case "charge.authorized": {
      const attempt = payment.attempts.find((a) => a.idempotencyKey === n.idempotencyKey && a.gateway === n.gateway)
      if (attempt === undefined) return ignore("no attempt of this payment has this key at this gateway")
      const transactionId = n.transactionId
      if (transactionId === undefined) return ignore("no transaction id")
      const status = n.type === "charge.succeeded" ? "succeeded" : "authorized"
      if (attempt.status === "succeeded" || attempt.status === "authorized") return ignore(`attempt already ${attempt.status}`)
      if (Payment.ownsCharge(payment, attempt)) {
        return {
          _tag: "change",
          detail: `attempt ${attempt.id} ${status}`,
          decide: (at) =>
            status === "succeeded"
              ? Payment.succeed(payment, transactionId, at)
              : Payment.authorize(payment, transactionId, at)
        }
      }
      if (payment.compensations.some((c) => c.attemptId === attempt.id)) return ignore("stray charge already compensated")
      return { _tag: "compensate", attempt, charge: { status, transactionId }, detail: `stray charge of attempt ${attempt.id}` }
    }
    case "charge.failed":
    case "charge.expired":
    case "charge.canceled": {
      const attempt = payment.currentAttempt
      if (
        (payment.state !== "PROCESSING" && payment.state !== "ACTION_REQUIRED") || attempt === undefined ||
        attempt.idempotencyKey !== n.idempotencyKey
      ) {
        return ignore("not the attempt in progress: an older status never moves a payment back")
      }
      const what = n.type === "charge.failed" ? "failed" : n.type === "charge.expired" ? "expired" : "canceled"
      const reason = n.reason ?? `${what} (gateway notification)`
      const code = n.code ?? (n.type === "charge.failed" ? undefined : what)
      return {
        _tag: "change",
        detail: `attempt ${attempt.id} ${what}`,
        decide: (at) => Payment.fail(payment, reason, code, at)
      }
    }
    case "charge.pending":
    case "charge.action_required":
      // handled by asking the provider (see `applyFor`): never judged here
      return ignore("answered by the provider's status")
    case "dispute.opened":
    case "dispute.closed": {
      const disputeId = n.disputeId ?? n.transactionId ?? n.id
      const amount = moneyOf(n)
      return {
        _tag: "change",
        detail: `dispute ${disputeId} ${n.type === "dispute.opened" ? "opened" : "closed"}`,
        decide: (at) =>
          Either.right(Payment.recordDispute(payment, {
            disputeId,
            gateway: n.gateway,
            status: n.type === "dispute.opened" ? "opened" : "closed",
            amount,
            reason: n.reason,
            outcome: n.type === "dispute.closed" ? n.code : undefined
          }, at))
      }
    }
    case "refund.external": {
      const ours = payment.refunds.find((r) => r.gatewayIdempotencyKey === n.idempotencyKey)
      if (ours !== undefined) {
        // a refund of ours after all: settled like `refund.succeeded`
        if (ours.state !== "PENDING") return ignore(`refund ${ours.id} already ${ours.state}`)
        const gatewayRefundId = n.refundId ?? n.idempotencyKey
        return {
          _tag: "change",
          detail: `refund ${ours.id} succeeded`,
          decide: (at) => Either.right(Payment.refundSucceeded(payment, ours.id, gatewayRefundId, at))
        }
      }
      const gatewayRefundId = n.refundId
      const amount = moneyOf(n)
      if (gatewayRefundId === undefined || amount === undefined) return ignore("an outside refund needs its refund id and amount")
      if (amount.currency !== payment.amount.currency) return ignore("an outside refund in another currency")
      if (payment.refunds.some((r) => r.gatewayRefundId === gatewayRefundId)) return ignore(`refund ${gatewayRefundId} already recorded`)
      const recordable = Payment.externalRefundable(payment, amount)
      if (!Money.isPositive(recordable)) return ignore("nothing left to refund: the refunded amount never exceeds the captured one")
      return {
        _tag: "change",
        detail: `outside refund ${gatewayRefundId} of ${Money.toDecimalString(recordable)} ${recordable.currency} recorded`,
        decide: (at) =>
          Either.fromNullable(
            Payment.recordExternalRefund(payment, {
              refundId: `ext_${payment.id}_${payment.refunds.length + 1}`,
              gateway: n.gateway,
              gatewayRefundId,
              amount
            }, at),
            () => new InvalidTransition({ paymentId: payment.id, from: payment.state, to: payment.state })
          )
      }
    }
    case "refund.succeeded":
    case "refund.failed": {
      const succeeded = n.type === "refund.succeeded"
      const refund = payment.refunds.find((r) => r.gatewayIdempotencyKey === n.idempotencyKey)
      if (refund !== undefined) {
        if (refund.state !== "PENDING") return ignore(`refund ${refund.id} already ${refund.state}`)
        const gatewayRefundId = n.refundId ?? n.idempotencyKey
        const reason = n.reason ?? "refund failed (gateway notification)"
        return {
          _tag: "change",
          detail: `refund ${refund.id} ${succeeded ? "succeeded" : "failed"}`,
          decide: (at) =>
            Either.right(
              succeeded
                ? Payment.refundSucceeded(payment, refund.id, gatewayRefundId, at)
                : Payment.refundFailed(payment, refund.id, reason, at)
            )
        }
      }
      const compensation = payment.compensations.find((c) => c.idempotencyKey === n.idempotencyKey)
      if (compensation === undefined) return ignore("no refund or compensation of this payment has this key")
      if (compensation.state !== "PENDING") return ignore(`compensation ${compensation.id} already ${compensation.state}`)
      const reason = `compensation refused (gateway notification): ${n.reason ?? n.code ?? "no reason"}`
      return {
        _tag: "change",
        detail: `compensation ${compensation.id} ${succeeded ? "refunded" : "refused"}`,
        decide: (at) =>
          Either.right(
            succeeded
              ? Payment.compensationSucceeded(payment, compensation.id, n.refundId ?? n.idempotencyKey, at)
              : Payment.compensationNeedsReview(payment, compensation.id, reason, at)
          )
      }
    }
  }
}

/**
 * Builds the notification service.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const repository = yield* PaymentRepository
  const paymentLock = yield* PaymentLock
  const payments = yield* PaymentService
  const compensation = yield* Compensation

  const result = (_tag: NotificationResult["_tag"], detail: string, payment: Payment.Payment): NotificationResult => ({
    _tag,
    detail,
    payment
  })

  /** An unverified notification: ask the gateway about whatever it names, change nothing else. */
  const check = (n: typeof GatewayNotification.Type) =>
    Effect.gen(function*() {
      const payment = yield* payments.getPayment(n.paymentId)
      const attempt = payment.attempts.find((a) => a.idempotencyKey === n.idempotencyKey)
      if (attempt !== undefined) {
        if (
          (payment.state === "PROCESSING" || payment.state === "ACTION_REQUIRED") && payment.currentAttempt?.id === attempt.id
        ) {
          const after = yield* payments.processPayment(payment.id).pipe(
            Effect.catchIf((e): e is InvalidTransition => e instanceof InvalidTransition, () => payments.getPayment(payment.id))
          )
          return result("Checked", `asked ${attempt.gateway} for attempt ${attempt.id}`, after)
        }
        return result("Checked", `asked ${attempt.gateway} for attempt ${attempt.id}`, yield* compensation.check(payment.id, attempt.id))
      }
      const refund = payment.refunds.find((r) => r.gatewayIdempotencyKey === n.idempotencyKey)
      if (refund !== undefined) {
        if (refund.state === "PENDING") {
          yield* payments.refundPayment({ paymentId: payment.id, idempotencyKey: refund.idempotencyKey })
        }
        return result("Checked", `refund ${refund.id} checked`, yield* payments.getPayment(payment.id))
      }
      if (payment.compensations.some((c) => c.idempotencyKey === n.idempotencyKey)) {
        return result("Checked", "compensation resent", yield* compensation.resume(payment.id))
      }
      return result("Checked", "nothing of this payment has this key", payment)
    })

  const apply = Effect.fn("Notifications.apply")(function*(raw: GatewayNotification, options?: ApplyOptions) {
    const n = yield* Request.decode(GatewayNotification, raw)
    yield* Effect.annotateCurrentSpan({ paymentId: n.paymentId, gateway: n.gateway, notification: n.type })
    // Gateway notifications act across tenants: the payment they name is handled as its own
    // tenant (every lookup below is scoped to it), unless the caller names the only tenant allowed.
    const found = yield* repository.findById(n.paymentId)
    if (Option.isNone(found) || (options?.tenantId !== undefined && found.value.tenantId !== options.tenantId)) {
      return yield* new PaymentNotFound({ paymentId: n.paymentId })
    }
    return yield* applyFor(n).pipe(Tenant.with(found.value.tenantId))
  })

  /** Applies a notification, as the tenant of its payment. */
  const applyFor = (n: typeof GatewayNotification.Type) => Effect.gen(function*() {
    // Unverified, or a wait that carries no action of its own: ask the provider (idempotent).
    if (!n.verified || n.type === "charge.pending" || n.type === "charge.action_required") return yield* check(n)
    const notificationId = `${n.gateway}:${n.id}`
    return yield* paymentLock.withPayment(n.paymentId, (payment) =>
      Effect.gen(function*() {
        if (payment.notificationIds.includes(notificationId)) return result("Duplicate", "already received", payment)
        const verdict = judge(payment, n)
        const record = (changed: Payment.Decision, at: DateTime.Utc) =>
          Payment.recordNotification(changed, {
            notificationId,
            gateway: n.gateway,
            notificationType: n.type,
            outcome: verdict._tag === "ignore" ? "ignored" : "applied",
            detail: verdict.detail
          }, at)
        if (verdict._tag === "compensate") {
          // recorded in the same write as the compensation: a crash keeps neither, so the
          // redelivery is not a Duplicate and compensates
          const after = yield* compensation.compensateLocked(
            payment,
            verdict.attempt,
            verdict.charge,
            `gateway notification ${n.id}: ${n.type}`,
            (current, at) => record({ payment: current, events: [] }, at)
          )
          return result("Applied", verdict.detail, after)
        }
        const after = yield* Commit.commit(repository, payment, (at) =>
          verdict._tag === "change"
            ? Either.map(verdict.decide(at), (changed) => record(changed, at))
            : Either.right(record({ payment, events: [] }, at)))
        return result(verdict._tag === "ignore" ? "Ignored" : "Applied", verdict.detail, after)
      }))
  })

  return Notifications.of({ apply })
})

/**
 * The notification service layer.
 *
 * @since 0.1.0
 */
export const layer = Layer.effect(Notifications, make)
