/**
 * Operation log lines on the memory composition: the level from `Config` (`AEGISPAY_LOG_LEVEL`)
 * filters them, a failed operation logs at Warning with its error's tag, and no line holds the
 * card number or the CVV (captured as unmasked JSON).
 */
import { ConfigProvider, Effect, Layer, LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import { Logging, PaymentService } from "aegispay"
import { AegisPayTest, TestCards } from "aegispay/testing"
import * as Capture from "./capture.js"

const card = { type: "card" as const, number: TestCards.success, expiryMonth: 12, expiryYear: 2099, cvv: "987", holderName: "Ada" }

const run = async (level: string) => {
  const capture = Capture.make(LogLevel.All)
  const program = Effect.gen(function*() {
    const payments = yield* PaymentService.PaymentService
    const p = yield* payments.createPayment({ idempotencyKey: "k1", amount: "10.00", currency: "USD", paymentMethod: card, customer: { id: "c", email: "a@example.com" }, metadata: {} })
    yield* payments.processPayment(p.id)
    yield* payments.refundPayment({ paymentId: p.id, idempotencyKey: "r1", amount: "1.00" })
    yield* Effect.either(payments.capturePayment({ paymentId: p.id }))
    yield* payments.getPayment(p.id)
    yield* Effect.either(payments.getPayment("pay_missing"))
    return p.id
  })
  // the level layer after the capture's "All": Config decides
  const logging = Logging.layerConfig.pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["AEGISPAY_LOG_LEVEL", level], ["AEGISPAY_LOG_FORMAT", "text"]]))))
  )
  const paymentId = await Effect.runPromise(program.pipe(
    Effect.provide(AegisPayTest.layerMemory()),
    Effect.provide(logging),
    Effect.provide(capture.layer)
  ))
  return { paymentId, lines: capture.lines }
}

describe("operation log lines", () => {
  it("INFO: one line per operation with its fields; failures at Warning; gateway requests at Debug; no card data", async () => {
    const { lines, paymentId } = await run("info")
    const operations = lines.filter((l) => l.message === "payment operation")
    expect(operations.map((l) => l.annotations.operation)).toEqual(["create", "process", "refund", "capture"])
    expect(operations[1]!.annotations).toMatchObject({ paymentId, tenantId: "default", gateway: "mock", state: "SUCCESS", outcome: "ok" })
    expect(operations[2]!.annotations).toMatchObject({ paymentId, state: "SUCCEEDED", outcome: "ok" })
    expect(operations[3]).toMatchObject({ level: "WARN", annotations: { operation: "capture", outcome: "InvalidTransition", paymentId } })
    expect(lines.filter((l) => l.message === "gateway request")).toEqual([])
    const debug = await run("debug")
    const gateway = debug.lines.filter((l) => l.message === "gateway request")
    for (const l of gateway) expect(l.level).toBe("DEBUG")
    expect(gateway.map((l) => l.annotations.method)).toEqual(["authenticate", "process", "refund"])
    for (const l of gateway) expect(l.annotations).toMatchObject({ gateway: "mock", paymentId: debug.paymentId, outcome: "approved" })
    for (const l of lines) {
      expect(l.json).not.toContain(TestCards.success)
      expect(l.json).not.toContain("987")
    }
  })

  it("WARN from Config drops the Info lines; DEBUG adds the reads", async () => {
    const warn = await run("WARN")
    expect(warn.lines.filter((l) => l.message === "payment operation").map((l) => l.annotations.operation)).toEqual(["capture"])
    expect(warn.lines.filter((l) => l.message === "gateway request")).toEqual([])
    const debug = await run("debug")
    expect(debug.lines.filter((l) => l.message === "payment operation").map((l) => l.annotations.operation)).toContain("get")
    // a read's PaymentNotFound is an answer (a 404, the readiness probe's lookup): Debug, not Warning
    expect(debug.lines.find((l) => l.annotations.paymentId === "pay_missing")).toMatchObject({
      level: "DEBUG",
      annotations: { operation: "get", outcome: "PaymentNotFound" }
    })
  })

  it("INFO: a failed gateway request logs at Warning with its status; the retried success does not log", async () => {
    const capture = Capture.make(LogLevel.Info)
    await Effect.runPromise(Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment({
        idempotencyKey: "k-retry",
        amount: "10.00",
        currency: "USD",
        paymentMethod: { ...card, number: TestCards.retryOnce },
        customer: { id: "c", email: "a@example.com" },
        metadata: {}
      })
      yield* payments.processPayment(p.id)
    }).pipe(Effect.provide(AegisPayTest.layerMemory()), Effect.provide(capture.layer)))
    const gateway = capture.lines.filter((l) => l.message === "gateway request")
    expect(gateway.length).toBeGreaterThan(0)
    for (const l of gateway) {
      expect(l).toMatchObject({ level: "WARN", annotations: { gateway: "mock", outcome: "error" } })
      expect(typeof l.annotations.status).toBe("string")
    }
    expect(capture.lines.filter((l) => l.message === "payment operation").map((l) => l.annotations.state)).toEqual(["INITIATED", "SUCCESS"])
  })

  it("an invalid level is a ConfigError", async () => {
    const exit = await Effect.runPromiseExit(Effect.void.pipe(
      Effect.provide(Logging.layerConfig.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["AEGISPAY_LOG_LEVEL", "loud"]]))))))
    ))
    expect(exit._tag).toBe("Failure")
  })
})
