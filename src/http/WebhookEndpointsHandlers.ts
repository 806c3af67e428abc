/**
 * The handlers of the `webhookEndpoints` group over `MerchantWebhooks`.
 *
 * Guarantees:
 * - **The tenant comes from the API key only** (`Auth.authorized`): another tenant's endpoint or
 *   delivery is a 404 exactly like a missing one; a delivery named under an endpoint it does not
 *   belong to is a 404 too.
 * - **Scope `webhooks:write`** (or `admin`) for every route, reads included (an endpoint's
 *   deliveries carry payment ids and event types); without it, 403 and nothing runs.
 * - **Secrets**: the `whsec_…` secret is in the answer of a creation or a rotation and nowhere
 *   else: never in another answer, never logged (it stays `Redacted` until the answer is encoded).
 * - **URLs**: `https://`; `http://` only to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`,
 *   for local receivers), else a 400 naming `url`. The installation's own `MerchantWebhooks`
 *   options (`requireHttps`, `allowUrl`, e.g. refusing private addresses) apply on top.
 * - Bad input (an unknown event type, no event type, a malformed URL, an unknown field) is a 400
 *   with the one error body (`param`: the field) and nothing is stored.
 * - Without `MerchantWebhooks` in the installation every route answers 501.
 *
 * @since 0.2.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { DateTime, Effect, Option, Redacted, Schema } from "effect"
import * as MerchantEvent from "../events/MerchantEvent.js"
import * as MerchantWebhooks from "../events/MerchantWebhooks.js"
import type { StorageError } from "../storage/StorageError.js"
import { AegisPayApi } from "./AegisPayApi.js"
import { BadRequest, InternalError, NotFound, NotImplemented } from "./ApiError.js"
import { authorized } from "./Auth.js"

const notInstalled = new NotImplemented({
  code: "not_implemented",
  message: "merchant webhooks are not available in this installation"
})

type ServiceError =
  | MerchantWebhooks.InvalidWebhookEndpoint
  | MerchantWebhooks.WebhookEndpointNotFound
  | MerchantWebhooks.WebhookDeliveryNotFound
  | StorageError

const toApiError = (error: ServiceError): BadRequest | NotFound | InternalError => {
  switch (error._tag) {
    case "InvalidWebhookEndpoint":
      return new BadRequest({ code: "invalid_webhook_endpoint", message: error.message, param: error.field })
    case "WebhookEndpointNotFound":
      return new NotFound({ code: "webhook_endpoint_not_found", message: error.message })
    case "WebhookDeliveryNotFound":
      return new NotFound({ code: "webhook_delivery_not_found", message: error.message })
    case "StorageError":
      return new InternalError({ code: "internal_error", message: "internal error" })
  }
}

/** Runs `f` with the installation's `MerchantWebhooks`, or answers 501; typed errors become API errors. */
const withService = <A, R>(
  f: (service: MerchantWebhooks.MerchantWebhooks["Type"]) => Effect.Effect<A, ServiceError | BadRequest, R>
): Effect.Effect<A, NotImplemented | BadRequest | NotFound | InternalError, R> =>
  Effect.flatMap(Effect.serviceOption(MerchantWebhooks.MerchantWebhooks), (service): Effect.Effect<A, NotImplemented | BadRequest | NotFound | InternalError, R> =>
    Option.isNone(service)
      ? Effect.fail(notInstalled)
      : f(service.value).pipe(
        Effect.catchIf(
          (e): e is ServiceError => !(e instanceof BadRequest),
          (e) =>
            e._tag === "StorageError"
              ? Effect.zipRight(Effect.logError("merchant webhooks: storage failed", e), Effect.fail(toApiError(e)))
              : Effect.fail(toApiError(e))
        )
      ))

const isSubscription = Schema.is(MerchantEvent.Subscription)

