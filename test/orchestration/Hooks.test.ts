import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Queue, TestClock } from "effect"
import { Hooks, PaymentService } from "aegispay"
import { AegisPayTest, MockGateway } from "aegispay/testing"
import { request } from "../helpers.js"

const withHooks = (hooks: Hooks.Config) =>
  AegisPayTest.layerMemory({ ids: "sequential", hooks, mockGateways: [{ id: "a" }, { id: "b" }] })

describe("hooks", () => {
  it.effect("beforeCreate refuses with HookRejected and nothing is created; hooks run by priority", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const refused = yield* Effect.flip(payments.createPayment(request({ metadata: { sku: "blocked" } })))
      expect(refused).toMatchObject({ _tag: "HookRejected", hook: "sku-check", reason: "sku blocked" })
      expect((yield* payments.getCustomerPayments({ customerId: "cus_1" })).items).toEqual([])
      const ok = yield* payments.createPayment(request({ idempotencyKey: "fine" }))
      expect(ok.state).toBe("INITIATED")
    }).pipe(Effect.provide(withHooks({
      beforeCreate: [
        { name: "log", priority: 0, run: () => Effect.void },
        {
          name: "sku-check",
          priority: 10,
          run: (req) =>
            req.metadata.sku === "blocked"
              ? Effect.fail(new Hooks.HookRejected({ hook: "sku-check", reason: "sku blocked" }))
              : Effect.void
        }
      ]
    }))))

  it.effect("a failing hook stops the operation when fail-closed and is skipped when fail-open; timeouts count as failures", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const fiber = yield* Effect.fork(Effect.flip(payments.createPayment(request())))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "HookFailed", hook: "closed", reason: "service down" })
    }).pipe(Effect.provide(withHooks({
      beforeCreate: [
        { name: "slow", priority: 2, failMode: "open", timeout: "500 millis", run: () => Effect.never },
        { name: "closed", priority: 1, run: () => Effect.fail(new Error("service down")) }
      ]
    }))))

  it.effect("a fraud rejection fails the payment before any gateway call, with score and reason", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const mock = yield* MockGateway.MockGateway
      const p = yield* payments.createPayment(request())
      const rejected = yield* Effect.flip(payments.processPayment(p.id))
      expect(rejected).toMatchObject({ _tag: "FraudRejected", paymentId: p.id, hook: "scorer", score: 0.97, reason: "velocity" })
      const failed = yield* payments.getPayment(p.id)
      expect([failed.state, failed.declineCode]).toEqual(["FAILURE", "fraud_rejected"])
      expect(yield* mock.calls).toEqual({})
    }).pipe(Effect.provide(withHooks({
      fraudCheck: [{ name: "scorer", run: () => Effect.succeed({ score: 0.97, reject: true, reason: "velocity" }) }]
    }))))

  it.effect("beforeRoute may reorder or restrict the candidates but never add one; afterProcess sees the result", () => {
    const seen = Effect.runSync(Queue.unbounded<string>())
    return Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const p = yield* payments.createPayment(request())
      const done = yield* payments.processPayment(p.id)
      expect(done.attempts.map((a) => a.gateway)).toEqual(["b"])
      // afterProcess runs from the committed terminal event, after the operation returned
      expect(yield* Queue.take(seen)).toEqual(`${p.id}:SUCCESS`)
    }).pipe(Effect.provide(withHooks({
      beforeRoute: [{ name: "prefer-b", run: (_, ids) => Effect.succeed(["z", ...ids.filter((id) => id === "b")]) }],
      afterProcess: [{
        name: "audit",
        run: (payment) => Queue.offer(seen, `${payment.id}:${payment.state}`)
      }]
    })))
  })

  it.effect("a hook that throws or dies is handled like a failure: fail-open carries on, fail-closed is HookFailed", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      // beforeCreate throws (fail-open): the payment is created all the same
      const p = yield* payments.createPayment(request())
      expect(p.state).toBe("INITIATED")
      // fraudCheck dies (fail-closed): HookFailed, never a defect; nothing was charged
      const failed = yield* Effect.flip(payments.processPayment(p.id))
      expect(failed).toMatchObject({ _tag: "HookFailed", hook: "scorer" })
      expect(failed.message).toContain("defect")
      expect((yield* payments.getPayment(p.id)).state).toBe("INITIATED")
      expect(yield* Effect.flatMap(MockGateway.MockGateway, (m) => m.calls)).toEqual({})
    }).pipe(Effect.provide(withHooks({
      beforeCreate: [{
        name: "buggy",
        failMode: "open",
        run: () => {
          throw new Error("merchant bug")
        }
      }],
      fraudCheck: [{ name: "scorer", run: () => Effect.dieMessage("scorer bug") }]
    }))))
})
