/**
 * The HTTP API of AegisPay as an `HttpApi` value: mount it in your own `@effect/platform` server
 * (`AegisPayHttp.layer`), extend it with your own groups, or derive a typed client with
 * `HttpApiClient.make(AegisPayApi, { baseUrl })`. `OpenApi.fromApi(AegisPayApi)` is the document
 * served at `/openapi.json`.
 *
 * Routes (docs/HTTP.md has every status and header):
 * - `payments` (`/v1/payments…`): create (`Idempotency-Key`), get, confirm, capture, cancel,
 *   complete, refunds (create, list);
 * - `customers`: `GET /v1/customers/:customerId/payments` (cursor pages);
 * - `gateways`: `GET /v1/gateways/health`;
 * - `providers`: the tenant's provider credentials (`/v1/providers…`, `admin` scope);
 * - `webhooks`: `POST /v1/webhooks/:provider` and the seed's `POST /api/v1/webhooks/:provider`
 *   (no API key: the provider's signature is checked by the gateway's adapter);
 * - `seed`: the seed service's paths (`/api/v1/payments/initiate`, `/complete`, `/refund`,
 *   `/api/v1/providers/credentials`, `/api/v1/providers/status`);
 * - `ops`: `/health`, `/ready`, `/metrics` (no API key);
 * - `webhookEndpoints` (`/v1/webhook-endpoints…`) and `tenantWebhooks`
 *   (`POST /v1/webhooks/:provider/:tenantId`): see `WebhookGroups`.
 *
 * @since 0.2.0
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import { Schema } from "effect"
import { PaymentView } from "../domain/PaymentView.js"
import {
  BadRequest,
  Conflict,
  Forbidden,
  GatewayFailed,
  InternalError,
  NotFound,
  NotImplemented,
  OutcomeUnknown,
  PayloadTooLarge,
  PaymentDeclined,
  Unavailable,
  Unprocessable
} from "./ApiError.js"
import {
  CancelBody,
  CaptureBody,
  CompleteBody,
  CreatePaymentBody,
  CredentialsBody,
  CredentialsList,
  CredentialsSaved,
  CredentialsView,
  GatewayHealthList,
  HealthStatus,
  PageParams,
  PaymentPage,
  ProviderList,
  RefundBody,
  RefundList,
  RefundView,
  SeedCompleteBody,
  SeedRefundBody,
  WebhookResult
} from "./ApiSchemas.js"
import { Authentication } from "./Auth.js"
import { TenantWebhooksGroup, WebhookEndpointsGroup } from "./WebhookGroups.js"

/**
 * The webhook groups (merchant webhook endpoints; provider webhooks for tenants' own gateways).
 *
 * @since 0.2.0
 */
export { TenantWebhooksGroup, WebhookEndpointsGroup } from "./WebhookGroups.js"

const PaymentPath = Schema.Struct({ paymentId: Schema.String })

/**
 * The `Idempotency-Key` header (1–255 characters, compared exactly).
 *
 * @since 0.2.0
 */
export const IdempotencyHeaders = Schema.Struct({ "idempotency-key": Schema.String })

/**
 * The errors of a route that processes a payment (confirm, capture, cancel, complete, seed
 * initiate/complete): 402 declined, 404, 409 in flight or concurrent, 422 business rule, 502 gateway
 * error, 504 outcome unknown.
 */
const processErrors = <Name extends string, Method extends HttpMethod, Path, UrlParams, Payload, Headers, Success, Error, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, Method, Path, UrlParams, Payload, Headers, Success, Error, R, RE>
) =>
  endpoint
    .addError(PaymentDeclined)
    .addError(NotFound)
    .addError(Conflict)
    .addError(Unprocessable)
    .addError(GatewayFailed)
    .addError(OutcomeUnknown)

