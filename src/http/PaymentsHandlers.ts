/**
 * The handlers of the `payments`, `customers` and `gateways` groups over `PaymentService`.
 *
 * Each runs for the API key's tenant and only with its scope (`Auth.authorized`): reads need
 * `payments:read`, payment changes `payments:write`, refunds `refunds:write`.
 *
 * @since 0.2.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import * as PaymentView from "../domain/PaymentView.js"
import * as Health from "../observability/Health.js"
import { PaymentService } from "../orchestration/PaymentService.js"
import { AegisPayApi } from "./AegisPayApi.js"
import { authorized } from "./Auth.js"
import { fromDomain } from "./ErrorMapping.js"
import * as Operations from "./Operations.js"
import * as PaymentJson from "./PaymentJson.js"
import * as RequestLog from "./RequestLog.js"

const withPayment = (paymentId: string) => <A, E, R>(f: (payments: PaymentService["Type"]) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(PaymentService, f).pipe(RequestLog.aboutPayment(paymentId))

/**
 * `completePayment` (the return from a customer action): the provider's return parameters go to
 * the gateway, which finishes the payment. Answered like `confirm`: the payment, 402 when
 * declined, 504 while the outcome is unknown, 202 while the customer has still to act. Another
 * tenant's payment is a 404.
 *
 * @since 0.2.0
 */
export const complete = (paymentId: string, params: Readonly<Record<string, string>> | undefined) =>
  Effect.flatMap(PaymentService, (payments) =>
    payments.completePayment(paymentId, params ?? {}).pipe(
      Effect.mapError((e) => fromDomain(e, paymentId)),
      Effect.flatMap(Operations.processedResponse)
    )).pipe(RequestLog.aboutPayment(paymentId))

/**
 * @since 0.2.0
 */
export const layerPayments = HttpApiBuilder.group(AegisPayApi, "payments", (handlers) =>
  handlers
    .handle("create", ({ headers, payload }) =>
      Effect.flatMap(Operations.createPayment(headers["idempotency-key"], payload), Operations.createResponse).pipe(
        authorized("payments:write")
      ))
    .handle("get", ({ path }) =>
      withPayment(path.paymentId)((payments) =>
        payments.getPayment(path.paymentId).pipe(
          Effect.map((payment) => PaymentJson.response(PaymentView.fromPayment(payment))),
          Effect.mapError((e) => fromDomain(e, path.paymentId))
        )
      ).pipe(authorized("payments:read")))
    .handle("confirm", ({ path }) => Operations.confirm(path.paymentId).pipe(authorized("payments:write")))
    .handle("capture", ({ path, payload }) =>
      withPayment(path.paymentId)((payments) =>
        payments.capturePayment({
          paymentId: path.paymentId,
          ...(payload.amount === undefined ? {} : { amount: payload.amount })
        }).pipe(
          Effect.map((payment) => PaymentJson.response(PaymentView.fromPayment(payment))),
          Effect.mapError((e) => fromDomain(e, path.paymentId))
        )
      ).pipe(authorized("payments:write")))
    .handle("cancel", ({ path, payload }) =>
      withPayment(path.paymentId)((payments) =>
        payments.cancelPayment({
          paymentId: path.paymentId,
          ...(payload.reason === undefined ? {} : { reason: payload.reason })
        }).pipe(
          Effect.map((payment) => PaymentJson.response(PaymentView.fromPayment(payment))),
          Effect.mapError((e) => fromDomain(e, path.paymentId))
        )
      ).pipe(authorized("payments:write")))
    .handle("complete", ({ path, payload }) => complete(path.paymentId, payload.params).pipe(authorized("payments:write")))
    .handle("refund", ({ headers, path, payload }) =>
      Operations.refund({ paymentId: path.paymentId, idempotencyKey: headers["idempotency-key"], ...payload }).pipe(
        authorized("refunds:write")
      ))
    .handle("refunds", ({ path }) =>
      withPayment(path.paymentId)((payments) =>
        payments.getPayment(path.paymentId).pipe(
          Effect.map((payment) => ({ data: payment.refunds.map(Operations.refundView) })),
          Effect.mapError((e) => fromDomain(e, path.paymentId))
        )
      ).pipe(authorized("payments:read")))
)

/**
 * @since 0.2.0
 */
export const layerCustomers = HttpApiBuilder.group(AegisPayApi, "customers", (handlers) =>
  handlers.handle("payments", ({ path, urlParams }) =>
    Effect.flatMap(PaymentService, (payments) =>
      payments.getCustomerPayments({
        customerId: path.customerId,
        ...(urlParams.limit === undefined ? {} : { limit: urlParams.limit }),
        ...(urlParams.cursor === undefined ? {} : { cursor: urlParams.cursor })
      })).pipe(
        Effect.map((page) => ({
          data: page.items.map(PaymentView.fromPayment),
          ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor })
        })),
        Effect.mapError((e) => fromDomain(e)),
        authorized("payments:read")
      ))
)

/**
 * The health of every gateway (global ones).
 *
 * @since 0.2.0
 */
export const gatewayHealth = Effect.map(Health.getHealthSummary, (list) => ({
  data: list.map((h) => ({
    gateway: h.gateway,
    circuit: h.circuit,
    score: h.score,
    requests: h.requests,
    ...(h.successRate === undefined ? {} : { successRate: h.successRate }),
    ...(h.p50 === undefined ? {} : { p50: h.p50 }),
    ...(h.p95 === undefined ? {} : { p95: h.p95 }),
    ...(h.p99 === undefined ? {} : { p99: h.p99 })
  }))
}))

/**
 * @since 0.2.0
 */
export const layerGateways = HttpApiBuilder.group(AegisPayApi, "gateways", (handlers) =>
  handlers.handle("health", () => gatewayHealth.pipe(authorized("payments:read"))))
