/**
 * Manual review: the items a person must look at, and their resolution.
 *
 * A review item is opened by a `ManualReviewRequired` event: a resumed refund the gateway
 * declined (it may have been applied already), or the compensation of a stray charge the
 * gateway refused. Each carries the refund or compensation it is about and the reason; the
 * payment's events give the full history.
 *
 * `resolve` records a person's decision as a `ManualReviewResolved` event (who, when, a note),
 * under the payment's lock:
 * - `refunded`: the money went back (by hand or confirmed at the gateway): the refund becomes
 *   SUCCEEDED and counts in the refunded amount, or the compensation becomes REFUNDED;
 * - `not_refunded`: nothing went back: the refund becomes FAILED and its reservation is
 *   released, or the compensation becomes KEPT (the charge stands).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as Payment from "../domain/Payment.js"
import * as Commit from "../internal/orchestration/commit.js"
import { type PaymentNotFound, type ReviewNotOpen, ValidationError, type VersionConflict } from "../domain/PaymentError.js"
import * as Request from "../domain/PaymentRequest.js"
import * as Tenant from "../domain/Tenant.js"
import type { LockUnavailable } from "../storage/LockManager.js"
import { PaymentLock } from "../storage/PaymentLock.js"
import { type Page, PaymentRepository } from "../storage/PaymentRepository.js"
import type { StorageError } from "../storage/StorageError.js"

/**
 * An open review item with the payment it belongs to.
 *
 * @since 0.1.0
 */
export interface OpenReview {
  readonly review: Payment.ReviewItem
  readonly payment: Payment.Payment
}

/**
 * The request of `list`.
 *
 * @since 0.1.0
 */
export interface ListRequest {
  /**
   * Items are always those of the current `Tenant`; a `tenantId` naming another tenant gives an
   * empty page (another tenant's items look, from here, like none).
   */
  readonly tenantId?: string | undefined
  /** Payments per page, 1 to 100; default 20. */
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

/**
 * The request of `resolve`.
 *
 * @since 0.1.0
 */
export const ResolveRequest = Schema.Struct({
  paymentId: Schema.NonEmptyTrimmedString,
  reviewId: Schema.NonEmptyTrimmedString,
  resolution: Payment.ReviewResolution,
  /** What was done and why; required, it is the audit trail. */
  note: Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(2000)),
  resolvedBy: Schema.optional(Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255))),
  /** The gateway's refund id, when the money went back through the gateway. */
  gatewayRefundId: Schema.optional(Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(255)))
})

/**
 * @since 0.1.0
 */
export type ResolveRequest = typeof ResolveRequest.Encoded

/**
 * @since 0.1.0
 */
export class ManualReview extends Context.Tag("aegispay/ManualReview")<ManualReview, {
  /** The current tenant's open review items, a page of payments at a time (in payment id order). */
  readonly list: (request?: ListRequest) => Effect.Effect<Page<OpenReview>, ValidationError | StorageError>
  /**
   * Resolves one open item; `ReviewNotOpen` when it does not exist or is already resolved, and
   * `PaymentNotFound` when the payment is not the current tenant's.
   */
  readonly resolve: (
    request: ResolveRequest
  ) => Effect.Effect<
    Payment.Payment,
    ValidationError | ReviewNotOpen | PaymentNotFound | VersionConflict | LockUnavailable | StorageError
  >
}>() {}

/**
 * Builds the review service.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const repository = yield* PaymentRepository
  const paymentLock = yield* PaymentLock

  const list = Effect.fn("ManualReview.list")(function*(request: ListRequest = {}) {
    const limit = request.limit ?? 20
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return yield* new ValidationError({ path: "limit", message: "limit must be an integer from 1 to 100" })
    }
    const tenantId = yield* Tenant.current
    if (request.tenantId !== undefined && request.tenantId !== tenantId) return { items: [] }
    const page = yield* repository.findNeedingReview(tenantId, { limit, cursor: request.cursor })
    return {
      items: page.items.flatMap((payment) => payment.openReviews.map((review) => ({ review, payment }))),
      nextCursor: page.nextCursor
    }
  })

  const resolve = Effect.fn("ManualReview.resolve")(function*(raw: ResolveRequest) {
    const request = yield* Request.decode(ResolveRequest, raw)
    return yield* paymentLock.withPayment(request.paymentId, (payment) =>
      Effect.gen(function*() {
        const resolved = yield* Commit.commit(repository, payment, (at) => Payment.resolveReview(payment, request, at), true)
        yield* Effect.logInfo("review resolved").pipe(
          Effect.annotateLogs({ paymentId: payment.id, reviewId: request.reviewId, resolution: request.resolution })
        )
        return resolved
      }))
  })

  return ManualReview.of({ list, resolve })
})

/**
 * The review service layer.
 *
 * @since 0.1.0
 */
export const layer = Layer.effect(ManualReview, make)
