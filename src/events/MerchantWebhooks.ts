/**
 * Webhooks to merchants: a tenant registers endpoints and the event types it wants, and every
 * committed payment event of that tenant is delivered to them, signed, at least once, in order per
 * payment, with retries over hours, an attempt log, replays and dead letters.
 *
 * ```ts
 * const webhooks = yield* MerchantWebhooks.MerchantWebhooks
 * const { endpoint, secret } = yield* webhooks.createEndpoint({
 *   url: "https://shop.example/aegispay/webhooks",
 *   events: ["payment.succeeded", "payment.failed", "refund.succeeded"]
 * }).pipe(Tenant.with("acme"))
 * // show `secret` (Redacted) to the merchant once: it is never returned again
 * ```
 *
 * Guarantees:
 * - **Durable.** On PostgreSQL a delivery row per (endpoint, event) is written by the database in
 *   the very transaction that commits the event (a trigger on the transactional outbox), for every
 *   enabled endpoint of the event's tenant that subscribed to its type: no committed event is
 *   missed, whichever process committed it and whether or not a worker runs. (Memory: from the
 *   `EventBus`, in process.)
 * - **At least once, in order per payment per endpoint, one attempt at a time**: see
 *   `WebhookDelivery`. A merchant dedupes by `AegisPay-Event-Id`.
 * - **Signed**: `AegisPay-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` with the
 *   endpoint's secret ({@link verify}).
 * - **Secrets**: 32 random bytes (`whsec_…`), returned once (`Redacted`) by
 *   {@link MerchantWebhooks.createEndpoint} and {@link MerchantWebhooks.rotateSecret}, never
 *   again; stored sealed with `Envelope` (AES-256-GCM, bound to tenant and endpoint) on SQL; never
 *   logged.
 * - **Tenants**: every operation acts on the current `Tenant`'s endpoints and deliveries only;
 *   another tenant's are `WebhookEndpointNotFound` / `WebhookDeliveryNotFound`, like missing ones.
 *
 * @since 0.2.0
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import type { SqlClient } from "@effect/sql"
import { Clock, Context, DateTime, Duration, Effect, Layer, Option, Queue, Redacted, Schedule, Schema } from "effect"
import type { Scope } from "effect"
import { randomBytes } from "node:crypto"
import { Ids } from "../domain/Ids.js"
import { isStorable } from "../domain/Sanitize.js"
import * as Tenant from "../domain/Tenant.js"
import * as Background from "../internal/Background.js"
import * as MemoryStore from "../internal/webhooks/memoryStore.js"
import * as SqlStore from "../internal/webhooks/sqlStore.js"
import type { Claimed, DeliveryRecord, EndpointRecord, SealedSecret, Store } from "../internal/webhooks/store.js"
import * as Envelope from "../security/Envelope.js"
import { KeyManagement } from "../security/KeyManagement.js"
import { OutboxSignal } from "../storage/OutboxSignal.js"
import { StorageError } from "../storage/StorageError.js"
import type { EventBus } from "./EventBus.js"
import * as MerchantEvent from "./MerchantEvent.js"
import * as WebhookDelivery from "./WebhookDelivery.js"
import * as WebhookSignature from "./WebhookSignature.js"

/**
 * A registered endpoint, as shown to its tenant (never its secret).
 *
 * @since 0.2.0
 */
export interface Endpoint {
  readonly id: string
  readonly tenantId: string
  readonly url: string
  readonly events: ReadonlyArray<MerchantEvent.Subscription>
  readonly description: string | undefined
  readonly enabled: boolean
  readonly createdAt: DateTime.Utc
  readonly updatedAt: DateTime.Utc
}

/**
 * An endpoint with its secret: the only time the secret is shown.
 *
 * @since 0.2.0
 */
export interface EndpointWithSecret {
  readonly endpoint: Endpoint
  /** `whsec_…`: the key of every signature sent to this endpoint. */
  readonly secret: Redacted.Redacted<string>
}

/**
 * A delivery of one event to one endpoint.
 *
 * @since 0.2.0
 */
