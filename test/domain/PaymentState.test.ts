import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { PaymentState } from "aegispay"

const { states, transitions, canTransition, isTerminal } = PaymentState

describe("PaymentState", () => {
  it("has the seed lifecycle plus AUTHORIZED and CANCELLED", () => {
    expect(canTransition("INITIATED", "AUTHENTICATED")).toBe(true)
    expect(canTransition("AUTHENTICATED", "PROCESSING")).toBe(true)
    expect(canTransition("PROCESSING", "SUCCESS")).toBe(true)
    expect(canTransition("PROCESSING", "FAILURE")).toBe(true)
    expect(canTransition("PROCESSING", "AUTHORIZED")).toBe(true)
    expect(canTransition("AUTHORIZED", "SUCCESS")).toBe(true)
    expect(canTransition("AUTHORIZED", "CANCELLED")).toBe(true)
    expect(canTransition("INITIATED", "SUCCESS")).toBe(false)
    expect(canTransition("PROCESSING", "CANCELLED")).toBe(false)
  })

  it("property: no transition leaves a terminal state", () => {
    fc.assert(
      fc.property(fc.constantFrom(...states), fc.constantFrom(...states), (from, to) => {
        if (isTerminal(from)) expect(canTransition(from, to)).toBe(false)
      })
    )
    expect(states.filter(isTerminal)).toEqual(["SUCCESS", "FAILURE", "CANCELLED"])
  })

  it("property: every path from INITIATED ends in a terminal state or in AUTHORIZED, without cycles", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 0, maxLength: 20 }), fc.boolean(), (choices, stopAtAuthorized) => {
        let state: PaymentState.PaymentState = "INITIATED"
        const seen = new Set<string>([state])
        for (const choice of choices) {
          const next: ReadonlyArray<PaymentState.PaymentState> = transitions[state]
          if (next.length === 0 || (stopAtAuthorized && state === "AUTHORIZED")) break
          state = next[choice % next.length]!
          expect(seen.has(state)).toBe(false) // acyclic: a path never revisits a state
          seen.add(state)
        }
        // a path that stopped early is a prefix; run it to its end to check where it can stop
        while (!isTerminal(state) && !(stopAtAuthorized && state === "AUTHORIZED")) {
          state = transitions[state][0]
        }
        expect(isTerminal(state) || state === "AUTHORIZED").toBe(true)
      })
    )
  })

  it("ACTION_REQUIRED: entered from PROCESSING only, left for a charge, a definite failure or a confirmed cancel, never PROCESSING", () => {
    expect(states.filter((s) => canTransition(s, "ACTION_REQUIRED"))).toEqual(["PROCESSING"])
    expect(transitions.ACTION_REQUIRED).toEqual(["SUCCESS", "AUTHORIZED", "FAILURE", "CANCELLED"])
    expect(canTransition("ACTION_REQUIRED", "PROCESSING")).toBe(false)
    expect(PaymentState.transition("PROCESSING", "ACTION_REQUIRED")).toBe("ACTION_REQUIRED")
    expect(PaymentState.transition("ACTION_REQUIRED", "CANCELLED")).toBe("CANCELLED")
    // @ts-expect-error no way back: a waiting payment never returns to PROCESSING
    PaymentState.transition("ACTION_REQUIRED", "PROCESSING")
  })

  it("checks transitions at compile time", () => {
    expect(PaymentState.transition("INITIATED", "AUTHENTICATED")).toBe("AUTHENTICATED")
    // @ts-expect-error INITIATED cannot move to SUCCESS
    PaymentState.transition("INITIATED", "SUCCESS")
    // @ts-expect-error nothing leaves SUCCESS
    PaymentState.transition("SUCCESS", "FAILURE")
  })
})
