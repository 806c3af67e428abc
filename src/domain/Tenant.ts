/**
 * The tenant an operation runs for.
 *
 * Every payment belongs to a tenant, and every public operation runs for one: the `Tenant` in the
 * Effect context. It is a `Context.Reference` whose default is the tenant {@link defaultId}
 * (`"default"`), so a single-tenant program needs nothing, and a multi-tenant one sets it once per
 * request (the HTTP service from the caller's API key) instead of threading an id through every
 * call:
 *
 * ```ts
 * const program = payments.capturePayment({ paymentId }).pipe(Tenant.with("acme"))
 * // or, for a whole layer or program: Effect.provide(Tenant.layer("acme"))
 * ```
 *
 * Guarantees (enforced by `PaymentLock` and `PaymentService.getPayment`, the only ways a public
 * operation reaches an existing payment):
 * - An operation on a payment of another tenant fails with exactly the `PaymentNotFound` a missing
 *   id gives (same fields, same message) and changes nothing: no event, no version bump, no
 *   gateway call, and no lock taken.
 * - Lists (`getCustomerPayments`, `ManualReview.list`) show the current tenant's payments only.
 * - A program that never sets a tenant acts on the tenant `"default"` only: forgetting to set it
 *   can hide payments, never reveal another tenant's.
 *
 * Workers that act across tenants (recovery, gateway notifications, compensation run by them) set
 * each payment's own tenant before they touch it.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"

/**
 * The tenant of payments created or looked up without one.
 *
 * @since 0.1.0
 */
export const defaultId = "default"

/**
 * The tenant the current operation runs for; {@link defaultId} unless set.
 *
 * @since 0.1.0
 */
export class Tenant extends Context.Reference<Tenant>()("aegispay/Tenant", {
  defaultValue: (): { readonly id: string } => ({ id: defaultId })
}) {}

/**
 * The tenant value for `id`. An id that no payment can have (see the tenant id rules in
 * docs/API.md) simply finds nothing; `createPayment` refuses it with a `ValidationError`.
 *
 * @since 0.1.0
 */
export const make = (id: string): Tenant["Type"] => ({ id })

/**
 * Runs `self` for the tenant `id`.
 *
 * @since 0.1.0
 */
const with_ = (id: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(self, Tenant, make(id))

export {
  /**
   * Runs an effect for the tenant `id`: `effect.pipe(Tenant.with("acme"))`.
   *
   * @since 0.1.0
   */
  with_ as with
}

/**
 * A layer setting the tenant `id` for everything it is provided to.
 *
 * @since 0.1.0
 */
export const layer = (id: string): Layer.Layer<Tenant> => Layer.succeed(Tenant, make(id))

/**
 * The id of the tenant the current operation runs for.
 *
 * @since 0.1.0
 */
export const current: Effect.Effect<string> = Effect.map(Tenant, (tenant) => tenant.id)