export interface Delivery {
  readonly id: string
  readonly endpointId: string
  readonly eventId: string
  readonly eventType: MerchantEvent.EventType | undefined
  readonly paymentId: string
  readonly sequence: number
  /** `pending` (due, or waiting for a retry or for an earlier event), `delivered`, or `dead`. */
  readonly status: "pending" | "delivered" | "dead"
  readonly attempts: number
  readonly nextAttemptAt: DateTime.Utc
  readonly lastStatus: number | undefined
  readonly lastError: string | undefined
  readonly createdAt: DateTime.Utc
  readonly deliveredAt: DateTime.Utc | undefined
}

/**
 * One logged attempt of a delivery.
 *
 * @since 0.2.0
 */
export interface Attempt {
  readonly attempt: number
  readonly attemptedAt: DateTime.Utc
  /** The worker that made it. */
  readonly worker: string
  /** The endpoint's answer; none when it did not answer (timeout, connection refused, …). */
  readonly httpStatus: number | undefined
  readonly latencyMillis: number
  readonly error: string | undefined
  readonly outcome: "delivered" | "failed" | "dead"
}

/**
 * A page of deliveries, newest first.
 *
 * @since 0.2.0
 */
export interface DeliveryPage {
  readonly items: ReadonlyArray<Delivery>
  readonly nextCursor: string | undefined
}

/**
 * The endpoint does not exist for the current tenant.
 *
 * @since 0.2.0
 */
export class WebhookEndpointNotFound extends Schema.TaggedError<WebhookEndpointNotFound>()("WebhookEndpointNotFound", {
  endpointId: Schema.String
}) {
  override get message(): string {
    return `webhook endpoint not found: ${JSON.stringify(this.endpointId.slice(0, 100))}`
  }
}

/**
 * The delivery does not exist for the current tenant.
 *
 * @since 0.2.0
 */
export class WebhookDeliveryNotFound extends Schema.TaggedError<WebhookDeliveryNotFound>()("WebhookDeliveryNotFound", {
  deliveryId: Schema.String
}) {
  override get message(): string {
    return `webhook delivery not found: ${JSON.stringify(this.deliveryId.slice(0, 100))}`
  }
}

/**
 * An endpoint's settings were refused (`field` says which).
 *
 * @since 0.2.0
 */
