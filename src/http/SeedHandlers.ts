/**
 * The seed service's paths, with the seed's names, over the same operations as `/v1`:
 * `POST /api/v1/payments/initiate` (create + process), `/complete`, `/refund`,
 * `POST /api/v1/providers/credentials` (the tenant's provider credentials) and
 * `GET /api/v1/providers/status`.
 *
 * `initiate` is idempotent like `POST /v1/payments` (same `Idempotency-Key` and body: the same
 * payment, never a second charge): a repeat answers the payment as it is now, processing it
 * only while it is not settled yet.
 *
 * @since 0.2.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { PaymentService } from "../orchestration/PaymentService.js"
import { AegisPayApi } from "./AegisPayApi.js"
import { authorized } from "./Auth.js"
import { fromDomain } from "./ErrorMapping.js"
import * as Operations from "./Operations.js"
import { complete } from "./PaymentsHandlers.js"
import { gatewayHealth } from "./PaymentsHandlers.js"
import { saveCredentials } from "./ProvidersHandlers.js"

const unsettled = new Set(["INITIATED", "AUTHENTICATED", "PROCESSING"])

/**
 * @since 0.2.0
 */
export const layerSeed = HttpApiBuilder.group(AegisPayApi, "seed", (handlers) =>
  handlers
    .handle("initiate", ({ headers, payload }) =>
      Effect.gen(function*() {
        const created = yield* Operations.createPayment(headers["idempotency-key"], payload)
        const payments = yield* PaymentService
        const payment = yield* payments.getPayment(created.view.id).pipe(Effect.mapError((e) => fromDomain(e, created.view.id)))
        return yield* unsettled.has(payment.state) ? Operations.confirm(payment.id) : Operations.processedResponse(payment)
      }).pipe(authorized("payments:write")))
    .handle("complete", ({ payload }) => complete(payload.paymentId, payload.params).pipe(authorized("payments:write")))
    .handle("refund", ({ headers, payload }) =>
      Operations.refund({ ...payload, idempotencyKey: headers["idempotency-key"] }).pipe(authorized("refunds:write")))
    .handle("credentials", ({ payload }) =>
      Effect.map(saveCredentials(payload.provider, payload.credentials), (saved) => ({ provider: saved.provider, fields: saved.fields })).pipe(
        authorized("admin")
      ))
    .handle("status", () => gatewayHealth.pipe(authorized("payments:read"))))
