/**
 * Gateway-token payment methods (the PCI-light mode): `{ type: "gateway_token", gateway, token }`.
 * Such a payment is pinned to its gateway (never sent elsewhere, never failed over), and the card
 * vault is never called for it: every layer here has a vault that dies on any call.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, TestClock } from "effect"
import {
  AegisPay,
  CardVault,
  CircuitBreaker,
  EventStore,
  PaymentLock,
  PaymentRequest,
  PaymentService,
  PaymentView
} from "aegispay"
import { MemoryStorage, MockGateway, TestTokens } from "aegispay/testing"
import { expectFoldEqualsSnapshot, request } from "../helpers.js"

/** A card vault that must never be called. */
const deadVault = Layer.succeed(
  CardVault.CardVault,
  CardVault.CardVault.of({
    tokenize: () => Effect.dieMessage("the card vault was called for a gateway token"),
    reveal: () => Effect.dieMessage("the card vault was called for a gateway token")
  })
)

/** alpha (registered first), beta, and gamma (EUR only, no manual capture); failover configured. */
const layer = (breaker: CircuitBreaker.Options = CircuitBreaker.defaults) =>
  AegisPay.layerWith({
    gateways: MockGateway.layerRegistry([
      { id: "alpha" },
      { id: "beta" },
      { id: "gamma", capabilities: { currencies: ["EUR"], manualCapture: false } }
    ]),
    storage: MemoryStorage.layer,
    locks: PaymentLock.layerMemory,
    vault: deadVault
  }, {
    ids: "sequential",
    service: {
      failoverDeclineCodes: ["card_declined", "insufficient_funds"],
      retry: { maxRetries: 1, initialDelayMs: 10, maxDelayMs: 10, backoffMultiplier: 1 }
    },
    breaker
  })

/** A breaker that opens at the first failure. */
const touchy: CircuitBreaker.Options = {
  failureThreshold: 1,
  monitorWindow: "60 seconds",
  resetTimeout: "30 seconds",
  halfOpenMaxCalls: 1,
  successThreshold: 1
}

const token = (gateway: string, value: string = TestTokens.success) => ({ type: "gateway_token" as const, gateway, token: value })

const mocks = Effect.gen(function*() {
  const all = yield* MockGateway.MockGateways
  const get = (id: string) => {
    const mock = all.get(id)
    if (mock === undefined) throw new Error(`no mock ${id}`)
    return mock
  }
  return { alpha: get("alpha"), beta: get("beta"), gamma: get("gamma") }
})

/** Every call every mock received, and every charge in their ledgers. */
const traffic = Effect.gen(function*() {
  const { alpha, beta, gamma } = yield* mocks
  return {
    calls: { alpha: yield* alpha.calls, beta: yield* beta.calls, gamma: yield* gamma.calls },
    charges: {
      alpha: (yield* alpha.ledger).charges.length,
      beta: (yield* beta.ledger).charges.length,
      gamma: (yield* gamma.ledger).charges.length
    }
  }
})

