/**
 * The SQL {@link Store} (PostgreSQL or PGlite), over the tables of migration
 * `0015_merchant_webhooks`. Deliveries are written by the outbox trigger of that migration, in
 * the transaction that commits their events; this module claims, settles, lists and replays them.
 *
 * - A claim is one statement: due heads (no pending earlier event of the payment to the
 *   endpoint), of enabled endpoints, not leased, `FOR UPDATE SKIP LOCKED`, leased to the worker
 *   with the claim counter incremented. It walks the due index in order with plain index scans
 *   (so rows settled since the last vacuum are passed once, not on every claim), and that index
 *   leaves out paused deliveries, those of disabled endpoints (migration 0019). Leases use the
 *   database clock; due times the workers' `Clock` (as the events' own times do).
 * - A replay locks the delivery's endpoint (`FOR SHARE`, in a subquery evaluated before any
 *   delivery row is locked) before its deliveries: the status trigger of
 *   migration 0019 reads the endpoint under that lock once the delivery's row is locked, and an
 *   enable, disable or delete locks the endpoint and then its deliveries; taking the endpoint
 *   first keeps the two in one order (no deadlock).
 * - A settlement is one statement: the attempt row and the delivery's new state (and, after a
 *   failure, the payment's later pending deliveries to that endpoint made due no sooner than the
 *   retry), only when the claim counter and owner still match.
 *
 * @internal
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql"
import { DateTime, Duration, Effect, Option, Schema } from "effect"
import { StorageError } from "../../storage/StorageError.js"
import type { AttemptRecord, Claimed, DeliveryRecord, EndpointRecord, SealedSecret, Store } from "./store.js"

const Bytes = Schema.Uint8ArrayFromSelf
const Time = Schema.Union(Schema.DateFromSelf, Schema.DateFromString)
const OptionalTime = Schema.NullOr(Time)
const BigId = Schema.Union(Schema.String, Schema.Number)

const EndpointRow = Schema.Struct({
  id: Schema.String,
  tenant_id: Schema.String,
  url: Schema.String,
  events: Schema.Array(Schema.String),
  event_tags: Schema.Array(Schema.String),
  description: Schema.NullOr(Schema.String),
  enabled: Schema.Boolean,
  secret_key_id: Schema.String,
  secret_wrapped_key: Bytes,
  secret_nonce: Bytes,
  secret_ciphertext: Bytes,
  created_at: Time,
  updated_at: Time
})

const DeliveryRow = Schema.Struct({
  id: BigId,
  endpoint_id: Schema.String,
  tenant_id: Schema.String,
  event_id: Schema.String,
  payment_id: Schema.String,
  seq: Schema.Number,
  type: Schema.String,
  payload: Schema.Unknown,
  status: Schema.Literal("pending", "delivered", "dead"),
  attempts: Schema.Number,
  retries_from: Schema.Number,
  next_attempt_at: Time,
  last_status: Schema.NullOr(Schema.Number),
  last_error: Schema.NullOr(Schema.String),
  created_at: Time,
  delivered_at: OptionalTime
})

const ClaimedRow = Schema.Struct({
  ...DeliveryRow.fields,
  claims: Schema.Number,
  url: Schema.String,
  secret_key_id: Schema.String,
  secret_wrapped_key: Bytes,
  secret_nonce: Bytes,
  secret_ciphertext: Bytes
})

const AttemptRow = Schema.Struct({
  delivery_id: BigId,
  attempt: Schema.Number,
  attempted_at: Time,
  worker: Schema.String,
  http_status: Schema.NullOr(Schema.Number),
  latency_ms: Schema.Number,
  error: Schema.NullOr(Schema.String),
  outcome: Schema.Literal("delivered", "failed", "dead")
})

const IdRow = Schema.Struct({ id: BigId })

const utc = (date: Date) => DateTime.unsafeFromDate(date)
const date = (at: DateTime.Utc) => DateTime.toDateUtc(at)

const toEndpoint = (row: typeof EndpointRow.Type): EndpointRecord => ({
  id: row.id,
  tenantId: row.tenant_id,
  url: row.url,
  events: row.events,
  eventTags: row.event_tags,
  description: row.description ?? undefined,
  enabled: row.enabled,
  secret: {
    _tag: "Envelope",
    envelope: {
      keyId: row.secret_key_id,
      wrappedKey: row.secret_wrapped_key,
      nonce: row.secret_nonce,
      ciphertext: row.secret_ciphertext
    }
  },
  createdAt: utc(row.created_at),
  updatedAt: utc(row.updated_at)
})

const toDelivery = (row: typeof DeliveryRow.Type): DeliveryRecord => ({
  id: String(row.id),
  endpointId: row.endpoint_id,
  tenantId: row.tenant_id,
  eventId: row.event_id,
  paymentId: row.payment_id,
  seq: row.seq,
  eventTag: row.type,
  payload: row.payload,
  status: row.status,
  attempts: row.attempts,
  retriesFrom: row.retries_from,
  nextAttemptAt: utc(row.next_attempt_at),
  lastStatus: row.last_status ?? undefined,
  lastError: row.last_error ?? undefined,
  createdAt: utc(row.created_at),
  deliveredAt: row.delivered_at === null ? undefined : utc(row.delivered_at)
})

const toAttempt = (row: typeof AttemptRow.Type): AttemptRecord => ({
  deliveryId: String(row.delivery_id),
  attempt: row.attempt,
  attemptedAt: utc(row.attempted_at),
  worker: row.worker,
  httpStatus: row.http_status ?? undefined,
  latencyMillis: row.latency_ms,
  error: row.error ?? undefined,
  outcome: row.outcome
})

const sealed = (secret: SealedSecret) => {
  if (secret._tag !== "Envelope") return undefined
  const { envelope } = secret
  return {
    secret_key_id: envelope.keyId,
    secret_wrapped_key: Buffer.from(envelope.wrappedKey),
    secret_nonce: Buffer.from(envelope.nonce),
    secret_ciphertext: Buffer.from(envelope.ciphertext)
  }
}

const DELIVERY_COLUMNS =
  "id, endpoint_id, tenant_id, event_id, payment_id, seq, type, payload, status, attempts, retries_from, next_attempt_at, last_status, last_error, created_at, delivered_at"

/**
 * The store over the `SqlClient` in context.
 *
 * @internal
 */