export class InvalidWebhookEndpoint extends Schema.TaggedError<InvalidWebhookEndpoint>()("InvalidWebhookEndpoint", {
  field: Schema.Literal("url", "events", "description"),
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid webhook endpoint ${this.field}: ${this.reason}`
  }
}

/**
 * What a new endpoint is made of.
 *
 * @since 0.2.0
 */
export interface EndpointInput {
  /** `https://…` (or `http://…` unless `requireHttps`); no user name or password in it; at most 2,048 characters. */
  readonly url: string
  /** Public event types, or `["*"]` for all; at least one. */
  readonly events: ReadonlyArray<MerchantEvent.Subscription>
  readonly description?: string | undefined
  /** Default true. */
  readonly enabled?: boolean | undefined
}

/**
 * Changes to an endpoint; absent fields stay as they are.
 *
 * @since 0.2.0
 */
export interface EndpointPatch {
  readonly url?: string | undefined
  readonly events?: ReadonlyArray<MerchantEvent.Subscription> | undefined
  readonly description?: string | undefined
  /** A disabled endpoint gets no new deliveries and its pending ones wait until it is enabled again. */
  readonly enabled?: boolean | undefined
}

/**
 * @since 0.2.0
 */
export class MerchantWebhooks extends Context.Tag("aegispay/MerchantWebhooks")<MerchantWebhooks, {
  /** Registers an endpoint for the current tenant; the secret is in the answer and never again. */
  readonly createEndpoint: (input: EndpointInput) => Effect.Effect<EndpointWithSecret, InvalidWebhookEndpoint | StorageError>
  /** The current tenant's endpoints, oldest first. */
  readonly listEndpoints: Effect.Effect<ReadonlyArray<Endpoint>, StorageError>
  readonly getEndpoint: (id: string) => Effect.Effect<Endpoint, WebhookEndpointNotFound | StorageError>
  readonly updateEndpoint: (
    id: string,
    patch: EndpointPatch
  ) => Effect.Effect<Endpoint, WebhookEndpointNotFound | InvalidWebhookEndpoint | StorageError>
  /** A new secret for the endpoint (shown once); attempts from now on are signed with it. */
  readonly rotateSecret: (id: string) => Effect.Effect<EndpointWithSecret, WebhookEndpointNotFound | StorageError>
  /** Removes the endpoint with its deliveries and their attempt log. */
  readonly deleteEndpoint: (id: string) => Effect.Effect<void, WebhookEndpointNotFound | StorageError>
  /** An endpoint's deliveries, newest first, optionally of one status; `limit` 1–100 (default 20). */
  readonly listDeliveries: (
    endpointId: string,
    options?: {
      readonly status?: "pending" | "delivered" | "dead" | undefined
      readonly limit?: number | undefined
      readonly cursor?: string | undefined
    }
  ) => Effect.Effect<DeliveryPage, WebhookEndpointNotFound | StorageError>
  readonly getDelivery: (id: string) => Effect.Effect<Delivery, WebhookDeliveryNotFound | StorageError>
  /** A delivery's attempts, first to last. */
  readonly listAttempts: (deliveryId: string) => Effect.Effect<ReadonlyArray<Attempt>, WebhookDeliveryNotFound | StorageError>
  /**
   * Sends a delivery again (delivered, dead, or pending and waiting for a retry): pending and due
   * now, with a fresh retry schedule. It goes before the payment's later pending events to that
   * endpoint. A delivery whose attempt is in flight is returned as it is (no second attempt beside
   * it).
   */
  readonly replayDelivery: (id: string) => Effect.Effect<Delivery, WebhookDeliveryNotFound | StorageError>
  /** {@link replayDelivery} for every dead delivery of an endpoint; how many. */
  readonly replayDead: (endpointId: string) => Effect.Effect<number, WebhookEndpointNotFound | StorageError>
  /**
   * One round of this process's worker, for every tenant: sends what is due now (for tests and
   * tools; the layer's worker calls it in a loop unless `worker: false`).
   */
  readonly runOnce: Effect.Effect<WebhookDelivery.RoundReport, StorageError>
}>() {}

/**
 * Settings of the layers. Every field is optional.
 *
 * @since 0.2.0
 */
export interface Options extends WebhookDelivery.Options {
  /** Run this process's delivery worker (supervised, for the lifetime of the layer); default true. */
  readonly worker?: boolean | undefined
  /** Only `https://` endpoints; default false (`http://` allowed too). */
  readonly requireHttps?: boolean | undefined
  /**
   * Your policy on endpoint URLs (e.g. refuse private addresses): a URL it returns false for is
   * an `InvalidWebhookEndpoint`. Default: any http(s) URL.
   */
  readonly allowUrl?: ((url: URL) => boolean) | undefined
  /** The client sending the webhooks; default: `fetch`, redirects not followed. */
  readonly httpClient?: HttpClient.HttpClient | undefined
  /**
   * How long delivered deliveries (and their attempts) are kept; default 30 days; `false` keeps
   * them. Pending and dead ones are never purged. Purged every hour.
   */
  readonly retention?: Duration.DurationInput | false | undefined
}

/**
 * Verifies a webhook from AegisPay in a merchant's receiver: `body` the exact bytes received,
 * `secret` the endpoint's `whsec_…`, `tolerance` how far the signature's timestamp may be from
 * the `Clock` (default 5 minutes). Then parse the body with `MerchantEvent.MerchantEvent` and
 * dedupe by its `id`. See `WebhookSignature.verify`.
 *
 * @since 0.2.0
 */
export const verify = WebhookSignature.verify

/** A fresh secret: `whsec_` and 32 random bytes (node:crypto), base64url. */
const newSecret = (): Redacted.Redacted<string> => Redacted.make(`whsec_${randomBytes(32).toString("base64url")}`)

const secretContext = (tenantId: string, endpointId: string) => Envelope.context("aegispay/webhook-secret/v1", tenantId, endpointId)

/**
 * How endpoint secrets are sealed and opened: in envelopes under `KeyManagement` (SQL), or held as
 * they are (memory).
 *
 * @internal
 */
export interface Secrets {
  readonly seal: (tenantId: string, endpointId: string, secret: Redacted.Redacted<string>) => Effect.Effect<SealedSecret, StorageError>
  readonly open: (tenantId: string, endpointId: string, sealed: SealedSecret) => Effect.Effect<Redacted.Redacted<string>, string>
}

const plainSecrets: Secrets = {
  seal: (_tenantId, _endpointId, secret) => Effect.succeed({ _tag: "Plain", secret }),
  open: (_tenantId, _endpointId, sealed) =>
    sealed._tag === "Plain" ? Effect.succeed(sealed.secret) : Effect.fail("a sealed secret without key management")
}

const envelopeSecrets = (keys: KeyManagement["Type"]): Secrets => ({
  seal: (tenantId, endpointId, secret) =>
    Envelope.seal(Redacted.make<Uint8Array>(Buffer.from(Redacted.value(secret), "utf8")), secretContext(tenantId, endpointId)).pipe(
      Effect.map((envelope): SealedSecret => ({ _tag: "Envelope", envelope })),
      Effect.mapError((e) => new StorageError({ operation: "webhooks.sealSecret", reason: e.message })),
      Effect.provideService(KeyManagement, keys)
    ),
  open: (tenantId, endpointId, sealed) =>
    sealed._tag === "Plain"
      ? Effect.succeed(sealed.secret)
      : Envelope.open(sealed.envelope, secretContext(tenantId, endpointId)).pipe(
        Effect.map((bytes) => {
          const value = Redacted.value(bytes)
          const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8")
          value.fill(0)
          return Redacted.make(text)
        }),
        Effect.mapError((e) => e._tag),
        Effect.provideService(KeyManagement, keys)
      )
})

const toEndpoint = (record: EndpointRecord): Endpoint => ({
  id: record.id,
  tenantId: record.tenantId,
  url: record.url,
  events: record.events.filter((e): e is MerchantEvent.Subscription => Schema.is(MerchantEvent.Subscription)(e)),
  description: record.description,
  enabled: record.enabled,
  createdAt: record.createdAt,
  updatedAt: record.updatedAt
})

const toDelivery = (record: DeliveryRecord): Delivery => ({
  id: record.id,
  endpointId: record.endpointId,
  eventId: record.eventId,
  eventType: Option.getOrUndefined(MerchantEvent.typeOfStored(record.eventTag, record.payload)),
  paymentId: record.paymentId,
  sequence: record.seq,
  status: record.status,
  attempts: record.attempts,
  nextAttemptAt: record.nextAttemptAt,
  lastStatus: record.lastStatus,
  lastError: record.lastError,
  createdAt: record.createdAt,
  deliveredAt: record.deliveredAt
})

const checkUrl = (options: Options) => (input: string): Effect.Effect<string, InvalidWebhookEndpoint> => {
  const refuse = (reason: string) => Effect.fail(new InvalidWebhookEndpoint({ field: "url", reason }))
  if (input.length > 2048) return refuse("at most 2,048 characters")
  if (!isStorable(input) || /[\s\p{Cc}]/u.test(input)) return refuse("must not contain whitespace or control characters")
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return refuse("not an absolute URL")
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse("must be http:// or https://")
  if (options.requireHttps === true && url.protocol !== "https:") return refuse("must be https://")
  if (url.username !== "" || url.password !== "") return refuse("must not contain a user name or password")
  if (options.allowUrl !== undefined && !options.allowUrl(url)) return refuse("not allowed by this installation's URL policy")
  return Effect.succeed(url.toString())
}

const checkEvents = (events: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<MerchantEvent.Subscription>, InvalidWebhookEndpoint> => {
  if (events.length === 0) return Effect.fail(new InvalidWebhookEndpoint({ field: "events", reason: "at least one event type" }))
  const unknown = events.filter((e) => !Schema.is(MerchantEvent.Subscription)(e))
  if (unknown.length > 0) {
    return Effect.fail(new InvalidWebhookEndpoint({
      field: "events",
      reason: `unknown event types ${JSON.stringify(unknown.slice(0, 5).map((e) => e.slice(0, 50)))}; known: *, ${MerchantEvent.types.join(", ")}`
    }))
  }
  return Effect.succeed([...new Set(events.filter((e): e is MerchantEvent.Subscription => Schema.is(MerchantEvent.Subscription)(e)))])
}

const checkDescription = (description: string | undefined): Effect.Effect<string | undefined, InvalidWebhookEndpoint> =>
  description === undefined
    ? Effect.succeed(undefined)
    : description.length > 500 || !isStorable(description)
    ? Effect.fail(new InvalidWebhookEndpoint({ field: "description", reason: "at most 500 characters, storable text" }))
    : Effect.succeed(description)

const tagsFor = (events: ReadonlyArray<string>): ReadonlyArray<string> =>
  MerchantEvent.selectorsFor(events.filter((e): e is MerchantEvent.Subscription => Schema.is(MerchantEvent.Subscription)(e)))

/**
 * The service over a store (no worker: see the layers).
 *
 * @internal
 */
export const make = (
  store: Store,
  secrets: Secrets,
  options: Options,
  wake: Effect.Effect<void>
): Effect.Effect<{ readonly service: MerchantWebhooks["Type"] }, StorageError, Ids> =>
  Effect.gen(function*() {
    const ids = yield* Ids
    const owner = yield* ids.next("whw")
    const client = options.httpClient ?? (yield* HttpClient.HttpClient.pipe(
      Effect.provide(FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { redirect: "manual" }))))
    ))
    yield* store.refreshEventTags(tagsFor)
    const now = Effect.map(Clock.currentTimeMillis, (millis) => DateTime.unsafeMake(millis))

    const endpointOf = (tenantId: string, id: string) =>
      Effect.flatMap(store.findEndpoint(tenantId, id), Option.match({
        onNone: () => Effect.fail(new WebhookEndpointNotFound({ endpointId: id })),
        onSome: Effect.succeed
      }))
    const deliveryOf = (tenantId: string, id: string) =>
      Effect.flatMap(store.findDelivery(tenantId, id), Option.match({
        onNone: () => Effect.fail(new WebhookDeliveryNotFound({ deliveryId: id })),
        onSome: Effect.succeed
      }))

    const runOnce = WebhookDelivery.round(
      store,
      owner,
      (claimed: Claimed) => secrets.open(claimed.delivery.tenantId, claimed.delivery.endpointId, claimed.secret),
      options
    ).pipe(Effect.provideService(HttpClient.HttpClient, client), Effect.withSpan("MerchantWebhooks.runOnce"))

    const service = MerchantWebhooks.of({
      createEndpoint: Effect.fn("MerchantWebhooks.createEndpoint")(function*(input: EndpointInput) {
        const tenantId = yield* Tenant.current
        const url = yield* checkUrl(options)(input.url)
        const events = yield* checkEvents(input.events)
        const description = yield* checkDescription(input.description)
        const id = yield* ids.next("whe")
        const secret = newSecret()
        const at = yield* now
        const record: EndpointRecord = {
          id,
          tenantId,
          url,
          events,
          eventTags: tagsFor(events),
          description,
          enabled: input.enabled ?? true,
          secret: yield* secrets.seal(tenantId, id, secret),
          createdAt: at,
          updatedAt: at
        }
        yield* store.insertEndpoint(record)
        return { endpoint: toEndpoint(record), secret }
      }),
      listEndpoints: Effect.flatMap(Tenant.current, (tenantId) => Effect.map(store.listEndpoints(tenantId), (all) => all.map(toEndpoint))),
      getEndpoint: (id) => Effect.flatMap(Tenant.current, (tenantId) => Effect.map(endpointOf(tenantId, id), toEndpoint)),
      updateEndpoint: Effect.fn("MerchantWebhooks.updateEndpoint")(function*(id: string, patch: EndpointPatch) {
        const tenantId = yield* Tenant.current
        const current = yield* endpointOf(tenantId, id)
        const url = patch.url === undefined ? current.url : yield* checkUrl(options)(patch.url)
        const events = patch.events === undefined ? current.events : yield* checkEvents(patch.events)
        const description = patch.description === undefined ? current.description : yield* checkDescription(patch.description)
        const record: EndpointRecord = {
          ...current,
          url,
          events,
          eventTags: tagsFor(events),
          description,
          enabled: patch.enabled ?? current.enabled,
          updatedAt: yield* now
        }
        if (!(yield* store.updateEndpoint(record))) return yield* new WebhookEndpointNotFound({ endpointId: id })
        return toEndpoint(record)
      }),
      rotateSecret: Effect.fn("MerchantWebhooks.rotateSecret")(function*(id: string) {
        const tenantId = yield* Tenant.current
        const current = yield* endpointOf(tenantId, id)
        const secret = newSecret()
        const record: EndpointRecord = { ...current, secret: yield* secrets.seal(tenantId, id, secret), updatedAt: yield* now }
        if (!(yield* store.updateEndpoint(record))) return yield* new WebhookEndpointNotFound({ endpointId: id })
        return { endpoint: toEndpoint(record), secret }
      }),
      deleteEndpoint: (id) =>
        Effect.flatMap(Tenant.current, (tenantId) =>
          Effect.flatMap(store.deleteEndpoint(tenantId, id), (deleted) =>
            deleted ? Effect.void : Effect.fail(new WebhookEndpointNotFound({ endpointId: id })))),
      listDeliveries: (endpointId, page = {}) =>
        Effect.gen(function*() {
          const tenantId = yield* Tenant.current
          yield* endpointOf(tenantId, endpointId)
          const limit = Math.max(1, Math.min(100, Math.floor(page.limit ?? 20)))
          const cursor = page.cursor !== undefined && /^\d{1,18}$/.test(page.cursor) ? page.cursor : undefined
          if (page.cursor !== undefined && cursor === undefined) return { items: [], nextCursor: undefined }
          const found = yield* store.listDeliveries(tenantId, endpointId, { status: page.status, limit, cursor })
          return { items: found.items.map(toDelivery), nextCursor: found.nextCursor }
        }),
      getDelivery: (id) => Effect.flatMap(Tenant.current, (tenantId) => Effect.map(deliveryOf(tenantId, id), toDelivery)),
      listAttempts: (deliveryId) =>
        Effect.gen(function*() {
          const tenantId = yield* Tenant.current
          yield* deliveryOf(tenantId, deliveryId)
          const attempts = yield* store.listAttempts(deliveryId)
          return attempts.map(({ deliveryId: _, ...attempt }): Attempt => attempt)
        }),
      replayDelivery: Effect.fn("MerchantWebhooks.replayDelivery")(function*(id: string) {
        const tenantId = yield* Tenant.current
        const replayed = yield* store.replay(tenantId, id, yield* now)
        if (Option.isNone(replayed)) return yield* new WebhookDeliveryNotFound({ deliveryId: id })
        yield* wake
        return toDelivery(replayed.value)
      }),
      replayDead: Effect.fn("MerchantWebhooks.replayDead")(function*(endpointId: string) {
        const tenantId = yield* Tenant.current
        yield* endpointOf(tenantId, endpointId)
        const count = yield* store.replayDead(tenantId, endpointId, yield* now)
        if (count > 0) yield* wake
        return count
      }),
      runOnce
    })
    return { service }
  })