describe("gateway tokens", () => {
  it.effect("create + process: charged at the token's gateway (not the first registered), no vault call", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const created = yield* payments.createPayment(request({ paymentMethod: token("beta", "pm_1NvYbL2eZvKYlo2C") }))
      expect(created.paymentMethod).toMatchObject({ type: "gateway_token", gateway: "beta", token: "pm_1NvYbL2eZvKYlo2C" })
      const done = yield* payments.processPayment(created.id)
      expect(done.state).toBe("SUCCESS")
      expect(done.attempts.map((a) => a.gateway)).toEqual(["beta"])
      const { charges } = yield* traffic
      expect(charges).toEqual({ alpha: 0, beta: 1, gamma: 0 })
      // refunds use the charge, not the payment method
      const refund = yield* payments.refundPayment({ paymentId: done.id, idempotencyKey: "r1", amount: "10.00" })
      expect(refund.state).toBe("SUCCEEDED")
      const { stored, rebuilt } = yield* expectFoldEqualsSnapshot(done.id)
      expect(rebuilt).toEqual(stored)
      // the view names the gateway, never the token
      const view = PaymentView.toJson(yield* payments.getPayment(done.id))
      expect(view.paymentMethod).toEqual({ type: "gateway_token", gateway: "beta" })
      expect(JSON.stringify(view)).not.toContain("pm_1NvYbL2eZvKYlo2C")
      // the token is in the event that created the payment (it is what the gateway needs)
      const [initiated] = yield* (yield* EventStore.EventStore).read(done.id)
      expect(initiated?._tag === "PaymentInitiated" && initiated.paymentMethod).toMatchObject({ type: "gateway_token", gateway: "beta" })
    }).pipe(Effect.provide(layer())))

  it.effect("manual capture and void work on a pinned payment", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const a = yield* payments.createPayment(request({ idempotencyKey: "m1", captureMethod: "manual", paymentMethod: token("beta") }))
      expect((yield* payments.processPayment(a.id)).state).toBe("AUTHORIZED")
      expect((yield* payments.capturePayment({ paymentId: a.id, amount: "40.00" })).capturedAmount.minor).toBe(4000n)
      const b = yield* payments.createPayment(request({ idempotencyKey: "m2", captureMethod: "manual", paymentMethod: token("beta") }))
      yield* payments.processPayment(b.id)
      expect((yield* payments.cancelPayment({ paymentId: b.id })).state).toBe("CANCELLED")
      expect((yield* traffic).charges).toEqual({ alpha: 0, beta: 2, gamma: 0 })
    }).pipe(Effect.provide(layer())))

  it.effect("test tokens give the test cards' outcomes: decline, unknown outcome reconciled, retry once", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const run = (key: string, value: string) =>
        Effect.flatMap(
          payments.createPayment(request({ idempotencyKey: key, paymentMethod: token("alpha", value) })),
          (p) => payments.processPayment(p.id)
        )
      const declined = yield* run("d", TestTokens.insufficientFunds)
      expect([declined.state, declined.declineCode]).toEqual(["FAILURE", "insufficient_funds"])
      const unknown = yield* run("u", TestTokens.timeoutAfterCharge)
      expect([unknown.state, unknown.requiresReconciliation]).toEqual(["PROCESSING", true])
      expect((yield* payments.processPayment(unknown.id)).state).toBe("SUCCESS")
      const retried = yield* Effect.fork(run("r", TestTokens.retryOnce))
      yield* TestClock.adjust("1 second")
      const done = yield* Fiber.join(retried)
      expect(done.state).toBe("SUCCESS")
      expect(done.attempts.map((a) => [a.gateway, a.retries])).toEqual([["alpha", 1]])
      const { alpha } = yield* mocks
      expect((yield* alpha.ledger).charges.length).toBe(2) // the unknown outcome's charge, once, and the retried one
    }).pipe(Effect.provide(layer())))

  it.effect("pinned: a failing gateway is never failed over, though failover is configured and others are healthy", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const { beta } = yield* mocks
      // a decline whose code is configured for failover: a card would move on to the next gateway
      const declined = yield* payments.createPayment(request({ idempotencyKey: "dec", paymentMethod: token("beta", TestTokens.declined) }))
      const failed = yield* payments.processPayment(declined.id)
      expect([failed.state, failed.declineCode]).toEqual(["FAILURE", "card_declined"])
      expect(failed.attempts.map((a) => a.gateway)).toEqual(["beta"])
      // beta stops charging (transient errors outliving the retries): the payment fails, nothing elsewhere
      yield* beta.setAvailable(false, ["initiate", "process"])
      const down = yield* payments.createPayment(request({ idempotencyKey: "down", paymentMethod: token("beta") }))
      const fiber = yield* Effect.fork(payments.processPayment(down.id))
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.state).toBe("FAILURE")
      expect(result.attempts.map((a) => [a.gateway, a.status])).toEqual([["beta", "failed"]])
      const { calls, charges } = yield* traffic
      expect(charges).toEqual({ alpha: 0, beta: 0, gamma: 0 })
      expect(calls.alpha).toEqual({})
      expect(calls.gamma).toEqual({})
      // beta's circuit is open now: a new pinned payment is refused before anything is sent, and stays INITIATED
      expect(yield* (yield* (yield* CircuitBreaker.CircuitBreakers).get("beta")).state).toBe("OPEN")
      const blocked = yield* payments.createPayment(request({ idempotencyKey: "blocked", paymentMethod: token("beta") }))
      const refused = yield* Effect.flip(payments.processPayment(blocked.id))
      expect(refused._tag).toBe("NoGatewayAvailable")
      expect((yield* payments.getPayment(blocked.id)).state).toBe("INITIATED")
      expect((yield* traffic).calls.alpha).toEqual({})
      // alpha was healthy all along
      const atAlpha = yield* payments.createPayment(request({ idempotencyKey: "alpha", paymentMethod: token("alpha") }))
      expect((yield* payments.processPayment(atAlpha.id)).state).toBe("SUCCESS")
    }).pipe(Effect.provide(layer(touchy))))

  it.effect("a pinned gateway that is down before any charge: the payment stays INITIATED, no other gateway is asked", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const { beta } = yield* mocks
      yield* beta.setAvailable(false)
      const p = yield* payments.createPayment(request({ paymentMethod: token("beta") }))
      const fiber = yield* Effect.fork(Effect.flip(payments.processPayment(p.id)))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber))._tag).toBe("GatewayTransientError")
      expect((yield* payments.getPayment(p.id)).state).toBe("INITIATED")
      const { calls } = yield* traffic
      expect(calls.alpha).toEqual({})
      expect(calls.gamma).toEqual({})
    }).pipe(Effect.provide(layer())))

  it.effect("an unregistered gateway is GatewayNotFound; an unsupported currency or capture method is NoGatewayAvailable; nothing is charged", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const unknown = yield* payments.createPayment(request({ idempotencyKey: "stripe", paymentMethod: token("stripe", "pm_123") }))
      const notFound = yield* Effect.flip(payments.processPayment(unknown.id))
      expect(notFound._tag).toBe("GatewayNotFound")
      expect(notFound._tag === "GatewayNotFound" && notFound.gateway).toBe("stripe")
      // gamma takes EUR only, and no manual capture
      const usd = yield* payments.createPayment(request({ idempotencyKey: "usd", paymentMethod: token("gamma") }))
      const currency = yield* Effect.flip(payments.processPayment(usd.id))
      expect(currency._tag).toBe("NoGatewayAvailable")
      expect(currency.message).toContain("token of gamma")
      const manual = yield* payments.createPayment(request({
        idempotencyKey: "manual",
        currency: "EUR",
        captureMethod: "manual",
        paymentMethod: token("gamma")
      }))
      expect((yield* Effect.flip(payments.processPayment(manual.id)))._tag).toBe("NoGatewayAvailable")
      for (const p of [unknown, usd, manual]) expect((yield* payments.getPayment(p.id)).state).toBe("INITIATED")
      const { calls, charges } = yield* traffic
      expect(charges).toEqual({ alpha: 0, beta: 0, gamma: 0 })
      expect(calls).toEqual({ alpha: {}, beta: {}, gamma: {} })
      // the same token's gateway in EUR automatic: charged at gamma
      const eur = yield* payments.createPayment(request({ idempotencyKey: "eur", currency: "EUR", paymentMethod: token("gamma") }))
      expect((yield* payments.processPayment(eur.id)).attempts.map((a) => a.gateway)).toEqual(["gamma"])
    }).pipe(Effect.provide(layer())))

  it.effect("a request's gateway must be the token's gateway; idempotency compares the token", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mismatch = yield* Effect.flip(payments.createPayment(request({ gateway: "alpha", paymentMethod: token("beta") })))
      expect(mismatch).toMatchObject({ _tag: "ValidationError", path: "gateway" })
      const same = yield* payments.createPayment(request({ gateway: "beta", paymentMethod: token("beta") }))
      expect((yield* payments.processPayment(same.id)).attempts.map((a) => a.gateway)).toEqual(["beta"])
      const first = yield* payments.createPayment(request({ idempotencyKey: "k", paymentMethod: token("beta", "pm_a") }))
      expect((yield* payments.createPayment(request({ idempotencyKey: "k", paymentMethod: token("beta", "pm_a") }))).id).toBe(first.id)
      const reused = yield* Effect.flip(payments.createPayment(request({ idempotencyKey: "k", paymentMethod: token("beta", "pm_b") })))
      expect(reused._tag).toBe("IdempotencyKeyReused")
      const otherGateway = yield* Effect.flip(payments.createPayment(request({ idempotencyKey: "k", paymentMethod: token("alpha", "pm_a") })))
      expect(otherGateway._tag).toBe("IdempotencyKeyReused")
    }).pipe(Effect.provide(layer())))

  it.effect("the mock refuses a token of another gateway (defence in depth: orchestration never sends one there)", () =>
    Effect.gen(function*() {
      const { alpha } = yield* mocks
      const payment = yield* (yield* PaymentService.PaymentService).createPayment(request({ paymentMethod: token("beta") }))
      const refused = yield* Effect.flip(alpha.gateway.process({
        paymentId: payment.id,
        idempotencyKey: "k",
        amount: payment.amount,
        paymentMethod: payment.paymentMethod,
        capture: true
      }))
      expect(refused._tag).toBe("GatewayMisconfigured")
      expect((yield* alpha.ledger).charges).toEqual([])
    }).pipe(Effect.provide(layer())))
})