/** The event types, each a known public type or `*` (an empty list is the service's to refuse). */
const checkEvents = (events: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<MerchantEvent.Subscription>, BadRequest> => {
  const known = events.filter(isSubscription)
  if (known.length === events.length) return Effect.succeed(known)
  // named by position: an error never quotes a value that was sent
  const unknown = events.flatMap((e, i) => (isSubscription(e) ? [] : [`events[${i}]`])).slice(0, 5)
  return Effect.fail(new BadRequest({
    code: "invalid_webhook_endpoint",
    message: `invalid webhook endpoint events: unknown event type at ${unknown.join(", ")}; known: *, ${MerchantEvent.types.join(", ")}`,
    param: "events"
  }))
}

const loopbackHosts = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i

/** `http://` only to a loopback host; everything else is checked by the service. */
const checkScheme = (url: string | undefined): Effect.Effect<void, BadRequest> => {
  if (url === undefined || !URL.canParse(url)) return Effect.void
  const parsed = new URL(url)
  if (parsed.protocol !== "http:" || loopbackHosts.test(parsed.hostname)) return Effect.void
  return Effect.fail(new BadRequest({
    code: "invalid_webhook_endpoint",
    message: "invalid webhook endpoint url: must be https:// (http:// only to localhost, 127.0.0.0/8 or [::1])",
    param: "url"
  }))
}

const iso = (time: DateTime.Utc) => DateTime.formatIso(time)

const endpointView = (endpoint: MerchantWebhooks.Endpoint) => ({
  id: endpoint.id,
  url: endpoint.url,
  events: endpoint.events,
  ...(endpoint.description === undefined ? {} : { description: endpoint.description }),
  enabled: endpoint.enabled,
  createdAt: iso(endpoint.createdAt),
  updatedAt: iso(endpoint.updatedAt)
})

const withSecret = (created: MerchantWebhooks.EndpointWithSecret) => ({
  ...endpointView(created.endpoint),
  secret: Redacted.value(created.secret)
})

const deliveryView = (delivery: MerchantWebhooks.Delivery, attempts: ReadonlyArray<MerchantWebhooks.Attempt>) => ({
  id: delivery.id,
  endpointId: delivery.endpointId,
  eventId: delivery.eventId,
  ...(delivery.eventType === undefined ? {} : { eventType: delivery.eventType }),
  paymentId: delivery.paymentId,
  sequence: delivery.sequence,
  status: delivery.status,
  attempts: attempts.map((a) => ({
    attempt: a.attempt,
    attemptedAt: iso(a.attemptedAt),
    ...(a.httpStatus === undefined ? {} : { httpStatus: a.httpStatus }),
    latencyMs: Math.max(0, Math.round(a.latencyMillis)),
    ...(a.error === undefined ? {} : { error: a.error }),
    outcome: a.outcome
  })),
  nextAttemptAt: iso(delivery.nextAttemptAt),
  ...(delivery.lastStatus === undefined ? {} : { lastStatus: delivery.lastStatus }),
  ...(delivery.lastError === undefined ? {} : { lastError: delivery.lastError }),
  createdAt: iso(delivery.createdAt),
  ...(delivery.deliveredAt === undefined ? {} : { deliveredAt: iso(delivery.deliveredAt) })
})

/** The delivery with its attempts, when it belongs to `endpointId` (else a 404, like another tenant's). */
const deliveryOf = (service: MerchantWebhooks.MerchantWebhooks["Type"], endpointId: string, deliveryId: string) =>
  Effect.gen(function*() {
    const delivery = yield* service.getDelivery(deliveryId)
    if (delivery.endpointId !== endpointId) return yield* new MerchantWebhooks.WebhookDeliveryNotFound({ deliveryId })
    return delivery
  })

const withAttempts = (service: MerchantWebhooks.MerchantWebhooks["Type"], delivery: MerchantWebhooks.Delivery) =>
  Effect.map(service.listAttempts(delivery.id), (attempts) => deliveryView(delivery, attempts))

/**
 * @since 0.2.0
 */
export const layerWebhookEndpoints = HttpApiBuilder.group(AegisPayApi, "webhookEndpoints", (handlers) =>
  handlers
    .handle("create", ({ payload }) =>
      withService((service) =>
        Effect.gen(function*() {
          yield* checkScheme(payload.url)
          const events = yield* checkEvents(payload.events)
          return withSecret(yield* service.createEndpoint({ ...payload, events }))
        })
      ).pipe(authorized("webhooks:write")))
    .handle("list", () =>
      withService((service) => Effect.map(service.listEndpoints, (all) => ({ data: all.map(endpointView) }))).pipe(
        authorized("webhooks:write")
      ))
    .handle("get", ({ path }) =>
      withService((service) => Effect.map(service.getEndpoint(path.endpointId), endpointView)).pipe(authorized("webhooks:write")))
    .handle("update", ({ path, payload }) =>
      withService((service) =>
        Effect.gen(function*() {
          // an unknown endpoint is a 404 before its new settings are judged
          yield* service.getEndpoint(path.endpointId)
          yield* checkScheme(payload.url)
          const events = payload.events === undefined ? undefined : yield* checkEvents(payload.events)
          return endpointView(yield* service.updateEndpoint(path.endpointId, { ...payload, events }))
        })
      ).pipe(authorized("webhooks:write")))
    .handle("delete", ({ path }) => withService((service) => service.deleteEndpoint(path.endpointId)).pipe(authorized("webhooks:write")))
    .handle("rotateSecret", ({ path }) =>
      withService((service) => Effect.map(service.rotateSecret(path.endpointId), withSecret)).pipe(authorized("webhooks:write")))
    .handle("deliveries", ({ path, urlParams }) =>
      withService((service) =>
        Effect.gen(function*() {
          const page = yield* service.listDeliveries(path.endpointId, urlParams)
          const data = yield* Effect.forEach(page.items, (delivery) => withAttempts(service, delivery), { concurrency: 4 })
          return page.nextCursor === undefined ? { data } : { data, nextCursor: page.nextCursor }
        })
      ).pipe(authorized("webhooks:write")))
    .handle("delivery", ({ path }) =>
      withService((service) =>
        Effect.flatMap(deliveryOf(service, path.endpointId, path.deliveryId), (delivery) => withAttempts(service, delivery))
      ).pipe(authorized("webhooks:write")))
    .handle("replay", ({ path }) =>
      withService((service) =>
        Effect.gen(function*() {
          yield* deliveryOf(service, path.endpointId, path.deliveryId)
          return yield* withAttempts(service, yield* service.replayDelivery(path.deliveryId))
        })
      ).pipe(authorized("webhooks:write")))
    .handle("replayDead", ({ path }) =>
      withService((service) => Effect.map(service.replayDead(path.endpointId), (replayed) => ({ replayed }))).pipe(
        authorized("webhooks:write")
      )))
