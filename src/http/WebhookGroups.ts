/**
 * The webhook groups of {@link AegisPayApi}, in both directions:
 *
 * - `webhookEndpoints` (`/v1/webhook-endpoints…`): a tenant's merchant webhook endpoints (create,
 *   list, get, update, delete, rotate the secret), their deliveries with every attempt, replays.
 *   Scope `webhooks:write` (or `admin`). Answers 501 where the installation has no
 *   `MerchantWebhooks`.
 * - `tenantWebhooks`: `POST /v1/webhooks/{provider}/{tenantId}` and the seed's
 *   `POST /api/v1/webhooks/{provider}/{tenantId}`: a provider's webhooks for the gateway built
 *   from one tenant's stored credentials (`TenantGateways`), verified with that tenant's secret.
 *   No API key: the provider's signature is checked.
 *
 * @since 0.2.0
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Conflict, Forbidden, GatewayFailed, NotFound, NotImplemented, OutcomeUnknown, PaymentDeclined, Unprocessable } from "./ApiError.js"
import { WebhookResult } from "./ApiSchemas.js"
import { Authentication } from "./Auth.js"
import {
  CreateWebhookEndpointBody,
  DeliveryPageParams,
  ReplayedDead,
  UpdateWebhookEndpointBody,
  WebhookDeliveryPage,
  WebhookDeliveryView,
  WebhookEndpointList,
  WebhookEndpointView,
  WebhookEndpointWithSecret
} from "./WebhookSchemas.js"

const EndpointPath = Schema.Struct({ endpointId: Schema.String })
const DeliveryPath = Schema.Struct({ endpointId: Schema.String, deliveryId: Schema.String })

/**
 * The tenant's merchant webhook endpoints and their deliveries.
 *
 * @since 0.2.0
 */
export class WebhookEndpointsGroup extends HttpApiGroup.make("webhookEndpoints")
  .add(
    HttpApiEndpoint.post("create", "/v1/webhook-endpoints")
      .setPayload(CreateWebhookEndpointBody)
      .addSuccess(WebhookEndpointWithSecret, { status: 201 })
      .annotate(OpenApi.Summary, "Register a webhook endpoint (its secret is in this answer only)")
      .annotate(
        OpenApi.Description,
        "url: https:// (http:// only to a loopback host); events: public event types or \"*\", at least one. The answer's secret (whsec_…) signs every delivery (AegisPay-Signature) and is never shown again."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/webhook-endpoints")
      .addSuccess(WebhookEndpointList)
      .annotate(OpenApi.Summary, "The tenant's webhook endpoints, oldest first")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/webhook-endpoints/:endpointId")
      .setPath(EndpointPath)
      .addSuccess(WebhookEndpointView)
      .annotate(OpenApi.Summary, "A webhook endpoint")
  )
  .add(
    HttpApiEndpoint.patch("update", "/v1/webhook-endpoints/:endpointId")
      .setPath(EndpointPath)
      .setPayload(UpdateWebhookEndpointBody)
      .addSuccess(WebhookEndpointView)
      .annotate(OpenApi.Summary, "Change an endpoint's url, events, description or enabled")
      .annotate(
        OpenApi.Description,
        "A disabled endpoint gets no new deliveries; its pending ones wait until it is enabled again."
      )
  )
  .add(
    HttpApiEndpoint.del("delete", "/v1/webhook-endpoints/:endpointId")
      .setPath(EndpointPath)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(OpenApi.Summary, "Remove an endpoint with its deliveries and their attempts")
  )
  .add(
    HttpApiEndpoint.post("rotateSecret", "/v1/webhook-endpoints/:endpointId/rotate-secret")
      .setPath(EndpointPath)
      .addSuccess(WebhookEndpointWithSecret)
      .annotate(OpenApi.Summary, "A new signing secret (in this answer only); attempts from now on are signed with it")
  )
  .add(
    HttpApiEndpoint.get("deliveries", "/v1/webhook-endpoints/:endpointId/deliveries")
      .setPath(EndpointPath)
      .setUrlParams(DeliveryPageParams)
      .addSuccess(WebhookDeliveryPage)
      .annotate(OpenApi.Summary, "An endpoint's deliveries with their attempts, newest first, a page at a time")
  )
  .add(
    HttpApiEndpoint.get("delivery", "/v1/webhook-endpoints/:endpointId/deliveries/:deliveryId")
      .setPath(DeliveryPath)
      .addSuccess(WebhookDeliveryView)
      .annotate(OpenApi.Summary, "One delivery with its attempts")
  )
  .add(
    HttpApiEndpoint.post("replay", "/v1/webhook-endpoints/:endpointId/deliveries/:deliveryId/replay")
      .setPath(DeliveryPath)
      .addSuccess(WebhookDeliveryView)
      .annotate(OpenApi.Summary, "Send a delivery again (delivered, dead, or waiting for a retry)")
      .annotate(
        OpenApi.Description,
        "The delivery is due now with a fresh retry schedule, ahead of the payment's later pending events to this endpoint. A delivery whose attempt is in flight is answered as it is."
      )
  )
  .add(
    HttpApiEndpoint.post("replayDead", "/v1/webhook-endpoints/:endpointId/replay-dead")
      .setPath(EndpointPath)
      .addSuccess(ReplayedDead)
      .annotate(OpenApi.Summary, "Send every dead (dead-lettered) delivery of the endpoint again")
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(NotImplemented)
  .middleware(Authentication)
  .annotate(OpenApi.Title, "Webhook endpoints")
{}

const TenantProviderPath = Schema.Struct({ provider: Schema.String, tenantId: Schema.String })

/**
 * Incoming provider webhooks for one tenant's own gateways (no API key: the tenant's gateway
 * verifies the provider's signature with the tenant's webhook secret).
 *
 * @since 0.2.0
 */
export class TenantWebhooksGroup extends HttpApiGroup.make("tenantWebhooks")
  .add(
    HttpApiEndpoint.post("receive", "/v1/webhooks/:provider/:tenantId")
      .setPath(TenantProviderPath)
      .addSuccess(WebhookResult)
      .annotate(OpenApi.Summary, "Receive a provider's webhook for a tenant's own gateway")
      .annotate(
        OpenApi.Description,
        "The URL to configure at the provider for a tenant whose credentials are stored. 404 when the tenant has no credentials for the provider; 400 when the signature (the tenant's webhook secret) or body is refused, nothing applied; 200 for a duplicate (applied once). Only the tenant's own payments are touched."
      )
  )
  .add(
    HttpApiEndpoint.post("receiveSeed", "/api/v1/webhooks/:provider/:tenantId")
      .setPath(TenantProviderPath)
      .addSuccess(WebhookResult)
      .annotate(OpenApi.Summary, "Receive a provider's webhook for a tenant's own gateway (the seed's path)")
  )
  .addError(NotFound)
  .addError(Conflict)
  .addError(Unprocessable)
  .addError(PaymentDeclined)
  .addError(GatewayFailed)
  .addError(OutcomeUnknown)
{}
