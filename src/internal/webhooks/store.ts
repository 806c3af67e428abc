/**
 * The storage port of merchant webhooks: endpoints, deliveries and their attempt log. Two
 * implementations (memory, SQL) with the same semantics:
 *
 * - a delivery exists per (endpoint, event) at most once;
 * - {@link Store.claim} hands out only the **head** of each (endpoint, payment): the pending
 *   delivery with the lowest sequence number, due and not leased, of an enabled endpoint. A later
 *   event of a payment is never claimed while an earlier one to the same endpoint is pending, so
 *   order per payment per endpoint holds across workers;
 * - a claim takes a lease and counts a claim (`claims`): {@link Store.settle} only acts for the
 *   claim it was given (same `claims`, same owner), so a worker whose lease was taken over
 *   records nothing.
 *
 * @internal
 */
import type { DateTime, Duration, Effect, Option, Redacted } from "effect"
import type { Envelope } from "../../security/Envelope.js"
import type { StorageError } from "../../storage/StorageError.js"

/**
 * An endpoint's secret as stored: sealed in an envelope (SQL), or held as it is (memory, which
 * never leaves the process).
 *
 * @internal
 */
export type SealedSecret =
  | { readonly _tag: "Envelope"; readonly envelope: Envelope }
  | { readonly _tag: "Plain"; readonly secret: Redacted.Redacted<string> }

/** @internal */
export interface EndpointRecord {
  readonly id: string
  readonly tenantId: string
  readonly url: string
  /** What the endpoint subscribed to (public types or `*`). */
  readonly events: ReadonlyArray<string>
  /** The selectors of those subscriptions (`MerchantEvent.selectorsFor`: tags, or `Tag:status`). */
  readonly eventTags: ReadonlyArray<string>
  readonly description: string | undefined
  readonly enabled: boolean
  readonly secret: SealedSecret
  readonly createdAt: DateTime.Utc
  readonly updatedAt: DateTime.Utc
}

/** @internal */
export type DeliveryStatus = "pending" | "delivered" | "dead"

/** @internal */
export interface DeliveryRecord {
  readonly id: string
  readonly endpointId: string
  readonly tenantId: string
  readonly eventId: string
  readonly paymentId: string
  readonly seq: number
  /** The `PaymentEvent` tag. */
  readonly eventTag: string
  /** The encoded `PaymentEvent`. */
  readonly payload: unknown
  readonly status: DeliveryStatus
  /** Attempts made so far (all of them, replays included). */
  readonly attempts: number
  /** `attempts` when the retry schedule last started over (0, or the count at the last replay). */
  readonly retriesFrom: number
  readonly nextAttemptAt: DateTime.Utc
  readonly lastStatus: number | undefined
  readonly lastError: string | undefined
  readonly createdAt: DateTime.Utc
  readonly deliveredAt: DateTime.Utc | undefined
}

/** @internal */
export type AttemptOutcome = "delivered" | "failed" | "dead"

/** @internal */
export interface AttemptRecord {
  readonly deliveryId: string
  readonly attempt: number
  readonly attemptedAt: DateTime.Utc
  readonly worker: string
  readonly httpStatus: number | undefined
  readonly latencyMillis: number
  readonly error: string | undefined
  readonly outcome: AttemptOutcome
}

/** A claimed delivery with what its attempt needs. @internal */
export interface Claimed {
  readonly delivery: DeliveryRecord
  /** The claim's number (fences {@link Store.settle}). */
  readonly claims: number
  readonly url: string
  readonly secret: SealedSecret
}

/** How an attempt ended, as recorded. @internal */
export interface Settlement {
  readonly outcome: AttemptOutcome
  readonly attemptedAt: DateTime.Utc
  readonly httpStatus: number | undefined
  readonly latencyMillis: number
  readonly error: string | undefined
  /** With `failed`: when the next attempt is due. */
  readonly nextAttemptAt: DateTime.Utc | undefined
}

/** A page of deliveries, newest first. @internal */
export interface DeliveryPage {
  readonly items: ReadonlyArray<DeliveryRecord>
  readonly nextCursor: string | undefined
}

/** @internal */
export interface Store {
  readonly insertEndpoint: (endpoint: EndpointRecord) => Effect.Effect<void, StorageError>
  readonly findEndpoint: (tenantId: string, id: string) => Effect.Effect<Option.Option<EndpointRecord>, StorageError>
  readonly listEndpoints: (tenantId: string) => Effect.Effect<ReadonlyArray<EndpointRecord>, StorageError>
  /** Replaces the endpoint (same id and tenant); false when it no longer exists. */
  readonly updateEndpoint: (endpoint: EndpointRecord) => Effect.Effect<boolean, StorageError>
  /** Deletes the endpoint with its deliveries and attempts; false when it did not exist. */
  readonly deleteEndpoint: (tenantId: string, id: string) => Effect.Effect<boolean, StorageError>
  /**
   * Re-derives every endpoint's `eventTags` from its `events` (after an upgrade added public
   * types, `*` subscriptions get them).
   */
  readonly refreshEventTags: (tagsFor: (events: ReadonlyArray<string>) => ReadonlyArray<string>) => Effect.Effect<void, StorageError>
  /** Claims up to `limit` heads due at `now`, leased to `owner` for `lease`. */
  readonly claim: (
    owner: string,
    now: DateTime.Utc,
    limit: number,
    lease: Duration.Duration
  ) => Effect.Effect<ReadonlyArray<Claimed>, StorageError>
  /**
   * Records an attempt of a claim and moves the delivery on (delivered, due again, or dead);
   * false when the claim was no longer this worker's (nothing recorded).
   */
  readonly settle: (owner: string, claimed: Claimed, settlement: Settlement) => Effect.Effect<boolean, StorageError>
  readonly listDeliveries: (
    tenantId: string,
    endpointId: string,
    filter: { readonly status: DeliveryStatus | undefined; readonly limit: number; readonly cursor: string | undefined }
  ) => Effect.Effect<DeliveryPage, StorageError>
  readonly findDelivery: (tenantId: string, id: string) => Effect.Effect<Option.Option<DeliveryRecord>, StorageError>
  readonly listAttempts: (deliveryId: string) => Effect.Effect<ReadonlyArray<AttemptRecord>, StorageError>
  /** Makes a delivery pending and due at `now` with a fresh retry schedule; none when missing. */
  readonly replay: (tenantId: string, id: string, now: DateTime.Utc) => Effect.Effect<Option.Option<DeliveryRecord>, StorageError>
  /** {@link replay} for every dead delivery of an endpoint; how many. */
  readonly replayDead: (tenantId: string, endpointId: string, now: DateTime.Utc) => Effect.Effect<number, StorageError>
  /** Deletes delivered deliveries (and their attempts) delivered before `before`; how many. */
  readonly purge: (before: DateTime.Utc, batchSize: number) => Effect.Effect<number, StorageError>
}
