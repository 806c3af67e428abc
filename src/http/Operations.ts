/**
 * The payment operations as the HTTP API runs them, shared by the `/v1` routes and the seed's
 * `/api/v1` routes: `PaymentService` calls, their errors mapped to HTTP errors
 * (`ErrorMapping.fromDomain`), and the payment's state mapped to a status where
 * `processPayment` answers with a payment rather than an error.
 *
 * All of them run for the current tenant (set from the API key by `Auth.authorized`).
 *
 * @since 0.2.0
 */
import type { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import * as Payment from "../domain/Payment.js"
import * as PaymentView from "../domain/PaymentView.js"
import * as Money from "../domain/Money.js"
import { PaymentService } from "../orchestration/PaymentService.js"
import { EventStore } from "../storage/EventStore.js"
import { InternalError, OutcomeUnknown, PaymentDeclined } from "./ApiError.js"
import type { CreatePaymentBody, RefundView } from "./ApiSchemas.js"
import { fromDomain } from "./ErrorMapping.js"
import * as PaymentJson from "./PaymentJson.js"
import * as RequestLog from "./RequestLog.js"

/**
 * The header marking a replayed response of an idempotent create.
 *
 * @since 0.2.0
 */
export const replayedHeader = "idempotent-replayed"

/**
 * The payment as its create answered it: its first event, folded. A replayed create answers
 * this, the very body of the first answer, whatever has happened to the payment since.
 */
const asCreated = (payment: Payment.Payment) =>
  Effect.flatMap(EventStore, (events) => events.read(payment.id)).pipe(
    Effect.flatMap((log) => {
      const first = log[0]
      return first !== undefined && first._tag === "PaymentInitiated"
        ? Effect.succeed(Payment.start(first))
        : Effect.fail(new InternalError({ code: "internal_error", message: "internal error" }))
    }),
    Effect.catchTag("StorageError", (e) => Effect.fail(fromDomain(e, payment.id)))
  )

/**
 * Creates a payment with Stripe's `Idempotency-Key` semantics, per (tenant, key), on the
 * payment's own idempotency (`PaymentService.createPaymentOutcome`, the unique (tenant, key)
 * insert): the first answer is replayed for the same key and body (`replayed: true`, the payment
 * as it was created, rebuilt from its first event); the same key with another body, 422. A
 * request that fails creates nothing, so it may be retried. Concurrent identical requests make
 * one payment: the create is one atomic insert, so a duplicate that arrives while the first is in
 * flight waits for it and replays its answer (never a second payment, never a 409 for a create).
 * No statement is spent on idempotency besides the payment's own insert.
 *
 * @since 0.2.0
 */
export const createPayment = (idempotencyKey: string, body: CreatePaymentBody) =>
  Effect.gen(function*() {
    const payments = yield* PaymentService
    const outcome = yield* payments.createPaymentOutcome({ ...body, idempotencyKey }).pipe(
      Effect.mapError((e) => fromDomain(e))
    )
    yield* RequestLog.set({ paymentId: outcome.payment.id })
    const view = PaymentView.fromPayment(outcome.replayed ? yield* asCreated(outcome.payment) : outcome.payment)
    return { view, replayed: outcome.replayed }
  })

/**
 * The answer of `POST /v1/payments`: 201 with the payment; a replay carries
 * `Idempotent-Replayed: true`. The body is written by `PaymentJson` (the schema's encoding of
 * `PaymentView`, by hand).
 *
 * @since 0.2.0
 */
export const createResponse = (
  created: { readonly view: PaymentView.PaymentView; readonly replayed: boolean }
): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.succeed(
    created.replayed
      ? PaymentJson.response(created.view, 201, { [replayedHeader]: "true" })
      : PaymentJson.response(created.view, 201)
  )

/**
 * The answer for a payment `processPayment` (or `completePayment`) returned, by its state:
 * SUCCESS, AUTHORIZED and others 200 with the payment; waiting for the customer 202 with the
 * payment (which holds the action); FAILURE 402 (`PaymentDeclined`, the decline code and the
 * payment); still PROCESSING (outcome unknown) 504 (`OutcomeUnknown` with the payment).
 *
 * @since 0.2.0
 */
export const processedResponse = (
  payment: Payment.Payment
): Effect.Effect<HttpServerResponse.HttpServerResponse, PaymentDeclined | OutcomeUnknown> => {
  const view = PaymentView.fromPayment(payment)
  switch (payment.state) {
    case "FAILURE":
      return Effect.fail(
        new PaymentDeclined({
          code: payment.declineCode ?? "declined",
          message: `the payment was declined${payment.declineCode === undefined ? "" : ` (${payment.declineCode})`}`,
          paymentId: payment.id,
          payment: view
        })
      )
    case "PROCESSING":
      return Effect.fail(
        new OutcomeUnknown({
          code: "outcome_unknown",
          message: "the gateway's answer is not known yet: the payment settles later (confirm again to reconcile); it is never charged twice",
          paymentId: payment.id,
          payment: view
        })
      )
    default:
      return Effect.succeed(PaymentJson.response(view, isWaitingForCustomer(payment.state) ? 202 : 200))
  }
}

/** Whether the payment waits for its customer (a state of issue 13's domain). */
const isWaitingForCustomer = (state: string): boolean => state === "ACTION_REQUIRED"

/**
 * `processPayment`, answered by {@link processedResponse}.
 *
 * @since 0.2.0
 */
export const confirm = (paymentId: string) =>
  Effect.flatMap(PaymentService, (payments) =>
    payments.processPayment(paymentId).pipe(
      Effect.mapError((e) => fromDomain(e, paymentId)),
      Effect.flatMap(processedResponse)
    )).pipe(RequestLog.aboutPayment(paymentId))

/**
 * The public view of a refund.
 *
 * @since 0.2.0
 */
export const refundView = (refund: Payment.Refund): RefundView => ({
  id: refund.id,
  paymentId: refund.paymentId,
  amount: { currency: refund.amount.currency, amount: Money.toDecimalString(refund.amount) },
  state: refund.state,
  ...(refund.reason === undefined ? {} : { reason: refund.reason }),
  ...(refund.failureReason === undefined ? {} : { failureReason: refund.failureReason }),
  createdAt: refund.createdAt,
  updatedAt: refund.updatedAt
})

/**
 * `refundPayment`, idempotent per (payment, key): a repeat answers the same refund.
 *
 * @since 0.2.0
 */
export const refund = (
  request: { readonly paymentId: string; readonly idempotencyKey: string; readonly amount?: string | undefined; readonly reason?: string | undefined }
) =>
  Effect.flatMap(PaymentService, (payments) =>
    payments.refundPayment({
      paymentId: request.paymentId,
      idempotencyKey: request.idempotencyKey,
      ...(request.amount === undefined ? {} : { amount: request.amount }),
      ...(request.reason === undefined ? {} : { reason: request.reason })
    }).pipe(
      Effect.map(refundView),
      Effect.mapError((e) => fromDomain(e, request.paymentId))
    )).pipe(RequestLog.aboutPayment(request.paymentId))
