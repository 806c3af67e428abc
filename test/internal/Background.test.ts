import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref, Schedule, TestClock } from "effect"
import * as Background from "../../src/internal/Background.js"
import { Workers } from "aegispay"

describe("Background.loop", () => {
  it.effect("a failing or dying iteration is logged and the loop goes on, with backoff, until interrupted", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const iteration = Effect.flatMap(Ref.updateAndGet(runs, (n) => n + 1), (n) =>
        n === 2 ? Effect.fail("boom" as const) : n === 3 ? Effect.dieMessage("defect") : Effect.void)
      const fiber = yield* Effect.fork(
        Background.loop("test-loop", iteration, { schedule: Schedule.spaced("1 second"), backoff: "10 seconds" })
      )
      yield* TestClock.adjust("0 millis")
      expect(yield* Ref.get(runs)).toBe(1)
      yield* TestClock.adjust("1 second") // run 2 fails: backoff 10 s, then the 1 s spacing
      expect(yield* Ref.get(runs)).toBe(2)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Ref.get(runs)).toBe(2)
      yield* TestClock.adjust("1 second") // run 3 dies: backoff doubles to 20 s
      expect(yield* Ref.get(runs)).toBe(3)
      yield* TestClock.adjust("20 seconds")
      yield* TestClock.adjust("1 second")
      expect(yield* Ref.get(runs)).toBe(4) // still running after a defect
      yield* TestClock.adjust("1 second")
      expect(yield* Ref.get(runs)).toBe(5) // success resets the backoff
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 minute")
      expect(yield* Ref.get(runs)).toBe(5)
    }))
})

describe("Background reports to Workers", () => {
  it.effect("running, failing from the 3rd consecutive failure until a success, stopped when interrupted", () =>
    Effect.gen(function*() {
      const workers = yield* Workers.make()
      const outcomes = yield* Ref.make<ReadonlyArray<boolean>>([true, false, false, false, true])
      const iteration = Effect.flatMap(
        Ref.modify(outcomes, (all) => [all[0] ?? true, all.slice(1)]),
        (ok) => (ok ? Effect.void : Effect.fail("boom" as const))
      )
      const fiber = yield* Effect.fork(
        Background.loop("relay", iteration, { schedule: Schedule.spaced("1 second"), backoff: "1 second", maxBackoff: "1 second" }).pipe(
          Effect.provideService(Workers.Workers, workers)
        )
      )
      const state = Effect.map(workers.statuses, (all) => all.map((s) => [s.name, s.state, s.consecutiveFailures]))
      yield* TestClock.adjust("0 millis")
      expect(yield* state).toEqual([["relay", "running", 0]])
      yield* TestClock.adjust("1 second") // 1st failure
      yield* TestClock.adjust("2 seconds") // 2nd
      expect(yield* state).toEqual([["relay", "running", 2]])
      yield* TestClock.adjust("2 seconds") // 3rd
      expect(yield* state).toEqual([["relay", "failing", 3]])
      yield* TestClock.adjust("2 seconds") // success
      expect(yield* state).toEqual([["relay", "running", 0]])
      yield* Fiber.interrupt(fiber)
      expect(yield* state).toEqual([["relay", "stopped", 0]])
    }))

  it.effect("workers of the same name are reported apart", () =>
    Effect.gen(function*() {
      const workers = yield* Workers.make()
      yield* workers.register("relay")
      const second = yield* workers.register("relay")
      yield* second.stopped
      expect((yield* workers.statuses).map((s) => [s.name, s.state])).toEqual([["relay", "running"], ["relay#2", "stopped"]])
    }))
})