/** The worker's loop: rounds while they find work, else a wait for a wake-up or the poll interval. */
const workerLoop = (
  runOnce: Effect.Effect<WebhookDelivery.RoundReport, StorageError>,
  woken: Effect.Effect<void>,
  options: Options
): Effect.Effect<never> => {
  const idle = Effect.raceFirst(woken, Effect.sleep(options.pollInterval ?? "1 second"))
  return Background.supervise("merchant webhooks", (reset) =>
    Effect.gen(function*() {
      while (true) {
        const report = yield* runOnce
        yield* reset
        // a delivered or dead-lettered event may have made the payment's next one due: go again
        if (report.claimed === 0) yield* idle
      }
    }), { backoff: "1 second", maxBackoff: "1 minute", interval: options.pollInterval ?? "1 second" })
}

/** The hourly purge of delivered deliveries, supervised. */
const purgeLoop = (store: Store, retention: Duration.DurationInput) =>
  Background.loop(
    "merchant webhooks retention",
    Effect.gen(function*() {
      const before = DateTime.unsafeMake((yield* Clock.currentTimeMillis) - Duration.toMillis(Duration.decode(retention)))
      let total = 0
      while (true) {
        const deleted = yield* store.purge(before, 5_000)
        total += deleted
        if (deleted < 5_000) break
      }
      if (total > 0) yield* Effect.logInfo(`merchant webhooks: purged ${total} delivered deliveries`)
    }),
    { schedule: Schedule.spaced("1 hour"), interval: "1 hour" }
  )

