/**
 * Manual review items: whether one is open, and resolving it.
 *
 * @internal
 */
import type { DateTime } from "effect"
import { Either } from "effect"
import { ReviewNotOpen } from "../PaymentError.js"
import * as Event from "../PaymentEvent.js"
import { emit } from "./command.js"
import type { Decision, Payment, ReviewResolution } from "./entities.js"

/**
 * Whether the payment has a review item still open.
 *
 * @since 0.1.0
 */
export const needsReview = (payment: Payment): boolean => payment.reviews.some((r) => r.state === "OPEN")

/**
 * Resolves an open review item (see {@link ReviewResolution} for what each resolution records).
 *
 * @since 0.1.0
 */
export const resolveReview = (
  payment: Payment,
  input: {
    readonly reviewId: string
    readonly resolution: ReviewResolution
    readonly note: string
    readonly resolvedBy?: string | undefined
    readonly gatewayRefundId?: string | undefined
  },
  now: DateTime.Utc
): Either.Either<Decision, ReviewNotOpen> =>
  payment.reviews.some((r) => r.id === input.reviewId && r.state === "OPEN")
    ? Either.right(emit(payment, now, (base) =>
      new Event.ManualReviewResolved({
        ...base,
        reviewId: input.reviewId,
        resolution: input.resolution,
        note: input.note,
        ...(input.resolvedBy === undefined ? {} : { resolvedBy: input.resolvedBy }),
        ...(input.gatewayRefundId === undefined ? {} : { gatewayRefundId: input.gatewayRefundId })
      }, true)))
    : Either.left(new ReviewNotOpen({ paymentId: payment.id, reviewId: input.reviewId }))
