/**
 * The memory {@link Store}: for tests, demos and the memory compositions (nothing survives the
 * process). Deliveries are made from the events the `EventBus` publishes after each committed
 * write: the store subscribes when built and fans out what it received, in order, before each
 * claim and each endpoint change, under the one lock every operation takes. Events not yet fanned
 * out wait in the subscription (at most the bus's capacity, 4,096 by default; the worker drains it
 * on every wake-up).
 *
 * @internal
 */
import { DateTime, Duration, Effect, Option, Queue, Schema } from "effect"
import type { Scope } from "effect"
import { PaymentEvent } from "../../domain/PaymentEvent.js"
import { EventBus } from "../../events/EventBus.js"
import * as MerchantEvent from "../../events/MerchantEvent.js"
import * as Correlation from "../../observability/Correlation.js"
import type { AttemptRecord, Claimed, DeliveryRecord, EndpointRecord, Store } from "./store.js"

const encodeEvent = Schema.encodeSync(PaymentEvent)

interface Row {
  delivery: DeliveryRecord
  claims: number
  leaseOwner: string | undefined
  leasedUntil: number
}

const keyOf = (endpointId: string, paymentId: string) => `${endpointId}\u0000${paymentId}`
const millis = (at: DateTime.Utc) => DateTime.toEpochMillis(at)

/**
 * A memory store fed by the `EventBus` in context (subscribed for the lifetime of the scope), and
 * a queue that yields after events were published (the worker's wake-up).
 *
 * @internal
 */
export const make: Effect.Effect<
  { readonly store: Store; readonly wake: Queue.Dequeue<PaymentEvent> },
  never,
  EventBus | Scope.Scope