const start = (
  store: Store,
  secrets: Secrets,
  options: Options,
  wakeQueue: Queue.Queue<void>,
  woken: Effect.Effect<void>
): Effect.Effect<MerchantWebhooks["Type"], StorageError, Ids | Scope.Scope> =>
  Effect.gen(function*() {
    const { service } = yield* make(store, secrets, options, Effect.asVoid(Queue.offer(wakeQueue, undefined)))
    if (options.worker ?? true) {
      yield* Effect.forkScoped(workerLoop(service.runOnce, Effect.raceFirst(woken, Queue.take(wakeQueue)), options))
    }
    if (options.retention !== false) yield* Effect.forkScoped(purgeLoop(store, options.retention ?? "30 days"))
    return service
  })

/**
 * Merchant webhooks in memory, fed by the `EventBus` (events published after the layer was
 * built), with this process's worker unless `worker: false`. For tests and the memory
 * compositions: `MerchantWebhooks.layerMemory().pipe(Layer.provideMerge(AegisPayTest.layerMemory()))`.
 *
 * @since 0.2.0
 */
export const layerMemory = (options: Options = {}): Layer.Layer<MerchantWebhooks, StorageError, EventBus | Ids> =>
  Layer.scoped(
    MerchantWebhooks,
    Effect.gen(function*() {
      const { store, wake } = yield* MemoryStore.make
      const queue = yield* Queue.sliding<void>(1)
      return yield* start(store, plainSecrets, options, queue, Effect.asVoid(Queue.take(wake)))
    })
  )

/**
 * Merchant webhooks on the `SqlClient` in context (tables of migration `0015_merchant_webhooks`),
 * secrets sealed under the `KeyManagement` in context, with this process's worker unless
 * `worker: false`. Several processes share the work (`FOR UPDATE SKIP LOCKED` claims under a
 * lease). The worker wakes on this process's commits (the `OutboxSignal` in context, when there
 * is one) and polls every `pollInterval` for the others'.
 *
 * @since 0.2.0
 */
export const layerSql = (
  options: Options = {}
): Layer.Layer<MerchantWebhooks, StorageError, SqlClient.SqlClient | KeyManagement | Ids> =>
  Layer.scoped(
    MerchantWebhooks,
    Effect.gen(function*() {
      const store = yield* SqlStore.make
      const keys = yield* KeyManagement
      const queue = yield* Queue.sliding<void>(1)
      const signal = yield* Effect.serviceOption(OutboxSignal)
      // subscribed once, now: a commit between two waits is not missed
      const woken = Option.isSome(signal) ? Effect.asVoid(Queue.take(yield* signal.value.subscribe)) : Effect.never
      return yield* start(store, envelopeSecrets(keys), options, queue, woken)
    })
  )