export const make: Effect.Effect<Store, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const fail = (operation: string) => (e: SqlError.SqlError | { readonly message: string }) =>
    new StorageError({ operation: `webhooks.${operation}`, reason: e.message })
  const decode = <A, I>(operation: string, schema: Schema.Schema<A, I>) => (rows: ReadonlyArray<unknown>) =>
    Schema.decodeUnknown(Schema.Array(schema))(rows).pipe(Effect.mapError(fail(operation)))
  const run = <A, I>(operation: string, schema: Schema.Schema<A, I>, statement: Effect.Effect<ReadonlyArray<unknown>, SqlError.SqlError>) =>
    statement.pipe(Effect.mapError(fail(operation)), Effect.flatMap(decode(operation, schema)))
  const columns = sql.unsafe(DELIVERY_COLUMNS)
  const isDigits = (id: string) => /^\d{1,18}$/.test(id)
  // a text[] from one JSON parameter (the generic SqlClient has no array parameters)
  const textArray = (values: ReadonlyArray<string>) => sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`

  const noSecret = (operation: string) =>
    Effect.fail(new StorageError({ operation: `webhooks.${operation}`, reason: "SQL endpoints need a sealed secret" }))

  const store: Store = {
    insertEndpoint: (endpoint) => {
      const secret = sealed(endpoint.secret)
      if (secret === undefined) return noSecret("insertEndpoint")
      return sql`
        INSERT INTO aegis_webhook_endpoints (id, tenant_id, url, events, event_tags, description, enabled,
          secret_key_id, secret_wrapped_key, secret_nonce, secret_ciphertext, created_at, updated_at)
        VALUES (${endpoint.id}, ${endpoint.tenantId}, ${endpoint.url}, ${textArray(endpoint.events)}, ${textArray(endpoint.eventTags)},
          ${endpoint.description ?? null}, ${endpoint.enabled}, ${secret.secret_key_id}, ${secret.secret_wrapped_key},
          ${secret.secret_nonce}, ${secret.secret_ciphertext}, ${date(endpoint.createdAt)}, ${date(endpoint.updatedAt)})
      `.pipe(Effect.asVoid, Effect.mapError(fail("insertEndpoint")))
    },
    findEndpoint: (tenantId, id) =>
      run("findEndpoint", EndpointRow, sql`SELECT * FROM aegis_webhook_endpoints WHERE tenant_id = ${tenantId} AND id = ${id}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toEndpoint))
      ),
    listEndpoints: (tenantId) =>
      run("listEndpoints", EndpointRow, sql`
        SELECT * FROM aegis_webhook_endpoints WHERE tenant_id = ${tenantId} ORDER BY created_at, id`).pipe(
        Effect.map((rows) => rows.map(toEndpoint))
      ),
    updateEndpoint: (endpoint) => {
      const secret = sealed(endpoint.secret)
      if (secret === undefined) return noSecret("updateEndpoint")
      return run("updateEndpoint", Schema.Struct({ id: Schema.String }), sql`
        UPDATE aegis_webhook_endpoints SET url = ${endpoint.url}, events = ${textArray(endpoint.events)},
          event_tags = ${textArray(endpoint.eventTags)}, description = ${endpoint.description ?? null},
          enabled = ${endpoint.enabled}, secret_key_id = ${secret.secret_key_id}, secret_wrapped_key = ${secret.secret_wrapped_key},
          secret_nonce = ${secret.secret_nonce}, secret_ciphertext = ${secret.secret_ciphertext}, updated_at = ${date(endpoint.updatedAt)}
        WHERE id = ${endpoint.id} AND tenant_id = ${endpoint.tenantId} RETURNING id`).pipe(Effect.map((rows) => rows.length > 0))
    },
    deleteEndpoint: (tenantId, id) =>
      run("deleteEndpoint", Schema.Struct({ id: Schema.String }), sql`
        DELETE FROM aegis_webhook_endpoints WHERE id = ${id} AND tenant_id = ${tenantId} RETURNING id`).pipe(
        Effect.map((rows) => rows.length > 0)
      ),
    refreshEventTags: (tagsFor) =>
      Effect.gen(function*() {
        const rows = yield* run("refreshEventTags", Schema.Struct({ id: Schema.String, events: Schema.Array(Schema.String), event_tags: Schema.Array(Schema.String) }), sql`
          SELECT id, events, event_tags FROM aegis_webhook_endpoints`)
        for (const row of rows) {
          const tags = tagsFor(row.events)
          if (tags.join(",") === row.event_tags.join(",")) continue
          yield* sql`UPDATE aegis_webhook_endpoints SET event_tags = ${textArray(tags)} WHERE id = ${row.id}`.pipe(
            Effect.mapError(fail("refreshEventTags"))
          )
        }
      }),
    claim: (owner, now, limit, lease) =>
      // The due deliveries are walked in order one at a time (`ORDER BY … LIMIT 1` steps on the due
      // index: plain index scans, which mark the entries of rows dead to everyone as they pass, so
      // later claims skip deliveries settled since the last vacuum, where a bitmap scan re-read them
      // all on every claim), each locked by its key; the walk stops once `limit` are held. The due
      // index leaves out paused deliveries (those of disabled endpoints, migration 0019), so the
      // walk never passes over a disabled endpoint's backlog; whether the endpoint is enabled is
      // still checked here, for each delivery claimed.
      run("claim", ClaimedRow, sql`
        WITH RECURSIVE walk AS (
          (SELECT next_attempt_at, id FROM aegis_webhook_deliveries
            WHERE status = 'pending' AND NOT paused AND next_attempt_at <= ${date(now)}
            ORDER BY next_attempt_at, id LIMIT 1)
          UNION ALL
          SELECT n.next_attempt_at, n.id FROM walk w CROSS JOIN LATERAL (
            SELECT next_attempt_at, id FROM aegis_webhook_deliveries
            WHERE status = 'pending' AND NOT paused AND next_attempt_at <= ${date(now)}
              AND (next_attempt_at, id) > (w.next_attempt_at, w.id)
            ORDER BY next_attempt_at, id LIMIT 1
          ) n
        ), due AS (
          SELECT d.id FROM walk c CROSS JOIN LATERAL (
            -- status and paused are checked again here: FOR UPDATE re-evaluates this WHERE on the
            -- latest row version, so a delivery another worker settled, or one paused by a disable,
            -- after this statement's snapshot is skipped
            SELECT d.id FROM aegis_webhook_deliveries d
            JOIN aegis_webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
            WHERE d.id = c.id AND d.status = 'pending' AND NOT d.paused AND d.next_attempt_at <= ${date(now)}
              AND (d.leased_until IS NULL OR d.leased_until < clock_timestamp())
              AND NOT EXISTS (
                SELECT 1 FROM aegis_webhook_deliveries p
                WHERE p.endpoint_id = d.endpoint_id AND p.payment_id = d.payment_id AND p.status = 'pending' AND p.seq < d.seq
              )
            FOR UPDATE OF d SKIP LOCKED
          ) d
          LIMIT ${limit}
        )
        UPDATE aegis_webhook_deliveries u
        SET lease_owner = ${owner},
          leased_until = clock_timestamp() + make_interval(secs => ${Duration.toMillis(lease) / 1000}),
          claims = u.claims + 1
        FROM due, aegis_webhook_endpoints e
        WHERE u.id = due.id AND e.id = u.endpoint_id
        RETURNING u.id, u.endpoint_id, u.tenant_id, u.event_id, u.payment_id, u.seq, u.type, u.payload, u.status,
          u.attempts, u.retries_from, u.next_attempt_at, u.last_status, u.last_error, u.created_at, u.delivered_at,
          u.claims, e.url, e.secret_key_id, e.secret_wrapped_key, e.secret_nonce, e.secret_ciphertext`).pipe(
        Effect.map((rows) =>
          rows.map((row): Claimed => ({
            delivery: toDelivery(row),
            claims: row.claims,
            url: row.url,
            secret: {
              _tag: "Envelope",
              envelope: {
                keyId: row.secret_key_id,
                wrappedKey: row.secret_wrapped_key,
                nonce: row.secret_nonce,
                ciphertext: row.secret_ciphertext
              }
            }
          })).sort((a, b) => a.delivery.nextAttemptAt.epochMillis - b.delivery.nextAttemptAt.epochMillis)
        )
      ),
    settle: (owner, claimed, settlement) => {
      const id = claimed.delivery.id
      const attempt = claimed.delivery.attempts + 1
      const status = settlement.outcome === "failed" ? "pending" : settlement.outcome
      const next = settlement.outcome === "failed" && settlement.nextAttemptAt !== undefined
        ? date(settlement.nextAttemptAt)
        : null
      const deliveredAt = settlement.outcome === "delivered" ? date(settlement.attemptedAt) : null
      // the later events of the payment to this endpoint wait behind a retry: due no sooner
      const later = next === null ? sql`` : sql`, later AS (
          UPDATE aegis_webhook_deliveries l SET next_attempt_at = GREATEST(l.next_attempt_at, ${next})
          FROM settled s
          WHERE l.endpoint_id = s.endpoint_id AND l.payment_id = s.payment_id AND l.status = 'pending' AND l.seq > s.seq
        )`
      return run("settle", IdRow, sql`
        WITH settled AS (
          UPDATE aegis_webhook_deliveries SET
            status = ${status},
            attempts = ${attempt},
            next_attempt_at = COALESCE(${next}::timestamptz, next_attempt_at),
            lease_owner = NULL,
            leased_until = NULL,
            last_status = ${settlement.httpStatus ?? null},
            last_error = ${settlement.error ?? null},
            delivered_at = COALESCE(${deliveredAt}::timestamptz, delivered_at)
          WHERE id = ${id} AND claims = ${claimed.claims} AND lease_owner = ${owner} AND status = 'pending'
          RETURNING id, endpoint_id, payment_id, seq
        ), logged AS (
          INSERT INTO aegis_webhook_attempts (delivery_id, attempt, attempted_at, worker, http_status, latency_ms, error, outcome)
          SELECT id, ${attempt}, ${date(settlement.attemptedAt)}, ${owner}, ${settlement.httpStatus ?? null},
            ${Math.round(settlement.latencyMillis)}, ${settlement.error ?? null}, ${settlement.outcome}
          FROM settled
        ) ${later}
        SELECT id FROM settled`).pipe(Effect.map((rows) => rows.length > 0))
    },
    listDeliveries: (tenantId, endpointId, filter) =>
      run("listDeliveries", DeliveryRow, sql`
        SELECT ${columns} FROM aegis_webhook_deliveries
        WHERE endpoint_id = ${endpointId} AND tenant_id = ${tenantId}
          ${filter.status === undefined ? sql`` : sql`AND status = ${filter.status}`}
          ${filter.cursor === undefined ? sql`` : sql`AND id < ${filter.cursor}`}
        ORDER BY id DESC LIMIT ${filter.limit + 1}`).pipe(
        Effect.map((rows) => {
          const items = rows.slice(0, filter.limit).map(toDelivery)
          const last = items[items.length - 1]
          return { items, nextCursor: rows.length > filter.limit && last !== undefined ? last.id : undefined }
        })
      ),
    findDelivery: (tenantId, id) =>
      !isDigits(id) ? Effect.succeed(Option.none()) : run("findDelivery", DeliveryRow, sql`
        SELECT ${columns} FROM aegis_webhook_deliveries WHERE id = ${id} AND tenant_id = ${tenantId}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toDelivery))
      ),
    listAttempts: (deliveryId) =>
      !isDigits(deliveryId) ? Effect.succeed([]) : run("listAttempts", AttemptRow, sql`
        SELECT * FROM aegis_webhook_attempts WHERE delivery_id = ${deliveryId} ORDER BY attempt`).pipe(
        Effect.map((rows) => rows.map(toAttempt))
      ),
    replay: (tenantId, id, now) =>
      !isDigits(id) ? Effect.succeed(Option.none()) : run("replay", DeliveryRow, sql`
        UPDATE aegis_webhook_deliveries SET status = 'pending', retries_from = attempts, next_attempt_at = ${date(now)},
          lease_owner = NULL, leased_until = NULL, delivered_at = NULL
        WHERE id = ${id} AND tenant_id = ${tenantId}
          -- the endpoint is share-locked before the delivery (no deadlock with an enable, disable or delete: see the module notes)
          AND endpoint_id = (
            SELECT e.id FROM aegis_webhook_endpoints e
            WHERE e.id = (SELECT d.endpoint_id FROM aegis_webhook_deliveries d WHERE d.id = ${id}) FOR SHARE
          )
          -- an attempt in flight is left alone: a second one must not start beside it
          AND NOT (status = 'pending' AND leased_until IS NOT NULL AND leased_until >= clock_timestamp())
        RETURNING ${columns}`).pipe(
        Effect.flatMap((rows) =>
          rows[0] !== undefined ? Effect.succeed(Option.some(toDelivery(rows[0]))) : store.findDelivery(tenantId, id)
        )
      ),
    replayDead: (tenantId, endpointId, now) =>
      run("replayDead", IdRow, sql`
        UPDATE aegis_webhook_deliveries SET status = 'pending', retries_from = attempts, next_attempt_at = ${date(now)},
          lease_owner = NULL, leased_until = NULL
        WHERE endpoint_id = (
            -- the endpoint is share-locked before the deliveries (no deadlock with an enable, disable or delete: see the module notes)
            SELECT e.id FROM aegis_webhook_endpoints e WHERE e.id = ${endpointId} AND e.tenant_id = ${tenantId} FOR SHARE
          ) AND tenant_id = ${tenantId} AND status = 'dead'
        RETURNING id`).pipe(Effect.map((rows) => rows.length)),
    purge: (before, batchSize) =>
      run("purge", IdRow, sql`
        DELETE FROM aegis_webhook_deliveries WHERE id IN (
          SELECT id FROM aegis_webhook_deliveries
          WHERE status = 'delivered' AND delivered_at < ${date(before)}
          LIMIT ${batchSize}
        ) RETURNING id`).pipe(Effect.map((rows) => rows.length))
  }
  return store
})