/** The errors of a refund: 404, 409, 422 (business rule or key reused), 502 (no gateway for the payment). */
const refundErrors = <Name extends string, Method extends HttpMethod, Path, UrlParams, Payload, Headers, Success, Error, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, Method, Path, UrlParams, Payload, Headers, Success, Error, R, RE>
) => endpoint.addError(NotFound).addError(Conflict).addError(Unprocessable).addError(GatewayFailed)

/**
 * The errors of an incoming webhook: 404 unknown provider; applying a notification: 404, 409, 422,
 * 402, 502, 504 (the provider delivers it again).
 */
const webhookErrors = <Name extends string, Method extends HttpMethod, Path, UrlParams, Payload, Headers, Success, Error, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, Method, Path, UrlParams, Payload, Headers, Success, Error, R, RE>
) => processErrors(endpoint)

/** A payment whose customer must act (ACTION_REQUIRED): answered 202. */
const PaymentAccepted = PaymentView.annotations({ identifier: "PaymentActionRequired" })

/**
 * The payments resource.
 *
 * @since 0.2.0
 */
export class PaymentsGroup extends HttpApiGroup.make("payments")
  .add(
    HttpApiEndpoint.post("create", "/v1/payments")
      .setHeaders(IdempotencyHeaders)
      .setPayload(CreatePaymentBody)
      .addSuccess(PaymentView, { status: 201 })
      .addError(Unprocessable)
      .annotate(OpenApi.Summary, "Create a payment (idempotent per Idempotency-Key)")
      .annotate(
        OpenApi.Description,
        "Creates a payment in INITIATED, idempotently per Idempotency-Key (the payment's own key): the same key with the same body replays the first answer, the payment as created (header Idempotent-Replayed: true; a duplicate sent while the first runs waits for it and replays it); the same key with another body, 422."
      )
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/payments/:paymentId")
      .setPath(PaymentPath)
      .addSuccess(PaymentView)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Get a payment")
  )
  .add(
    HttpApiEndpoint.post("confirm", "/v1/payments/:paymentId/confirm")
      .setPath(PaymentPath)
      .addSuccess(PaymentView)
      .addSuccess(PaymentAccepted, { status: 202 })
      .pipe(processErrors)
      .annotate(OpenApi.Summary, "Process a payment (processPayment)")
      .annotate(
        OpenApi.Description,
        "200: SUCCESS or AUTHORIZED (manual capture). 202: the customer must act (the payment holds the action). 402: declined, the payment in the body. 504: the gateway's answer was lost; the payment stays PROCESSING, is never charged twice and settles later (confirm again)."
      )
  )
  .add(
    HttpApiEndpoint.post("capture", "/v1/payments/:paymentId/capture")
      .setPath(PaymentPath)
      .setPayload(CaptureBody)
      .addSuccess(PaymentView)
      .pipe(processErrors)
      .annotate(OpenApi.Summary, "Capture all or part of an authorization")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/v1/payments/:paymentId/cancel")
      .setPath(PaymentPath)
      .setPayload(CancelBody)
      .addSuccess(PaymentView)
      .pipe(processErrors)
      .annotate(OpenApi.Summary, "Cancel a payment, or void its authorization")
  )
  .add(
    HttpApiEndpoint.post("complete", "/v1/payments/:paymentId/complete")
      .setPath(PaymentPath)
      .setPayload(CompleteBody)
      .addSuccess(PaymentView)
      .addSuccess(PaymentAccepted, { status: 202 })
      .pipe(processErrors)
      .annotate(OpenApi.Summary, "Complete a payment after the customer's action (return URL)")
  )
  .add(
    HttpApiEndpoint.post("refund", "/v1/payments/:paymentId/refunds")
      .setPath(PaymentPath)
      .setHeaders(IdempotencyHeaders)
      .setPayload(RefundBody)
      .addSuccess(RefundView, { status: 201 })
      .pipe(refundErrors)
      .annotate(OpenApi.Summary, "Refund a payment (idempotent per payment and Idempotency-Key)")
      .annotate(
        OpenApi.Description,
        "The refund's state is SUCCEEDED, FAILED (the gateway refused; nothing moved), PENDING (no definite answer yet: repeat with the same key) or MANUAL_REVIEW."
      )
  )
  .add(
    HttpApiEndpoint.get("refunds", "/v1/payments/:paymentId/refunds")
      .setPath(PaymentPath)
      .addSuccess(RefundList)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "List a payment's refunds")
  )
  .addError(Forbidden)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Payments")
{}