> = Effect.gen(function*() {
  const bus = yield* EventBus
  const incoming = yield* bus.subscribeQueue
  const wake = yield* bus.subscribeQueue
  const lock = yield* Effect.makeSemaphore(1)
  const endpoints = new Map<string, EndpointRecord>()
  const rows = new Map<string, Row>()
  const byEvent = new Set<string>()
  /** Pending delivery ids per (endpoint, payment), by sequence. */
  const pending = new Map<string, Array<string>>()
  const attempts = new Map<string, Array<AttemptRecord>>()
  let nextId = 0

  const addPending = (row: Row) => {
    const key = keyOf(row.delivery.endpointId, row.delivery.paymentId)
    const ids = pending.get(key) ?? []
    ids.push(row.delivery.id)
    ids.sort((a, b) => rows.get(a)!.delivery.seq - rows.get(b)!.delivery.seq)
    pending.set(key, ids)
  }
  const removePending = (delivery: DeliveryRecord) => {
    const key = keyOf(delivery.endpointId, delivery.paymentId)
    const ids = (pending.get(key) ?? []).filter((id) => id !== delivery.id)
    if (ids.length === 0) pending.delete(key)
    else pending.set(key, ids)
  }

  const fanOut = (event: PaymentEvent) => {
    for (const endpoint of endpoints.values()) {
      if (!endpoint.enabled || endpoint.tenantId !== event.tenantId || !MerchantEvent.selects(endpoint.eventTags, event._tag, event)) continue
      const unique = `${endpoint.id}\u0000${event.eventId}`
      if (byEvent.has(unique)) continue
      byEvent.add(unique)
      // behind a pending earlier event, the new one is due no sooner than it (it cannot go first)
      const ahead = (pending.get(keyOf(endpoint.id, event.paymentId)) ?? []).map((id) => rows.get(id)!.delivery.nextAttemptAt)
      const due = ahead.reduce((a, b) => DateTime.max(a, b), event.occurredAt)
      const id = String(++nextId)
      const row: Row = {
        delivery: {
          id,
          endpointId: endpoint.id,
          tenantId: event.tenantId,
          eventId: event.eventId,
          paymentId: event.paymentId,
          seq: event.seq,
          eventTag: event._tag,
          payload: Correlation.storedWith(encodeEvent(event), Correlation.ofEvent(event)),
          status: "pending",
          attempts: 0,
          retriesFrom: 0,
          nextAttemptAt: due,
          lastStatus: undefined,
          lastError: undefined,
          createdAt: event.occurredAt,
          deliveredAt: undefined
        },
        claims: 0,
        leaseOwner: undefined,
        leasedUntil: 0
      }
      rows.set(id, row)
      addPending(row)
    }
  }

  /** Runs `f` under the lock after fanning out every event received so far. */
  const locked = <A>(f: () => A) =>
    lock.withPermits(1)(Effect.flatMap(Queue.takeAll(incoming), (events) =>
      Effect.sync(() => {
        for (const event of events) fanOut(event)
        return f()
      })))

  const delete_ = (id: string) => {
    const row = rows.get(id)
    if (row === undefined) return
    rows.delete(id)
    byEvent.delete(`${row.delivery.endpointId}\u0000${row.delivery.eventId}`)
    removePending(row.delivery)
    attempts.delete(id)
  }

  const requeue = (row: Row, now: DateTime.Utc) => {
    if (row.delivery.status !== "pending") addPending(row)
    row.delivery = {
      ...row.delivery,
      status: "pending",
      retriesFrom: row.delivery.attempts,
      nextAttemptAt: now,
      deliveredAt: undefined
    }
    row.leaseOwner = undefined
    row.leasedUntil = 0
    // pending lists are kept by sequence: a replayed earlier event goes first again
    const key = keyOf(row.delivery.endpointId, row.delivery.paymentId)
    pending.get(key)?.sort((a, b) => rows.get(a)!.delivery.seq - rows.get(b)!.delivery.seq)
    return row.delivery
  }

  const store: Store = {
    insertEndpoint: (endpoint) => locked(() => void endpoints.set(endpoint.id, endpoint)),
    findEndpoint: (tenantId, id) =>
      locked(() => Option.filter(Option.fromNullable(endpoints.get(id)), (e) => e.tenantId === tenantId)),
    listEndpoints: (tenantId) =>
      locked(() =>
        [...endpoints.values()].filter((e) => e.tenantId === tenantId).sort((a, b) => millis(a.createdAt) - millis(b.createdAt) || a.id.localeCompare(b.id))
      ),
    updateEndpoint: (endpoint) =>
      locked(() => {
        const current = endpoints.get(endpoint.id)
        if (current === undefined || current.tenantId !== endpoint.tenantId) return false
        endpoints.set(endpoint.id, endpoint)
        return true
      }),
    deleteEndpoint: (tenantId, id) =>
      locked(() => {
        const current = endpoints.get(id)
        if (current === undefined || current.tenantId !== tenantId) return false
        endpoints.delete(id)
        for (const [deliveryId, row] of [...rows]) if (row.delivery.endpointId === id) delete_(deliveryId)
        return true
      }),
    refreshEventTags: (tagsFor) =>
      locked(() => {
        for (const [id, endpoint] of endpoints) endpoints.set(id, { ...endpoint, eventTags: tagsFor(endpoint.events) })
      }),
    claim: (owner, now, limit, lease) =>
      locked(() => {
        const at = millis(now)
        const claimed: Array<Claimed> = []
        const heads = [...pending.values()].map((ids) => rows.get(ids[0]!)!)
          .filter((row) =>
            millis(row.delivery.nextAttemptAt) <= at && row.leasedUntil <= at &&
            endpoints.get(row.delivery.endpointId)?.enabled === true
          )
          .sort((a, b) => millis(a.delivery.nextAttemptAt) - millis(b.delivery.nextAttemptAt) || Number(a.delivery.id) - Number(b.delivery.id))
          .slice(0, limit)
        for (const row of heads) {
          const endpoint = endpoints.get(row.delivery.endpointId)!
          row.claims = row.claims + 1
          row.leaseOwner = owner
          row.leasedUntil = at + Duration.toMillis(lease)
          claimed.push({ delivery: row.delivery, claims: row.claims, url: endpoint.url, secret: endpoint.secret })
        }
        return claimed
      }),
    settle: (owner, claimed, settlement) =>
      locked(() => {
        const row = rows.get(claimed.delivery.id)
        if (
          row === undefined || row.claims !== claimed.claims || row.leaseOwner !== owner ||
          row.delivery.status !== "pending"
        ) return false
        const attempt = row.delivery.attempts + 1
        const log = attempts.get(row.delivery.id) ?? []
        log.push({
          deliveryId: row.delivery.id,
          attempt,
          attemptedAt: settlement.attemptedAt,
          worker: owner,
          httpStatus: settlement.httpStatus,
          latencyMillis: settlement.latencyMillis,
          error: settlement.error,
          outcome: settlement.outcome
        })
        attempts.set(row.delivery.id, log)
        const failedAt = settlement.nextAttemptAt
        row.delivery = {
          ...row.delivery,
          attempts: attempt,
          status: settlement.outcome === "failed" ? "pending" : settlement.outcome,
          nextAttemptAt: settlement.outcome === "failed" && failedAt !== undefined ? failedAt : row.delivery.nextAttemptAt,
          lastStatus: settlement.httpStatus,
          lastError: settlement.error,
          deliveredAt: settlement.outcome === "delivered" ? settlement.attemptedAt : row.delivery.deliveredAt
        }
        row.leaseOwner = undefined
        row.leasedUntil = 0
        if (settlement.outcome !== "failed") removePending(row.delivery)
        else if (failedAt !== undefined) {
          // the payment's later events wait behind this one: due no sooner
          for (const id of pending.get(keyOf(row.delivery.endpointId, row.delivery.paymentId)) ?? []) {
            const later = rows.get(id)!
            if (later.delivery.seq > row.delivery.seq) {
              later.delivery = { ...later.delivery, nextAttemptAt: DateTime.max(later.delivery.nextAttemptAt, failedAt) }
            }
          }
        }
        return true
      }),
    listDeliveries: (tenantId, endpointId, filter) =>
      locked(() => {
        const before = filter.cursor === undefined ? Number.POSITIVE_INFINITY : Number(filter.cursor)
        const matching = [...rows.values()].map((row) => row.delivery)
          .filter((d) =>
            d.tenantId === tenantId && d.endpointId === endpointId && Number(d.id) < before &&
            (filter.status === undefined || d.status === filter.status)
          )
          .sort((a, b) => Number(b.id) - Number(a.id))
        const items = matching.slice(0, filter.limit)
        const last = items[items.length - 1]
        return { items, nextCursor: matching.length > filter.limit && last !== undefined ? last.id : undefined }
      }),
    findDelivery: (tenantId, id) =>
      locked(() => Option.filter(Option.fromNullable(rows.get(id)?.delivery), (d) => d.tenantId === tenantId)),
    listAttempts: (deliveryId) => locked(() => [...(attempts.get(deliveryId) ?? [])]),
    replay: (tenantId, id, now) =>
      locked(() => {
        const row = rows.get(id)
        if (row === undefined || row.delivery.tenantId !== tenantId) return Option.none<DeliveryRecord>()
        // an attempt in flight is left alone: a second one must not start beside it
        if (row.delivery.status === "pending" && row.leasedUntil > millis(now)) return Option.some(row.delivery)
        return Option.some(requeue(row, now))
      }),
    replayDead: (tenantId, endpointId, now) =>
      locked(() => {
        let count = 0
        for (const row of rows.values()) {
          if (row.delivery.tenantId === tenantId && row.delivery.endpointId === endpointId && row.delivery.status === "dead") {
            requeue(row, now)
            count++
          }
        }
        return count
      }),
    purge: (before, batchSize) =>
      locked(() => {
        let count = 0
        for (const [id, row] of [...rows]) {
          if (count >= batchSize) break
          const at = row.delivery.deliveredAt
          if (row.delivery.status === "delivered" && at !== undefined && millis(at) < millis(before)) {
            delete_(id)
            count++
          }
        }
        return count
      })
  }
  return { store, wake }
})