describe("gateway token validation", () => {
  const issue = (input: unknown) =>
    Either.match(PaymentRequest.decode(PaymentRequest.CreatePaymentRequest, input), {
      onLeft: (e) => e,
      onRight: () => {
        throw new Error("expected a ValidationError")
      }
    })
  const withToken = (method: Record<string, unknown>) => ({ ...request(), paymentMethod: { type: "gateway_token", gateway: "beta", token: "pm_1", ...method } })

  it("refuses a card number sent as the token, whatever its separators, without echoing it", () => {
    for (const value of ["4242424242424242", "pm_4242424242424242", "4242 4242 4242 4242", "tok-4000-0000-0000-0002-x", "378282246310005"]) {
      const error = issue(withToken({ token: value }))
      expect(error.path).toBe("paymentMethod.token")
      expect(error.message).toContain("card number")
      expect(error.message).not.toMatch(/\d{4}/)
    }
  })

  it("accepts digit runs that are no card number: short, or failing the Luhn check (format-preserving tokens)", () => {
    for (const value of ["pm_1NvYbL2eZvKYlo2C", "tok_123456789012", "4242424242424241", "card_1234"]) {
      expect(Either.isRight(PaymentRequest.decode(PaymentRequest.CreatePaymentRequest, withToken({ token: value })))).toBe(true)
    }
  })

  it("refuses empty, over-long, padded, control-character or unstorable tokens and gateway ids; unknown fields", () => {
    const cases: ReadonlyArray<[Record<string, unknown>, string]> = [
      [{ token: "" }, "paymentMethod.token"],
      [{ token: "x".repeat(2049) }, "paymentMethod.token"],
      [{ token: " pm_1" }, "paymentMethod.token"],
      [{ token: "pm\n1" }, "paymentMethod.token"],
      [{ token: "pm_\u0000" }, "paymentMethod.token"],
      [{ token: "pm_\ud800" }, "paymentMethod.token"],
      [{ token: 42 }, "paymentMethod.token"],
      [{ gateway: "" }, "paymentMethod.gateway"],
      [{ gateway: "x".repeat(256) }, "paymentMethod.gateway"],
      [{ gateway: "beta " }, "paymentMethod.gateway"],
      [{ gateway: "gw_4242424242424242" }, "paymentMethod.gateway"],
      [{ number: "4242424242424242" }, "paymentMethod.number"]
    ]
    for (const [method, path] of cases) {
      const error = issue(withToken(method))
      expect(error.path).toBe(path)
      expect(error.message).not.toContain("4242")
    }
    expect(Either.isRight(PaymentRequest.decode(PaymentRequest.CreatePaymentRequest, withToken({ token: "x".repeat(2048) })))).toBe(true)
    expect(issue({ ...request(), paymentMethod: { type: "paypal" } }).path).toBe("paymentMethod.type")
  })
})