/**
 * A customer's payments.
 *
 * @since 0.2.0
 */
export class CustomersGroup extends HttpApiGroup.make("customers")
  .add(
    HttpApiEndpoint.get("payments", "/v1/customers/:customerId/payments")
      .setPath(Schema.Struct({ customerId: Schema.String }))
      .setUrlParams(PageParams)
      .addSuccess(PaymentPage)
      .annotate(OpenApi.Summary, "A customer's payments, newest first, a page at a time")
  )
  .addError(Forbidden)
  .middleware(Authentication)
{}

/**
 * Gateway health.
 *
 * @since 0.2.0
 */
export class GatewaysGroup extends HttpApiGroup.make("gateways")
  .add(
    HttpApiEndpoint.get("health", "/v1/gateways/health")
      .addSuccess(GatewayHealthList)
      .annotate(OpenApi.Summary, "Health score, circuit state and latency of each gateway")
  )
  .addError(Forbidden)
  .middleware(Authentication)
{}

const ProviderPath = Schema.Struct({ provider: Schema.String })

/**
 * The tenant's own provider credentials (`admin` scope): saved encrypted, answered masked, turned
 * into the tenant's gateways by `TenantGateways`. 501 where the installation does not provide
 * `TenantGateways` to the HTTP layer.
 *
 * @since 0.2.0
 */
export class ProvidersGroup extends HttpApiGroup.make("providers")
  .add(
    HttpApiEndpoint.get("list", "/v1/providers")
      .addSuccess(ProviderList)
      .addError(NotImplemented)
      .annotate(OpenApi.Summary, "The providers tenants may store credentials for, and their fields")
  )
  .add(
    HttpApiEndpoint.post("saveCredentials", "/v1/providers/credentials")
      .setPayload(CredentialsBody)
      .addSuccess(CredentialsView)
      .addError(NotImplemented)
      .annotate(OpenApi.Summary, "Save or update the tenant's credentials for a provider (answered masked)")
      .annotate(
        OpenApi.Description,
        "The fields are checked against the provider (unknown or missing fields, values the provider refuses: 400, nothing stored), stored encrypted, and the tenant's gateway for the provider is rebuilt from them. Values are never answered: only their last four characters."
      )
  )
  .add(
    HttpApiEndpoint.get("credentials", "/v1/providers/credentials")
      .addSuccess(CredentialsList)
      .addError(NotImplemented)
      .annotate(OpenApi.Summary, "The tenant's stored credentials, masked")
  )
  .add(
    HttpApiEndpoint.del("removeCredentials", "/v1/providers/credentials/:provider")
      .setPath(ProviderPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .addError(NotImplemented)
      .annotate(OpenApi.Summary, "Remove the tenant's credentials for a provider (its own gateway for it is dropped)")
  )
  .addError(Forbidden)
  .middleware(Authentication)
{}

/**
 * Incoming provider webhooks (no API key: the gateway's adapter verifies the signature over the
 * exact bytes received).
 *
 * @since 0.2.0
 */
export class WebhooksGroup extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("receive", "/v1/webhooks/:provider")
      .setPath(ProviderPath)
      .addSuccess(WebhookResult)
      .pipe(webhookErrors)
      .annotate(OpenApi.Summary, "Receive a provider's webhook")
      .annotate(
        OpenApi.Description,
        "400 when the signature or body is refused (nothing applied); 200 for a duplicate (applied once)."
      )
  )
  .add(
    HttpApiEndpoint.post("receiveSeed", "/api/v1/webhooks/:provider")
      .setPath(ProviderPath)
      .addSuccess(WebhookResult)
      .pipe(webhookErrors)
      .annotate(OpenApi.Summary, "Receive a provider's webhook (the seed's path)")
  )
{}

