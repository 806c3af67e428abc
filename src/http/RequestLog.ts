/**
 * What the access log line of a request says: its id, and the tenant, API key and payment the
 * request turned out to be about (set by the authentication middleware and the handlers while
 * the request runs; read by the request middleware when it logs the answer).
 *
 * @since 0.2.0
 */
import { Effect, FiberRef } from "effect"
import { globalValue } from "effect/GlobalValue"

/**
 * One request's log fields.
 *
 * @since 0.2.0
 */
export interface Info {
  readonly requestId: string
  tenantId?: string
  keyId?: string
  paymentId?: string
}

const ref = globalValue(Symbol.for("aegispay/http/RequestLog"), () => FiberRef.unsafeMake<Info | undefined>(undefined))

/**
 * Runs `effect` with `info` as the request's log fields.
 *
 * @since 0.2.0
 */
export const locally = (info: Info) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(effect, ref, info)

/**
 * Adds fields to the current request's log line (nothing outside a request).
 *
 * @since 0.2.0
 */
export const set = (patch: { readonly tenantId?: string; readonly keyId?: string; readonly paymentId?: string }): Effect.Effect<void> =>
  Effect.map(FiberRef.get(ref), (info) => {
    if (info !== undefined) Object.assign(info, patch)
  })

/**
 * Runs `effect` about payment `paymentId`: in its log annotations and the request's log line.
 *
 * @since 0.2.0
 */
export const aboutPayment = (paymentId: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.zipRight(set({ paymentId }), Effect.annotateLogs(effect, { paymentId }))

/**
 * The current request's log fields.
 *
 * @since 0.2.0
 */
export const current: Effect.Effect<Info | undefined> = FiberRef.get(ref)
