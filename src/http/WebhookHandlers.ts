/**
 * Incoming provider webhooks: `POST /v1/webhooks/:provider` and the seed's
 * `POST /api/v1/webhooks/:provider`.
 *
 * The body is read as its exact bytes (`handleRaw`, `request.arrayBuffer`) and handed with the
 * lower-cased headers to the `webhooks.parse` of the gateway registered as `provider`; each
 * notification it yields is applied with `Notifications.apply`.
 *
 * Guarantees:
 * - **Nothing is applied from a refused webhook**: a bad signature, a stale timestamp or a
 *   malformed body (`WebhookRejected`) is a 400 and no notification of it is applied.
 * - **Duplicates are harmless**: a redelivered notification answers 200 with `Duplicate` and is
 *   applied once (`Notifications` deduplicates by the gateway's event id).
 * - Out-of-order notifications never move a payment backwards (`Notifications` is forward only).
 * - A notification that could not be applied (storage down, gateway unreachable during the status
 *   check) is an error status (5xx), so the provider delivers it again.
 * - An unknown provider, or one without webhooks, is a 404.
 *
 * For a tenant whose provider credentials are stored (`TenantGateways`), the provider posts to
 * `POST /v1/webhooks/:provider/:tenantId` (or the seed's `/api/v1/webhooks/:provider/:tenantId`):
 * the body is verified and parsed by **that tenant's** gateway (its own webhook secret), and its
 * notifications are applied to **that tenant's payments only** (another tenant's payment is a
 * 404, nothing applied: a tenant knows its own secret, so it must never reach other tenants'
 * payments). A tenant without credentials for the provider (or an installation without
 * `TenantGateways`) is a 404; a payload signed with another secret is a 400, nothing applied.
 *
 * @since 0.2.0
 */
import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { TenantId } from "../domain/PaymentRequest.js"
import * as Tenant from "../domain/Tenant.js"
import type { Gateway } from "../gateway/Gateway.js"
import { GatewayRegistry } from "../gateway/GatewayRegistry.js"
import { Notifications } from "../orchestration/Notifications.js"
import { TenantGateways } from "../tenancy/TenantGateways.js"
import { AegisPayApi } from "./AegisPayApi.js"
import { BadRequest, GatewayFailed, InternalError, NotFound } from "./ApiError.js"
import { fromDomain } from "./ErrorMapping.js"

const headersOf = (request: HttpServerRequest.HttpServerRequest): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(request.headers)) out[name.toLowerCase()] = value
  return out
}

const unknownProvider = new NotFound({ code: "unknown_provider", message: "no gateway with webhooks is registered under this name" })

/** Verifies and parses the request with `gateway`, then applies each notification. */
const verifyAndApply = (gateway: Gateway, request: HttpServerRequest.HttpServerRequest, tenantId: string | undefined) =>
  Effect.gen(function*() {
    const notifications = yield* Notifications
    if (gateway.webhooks === undefined) return yield* Effect.fail(unknownProvider)
    const body = yield* request.arrayBuffer.pipe(
      Effect.mapError(() => new BadRequest({ code: "unreadable_body", message: "the body could not be read" }))
    )
    const parsed = yield* gateway.webhooks.parse({ headers: headersOf(request), body: new Uint8Array(body) }).pipe(
      Effect.catchTags({
        WebhookRejected: (e) =>
          Effect.zipRight(
            Effect.logWarning("webhook rejected").pipe(Effect.annotateLogs({ gateway: e.gateway, reason: e.reason })),
            Effect.fail(new BadRequest({ code: `webhook_${e.reason}`, message: `webhook refused: ${e.reason}` }))
          ),
        GatewayTransientError: () =>
          Effect.fail(new GatewayFailed({ code: "gateway_unavailable", message: "the webhook could not be verified now: deliver it again" })),
        GatewayMisconfigured: () =>
          Effect.fail(new InternalError({ code: "internal_error", message: "internal error" }))
      })
    )
    const results = yield* Effect.forEach(parsed, (notification) =>
      notifications.apply(notification, { tenantId }).pipe(
        Effect.map((result) => ({ id: notification.id, paymentId: result.payment.id, result: result._tag })),
        Effect.mapError((e) => fromDomain(e, notification.paymentId)),
        Effect.annotateLogs({ paymentId: notification.paymentId, notificationId: notification.id })
      ))
    return { received: parsed.length, results }
  })

/**
 * Verifies, parses and applies one webhook delivery for the global gateway registered as
 * `provider`.
 *
 * @since 0.2.0
 */
export const receive = (provider: string, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const registry = yield* GatewayRegistry
    const gateway = yield* registry.get(provider).pipe(Effect.mapError(() => unknownProvider))
    return yield* verifyAndApply(gateway, request, undefined)
  }).pipe(Effect.annotateLogs({ provider }))

const isTenantId = Schema.is(Schema.typeSchema(TenantId))

/**
 * Verifies, parses and applies one webhook delivery for the gateway built from `tenantId`'s
 * stored credentials for `provider`, under `Tenant.with(tenantId)`, to that tenant's payments
 * only.
 *
 * @since 0.2.0
 */
export const receiveForTenant = (provider: string, tenantId: string, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const noCredentials = new NotFound({
      code: "unknown_provider",
      message: "this tenant has no gateway with webhooks under this name"
    })
    const service = yield* Effect.serviceOption(TenantGateways)
    if (Option.isNone(service) || !isTenantId(tenantId)) return yield* Effect.fail(noCredentials)
    const gateway = yield* service.value.gateway({ tenantId, provider }).pipe(
      Effect.catchTags({
        CredentialsNotFound: () => Effect.fail(noCredentials),
        CredentialsUnreadable: (e) =>
          Effect.zipRight(Effect.logError("tenant webhook: credentials unreadable", e), Effect.fail(new InternalError({ code: "internal_error", message: "internal error" }))),
        GatewayMisconfigured: (e) =>
          Effect.zipRight(Effect.logError("tenant webhook: gateway could not be built", e), Effect.fail(new InternalError({ code: "internal_error", message: "internal error" }))),
        StorageError: (e) =>
          Effect.zipRight(Effect.logError("tenant webhook: storage failed", e), Effect.fail(new InternalError({ code: "internal_error", message: "internal error" })))
      })
    )
    return yield* verifyAndApply(gateway, request, tenantId).pipe(Tenant.with(tenantId))
  }).pipe(Effect.annotateLogs({ provider, tenantId }))

/**
 * @since 0.2.0
 */
export const layerWebhooks = HttpApiBuilder.group(AegisPayApi, "webhooks", (handlers) =>
  handlers
    .handleRaw("receive", ({ path, request }) => receive(path.provider, request))
    .handleRaw("receiveSeed", ({ path, request }) => receive(path.provider, request)))

/**
 * @since 0.2.0
 */
export const layerTenantWebhooks = HttpApiBuilder.group(AegisPayApi, "tenantWebhooks", (handlers) =>
  handlers
    .handleRaw("receive", ({ path, request }) => receiveForTenant(path.provider, path.tenantId, request))
    .handleRaw("receiveSeed", ({ path, request }) => receiveForTenant(path.provider, path.tenantId, request)))
