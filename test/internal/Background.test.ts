import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref, Schedule, TestClock } from "effect"
import * as Background from "../../src/internal/Background.js"

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
