/**
 * The deterministic simulation: a few seeds run clean, a seed replays to the same event log,
 * and the checker does catch a broken composition (a gateway wrapper that charges twice, a
 * repository whose snapshots drop refunds).
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { EventStore, GatewayRegistry, Money, Payment, PaymentRepository } from "aegispay"
import { AegisPayTest, MemoryStorage, MockGateway, Simulation } from "aegispay/testing"

/** The default composition, with alpha's charges sent twice under two keys. */
const doubleCharging = Layer.effectDiscard(Effect.gen(function*() {
  const registry = yield* GatewayRegistry.GatewayRegistry
  const alpha = (yield* MockGateway.MockGateways).get("alpha")!
  yield* registry.register({
    ...alpha.gateway,
    process: (r) => Effect.zipRight(alpha.gateway.process({ ...r, idempotencyKey: `${r.idempotencyKey}-again` }), alpha.gateway.process(r))
  })
})).pipe(Layer.provideMerge(Simulation.layerMemory()))

/** Memory storage whose snapshots forget every succeeded refund (the events keep them). */
const lossyStorage = Layer.effectContext(Effect.map(MemoryStorage.make, ({ eventStore, repository }) =>
  Context.make(PaymentRepository.PaymentRepository, {
    ...repository,
    update: (decision, expectedVersion, options) =>
      repository.update(
        decision.events.some((e) => e._tag === "RefundSucceeded")
          ? {
            ...decision,
            payment: new Payment.Payment({ ...decision.payment, refundedAmount: Money.zero(decision.payment.amount.currency) })
          }
          : decision,
        expectedVersion,
        options
      )
  }).pipe(Context.add(EventStore.EventStore, eventStore))))

describe("Simulation", () => {
  it.effect("seeds under every fault run without violations, and every fault is injected", () =>
    Effect.gen(function*() {
      const faults = new Map<string, number>()
      for (const seed of [1, 2, 3, 4]) {
        const report = yield* Simulation.run({ seed, payments: 60 })
        expect(report.violations).toEqual([])
        expect(report.replayCommand).toBe(`npx tsx test/sim/sim.ts --seed ${seed} --payments 60`)
        for (const [k, v] of Object.entries(report.faults)) faults.set(k, (faults.get(k) ?? 0) + v)
      }
      for (const kind of ["duplicateCreate", "gatewayError", "timeoutBefore", "timeoutAfter", "errorAfter", "crash", "interruptInFlight", "notificationDuplicated", "notificationUnverified", "recoveryRun"]) {
        expect(faults.get(kind), kind).toBeGreaterThan(0)
      }
    }))

  it.effect("charges interrupted on the wire, then resent into an open circuit: every late charge is found and returned", () =>
    Effect.gen(function*() {
      // no notifications: only the failover's status check can find a late charge
      let interrupted = 0
      let late = 0
      for (const seed of [1, 2, 3]) {
        const report = yield* Simulation.run({ seed, payments: 60, faults: { ...Simulation.noFaults, interruptInFlight: 0.3 } })
        expect(report.violations).toEqual([])
        interrupted += report.faults.interruptInFlight
        late += report.faults.inFlightAppliedLate
      }
      expect(interrupted).toBeGreaterThan(10)
      expect(late).toBeGreaterThan(5)
    }))

  it.effect("the same seed gives the same event log; another seed another", () =>
    Effect.gen(function*() {
      const a = yield* Simulation.run({ seed: 7, payments: 40 })
      const b = yield* Simulation.run({ seed: 7, payments: 40 })
      const c = yield* Simulation.run({ seed: 8, payments: 40 })
      expect(a.eventLogHash).toMatch(/^[0-9a-f]{64}$/)
      expect(b.eventLogHash).toBe(a.eventLogHash)
      expect(b.faults).toEqual(a.faults)
      expect(c.eventLogHash).not.toBe(a.eventLogHash)
    }))

  it.effect("without faults every payment settles as planned", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({ seed: 3, payments: 30, faults: Simulation.noFaults })
      expect(report.violations).toEqual([])
      expect(Object.entries(report.faults).filter(([k, n]) => n > 0 && k !== "recoveryRun")).toEqual([])
      expect(report.states["SUCCESS"]).toBeGreaterThan(0)
    }))

  it.effect("a gateway wrapper that charges twice is reported as a double charge", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({ seed: 1, payments: 20, layer: doubleCharging })
      expect(report.violations.some((v) => v.invariant === "no-double-charge")).toBe(true)
      const failed = yield* Effect.flip(Simulation.assertClean(report))
      expect(failed._tag).toBe("SimulationFailed")
      expect(failed.message).toContain("npx tsx test/sim/sim.ts --seed 1 --payments 20")
    }))

  it.effect("a repository whose snapshots drop refunds is reported: the snapshot is not the fold of its events", () =>
    Effect.gen(function*() {
      const report = yield* Simulation.run({
        seed: 2,
        payments: 20,
        layer: AegisPayTest.layerWith(lossyStorage, Simulation.layerOptions)
      })
      const invariants = new Set(report.violations.map((v) => v.invariant))
      expect(invariants.has("fold-equals-snapshot")).toBe(true)
      expect(invariants.has("ledger-equals-local")).toBe(true)
    }))
})
