/**
 * A recovery worker acts on payments it scanned a moment ago. Whatever it does must be decided
 * again under the payment's lock: a capture or void settled in between is never sent again, and
 * no new operation (with a new key) is ever started by recovery.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Gateway, GatewayRegistry, PaymentRepository, PaymentService, Recovery } from "aegispay"
import { AegisPayTest, MockGateway } from "aegispay/testing"
import { request } from "../helpers.js"

const base = AegisPayTest.layerMemory({ ids: "sequential" })

/** The mock gateway, whose capture and void first lose their answer, then decline; every key sent is kept. */
const flakyOperations = Effect.gen(function*() {
  const mock = yield* MockGateway.MockGateway
  const registry = yield* GatewayRegistry.GatewayRegistry
  const sent: Array<string> = []
  let mode: "lose" | "decline" = "lose"
  const answer = (operation: string, key: string) =>
    Effect.suspend((): Effect.Effect<never, Gateway.GatewayUnknownOutcome | Gateway.GatewayDeclined> => {
      sent.push(key)
      return mode === "lose"
        ? Effect.fail(new Gateway.GatewayUnknownOutcome({ gateway: "mock", operation, reason: "timeout before apply" }))
        : Effect.fail(new Gateway.GatewayDeclined({ gateway: "mock", code: "processing_error", reason: "refused" }))
    })
  yield* registry.register({
    ...mock.gateway,
    capture: (req) => answer("capture", req.idempotencyKey),
    void: (req) => answer("void", req.idempotencyKey)
  })
  return { sent, decline: () => (mode = "decline") }
})

describe("Recovery against a payment settled since its scan", () => {
  for (const operation of ["capture", "void"] as const) {
    it.effect(`a pending ${operation} settled meanwhile is not sent again, and no new one is started`, () =>
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        const repository = yield* PaymentRepository.PaymentRepository
        const gateway = yield* flakyOperations
        const p = yield* payments.createPayment(request({ captureMethod: "manual" }))
        yield* payments.processPayment(p.id)
        const start: Effect.Effect<unknown, unknown> = operation === "capture"
          ? payments.capturePayment({ paymentId: p.id })
          : payments.cancelPayment({ paymentId: p.id })
        yield* Effect.flip(start) // the answer is lost: the operation stays pending
        const scanned = yield* payments.getPayment(p.id)
        expect(scanned.pendingOperation?.operation).toBe(operation)

        // between the worker's scan and its action, the merchant's retry settles the operation
        gateway.decline()
        yield* Effect.flip(start)
        const settled = yield* payments.getPayment(p.id)
        expect(settled.state).toBe("AUTHORIZED")
        expect(settled.pendingOperation).toBeUndefined()
        expect(gateway.sent.length).toBe(2)

        // the worker now acts on its (stale) scan
        yield* TestClock.adjust("2 minutes")
        const worker = yield* Recovery.make().pipe(
          Effect.provideService(PaymentRepository.PaymentRepository, {
            ...repository,
            findOpen: () => Effect.succeed([scanned])
          })
        )
        const report = yield* worker.runOnce
        expect(report).toEqual({ examined: 1, resolved: 1, stillOpen: 0, failed: [] })
        expect(gateway.sent.length).toBe(2) // nothing sent again, nothing new started
        expect(new Set(gateway.sent).size).toBe(1)
        const after = yield* payments.getPayment(p.id)
        expect(after.version).toBe(settled.version)
      }).pipe(Effect.provide(base)))
  }
})
