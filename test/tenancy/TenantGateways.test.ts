/**
 * TenantGateways: a tenant's gateways built from its stored credentials by a fake provider that
 * counts its builds; once under many concurrent first uses, again when the credentials change,
 * registered for that tenant only, and used by PaymentService for that tenant's payments.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, Redacted, TestClock } from "effect"
import { GatewayRegistry, PaymentService, Tenant } from "aegispay"
import { AegisPayTest, MockGateway, TenancyTest } from "aegispay/testing"
import { TenantCredentials } from "../../src/tenancy/TenantCredentials.js"
import * as TenantGateways from "../../src/tenancy/TenantGateways.js"
import { request } from "../helpers.js"

const r = (s: string) => Redacted.make(s)
const failureOf = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(self), (e) => (Either.isLeft(e) ? e.left : undefined))

const base = Layer.merge(AegisPayTest.layerMemory({ ids: "sequential" }), TenancyTest.layerCredentials)

/** A provider (id "mock": the tenant's replaces the global mock gateway for that tenant) and the service. */
const setup = (options: { readonly slowBuild?: boolean } = {}) =>
  Effect.gen(function*() {
    const mock = yield* TenancyTest.mockProvider()
    const provider = options.slowBuild === true
      ? { ...mock.provider, make: (...args: Parameters<typeof mock.provider.make>) => Effect.zipRight(Effect.sleep("1 second"), mock.provider.make(...args)) }
      : mock.provider
    const service = yield* TenantGateways.make({ providers: [provider], recheckAfter: "5 seconds", preload: false })
    return { service, builds: mock.builds }
  })

const A = "tenant-a"
const B = "tenant-b"

