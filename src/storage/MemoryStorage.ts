/**
 * In-memory {@link PaymentRepository} and {@link EventStore}, sharing one store so that a
 * snapshot and its events are written in one atomic step, exactly as the SQL layer does in one
 * transaction. Committed events are published on the {@link CommittedEvents} sink (the `EventBus`) right after the write (the
 * memory store's outbox delivers at once).
 *
 * Every index is a hash map, so each operation does O(1) work (O(page) for paging), whatever
 * the number of payments. Data lives as long as the layer.
 *
 * @since 0.1.0
 */
import { Context, DateTime, Effect, Layer, Option } from "effect"
import * as Payment from "../domain/Payment.js"
import { VersionConflict } from "../domain/PaymentError.js"
import type { PaymentEvent } from "../domain/PaymentEvent.js"
import type { PaymentState } from "../domain/PaymentState.js"
import { CommittedEvents } from "./CommittedEvents.js"
import { EventStore } from "./EventStore.js"
import { decodeCursor, DuplicateIdempotencyKey, encodeCursor, PaymentRepository } from "./PaymentRepository.js"

const keyOf = (...parts: ReadonlyArray<string>) => parts.join("\u0000")


/**
 * Builds the two services over one store.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const bus = yield* CommittedEvents
  const payments = new Map<string, Payment.Payment>()
  const events = new Map<string, Array<PaymentEvent>>()
  const byIdempotencyKey = new Map<string, string>()
  const byTransaction = new Map<string, string>()
  const byCustomer = new Map<string, Array<string>>()
  const positionInCustomer = new Map<string, number>()
  const byState = new Map<PaymentState, Set<string>>()
  /** Payments with open work (bounded by what is in flight, not by history). */
  const open = new Set<string>()
  /** When recovery last examined an open payment (`markExamined`); dropped when its work is done. */
  const examined = new Map<string, number>()
  /** Payments with an open review item. */
  const reviewing = new Set<string>()

  const index = (previous: Payment.Payment | undefined, next: Payment.Payment) => {
    payments.set(next.id, next)
    if (previous?.state !== next.state) {
      if (previous !== undefined) byState.get(previous.state)?.delete(next.id)
      let set = byState.get(next.state)
      if (set === undefined) byState.set(next.state, set = new Set())
      set.add(next.id)
    }
    if (next.gatewayTransactionId !== undefined) byTransaction.set(next.gatewayTransactionId, next.id)
    if (Payment.hasOpenWork(next)) open.add(next.id)
    else {
      open.delete(next.id)
      examined.delete(next.id)
    }
    if (Payment.needsReview(next)) reviewing.add(next.id)
    else reviewing.delete(next.id)
  }

  const appendEvents = (paymentId: string, decision: Payment.Decision) => {
    let log = events.get(paymentId)
    if (log === undefined) events.set(paymentId, log = [])
    log.push(...decision.events)
  }

  const repository = PaymentRepository.of({
    insert: (decision) =>
      Effect.suspend(() => {
        const p = decision.payment
        const key = keyOf(p.tenantId, p.idempotencyKey)
        if (byIdempotencyKey.has(key)) {
          return Effect.fail(new DuplicateIdempotencyKey({ tenantId: p.tenantId, idempotencyKey: p.idempotencyKey }))
        }
        byIdempotencyKey.set(key, p.id)
        const customerKey = keyOf(p.tenantId, p.customer.id)
        let list = byCustomer.get(customerKey)
        if (list === undefined) byCustomer.set(customerKey, list = [])
        positionInCustomer.set(p.id, list.length)
        list.push(p.id)
        index(undefined, p)
        appendEvents(p.id, decision)
        return bus.publish(decision.events)
      }),
    update: (decision, expectedVersion) =>
      Effect.suspend(() => {
        const next = decision.payment
        const current = payments.get(next.id)
        const actual = current?.version ?? 0
        if (current === undefined || actual !== expectedVersion) {
          return Effect.fail(new VersionConflict({ paymentId: next.id, expectedVersion, actualVersion: actual }))
        }
        index(current, next)
        appendEvents(next.id, decision)
        return bus.publish(decision.events)
      }),
    findById: (id) => Effect.sync(() => Option.fromNullable(payments.get(id))),
    findByIdempotencyKey: (tenantId, key) =>
      Effect.sync(() => {
        const id = byIdempotencyKey.get(keyOf(tenantId, key))
        return Option.fromNullable(id === undefined ? undefined : payments.get(id))
      }),
    findByGatewayTransactionId: (transactionId) =>
      Effect.sync(() => {
        const id = byTransaction.get(transactionId)
        return Option.fromNullable(id === undefined ? undefined : payments.get(id))
      }),
    findByCustomer: (tenantId, customerId, page) =>
      Effect.sync(() => {
        const list = byCustomer.get(keyOf(tenantId, customerId)) ?? []
        const limit = Math.max(1, Math.min(100, Math.floor(page.limit)))
        let start = list.length - 1
        if (page.cursor !== undefined) {
          const position = positionInCustomer.get(decodeCursor(page.cursor))
          start = position === undefined ? -1 : position - 1
        }
        const items: Array<Payment.Payment> = []
        for (let i = start; i >= 0 && items.length < limit; i--) {
          const p = payments.get(list[i] ?? "")
          if (p !== undefined) items.push(p)
        }
        const last = items[items.length - 1]
        const more = last !== undefined && (positionInCustomer.get(last.id) ?? 0) > 0
        return { items, nextCursor: more ? encodeCursor(last.id) : undefined }
      }),
    findOpen: (before, limit) =>
      Effect.sync(() => {
        const cutoff = DateTime.toEpochMillis(before)
        const out: Array<{ readonly payment: Payment.Payment; readonly touched: number }> = []
        for (const id of open) {
          const p = payments.get(id)
          if (p === undefined) continue
          const touched = Math.max(DateTime.toEpochMillis(p.updatedAt), examined.get(id) ?? Number.NEGATIVE_INFINITY)
          if (touched < cutoff) out.push({ payment: p, touched })
        }
        return out.sort((a, b) => a.touched - b.touched).slice(0, limit).map((x) => x.payment)
      }),
    markExamined: (paymentIds, at) =>
      Effect.sync(() => {
        const millis = DateTime.toEpochMillis(at)
        for (const id of paymentIds) if (open.has(id)) examined.set(id, millis)
      }),
    findByState: (state, limit, updatedBefore) =>
      Effect.sync(() => {
        const out: Array<Payment.Payment> = []
        for (const id of byState.get(state) ?? []) {
          const p = payments.get(id)
          if (p !== undefined && (updatedBefore === undefined || DateTime.lessThan(p.updatedAt, updatedBefore))) out.push(p)
        }
        return out.sort((a, b) => DateTime.toEpochMillis(a.updatedAt) - DateTime.toEpochMillis(b.updatedAt)).slice(0, limit)
      }),
    findNeedingReview: (tenantId, page) =>
      Effect.sync(() => {
        const limit = Math.max(1, Math.min(100, Math.floor(page.limit)))
        const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor)
        const ids = [...reviewing].filter((id) => after === undefined || id > after).sort()
        const items: Array<Payment.Payment> = []
        for (const id of ids) {
          const p = payments.get(id)
          if (p !== undefined && (tenantId === undefined || p.tenantId === tenantId)) items.push(p)
          if (items.length > limit) break
        }
        const last = items[limit - 1]
        return {
          items: items.slice(0, limit),
          nextCursor: items.length > limit && last !== undefined ? encodeCursor(last.id) : undefined
        }
      })
  })

  const eventStore = EventStore.of({
    read: (paymentId) => Effect.sync(() => [...(events.get(paymentId) ?? [])]),
    rebuild: (paymentId) => Effect.suspend(() => Payment.fold(events.get(paymentId) ?? []))
  })

  return { repository, eventStore }
})

/**
 * Memory {@link PaymentRepository} and {@link EventStore} over one shared store.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<PaymentRepository | EventStore, never, CommittedEvents> = Layer.effectContext(
  Effect.map(make, ({ eventStore, repository }) =>
    Context.make(PaymentRepository, repository).pipe(Context.add(EventStore, eventStore)))
)
