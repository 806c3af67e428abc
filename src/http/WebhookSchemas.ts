/**
 * Request and response bodies of the merchant webhook endpoints (`/v1/webhook-endpoints…`).
 * Request bodies are strict (an unknown field is a 400); times are ISO 8601 strings (UTC). An
 * endpoint's secret appears in exactly two answers: its creation and a rotation.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import * as MerchantEvent from "../events/MerchantEvent.js"

const strict = { parseOptions: { onExcessProperty: "error" as const } }

/**
 * The body of `POST /v1/webhook-endpoints`: `url` (`https://`; `http://` only to a loopback
 * host), `events` (public event types or `"*"`, at least one), `description`, `enabled`
 * (default true). Event types are checked by the service, so an unknown one is a 400 that names
 * the known ones.
 *
 * @since 0.2.0
 */
export const CreateWebhookEndpointBody = Schema.Struct({
  url: Schema.String,
  events: Schema.Array(Schema.String),
  description: Schema.optional(Schema.String),
  enabled: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "CreateWebhookEndpoint", ...strict })

/**
 * The body of `PATCH /v1/webhook-endpoints/{endpointId}`: absent fields stay as they are.
 *
 * @since 0.2.0
 */
export const UpdateWebhookEndpointBody = Schema.Struct({
  url: Schema.optional(Schema.String),
  events: Schema.optional(Schema.Array(Schema.String)),
  description: Schema.optional(Schema.String),
  enabled: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "UpdateWebhookEndpoint", ...strict })

/**
 * A registered endpoint (never its secret).
 *
 * @since 0.2.0
 */
export const WebhookEndpointView = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  events: Schema.Array(MerchantEvent.Subscription),
  description: Schema.optional(Schema.String),
  enabled: Schema.Boolean,
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotations({ identifier: "WebhookEndpoint" })

/**
 * An endpoint with its signing secret (`whsec_…`): answered by creation and rotation only, and
 * never again.
 *
 * @since 0.2.0
 */
export const WebhookEndpointWithSecret = Schema.Struct({
  ...WebhookEndpointView.fields,
  secret: Schema.String
}).annotations({ identifier: "WebhookEndpointWithSecret" })

/**
 * The tenant's endpoints, oldest first.
 *
 * @since 0.2.0
 */
export const WebhookEndpointList = Schema.Struct({
  data: Schema.Array(WebhookEndpointView)
}).annotations({ identifier: "WebhookEndpointList" })

/**
 * One logged attempt of a delivery.
 *
 * @since 0.2.0
 */
export const WebhookAttemptView = Schema.Struct({
  attempt: Schema.Int,
  attemptedAt: Schema.String,
  /** The endpoint's HTTP status; absent when it did not answer. */
  httpStatus: Schema.optional(Schema.Int),
  latencyMs: Schema.Int,
  error: Schema.optional(Schema.String),
  outcome: Schema.Literal("delivered", "failed", "dead")
}).annotations({ identifier: "WebhookAttempt" })

/**
 * A delivery of one event to one endpoint, with its attempts, first to last.
 *
 * @since 0.2.0
 */
export const WebhookDeliveryView = Schema.Struct({
  id: Schema.String,
  endpointId: Schema.String,
  eventId: Schema.String,
  eventType: Schema.optional(MerchantEvent.EventType),
  paymentId: Schema.String,
  sequence: Schema.Int,
  status: Schema.Literal("pending", "delivered", "dead"),
  attempts: Schema.Array(WebhookAttemptView),
  nextAttemptAt: Schema.String,
  lastStatus: Schema.optional(Schema.Int),
  lastError: Schema.optional(Schema.String),
  createdAt: Schema.String,
  deliveredAt: Schema.optional(Schema.String)
}).annotations({ identifier: "WebhookDelivery" })

/**
 * A page of an endpoint's deliveries, newest first; `nextCursor` asks for the next page.
 *
 * @since 0.2.0
 */
export const WebhookDeliveryPage = Schema.Struct({
  data: Schema.Array(WebhookDeliveryView),
  nextCursor: Schema.optional(Schema.String)
}).annotations({ identifier: "WebhookDeliveryPage" })

/**
 * The query of an endpoint's deliveries: `status`, `limit` 1–100 (default 20), `cursor`.
 *
 * @since 0.2.0
 */
export const DeliveryPageParams = Schema.Struct({
  status: Schema.optional(Schema.Literal("pending", "delivered", "dead")),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100))),
  cursor: Schema.optional(Schema.String)
})

/**
 * How many dead deliveries were sent again.
 *
 * @since 0.2.0
 */
export const ReplayedDead = Schema.Struct({ replayed: Schema.Int }).annotations({ identifier: "ReplayedDeadDeliveries" })