describe("TenantGateways", () => {
  it.effect("save checks the fields against the provider; nothing is stored when it refuses", () =>
    Effect.gen(function*() {
      const { builds, service } = yield* setup()
      const cases = [
        [{ tenantId: A, provider: "stripe", fields: { apiKey: r("sk_1") } }, "provider"],
        [{ tenantId: A, provider: "mock", fields: {} }, "fields.apiKey"],
        [{ tenantId: A, provider: "mock", fields: { account: r("acct") } }, "fields.apiKey"],
        [{ tenantId: A, provider: "mock", fields: { apiKey: r("sk_1"), extra: r("x") } }, "fields.extra"],
        [{ tenantId: A, provider: "mock", fields: { apiKey: r("pk_wrong_kind_of_key") } }, "fields"]
      ] as const
      for (const [input, path] of cases) {
        const error = yield* failureOf(service.save(input))
        expect(error?._tag).toBe("ValidationError")
        expect(error !== undefined && "path" in error && error.path).toBe(path)
        expect(JSON.stringify(error)).not.toContain("pk_wrong_kind_of_key")
      }
      expect(yield* service.describe(A)).toEqual([])
      expect(service.providers.map((p) => p.provider)).toEqual(["mock"])
      // the refused build is the only one
      expect((yield* builds).length).toBe(0)
    }).pipe(Effect.provide(base)))

  it.effect("many concurrent first uses build the tenant's gateway once, registered for that tenant only", () =>
    Effect.gen(function*() {
      const { builds, service } = yield* setup({ slowBuild: true })
      // stored by another process: nothing cached here
      yield* (yield* TenantCredentials).save({ tenantId: A, provider: "mock", fields: { apiKey: r("sk_tenant_a") } })
      const fibers = yield* Effect.forEach(Array.from({ length: 50 }, () => service.ensure(A)), Effect.fork)
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.joinAll(fibers)
      expect((yield* builds).length).toBe(1)
      const built = (yield* builds)[0]
      expect(built?.credentials.apiKey !== undefined && Redacted.value(built.credentials.apiKey)).toBe("sk_tenant_a")
      for (const gateways of results) expect(gateways).toEqual([built?.mock.gateway])

      const registry = yield* GatewayRegistry.GatewayRegistry
      const global = yield* MockGateway.MockGateway
      expect(yield* registry.forTenant(A).get("mock")).toBe(built?.mock.gateway)
      expect(yield* registry.forTenant(B).get("mock")).toBe(global.gateway)
      expect(yield* registry.get("mock")).toBe(global.gateway)
      // cached: no more builds, and no storage read within recheckAfter
      yield* service.ensure(A)
      expect(yield* service.gateway({ tenantId: A, provider: "mock" })).toBe(built?.mock.gateway)
      expect((yield* failureOf(service.gateway({ tenantId: B, provider: "mock" })))?._tag).toBe("CredentialsNotFound")
      expect((yield* builds).length).toBe(1)
    }).pipe(Effect.provide(base)))

  it.effect("gateway() of a tenant never seen and without credentials keeps nothing: its credentials saved elsewhere are found at once", () =>
    Effect.gen(function*() {
      const { builds, service } = yield* setup()
      // an unauthenticated webhook URL may name any tenant: asking leaves no cached state behind
      for (let i = 0; i < 100; i++) {
        expect((yield* failureOf(service.gateway({ tenantId: `ghost-${i}`, provider: "mock" })))?._tag).toBe("CredentialsNotFound")
      }
      // had a state been cached for ghost-0, its credentials saved by another process would stay
      // unseen for recheckAfter (5 s, and the clock does not move here)
      yield* (yield* TenantCredentials).save({ tenantId: "ghost-0", provider: "mock", fields: { apiKey: r("sk_ghost") } })
      expect(yield* service.gateway({ tenantId: "ghost-0", provider: "mock" })).toBe((yield* builds)[0]?.mock.gateway)
      expect((yield* builds).length).toBe(1)
    }).pipe(Effect.provide(base)))

  it.effect("rebuilt when the credentials change: at once through save, within recheckAfter from elsewhere; remove unregisters", () =>
    Effect.gen(function*() {
      const { builds, service } = yield* setup()
      const registry = yield* GatewayRegistry.GatewayRegistry
      const credentials = yield* TenantCredentials
      const first = yield* service.save({ tenantId: A, provider: "mock", fields: { apiKey: r("sk_one") } })
      expect(first).toMatchObject({ provider: "mock", version: 1, fields: { apiKey: "****" } })
      const one = (yield* builds)[0]?.mock.gateway
      expect(yield* registry.forTenant(A).get("mock")).toBe(one)
      yield* service.ensure(A)
      expect((yield* builds).length).toBe(1)

      // saved by another process: seen after recheckAfter
      yield* credentials.save({ tenantId: A, provider: "mock", fields: { apiKey: r("sk_two") } })
      yield* service.ensure(A)
      expect((yield* builds).length).toBe(1)
      yield* TestClock.adjust("5 seconds")
      yield* service.ensure(A)
      expect((yield* builds).length).toBe(2)
      const two = (yield* builds)[1]
      expect(two?.credentials.apiKey !== undefined && Redacted.value(two.credentials.apiKey)).toBe("sk_two")
      expect(yield* registry.forTenant(A).get("mock")).toBe(two?.mock.gateway)
      yield* TestClock.adjust("5 seconds")
      yield* service.ensure(A)
      expect((yield* builds).length).toBe(2)

      // saved through the service: in effect at once
      const third = yield* service.save({ tenantId: A, provider: "mock", fields: { apiKey: r("sk_three") } })
      expect(third.version).toBe(3)
      expect(yield* registry.forTenant(A).get("mock")).toBe((yield* builds)[2]?.mock.gateway)

      // removed: the tenant falls back to the global gateway
      yield* service.remove({ tenantId: A, provider: "mock" })
      expect(yield* registry.forTenant(A).get("mock")).toBe((yield* MockGateway.MockGateway).gateway)
      expect(yield* service.ensure(A)).toEqual([])
      // removed by another process: unregistered after recheckAfter
      yield* service.save({ tenantId: A, provider: "mock", fields: { apiKey: r("sk_four") } })
      yield* credentials.remove({ tenantId: A, provider: "mock" })
      yield* TestClock.adjust("5 seconds")
      expect(yield* service.ensure(A)).toEqual([])
      expect(yield* registry.forTenant(A).get("mock")).toBe((yield* MockGateway.MockGateway).gateway)
    }).pipe(Effect.provide(base)))

  it.effect("PaymentService charges a tenant's payments at the tenant's own gateway, others at the global one", () =>
    Effect.gen(function*() {
      const { builds, service } = yield* setup()
      yield* service.save({ tenantId: A, provider: "mock", fields: { apiKey: r("sk_tenant_a") } })
      const payments = yield* PaymentService.PaymentService
      const paid = yield* TenantGateways.withTenant(A)(
        Effect.flatMap(payments.createPayment(request({ idempotencyKey: "a-1" })), (p) => payments.processPayment(p.id))
      ).pipe(Effect.provideService(TenantGateways.TenantGateways, service))
      expect(paid.state).toBe("SUCCESS")
      const other = yield* Effect.flatMap(payments.createPayment(request({ idempotencyKey: "b-1" })), (p) => payments.processPayment(p.id))
        .pipe(Tenant.with(B))
      expect(other.state).toBe("SUCCESS")
      const own = yield* ((yield* builds)[0]?.mock.ledger ?? Effect.die("not built"))
      const global = yield* (yield* MockGateway.MockGateway).ledger
      expect(own.charges.map((c) => c.paymentId)).toEqual([paid.id])
      expect(global.charges.map((c) => c.paymentId)).toEqual([other.id])
    }).pipe(Effect.provide(base)))

  it.effect("the layer preloads every tenant with credentials; a tenant whose credentials are refused is skipped", () =>
    Effect.gen(function*() {
      const mock = yield* TenancyTest.mockProvider()
      const credentials = yield* TenantCredentials
      yield* credentials.save({ tenantId: A, provider: "mock", fields: { apiKey: r("sk_a") } })
      yield* credentials.save({ tenantId: B, provider: "mock", fields: { apiKey: r("bad") } })
      const registry = yield* GatewayRegistry.GatewayRegistry
      yield* Effect.scoped(Layer.build(TenantGateways.layer({ providers: [mock.provider] })))
      expect((yield* mock.builds).length).toBe(1)
      expect(yield* registry.forTenant(A).get("mock")).toBe((yield* mock.builds)[0]?.mock.gateway)
      expect(yield* registry.forTenant(B).get("mock")).toBe((yield* MockGateway.MockGateway).gateway)
    }).pipe(Effect.provide(base)))
})
