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
 * @since 0.2.0
 */
import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { GatewayRegistry } from "../gateway/GatewayRegistry.js"
import { Notifications } from "../orchestration/Notifications.js"
import { AegisPayApi } from "./AegisPayApi.js"
import { BadRequest, GatewayFailed, InternalError, NotFound } from "./ApiError.js"
import { fromDomain } from "./ErrorMapping.js"

const headersOf = (request: HttpServerRequest.HttpServerRequest): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(request.headers)) out[name.toLowerCase()] = value
  return out
}

/**
 * Verifies, parses and applies one webhook delivery.
 *
 * @since 0.2.0
 */
export const receive = (provider: string, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const registry = yield* GatewayRegistry
    const notifications = yield* Notifications
    const gateway = yield* registry.get(provider).pipe(
      Effect.mapError(() => new NotFound({ code: "unknown_provider", message: "no gateway with webhooks is registered under this name" }))
    )
    if (gateway.webhooks === undefined) {
      return yield* Effect.fail(
        new NotFound({ code: "unknown_provider", message: "no gateway with webhooks is registered under this name" })
      )
    }
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
      notifications.apply(notification).pipe(
        Effect.map((result) => ({ id: notification.id, paymentId: result.payment.id, result: result._tag })),
        Effect.mapError((e) => fromDomain(e, notification.paymentId)),
        Effect.annotateLogs({ paymentId: notification.paymentId, notificationId: notification.id })
      ))
    return { received: parsed.length, results }
  }).pipe(Effect.annotateLogs({ provider }))

/**
 * @since 0.2.0
 */
export const layerWebhooks = HttpApiBuilder.group(AegisPayApi, "webhooks", (handlers) =>
  handlers
    .handleRaw("receive", ({ path, request }) => receive(path.provider, request))
    .handleRaw("receiveSeed", ({ path, request }) => receive(path.provider, request)))
