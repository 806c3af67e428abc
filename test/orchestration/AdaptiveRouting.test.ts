/**
 * PaymentService feeds the router: ADAPTIVE learns from real charges and moves traffic away from
 * a gateway that keeps failing, before (and independently of) its circuit breaker.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { PaymentService } from "aegispay"
import { AegisPayTest, MockGateway } from "aegispay/testing"
import { request } from "../helpers.js"

it.effect("ADAPTIVE learns from processPayment: a failing gateway stops being tried first", () =>
  Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const gateways = yield* MockGateway.MockGateways
    // alpha authenticates but every charge fails (transient); beta works
    yield* gateways.get("alpha")!.setAvailable(false, ["initiate", "process"])
    const firstTried: Array<string> = []
    for (let i = 0; i < 40; i++) {
      const p = yield* payments.createPayment(request({ idempotencyKey: `k${i}` }))
      const done = yield* payments.processPayment(p.id)
      expect(done.state).toBe("SUCCESS") // failed over to beta when alpha was tried
      firstTried.push(done.attempts[0]!.gateway)
    }
    // at first alpha (registered first, optimistic prior) is tried; once its window shows the
    // failures it is eliminated and beta is tried first (no exploration configured)
    expect(firstTried[0]).toBe("alpha")
    expect(firstTried.slice(-10)).toEqual(Array(10).fill("beta"))
    expect(firstTried.filter((g) => g === "alpha").length).toBeLessThan(25)
  }).pipe(Effect.provide(AegisPayTest.layerMemory({
    ids: "sequential",
    mockGateways: [{ id: "alpha" }, { id: "beta" }],
    service: { retry: { maxRetries: 0, initialDelayMs: 0, maxDelayMs: 0, backoffMultiplier: 1 } },
    // the breaker never opens here: the routing decision is ADAPTIVE's alone
    breaker: { failureThreshold: 1_000, monitorWindow: "1 hour", resetTimeout: "1 hour", halfOpenMaxCalls: 1, successThreshold: 1 },
    routing: { strategy: "ADAPTIVE", adaptive: { exploration: 0 } }
  }))))