/**
 * The seed service's paths, with the seed's names.
 *
 * @since 0.2.0
 */
export class SeedGroup extends HttpApiGroup.make("seed")
  .add(
    HttpApiEndpoint.post("initiate", "/api/v1/payments/initiate")
      .setHeaders(IdempotencyHeaders)
      .setPayload(CreatePaymentBody)
      .addSuccess(PaymentView)
      .addSuccess(PaymentAccepted, { status: 202 })
      .pipe(processErrors)
      .annotate(OpenApi.Summary, "Create and process a payment (seed: initiatePayment)")
  )
  .add(
    HttpApiEndpoint.post("complete", "/api/v1/payments/complete")
      .setPayload(SeedCompleteBody)
      .addSuccess(PaymentView)
      .addSuccess(PaymentAccepted, { status: 202 })
      .pipe(processErrors)
      .annotate(OpenApi.Summary, "Complete a payment after the customer's action (seed: completePayment)")
  )
  .add(
    HttpApiEndpoint.post("refund", "/api/v1/payments/refund")
      .setHeaders(IdempotencyHeaders)
      .setPayload(SeedRefundBody)
      .addSuccess(RefundView, { status: 201 })
      .pipe(refundErrors)
      .annotate(OpenApi.Summary, "Refund a payment (seed: refundPayment)")
  )
  .add(
    HttpApiEndpoint.post("credentials", "/api/v1/providers/credentials")
      .setPayload(CredentialsBody)
      .addSuccess(CredentialsSaved)
      .addError(NotImplemented)
      .annotate(OpenApi.Summary, "Save or update the tenant's provider credentials (seed: saveOrUpdateProviderKeys)")
  )
  .add(
    HttpApiEndpoint.get("status", "/api/v1/providers/status")
      .addSuccess(GatewayHealthList)
      .annotate(OpenApi.Summary, "Provider status (seed)")
  )
  .addError(Forbidden)
  .middleware(Authentication)
{}

/**
 * Liveness, readiness and metrics (no API key).
 *
 * @since 0.2.0
 */
export class OpsGroup extends HttpApiGroup.make("ops")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(HealthStatus).annotate(OpenApi.Summary, "Liveness"))
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .addSuccess(HealthStatus)
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "Readiness: storage, API-key store and this process's workers (each in checks; 503 when one fails)")
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" }))
      .annotate(OpenApi.Summary, "Prometheus metrics")
  )
{}

/**
 * The whole API. Every route may also answer 400 (malformed or invalid request), 413 (body over
 * 1 MB) and 500 (unexpected; no internals); authenticated routes 401 and 429.
 *
 * @since 0.2.0
 */
export class AegisPayApi extends HttpApi.make("aegispay")
  .add(PaymentsGroup)
  .add(CustomersGroup)
  .add(GatewaysGroup)
  .add(ProvidersGroup)
  .add(WebhooksGroup)
  .add(SeedGroup)
  .add(OpsGroup)
  .add(WebhookEndpointsGroup)
  .add(TenantWebhooksGroup)
  .addError(BadRequest)
  .addError(PayloadTooLarge)
  .addError(InternalError)
  .annotate(OpenApi.Title, "AegisPay")
  .annotate(OpenApi.Version, "0.2.0")
  .annotate(
    OpenApi.Description,
    "Payment orchestration: idempotent payments, exact money (decimal strings), no double charges. Errors: { type, code, message, paymentId? }. See docs/HTTP.md."
  )
{}
