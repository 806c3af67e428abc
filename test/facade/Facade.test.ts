/**
 * The Promise facade (`aegispay/facade`) on the embedded database: every method, typed errors
 * and `instanceof`, float refusal, a user's Promise gateway (success, decline, transient →
 * retried then failed over, a crash → unknown outcome → reconciled), `gatewayType`, event
 * handlers on/off, health and metrics, and `close()`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import {
  AegisPay,
  AegisPayClosedError,
  AegisPayError,
  ConfigurationError,
  GatewayMisconfiguredError,
  GatewayNotFoundError,
  IdempotencyKeyReusedError,
  InvalidAmountError,
  InvalidTransitionError,
  type PaymentEvent,
  PaymentNotFoundError,
  PaymentState,
  RefundExceedsCapturedError,
  StartupFailedError,
  ValidationError
} from "aegispay/facade"
import { cardRequest, freshKeys, ledgerGateway } from "./support.js"

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

describe("aegispay/facade", () => {
  // SEK payments go to the user's gateways only (flaky first, then steady); USD to `mock` unless asked
  const flaky = ledgerGateway(() => "transient")
  const steady = ledgerGateway((request) =>
    request.amount.amount === "13.00" ? "decline" : request.amount.amount === "14.00" ? "transientOnce" : request.amount.amount === "15.00" ? "crash" : "succeed"
  )
  let aegisPay: AegisPay

  beforeAll(async () => {
    aegisPay = new AegisPay({
      mode: "development",
      keys: freshKeys(),
      workers: false,
      retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2 },
      circuitBreaker: { failureThreshold: 100 }
    })
    await aegisPay.registerGateway("flaky", { ...flaky.gateway, capabilities: { currencies: ["SEK"] } })
    await aegisPay.registerGateway("steady", steady.gateway)
    await aegisPay.registerGateway("mock", { apiKey: "ignored" })
  }, 120_000)
  afterAll(() => aegisPay.close())

  it("create, process, get, list: exact amounts, card data only as brand and last four", async () => {
    const created = await aegisPay.createPayment(cardRequest("fc-1", { gatewayType: "mock" }))
    expect(created.state).toBe(PaymentState.INITIATED)
    expect(created.amount).toEqual({ currency: "USD", amount: "49.99", minor: 4999n })
    expect(created.paymentMethod).toEqual({ type: "card", brand: "visa", last4: "4242", expiryMonth: 12, expiryYear: 2030 })
    expect(JSON.stringify(created, (_k, v: unknown) => typeof v === "bigint" ? v.toString() : v)).not.toContain("4242424242424242")
    expect(created.createdAt).toBeInstanceOf(Date)

    const again = await aegisPay.createPayment(cardRequest("fc-1", { gatewayType: "mock" }))
    expect(again.id).toBe(created.id)

    const done = await aegisPay.processPayment({ paymentId: created.id })
    expect(done.state).toBe("SUCCESS")
    expect(done.gateway).toBe("mock")
    expect(done.capturedAmount.minor).toBe(4999n)
    expect((await aegisPay.getPayment(created.id)).version).toBe(done.version)

    const minor = await aegisPay.createPayment(cardRequest("fc-2", { amount: { minor: 1050 }, gatewayType: "mock" }))
    expect(minor.amount.amount).toBe("10.50")
    const page = await aegisPay.getCustomerPayments("cus_ada", { limit: 1 })
    expect(page.items).toHaveLength(1)
    expect(page.nextCursor).toBeTypeOf("string")
    const rest = await aegisPay.getCustomerPayments("cus_ada", { limit: 100, cursor: page.nextCursor })
    expect([...page.items, ...rest.items].map((p) => p.id)).toEqual(expect.arrayContaining([created.id, minor.id]))
  })

  it("manual capture, partial capture, cancel, refunds", async () => {
    const auth = await aegisPay.createPayment(cardRequest("fc-manual", { amount: "100.00", captureMethod: "manual", gatewayType: "mock" }))
    expect((await aegisPay.processPayment({ paymentId: auth.id })).state).toBe("AUTHORIZED")
    const captured = await aegisPay.capturePayment({ paymentId: auth.id, amount: "80.00" })
    expect(captured.state).toBe("SUCCESS")
    expect(captured.capturedAmount.amount).toBe("80.00")

    const refund = await aegisPay.refundPayment({ paymentId: auth.id, idempotencyKey: "rf-1", amount: { minor: 3000n } })
    expect(refund.state).toBe("SUCCEEDED")
    expect(refund.amount).toEqual({ currency: "USD", amount: "30.00", minor: 3000n })
    const same = await aegisPay.refundPayment({ paymentId: auth.id, idempotencyKey: "rf-1", amount: { minor: 3000n } })
    expect(same.id).toBe(refund.id)
    const tooMuch = await rejection(aegisPay.refundPayment({ paymentId: auth.id, idempotencyKey: "rf-2", amount: "60.00" }))
    expect(tooMuch).toBeInstanceOf(RefundExceedsCapturedError)
    expect(tooMuch).toMatchObject({ code: "RefundExceedsCaptured", paymentId: auth.id, refundable: { amount: "50.00", minor: 5000n } })
    expect((await aegisPay.getPayment(auth.id)).refunds.map((r) => r.state)).toEqual(["SUCCEEDED"])

    const open = await aegisPay.createPayment(cardRequest("fc-cancel", { gatewayType: "mock" }))
    const cancelled = await aegisPay.cancelPayment({ paymentId: open.id, reason: "customer changed their mind" })
    expect(cancelled.state).toBe("CANCELLED")
    const late = await rejection(aegisPay.capturePayment({ paymentId: open.id }))
    expect(late).toBeInstanceOf(InvalidTransitionError)
    expect(late).toMatchObject({ code: "InvalidTransition", paymentId: open.id, from: "CANCELLED" })
  })

  it("completePayment settles a payment waiting for the customer", async () => {
    const p = await aegisPay.createPayment(cardRequest("fc-3ds", {
      gatewayType: "mock",
      paymentMethod: { ...cardRequest("x").paymentMethod, number: "4000002760003184" },
      returnUrl: "https://shop.example/return"
    }))
    const waiting = await aegisPay.processPayment({ paymentId: p.id })
    expect(waiting.state).toBe("ACTION_REQUIRED")
    expect(waiting.customerAction?.type).toBe("redirect")
    expect(waiting.actionExpiresAt).toBeInstanceOf(Date)
    expect((await aegisPay.completePayment({ paymentId: p.id })).state).toBe("SUCCESS")
  })

  it("errors are Error subclasses with the tag as code and typed fields; card data never in messages", async () => {
    const missing = await rejection(aegisPay.getPayment("pay_nope"))
    expect(missing).toBeInstanceOf(PaymentNotFoundError)
    expect(missing).toBeInstanceOf(AegisPayError)
    expect(missing).toBeInstanceOf(Error)
    expect(missing).toMatchObject({ code: "PaymentNotFound", paymentId: "pay_nope", name: "PaymentNotFoundError" })

    await aegisPay.createPayment(cardRequest("fc-reuse", { gatewayType: "mock" }))
    const reused = await rejection(aegisPay.createPayment(cardRequest("fc-reuse", { amount: "50.00", gatewayType: "mock" })))
    expect(reused).toBeInstanceOf(IdempotencyKeyReusedError)
    expect(reused).toMatchObject({ code: "IdempotencyKeyReused", idempotencyKey: "fc-reuse" })

    // a card number where an email goes: refused, and the message does not carry it
    const invalid = await rejection(aegisPay.createPayment(cardRequest("fc-bad", {
      customer: { id: "cus_x", email: "4242424242424242" }
    })))
    expect(invalid).toBeInstanceOf(ValidationError)
    expect(invalid).toMatchObject({ code: "ValidationError", path: "customer.email" })
    expect(String((invalid as Error).message)).not.toContain("4242424242424242")
    const badCard = await rejection(aegisPay.createPayment(cardRequest("fc-bad-card", {
      paymentMethod: { ...cardRequest("x").paymentMethod, number: "4242424242424241" }
    })))
    expect(badCard).toBeInstanceOf(ValidationError)
    expect((badCard as Error).message).not.toContain("4242424242424241")
    expect(await aegisPay.getCustomerPayments("cus_x")).toEqual({ items: [] })

    const noGateway = await rejection(aegisPay.getGatewayMetrics("nope"))
    expect(noGateway).toBeInstanceOf(GatewayNotFoundError)
    expect(noGateway).toMatchObject({ code: "GatewayNotFound", gateway: "nope" })
  })

  it("floats are refused with InvalidAmountError; nothing is written", async () => {
    const float = await rejection(aegisPay.createPayment({ ...cardRequest("fc-float"), amount: 100.1 as unknown as string }))
    expect(float).toBeInstanceOf(InvalidAmountError)
    expect(float).toMatchObject({ code: "InvalidAmount", path: "amount" })
    const integerNumber = await rejection(aegisPay.createPayment({ ...cardRequest("fc-float"), amount: 100 as unknown as string }))
    expect(integerNumber).toBeInstanceOf(InvalidAmountError)
    const fractionalMinor = await rejection(aegisPay.createPayment(cardRequest("fc-float", { amount: { minor: 10.5 } })))
    expect(fractionalMinor).toBeInstanceOf(InvalidAmountError)
    const bare = await rejection(aegisPay.createPayment({ ...cardRequest("fc-float"), amount: 100n as unknown as string }))
    expect(bare).toBeInstanceOf(InvalidAmountError)
    const inexact = await rejection(aegisPay.createPayment(cardRequest("fc-float", { amount: "1.005" })))
    expect(inexact).toBeInstanceOf(ValidationError)
    expect(inexact).toMatchObject({ path: "amount" })
    const p = await aegisPay.createPayment(cardRequest("fc-float-ok", { gatewayType: "mock" }))
    await aegisPay.processPayment({ paymentId: p.id })
    expect(await rejection(aegisPay.capturePayment({ paymentId: p.id, amount: 1.5 as unknown as string }))).toBeInstanceOf(InvalidAmountError)
    expect(await rejection(aegisPay.refundPayment({ paymentId: p.id, idempotencyKey: "rf-float", amount: 0.1 as unknown as string })))
      .toBeInstanceOf(InvalidAmountError)
    expect((await aegisPay.getPayment(p.id)).refunds).toEqual([])
    expect(await rejection(aegisPay.getPayment("fc-float"))).toBeInstanceOf(PaymentNotFoundError)
  })

  it("a Promise gateway: success with the card revealed, decline, transient retried, transient failed over", async () => {
    const ok = await aegisPay.createPayment(cardRequest("fc-steady", { amount: "12.00", currency: "EUR", gatewayType: "steady" }))
    const charged = await aegisPay.processPayment({ paymentId: ok.id })
    expect(charged).toMatchObject({ state: "SUCCESS", gateway: "steady", gatewayTransactionId: expect.stringMatching(/^txn_/) })
    expect([...steady.charges.values()].find((c) => c.transactionId === charged.gatewayTransactionId)).toMatchObject({ minor: 1200n, cardNumber: "4242424242424242" })
    expect((await aegisPay.refundPayment({ paymentId: ok.id, idempotencyKey: "rf-steady" })).state).toBe("SUCCEEDED")

    const declined = await aegisPay.processPayment({
      paymentId: (await aegisPay.createPayment(cardRequest("fc-decline", { amount: "13.00", currency: "EUR", gatewayType: "steady" }))).id
    })
    expect(declined).toMatchObject({ state: "FAILURE", declineCode: "insufficient_funds" })

    const before = steady.calls()
    const retried = await aegisPay.processPayment({
      paymentId: (await aegisPay.createPayment(cardRequest("fc-retry", { amount: "14.00", currency: "EUR", gatewayType: "steady" }))).id
    })
    expect(retried.state).toBe("SUCCESS")
    expect(retried.attempts).toHaveLength(1)
    expect(steady.calls() - before).toBe(2)

    // SEK: flaky first (registration order) fails transiently through its retries, steady takes it
    const flakyBefore = flaky.calls()
    const failedOver = await aegisPay.processPayment({
      paymentId: (await aegisPay.createPayment(cardRequest("fc-failover", { amount: "16.00", currency: "SEK" }))).id
    })
    expect(failedOver.state).toBe("SUCCESS")
    expect(failedOver.gateway).toBe("steady")
    expect(failedOver.attempts.map((a) => a.gateway)).toEqual(["flaky", "steady"])
    expect(flaky.calls() - flakyBefore).toBe(3)
    expect(flaky.charges.size).toBe(0)
  })

  it("a Promise gateway that throws something else after charging: unknown outcome, then reconciled, never charged twice", async () => {
    const p = await aegisPay.createPayment(cardRequest("fc-crash", { amount: "15.00", currency: "EUR", gatewayType: "steady" }))
    const unknown = await aegisPay.processPayment({ paymentId: p.id })
    expect(unknown).toMatchObject({ state: "PROCESSING", requiresReconciliation: true })
    const reconciled = await aegisPay.processPayment({ paymentId: p.id })
    expect(reconciled.state).toBe("SUCCESS")
    expect([...steady.charges.values()].filter((c) => c.transactionId === reconciled.gatewayTransactionId)).toHaveLength(1)
  })

  it("processPayment({ gatewayType }) uses that gateway only; an unknown one is GatewayNotFoundError", async () => {
    const p = await aegisPay.createPayment(cardRequest("fc-choose", { amount: "17.00", currency: "EUR" }))
    expect(await rejection(aegisPay.processPayment({ paymentId: p.id, gatewayType: "nope" }))).toBeInstanceOf(GatewayNotFoundError)
    const done = await aegisPay.processPayment({ paymentId: p.id, gatewayType: "mock" })
    expect(done.gateway).toBe("mock")
    expect(done.attempts.map((a) => a.gateway)).toEqual(["mock"])
  })

  it("on/off: handlers get committed events in order; a removed handler is not called; a throwing one stops nothing", async () => {
    const waiting = new Map<string, (event: PaymentEvent) => void>()
    const succeededOf = (paymentId: string) => new Promise<PaymentEvent>((resolve) => waiting.set(paymentId, resolve))
    const seen: Array<PaymentEvent> = []
    const all = (event: PaymentEvent) => {
      seen.push(event)
      if (event.type === "PaymentSucceeded") waiting.get(event.paymentId)?.(event)
    }
    const typed: Array<string> = []
    const typedHandler = async (event: PaymentEvent) => {
      typed.push(event.paymentId)
    }
    const throwing = () => {
      throw new Error("handler bug with card 4242424242424242")
    }
    // type handlers run before "*" handlers for the same event, in registration order
    aegisPay.on("PaymentSucceeded", throwing).on("PaymentSucceeded", typedHandler).on("*", all)

    const first = await aegisPay.createPayment(cardRequest("fc-events-1", { gatewayType: "mock" }))
    const firstEvent = succeededOf(first.id)
    await aegisPay.processPayment({ paymentId: first.id })
    const event = await firstEvent
    expect(typed).toContain(first.id)

    aegisPay.off("PaymentSucceeded", typedHandler)
    const second = await aegisPay.createPayment(cardRequest("fc-events-2", { gatewayType: "mock" }))
    const secondEvent = succeededOf(second.id)
    await aegisPay.processPayment({ paymentId: second.id })
    await secondEvent
    aegisPay.off("*", all).off("PaymentSucceeded", throwing)
    // the "*" handler saw the second success after the throwing handler ran; the removed one did not
    expect(typed).not.toContain(second.id)

    expect(event).toMatchObject({ type: "PaymentSucceeded", paymentId: first.id, tenantId: "default", eventId: `evt_${first.id}_${event.seq}` })
    expect(event.occurredAt).toBeInstanceOf(Date)
    const mine = seen.filter((e) => e.paymentId === first.id)
    expect(mine.map((e) => e.type)).toEqual(["PaymentInitiated", "PaymentAuthenticated", "PaymentProcessing", "PaymentSucceeded"])
    expect(mine.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    const initiated = mine[0]!
    expect(JSON.stringify(initiated.payload)).not.toMatch(/vaultToken|fingerprint|4242424242424242/)
    expect(initiated.payload).toMatchObject({ idempotencyKey: "fc-events-1", amount: { currency: "USD" } })
  })

  it("health, gateway metrics and metrics", async () => {
    const health = await aegisPay.getHealthSummary()
    expect(health.map((h) => h.gateway)).toEqual(["flaky", "steady", "mock"])
    const mock = await aegisPay.getGatewayMetrics("mock")
    expect(mock).toMatchObject({ gateway: "mock", circuit: "CLOSED" })
    expect(mock.requests).toBeGreaterThan(0)
    expect(mock.successRate).toBeGreaterThan(0)
    const metrics = await aegisPay.getMetrics()
    expect(Object.keys(metrics.counters).some((k) => k.startsWith("aegispay_gateway_calls_total{") && k.includes("gateway=steady"))).toBe(true)
  })

  it("logs a line per operation at the default level (info); logLevel 'warning' leaves successes out", async () => {
    const written = async (facade: AegisPay, key: string) => {
      const spy = vi.spyOn(console, "log").mockImplementation(() => {})
      try {
        const p = await facade.createPayment(cardRequest(key, { gatewayType: "mock" }))
        await facade.processPayment({ paymentId: p.id })
        return spy.mock.calls.map((args) => String(args[0])).filter((line) => line.includes("payment operation"))
      } finally {
        spy.mockRestore()
      }
    }
    const lines = await written(aegisPay, "fc-log-1")
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/level=INFO .*operation=create/)
    expect(lines[1]).toMatch(/level=INFO .*operation=process .*state=SUCCESS/)
    const quiet = new AegisPay({ mode: "development", keys: freshKeys(), workers: false, logLevel: "warning" })
    try {
      await quiet.registerGateway("mock", {})
      expect(await written(quiet, "fc-log-2")).toEqual([])
    } finally {
      await quiet.close()
    }
  }, 60_000)

  it("registerGateway refuses unknown types, bad gateway objects and bad credentials with typed errors", async () => {
    expect(await rejection(aegisPay.registerGateway("visa-direct" as "stripe", { secretKey: "x" }))).toBeInstanceOf(ConfigurationError)
    expect(await rejection(aegisPay.registerGateway("own", { process: async () => ({ status: "succeeded", transactionId: "t" }) } as never)))
      .toMatchObject({ code: "ConfigurationError", reason: "the gateway has no refund method" })
    const stripe = await rejection(aegisPay.registerGateway("stripe", { secretKey: "not-a-key" }))
    expect(stripe).toBeInstanceOf(GatewayMisconfiguredError)
    expect((stripe as Error).message).not.toContain("not-a-key")
    expect(await rejection(aegisPay.registerGateway("paypal", { clientId: "a", clientSecret: "b", environment: "moon" as "live" })))
      .toBeInstanceOf(GatewayMisconfiguredError)
    expect((await aegisPay.getHealthSummary()).map((h) => h.gateway)).toEqual(["flaky", "steady", "mock"])
  })
})

describe("aegispay/facade configuration", () => {
  it("production mode without keys refuses to start, naming what is missing and no secret", () => {
    const saved = ["AEGISPAY_KEK", "AEGISPAY_KEK_ID", "AEGISPAY_FINGERPRINT_KEY"].map((k) => [k, process.env[k]] as const)
    for (const [k] of saved) delete process.env[k]
    try {
      let thrown: unknown
      try {
        new AegisPay({ mode: "production" })
      } catch (e) {
        thrown = e
      }
      expect(thrown).toBeInstanceOf(ConfigurationError)
      expect(thrown).toMatchObject({ code: "ConfigurationError", field: "keys" })
      expect((thrown as Error).message).toMatch(/production mode needs the vault keys.*AEGISPAY_KEK/)
      // PostgreSQL needs keys even in development
      expect(() => new AegisPay({ mode: "development", storage: { kind: "postgres", url: "postgres://x@127.0.0.1/none" } }))
        .toThrow(ConfigurationError)
      // malformed keys: refused, the key not echoed
      const bad = { kekId: "k1", kek: "c2hvcnQ=", fingerprintKey: freshKeys().fingerprintKey }
      expect(() => new AegisPay({ mode: "production", keys: bad })).toThrow(/must be 32 bytes/)
      // partial keys in the environment are refused, not completed with a default
      process.env["AEGISPAY_KEK"] = freshKeys().kek
      expect(() => new AegisPay({ mode: "development" })).toThrow(/incomplete or malformed/)
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })

  it("float fees and float rule thresholds are refused; exact ones accepted", async () => {
    expect(() => new AegisPay({ keys: freshKeys(), gatewayCosts: [{ gatewayType: "stripe", percentageFee: 2.9 }] }))
      .toThrow(ConfigurationError)
    expect(() => new AegisPay({ keys: freshKeys(), gatewayCosts: [{ gatewayType: "stripe", fixedFee: { minor: 0.3 } }] }))
      .toThrow(ConfigurationError)
    expect(() =>
      new AegisPay({
        keys: freshKeys(),
        routing: {
          strategy: "RULE_BASED",
          rules: [{ id: "big", priority: 1, conditions: [{ field: "amount", operator: "greaterThan", value: 999.99 }], gatewayType: "stripe" }]
        }
      })
    ).toThrow(ConfigurationError)
    const exact = new AegisPay({
      keys: freshKeys(),
      routing: {
        strategy: "COST_OPTIMIZED",
        rules: [{ id: "big", priority: 1, conditions: [{ field: "amount", operator: "greaterThan", value: "999.99" }], gatewayType: "stripe" }]
      },
      gatewayCosts: [{ gatewayType: "stripe", fixedFee: { minor: 30 }, percentageFee: "2.9" }]
    })
    await exact.close()
  })

  it("a database that cannot be reached: every call rejects with StartupFailedError, close() still resolves", async () => {
    const unreachable = new AegisPay({
      mode: "production",
      keys: freshKeys(),
      storage: { kind: "postgres", url: "postgres://postgres@127.0.0.1:1/none" }
    })
    const failed = await rejection(unreachable.ready())
    expect(failed).toBeInstanceOf(StartupFailedError)
    expect(failed).toMatchObject({ code: "StartupFailed" })
    expect(await rejection(unreachable.getPayment("pay_1"))).toBe(failed)
    await unreachable.close()
    expect(await rejection(unreachable.getPayment("pay_1"))).toBeInstanceOf(AegisPayClosedError)
  })

  it("production mode refuses the mock gateway; calls after close reject with AegisPayClosedError; close is idempotent", async () => {
    const prod = new AegisPay({ mode: "production", keys: freshKeys() })
    const mock = await rejection(prod.registerGateway("mock"))
    expect(mock).toBeInstanceOf(ConfigurationError)
    expect((mock as Error).message).toMatch(/development only/)
    const first = prod.close()
    expect(prod.close()).toBe(first)
    await first
    for (const call of [prod.getPayment("pay_1"), prod.createPayment(cardRequest("after")), prod.registerGateway("mock"), prod.ready()]) {
      const error = await rejection(call)
      expect(error).toBeInstanceOf(AegisPayClosedError)
      expect(error).toMatchObject({ code: "AegisPayClosed" })
    }
  })
})
