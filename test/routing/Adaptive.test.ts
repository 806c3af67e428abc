import { describe, expect, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { stubGateway } from "../helpers.js"
import { cardPayment } from "../support/RoutingPayments.js"
import { AdaptiveRouting, GatewayMetrics, Router } from "aegispay"
import type { Payment } from "aegispay"

const gateway = stubGateway
const [a, b, c] = [gateway("a"), gateway("b"), gateway("c")]
const all = [a, b, c]

const payment = cardPayment

const usd = payment("USD")
const eur = payment("EUR")

/** A router with the given ADAPTIVE settings (its GatewayMetrics is unused by ADAPTIVE). */
const adaptive = (settings: AdaptiveRouting.Options = {}) =>
  Effect.flatMap(GatewayMetrics.make(), (metrics) =>
    Router.make({ strategy: "ADAPTIVE", adaptive: settings }).pipe(
      Effect.provideService(GatewayMetrics.GatewayMetrics, metrics)
    ))

type RouterService = Effect.Effect.Success<ReturnType<typeof adaptive>>

/** Feeds `approved` approvals then `failed` declines of `p` at `gateway`, interleaved evenly. */
const feed = (
  router: RouterService,
  p: Payment.Payment,
  gateway: string,
  approved: number,
  failed: number,
  mirror?: AdaptiveRouting.State
) =>
  Effect.gen(function*() {
    const total = approved + failed
    for (let i = 0; i < total; i++) {
      // Bresenham-style spread: the running share of approvals stays close to approved/total
      const ok = Math.floor(((i + 1) * approved) / total) > Math.floor((i * approved) / total)
      yield* router.observe(p, gateway, ok ? "approved" : "declined")
      if (mirror !== undefined) AdaptiveRouting.observe(mirror, p, gateway, ok ? "approved" : "declined")
    }
  })

const firstOf = (router: RouterService, p: Payment.Payment) => Effect.map(router.rank(p, all), (r) => r[0]!.id)
const idsOf = (router: RouterService, p: Payment.Payment) => Effect.map(router.rank(p, all), (r) => r.map((g) => g.id))

describe("ADAPTIVE routing", () => {
  it.effect("ranks the best gateway per dimension first: a for EUR, b for USD", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ exploration: 0 })
      yield* feed(router, eur, "a", 95, 5)
      yield* feed(router, usd, "a", 60, 40)
      yield* feed(router, eur, "b", 60, 40)
      yield* feed(router, usd, "b", 95, 5)
      yield* feed(router, eur, "c", 75, 25)
      yield* feed(router, usd, "c", 75, 25)
      expect(yield* idsOf(router, eur)).toEqual(["a", "c", "b"])
      expect(yield* idsOf(router, usd)).toEqual(["b", "c", "a"])
    }))

  it.effect("learns per card brand within a currency; a context never seen borrows from its gateway", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ exploration: 0 })
      const usdAmex = payment("USD", "amex")
      yield* feed(router, usd, "a", 90, 10)
      yield* feed(router, usdAmex, "a", 70, 30)
      yield* feed(router, usd, "b", 85, 15)
      yield* feed(router, usdAmex, "b", 95, 5)
      yield* feed(router, usd, "c", 50, 50)
      yield* feed(router, usdAmex, "c", 50, 50)
      expect(yield* firstOf(router, usd)).toBe("a")
      expect(yield* firstOf(router, usdAmex)).toBe("b")
      // a currency never seen (EUR) is estimated from each gateway's overall rate: b 90%, a 80%
      expect(yield* firstOf(router, payment("EUR", "amex"))).toBe("b")
      expect(yield* firstOf(router, payment("EUR", "visa"))).toBe("b")
      // a brand never seen in USD borrows from USD: a 80%, b 90%
      expect(yield* firstOf(router, payment("USD", "mastercard"))).toBe("b")
    }))

  it.effect("learns per amount band: a gateway weak on large amounts loses them only", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ exploration: 0 })
      const large = payment("USD", "visa", "2500.00")
      yield* feed(router, usd, "a", 92, 8)
      yield* feed(router, large, "a", 60, 40)
      yield* feed(router, usd, "b", 85, 15)
      yield* feed(router, large, "b", 85, 15)
      yield* feed(router, usd, "c", 50, 50)
      expect(yield* firstOf(router, usd)).toBe("a")
      expect(yield* firstOf(router, large)).toBe("b")
      expect(AdaptiveRouting.band("USD", 999n)).toBe(0)
      expect(AdaptiveRouting.band("USD", 1_000n)).toBe(1)
      expect(AdaptiveRouting.band("JPY", 999n)).toBe(2)
      expect(AdaptiveRouting.band("USD", 100_000n)).toBe(3)
    }))

  it.effect("a gateway never observed goes first, so it is learned", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ exploration: 0 })
      yield* feed(router, usd, "a", 90, 10)
      yield* feed(router, usd, "b", 80, 20)
      expect(yield* idsOf(router, usd)).toEqual(["c", "a", "b"])
      yield* feed(router, usd, "c", 50, 50)
      expect(yield* idsOf(router, usd)).toEqual(["a", "b", "c"])
    }))

  /** How often each gateway goes first over `n` decisions, with the router's Random seeded. */
  const shares = (router: RouterService, p: Payment.Payment, n: number, seed: number) =>
    Effect.gen(function*() {
      const firsts: Record<string, number> = { a: 0, b: 0, c: 0 }
      for (let i = 0; i < n; i++) firsts[yield* firstOf(router, p)]!++
      return firsts
    }).pipe(Effect.withRandom(Random.make(seed)))

  it.effect("Thompson sampling: a gateway goes first about as often as it may be the best", () =>
    Effect.gen(function*() {
      // a and b both 200 observations, 90% and 88%: overlapping posteriors; c 50% is out
      const router = yield* adaptive({ exploration: 1 })
      const mirror = AdaptiveRouting.make({ exploration: 1 }) // the same evidence, to read the posteriors
      yield* feed(router, usd, "a", 180, 20, mirror)
      yield* feed(router, usd, "b", 176, 24, mirror)
      yield* feed(router, usd, "c", 100, 100, mirror)
      const ea = AdaptiveRouting.estimate(mirror, "a", usd)
      const eb = AdaptiveRouting.estimate(mirror, "b", usd)
      expect(ea.deviation).toBeGreaterThan(0.01)
      // P(θ_b > θ_a) for independent normal draws
      const z = (ea.rate - eb.rate) / Math.hypot(ea.deviation, eb.deviation)
      const expected = 0.5 * (1 + erf(-z / Math.SQRT2))
      const n = 10_000
      const got = yield* shares(router, usd, n, 1)
      expect(Math.abs(got.b! - n * expected)).toBeLessThan(4 * Math.sqrt(n * expected * (1 - expected)))
      expect(got.c).toBe(0)
      // the same seed gives the same choices; another seed other ones
      const sequence = (seed: number) =>
        Effect.gen(function*() {
          const firsts: Array<string> = []
          for (let i = 0; i < 500; i++) firsts.push(yield* firstOf(router, usd))
          return firsts
        }).pipe(Effect.withRandom(Random.make(seed)))
      expect(yield* sequence(7)).toEqual(yield* sequence(7))
      expect(yield* sequence(7)).not.toEqual(yield* sequence(8))
    }))

  it.effect("exploration shrinks with confidence: a gateway confidently worse is eliminated, never first", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({})
      yield* feed(router, usd, "a", 900, 100) // 90%
      yield* feed(router, usd, "b", 400, 100) // 80%
      yield* feed(router, usd, "c", 30, 20) // 60% on little evidence
      const got = yield* shares(router, usd, 5_000, 3)
      expect(got.b).toBe(0)
      expect(got.c).toBe(0)
      // eliminated gateways are ranked last, never dropped
      expect(yield* idsOf(router, usd)).toEqual(["a", "b", "c"])
      // with little evidence the same rates are not conclusive: b is still tried
      const unsure = yield* adaptive({ exploration: 1 })
      yield* feed(unsure, usd, "a", 9, 1)
      yield* feed(unsure, usd, "b", 8, 2)
      yield* feed(unsure, usd, "c", 6, 4)
      const early = yield* shares(unsure, usd, 5_000, 3)
      expect(early.b).toBeGreaterThan(500)
    }))

  it.effect("notices a step: the best gateway failing is left within a few hundred of its payments", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ exploration: 0, probeInterval: Infinity })
      yield* feed(router, usd, "a", 9_500, 500) // 95% for a long time
      yield* feed(router, usd, "b", 850, 150)
      yield* feed(router, usd, "c", 800, 200)
      expect(yield* firstOf(router, usd)).toBe("a")
      // a now approves 60%: without change detection its 10,000 old outcomes would hold it first
      let switched = -1
      for (let i = 0; i < 2_000 && switched < 0; i++) {
        yield* router.observe(usd, "a", i % 5 < 3 ? "approved" : "declined")
        if ((yield* firstOf(router, usd)) !== "a") switched = i
      }
      expect(switched).toBeGreaterThan(0)
      expect(switched).toBeLessThan(400)
      // with only the longest memory (no short memory to choose) the same evidence takes far longer
      const slow = yield* adaptive({ exploration: 0, probeInterval: Infinity, memories: [] })
      yield* feed(slow, usd, "a", 9_500, 500)
      yield* feed(slow, usd, "b", 850, 150)
      yield* feed(slow, usd, "c", 800, 200)
      yield* feed(slow, usd, "a", 240, 160)
      expect(yield* firstOf(slow, usd)).toBe("a")
    }))

  // a is best, fails completely for a while, then recovers; the router picks a gateway per
  // payment and learns only from what it picked
  it.effect("notices a recovery: forgetting widens the posterior of a gateway no longer chosen", () =>
    Effect.gen(function*() {
      const leaderAt = (checkpoints: ReadonlyArray<number>, settings: AdaptiveRouting.Options) =>
        Effect.gen(function*() {
          const router = yield* adaptive(settings)
          const rate = (id: string, t: number) => (id === "a" ? (t >= 3_000 && t < 5_000 ? 0 : 0.95) : id === "b" ? 0.8 : 0.7)
          const leaders: Array<string> = []
          for (let t = 0; t < 20_000; t++) {
            const first = yield* firstOf(router, usd)
            const approved = (yield* Random.next) < rate(first, t)
            yield* router.observe(usd, first, approved ? "approved" : "error")
            // the leader: what exploitation puts first (every draw at the median: the posterior mean)
            if (checkpoints.includes(t)) leaders.push(yield* firstOf(router, usd).pipe(Effect.withRandom(Random.fixed([0.5]))))
          }
          return leaders
        }).pipe(Effect.withRandom(Random.make(42)))
      // a leads, loses the lead during its outage, and regains it after recovering
      expect(yield* leaderAt([2_999, 4_999, 19_999], {})).toEqual(["a", "b", "a"])
      // without forgetting, exploration or probes the recovery is never noticed: b keeps the lead
      expect(yield* leaderAt([2_999, 4_999, 19_999], { memories: [], exploration: 0, probeInterval: Infinity }))
        .toEqual(["a", "b", "b"])
    }))

  it("memory is bounded: one counter per gateway and level value, whatever the traffic", () => {
    const state = AdaptiveRouting.make({ memory: 100 })
    for (let i = 0; i < 1_000; i++) AdaptiveRouting.observe(state, i % 2 === 0 ? usd : eur, "a", "approved")
    // overall, c:USD, c:EUR, b:USD/card/visa, b:EUR/card/visa, two full contexts
    expect(state.counters.size).toBe(7)
    const before = AdaptiveRouting.estimate(state, "a", usd).samples
    expect(before).toBeLessThan(101) // discounted: at most memory
    // 1,000 observations of another gateway: a's evidence has faded to almost nothing
    for (let i = 0; i < 1_000; i++) AdaptiveRouting.observe(state, usd, "b", "declined")
    expect(AdaptiveRouting.estimate(state, "a", usd).samples).toBeLessThan(before * 1e-3)
    expect(state.counters.size).toBe(11)
  })

  it("a counter made after a context was first met is read from that context too (the caches follow the state)", () => {
    const state = AdaptiveRouting.make()
    const gbp: AdaptiveRouting.Context = { currency: "GBP", method: "card", brand: "visa", band: 2 }
    const usdContext = AdaptiveRouting.contextOf(usd)
    // GBP met before a has any counter
    expect(AdaptiveRouting.estimateContext(state, "a", gbp).samples).toBe(0)
    AdaptiveRouting.observeCounts(state, "a", usdContext, 5, 1)
    // a's overall counter, made by the USD observation, is a's in GBP as well
    expect(AdaptiveRouting.estimateContext(state, "a", gbp).samples).toBe(6)
  })

  it("a probe marks the counter of the state: once from one context, not again from another", () => {
    const state = AdaptiveRouting.make({ probeInterval: 10 })
    const gbp: AdaptiveRouting.Context = { currency: "GBP", method: "card", brand: "visa", band: 2 }
    const usdContext = AdaptiveRouting.contextOf(usd)
    const ab = [{ id: "a" }, { id: "b" }]
    AdaptiveRouting.observeCounts(state, "b", usdContext, 1, 1)
    AdaptiveRouting.observeCounts(state, "a", usdContext, 20, 0)
    expect(AdaptiveRouting.choose(state, usdContext, ab, [], 0, false)[0]!.id).toBe("a")
    // b, unseen for 20 observations, is probed from GBP...
    expect(AdaptiveRouting.choose(state, gbp, ab, [], 0)[0]!.id).toBe("b")
    expect(state.counters.get("b|overall")!.seen).toBe(state.tick)
    // ...and not again, from USD either
    expect(AdaptiveRouting.choose(state, usdContext, ab, [], 0)[0]!.id).toBe("a")
  })

  it("past the caches' bound (4,096 contexts and gateways) they are emptied and rebuilt: the estimates stay those of the state", () => {
    const state = AdaptiveRouting.make({ memories: [] })
    const usdContext = AdaptiveRouting.contextOf(usd)
    AdaptiveRouting.observeCounts(state, "a", usdContext, 3, 1)
    const before = AdaptiveRouting.estimateContext(state, "a", usdContext)
    // 5,000 brands (as a store could hand over): more contexts than the caches keep
    for (let i = 0; i < 5_000; i++) {
      const context = { ...usdContext, brand: `brand${i}` }
      expect(AdaptiveRouting.estimateContext(state, "b", context).samples).toBe(i)
      AdaptiveRouting.observeCounts(state, "b", context, 0, 1)
    }
    // a is unchanged apart from the pooled rate of all gateways, its prior: its counts are the same
    const after = AdaptiveRouting.estimateContext(state, "a", usdContext)
    expect(after.samples).toBe(before.samples)
    expect(after.samples).toBe(4)
    expect(AdaptiveRouting.estimateContext(state, "b", { ...usdContext, brand: "brand0" }).samples).toBe(5_000)
  })

  it("observeCounts adds a batch exactly as the same outcomes one by one", () => {
    // one memory: the batch's only difference is the discount within it
    const one = AdaptiveRouting.make({ memory: 2_500, memories: [] })
    const batch = AdaptiveRouting.make({ memory: 2_500, memories: [] })
    for (let i = 0; i < 30; i++) AdaptiveRouting.observe(one, usd, "a", "approved")
    for (let i = 0; i < 10; i++) AdaptiveRouting.observe(one, usd, "a", "declined")
    AdaptiveRouting.observeCounts(batch, "a", AdaptiveRouting.contextOf(usd), 30, 10)
    const x = AdaptiveRouting.estimate(one, "a", usd)
    const y = AdaptiveRouting.estimate(batch, "a", usd)
    // the batch arrives at once: no discount within it, so it weighs a little more
    expect(y.samples).toBe(40)
    expect(y.samples - x.samples).toBeGreaterThan(0)
    expect(y.samples - x.samples).toBeLessThan(40 * (1 - (1 - 1 / 2_500) ** 40))
    expect(Math.abs(x.rate - y.rate)).toBeLessThan(0.002)
    expect(one.tick).toBe(batch.tick)
  })

  it.effect("a gateway confidently worse gets no traffic beyond its probes; the same seed, the same choices", () =>
    Effect.gen(function*() {
      // two gateways, 92% and 70%, the router learning from what it picks
      const run = (settings: AdaptiveRouting.Options) =>
        Effect.gen(function*() {
          const router = yield* adaptive(settings)
          const picks: Array<string> = []
          for (let t = 0; t < 12_000; t++) {
            const first = (yield* router.rank(usd, [a, b]))[0]!.id
            picks.push(first)
            const approved = (yield* Random.next) < (first === "a" ? 0.92 : 0.7)
            yield* router.observe(usd, first, approved ? "approved" : "declined")
          }
          return picks
        }).pipe(Effect.withRandom(Random.make(11)))
      const picks = yield* run({})
      const late = picks.slice(4_000).filter((id) => id === "b").length
      // after the first 4,000 payments: one probe per probeInterval (1,000), almost nothing else
      expect(late).toBeLessThanOrEqual(8 + 3)
      const early = picks.slice(0, 4_000).filter((id) => id === "b").length
      expect(early).toBeGreaterThan(5) // it was learned, not ignored
      // without probes: a handful of draws at most (while a short memory, uncertain about b, weighs in)
      expect((yield* run({ probeInterval: Infinity })).slice(4_000).filter((id) => id === "b").length).toBeLessThanOrEqual(8)
      expect(yield* run({})).toEqual(picks)
    }))

  it("empirical Bayes: contexts that agree are pooled, contexts that differ are kept apart", () => {
    const context = (currency: string, brand: string, band: number): AdaptiveRouting.Context => ({ currency, method: "card", brand, band })
    const fill = (state: AdaptiveRouting.State, rates: ReadonlyArray<number>) => {
      const cells = [context("USD", "visa", 1), context("USD", "mastercard", 1), context("EUR", "visa", 1), context("EUR", "mastercard", 1)]
      cells.forEach((cell, i) => {
        for (let j = 0; j < 100; j++) {
          const ok = (j * rates[i]!) % 1 + rates[i]! >= 1 // an even spread of rates[i]
          AdaptiveRouting.observeCounts(state, "a", cell, ok ? 10 : 0, ok ? 0 : 10)
        }
      })
      // a thin context: 5 observations, 4 approved
      AdaptiveRouting.observeCounts(state, "a", context("GBP", "amex", 2), 4, 1)
      return AdaptiveRouting.estimateContext(state, "a", context("GBP", "amex", 2))
    }
    const agree = fill(AdaptiveRouting.make({ memories: [] }), [0.9, 0.9, 0.9, 0.9])
    const differ = fill(AdaptiveRouting.make({ memories: [] }), [0.98, 0.7, 0.75, 0.97])
    // agreeing contexts: the thin one is the gateway's rate, as certain as the gateway's
    expect(Math.abs(agree.rate - 0.9)).toBeLessThan(0.015)
    expect(agree.deviation).toBeLessThan(0.005)
    // differing contexts: the thin one borrows little and stays uncertain
    expect(differ.deviation).toBeGreaterThan(4 * agree.deviation)
  })

  it("memories: a stationary gateway is read with the longest; after a step a short one takes over", () => {
    const state = AdaptiveRouting.make()
    const usdContext = AdaptiveRouting.contextOf(usd)
    for (let i = 0; i < 10_000; i++) AdaptiveRouting.observeCounts(state, "a", usdContext, i % 10 === 0 ? 0 : 1, i % 10 === 0 ? 1 : 0)
    const stationary = AdaptiveRouting.memoryWeights(state)
    expect(state.memories.at(-1)).toBe(Infinity)
    expect(stationary.at(-1)).toBeGreaterThan(0.5)
    // a now approves 60%
    for (let i = 0; i < 300; i++) AdaptiveRouting.observeCounts(state, "a", usdContext, i % 5 < 3 ? 1 : 0, i % 5 < 3 ? 0 : 1)
    const after = AdaptiveRouting.memoryWeights(state)
    expect(after[0]! + after[1]!).toBeGreaterThan(0.5)
    // most of the way from 90% to 60% within 300 observations
    expect(AdaptiveRouting.estimate(state, "a", usd).rate).toBeLessThan(0.75)
  })

  it("memories are weighed per gateway: a step of one gateway moves its own weights to a short memory first", () => {
    const state = AdaptiveRouting.make()
    const usdContext = AdaptiveRouting.contextOf(usd)
    const see = (g: string, ok: boolean) => AdaptiveRouting.observeCounts(state, g, usdContext, ok ? 1 : 0, ok ? 0 : 1)
    for (let i = 0; i < 6_000; i++) see(i % 3 === 0 ? "a" : i % 3 === 1 ? "b" : "c", i % 10 !== 0)
    // a drops from 90% to 60%; b and c carry on
    for (let i = 0; i < 100; i++) {
      see("a", i % 5 < 3)
      see("b", i % 10 !== 0)
      see("c", i % 10 !== 0)
    }
    const short = (w: ReadonlyArray<number>) => w[0]! + w[1]!
    expect(short(AdaptiveRouting.memoryWeights(state, "a"))).toBeGreaterThan(0.5)
    expect(short(AdaptiveRouting.memoryWeights(state, "a"))).toBeGreaterThan(short(AdaptiveRouting.memoryWeights(state, "b")) + 0.2)
    expect(AdaptiveRouting.estimate(state, "a", usd).rate).toBeLessThan(0.76)
  })

  it("recentExploration: while gateways are seen to change, one seen little lately is drawn again; not while nothing changes", () => {
    // b: 2,000 outcomes at 85% long ago; then a and c at 90% for 20,000; then 1,000 more each, c
    // dropping to 60% (changing) or carrying on. How often b's draw beats a's (draws alone:
    // exploration ~0 and no floor, so only recentExploration widens them; no probes)
    const winsOfB = (recentExploration: number, changing: boolean) => {
      const state = AdaptiveRouting.make({ recentExploration, exploration: 1e-9, explorationFloor: 0 })
      const usdContext = AdaptiveRouting.contextOf(usd)
      const see = (g: string, i: number, per20: number) =>
        AdaptiveRouting.observeCounts(state, g, usdContext, i % 20 < per20 ? 1 : 0, i % 20 < per20 ? 0 : 1)
      for (let i = 0; i < 2_000; i++) see("b", i, 17)
      for (let i = 0; i < 20_000; i++) see(i % 2 === 0 ? "a" : "c", i >> 1, 18)
      for (let i = 0; i < 1_000; i++) {
        see("a", i, 18)
        see("c", i, changing ? 12 : 18)
      }
      let wins = 0
      for (let i = 0; i < 4_000; i++) {
        const u = [((i * 7_919) % 4_000 + 0.5) / 4_000, ((i * 104_729) % 4_000 + 0.5) / 4_000]
        if (AdaptiveRouting.choose(state, usdContext, [a, b], u, undefined, false)[0]!.id === "b") wins++
      }
      return wins / 4_000
    }
    expect(winsOfB(1, true)).toBeGreaterThan(0.01)
    expect(winsOfB(0, true)).toBe(0)
    expect(winsOfB(1, false)).toBe(0)
    expect(winsOfB(0, false)).toBe(0)
  })

  it("a gateway's prior is the pooled rate of all gateways: two declines do not write it off", () => {
    const run = (gatewayPooling: number) => {
      const state = AdaptiveRouting.make({ gatewayPooling })
      const usdContext = AdaptiveRouting.contextOf(usd)
      AdaptiveRouting.observeCounts(state, "a", usdContext, 90, 10)
      AdaptiveRouting.observeCounts(state, "b", usdContext, 0, 2)
      return AdaptiveRouting.estimate(state, "b", usd)
    }
    // Beta(1, 1) alone: mean 0.25, and a Thompson draw almost never beats a's 0.9
    expect(run(0).rate).toBeLessThan(0.3)
    // 30 pseudo-observations at the pooled rate (about 0.88) in the longest memory, which the
    // shorter ones borrow from: b stays worth trying
    expect(run(30).rate).toBeGreaterThan(0.55)
    expect(AdaptiveRouting.defaults.gatewayPooling).toBe(30)
  })

  it.effect("observe is a no-op for the strategies that do not learn", () =>
    Effect.gen(function*() {
      const metrics = yield* GatewayMetrics.make()
      const router = yield* Router.make({ strategy: "HIGHEST_SUCCESS_RATE" }).pipe(
        Effect.provideService(GatewayMetrics.GatewayMetrics, metrics)
      )
      for (let i = 0; i < 50; i++) yield* router.observe(usd, "a", "declined")
      expect((yield* router.rank(usd, all)).map((g) => g.id)).toEqual(["a", "b", "c"])
      const registration = yield* Effect.provide(Router.Router, Router.layerRegistrationOrder)
      yield* registration.observe(usd, "a", "error")
      expect((yield* registration.rank(usd, [c, b, a])).map((g) => g.id)).toEqual(["c", "b", "a"])
    }))
})

/** The error function (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7). */
const erf = (x: number) => {
  const t = 1 / (1 + 0.3275911 * Math.abs(x))
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x)
  return x >= 0 ? y : -y
}
