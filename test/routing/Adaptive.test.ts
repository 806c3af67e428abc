import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Either, Random, Schema } from "effect"
import { stubGateway } from "../helpers.js"
import { AdaptiveRouting, Customer, GatewayMetrics, Money, Payment, PaymentMethod, Router } from "aegispay"

const gateway = stubGateway
const [a, b, c] = [gateway("a"), gateway("b"), gateway("c")]
const all = [a, b, c]

const payment = (currency: "USD" | "EUR" = "USD", brand: PaymentMethod.CardBrand = "visa") =>
  Payment.initiate({
    id: `pay_${currency}_${brand}`,
    tenantId: "acme",
    idempotencyKey: "k",
    requestFingerprint: "f",
    amount: Either.getOrThrow(Money.fromDecimalString("10.00", currency)),
    captureMethod: "automatic",
    paymentMethod: new PaymentMethod.CardToken({
      type: "card",
      brand,
      bin: "424242",
      last4: "4242",
      expiryMonth: 12,
      expiryYear: 2099,
      holderName: "A",
      fingerprint: "fp",
      vaultToken: "t"
    }),
    customer: new Customer.Customer({ id: "c", email: Schema.decodeSync(Customer.Email)("a@example.com") }),
    metadata: {}
  }, DateTime.unsafeMake(0)).payment

const usd = payment("USD")
const eur = payment("EUR")

/** A router with the given ADAPTIVE settings (its GatewayMetrics is unused by ADAPTIVE). */
const adaptive = (settings: AdaptiveRouting.Config = {}) =>
  Effect.flatMap(GatewayMetrics.make(), (metrics) =>
    Router.make({ strategy: "ADAPTIVE", adaptive: settings }).pipe(
      Effect.provideService(GatewayMetrics.GatewayMetrics, metrics)
    ))

type RouterService = Effect.Effect.Success<ReturnType<typeof adaptive>>

/** Feeds `approved` approvals then `failed` declines of `p` at `gateway`, interleaved evenly. */
const feed = (router: RouterService, p: Payment.Payment, gateway: string, approved: number, failed: number) =>
  Effect.gen(function*() {
    const total = approved + failed
    for (let i = 0; i < total; i++) {
      // Bresenham-style spread: the running share of approvals stays close to approved/total
      const ok = Math.floor(((i + 1) * approved) / total) > Math.floor((i * approved) / total)
      yield* router.observe(p, gateway, ok ? "approved" : "declined")
    }
  })

const firstOf = (router: RouterService, p: Payment.Payment) => Effect.map(router.rank(p, all), (r) => r[0]!.id)
const idsOf = (router: RouterService, p: Payment.Payment) => Effect.map(router.rank(p, all), (r) => r.map((g) => g.id))

describe("ADAPTIVE routing", () => {
  it.effect("ranks the best gateway per dimension first: a for EUR, b for USD", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ explorationShare: 0 })
      yield* feed(router, eur, "a", 95, 5)
      yield* feed(router, usd, "a", 60, 40)
      yield* feed(router, eur, "b", 60, 40)
      yield* feed(router, usd, "b", 95, 5)
      yield* feed(router, eur, "c", 75, 25)
      yield* feed(router, usd, "c", 75, 25)
      expect(yield* idsOf(router, eur)).toEqual(["a", "c", "b"])
      expect(yield* idsOf(router, usd)).toEqual(["b", "c", "a"])
    }))

  it.effect("combines dimensions: a gateway strong on one card brand wins that brand", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ explorationShare: 0 })
      const usdAmex = payment("USD", "amex")
      yield* feed(router, usd, "a", 90, 10)
      yield* feed(router, usdAmex, "a", 70, 30)
      yield* feed(router, usd, "b", 85, 15)
      yield* feed(router, usdAmex, "b", 95, 5)
      yield* feed(router, usd, "c", 50, 50)
      yield* feed(router, usdAmex, "c", 50, 50)
      expect(yield* firstOf(router, usd)).toBe("a")
      expect(yield* firstOf(router, usdAmex)).toBe("b")
      // a segment never seen (EUR) is estimated from the dimensions that were: the brand
      expect(yield* firstOf(router, payment("EUR", "amex"))).toBe("b")
      expect(yield* firstOf(router, payment("EUR", "visa"))).toBe("a")
    }))

  it.effect("an untried gateway goes first (optimistic prior), so it is learned", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ explorationShare: 0 })
      yield* feed(router, usd, "a", 90, 10)
      yield* feed(router, usd, "b", 80, 20)
      expect(yield* idsOf(router, usd)).toEqual(["c", "a", "b"])
      yield* feed(router, usd, "c", 50, 50)
      expect(yield* idsOf(router, usd)).toEqual(["a", "b", "c"])
    }))

  it.effect("eliminates a gateway whose recent approval rate is below the threshold: last, not dropped", () =>
    Effect.gen(function*() {
      const router = yield* adaptive({ explorationShare: 0, minSamples: 20, eliminationThreshold: 0.4 })
      yield* feed(router, usd, "a", 195, 5) // long history of 97.5%
      yield* feed(router, usd, "b", 80, 20)
      yield* feed(router, usd, "c", 70, 30)
      expect(yield* idsOf(router, usd)).toEqual(["a", "b", "c"])
      // a's last 20 calls: 6 approvals (30% < 40%); its long window still says ~88%, above b and c
      yield* feed(router, usd, "a", 6, 14)
      const est = yield* Effect.sync(() => {
        const state = AdaptiveRouting.make({ minSamples: 20, eliminationThreshold: 0.4 })
        for (let i = 0; i < 195; i++) AdaptiveRouting.observe(state, usd, "a", "approved")
        for (let i = 0; i < 20; i++) AdaptiveRouting.observe(state, usd, "a", i < 6 ? "approved" : "declined")
        return AdaptiveRouting.estimate(state, "a", usd)
      })
      expect(est.rate).toBeGreaterThan(0.85)
      expect(est.eliminated).toBe(true)
      expect(yield* idsOf(router, usd)).toEqual(["b", "c", "a"])
      // 8 of its next 20 approved (40%, not below): back in the race, ranked by its estimate
      yield* feed(router, usd, "a", 8, 12)
      expect((yield* idsOf(router, usd))[2]).not.toBe("a")
    }))

  it.effect("the exploration share is the configured share, from the seeded Random, uniform over the others", () =>
    Effect.gen(function*() {
      const draws = (seed: number, share: number) =>
        Effect.gen(function*() {
          const router = yield* adaptive({ explorationShare: share })
          yield* feed(router, usd, "a", 90, 10)
          yield* feed(router, usd, "b", 80, 20)
          yield* feed(router, usd, "c", 70, 30)
          const firsts: Array<string> = []
          for (let i = 0; i < 10_000; i++) firsts.push(yield* firstOf(router, usd))
          return firsts
        }).pipe(Effect.withRandom(Random.make(seed)))
      for (const share of [0.03, 0.1]) {
        const firsts = yield* draws(1, share)
        const count = (id: string) => firsts.filter((x) => x === id).length
        const explored = 10_000 - count("a")
        // binomial(10,000, share): 4 standard deviations either side
        const sd = Math.sqrt(10_000 * share * (1 - share))
        expect(Math.abs(explored - 10_000 * share)).toBeLessThan(4 * sd)
        expect(Math.abs(count("b") - count("c"))).toBeLessThan(4 * Math.sqrt(explored))
      }
      // the same seed gives the same choices; another seed other ones
      expect(yield* draws(7, 0.1)).toEqual(yield* draws(7, 0.1))
      expect(yield* draws(7, 0.1)).not.toEqual(yield* draws(8, 0.1))
      // no exploration: always the best
      expect(new Set(yield* draws(1, 0))).toEqual(new Set(["a"]))
    }))

  // a is best, fails completely for a while, then recovers; the router picks a gateway per
  // payment (exploration included) and learns only from what it picked
  it.effect("notices a recovery through exploration and gives the gateway its first place back", () =>
    Effect.gen(function*() {
      const leaderAt = (checkpoints: ReadonlyArray<number>, settings: AdaptiveRouting.Config) =>
        Effect.gen(function*() {
          const router = yield* adaptive(settings)
          const rate = (id: string, t: number) => (id === "a" ? (t >= 3_000 && t < 5_000 ? 0 : 0.95) : id === "b" ? 0.8 : 0.7)
          const leaders: Array<string> = []
          for (let t = 0; t < 12_000; t++) {
            const first = yield* firstOf(router, usd)
            const approved = (yield* Random.next) < rate(first, t)
            yield* router.observe(usd, first, approved ? "approved" : "error")
            // the leader: what exploitation puts first (ranking without exploration)
            if (checkpoints.includes(t)) leaders.push(yield* firstOf(router, usd).pipe(Effect.withRandom(Random.fixed([0.999]))))
          }
          return leaders
        }).pipe(Effect.withRandom(Random.make(42)))
      // a leads, loses the lead during its outage, and regains it after recovering
      expect(yield* leaderAt([2_999, 4_999, 11_999], {})).toEqual(["a", "b", "a"])
      // without exploration the recovery is never noticed: b keeps the lead
      expect(yield* leaderAt([2_999, 4_999, 11_999], { explorationShare: 0 })).toEqual(["a", "b", "b"])
    }))

  it("windows are bounded and forget outcomes older than the horizon", () => {
    const state = AdaptiveRouting.make({ windowSize: 50, horizon: 100, minSamples: 5 })
    for (let i = 0; i < 1_000; i++) AdaptiveRouting.observe(state, i % 2 === 0 ? usd : eur, "a", "approved")
    const overall = state.windows.get("a|overall")!
    expect(overall.count).toBe(50)
    expect(overall.outcomes.length).toBe(50)
    // a|overall, a|recent, a|currency:USD, a|currency:EUR, a|method:card, a|brand:visa, two segments
    expect(state.windows.size).toBe(8)
    // 100 observations of another gateway: every outcome of a is now older than the horizon
    for (let i = 0; i < 100; i++) AdaptiveRouting.observe(state, usd, "b", "declined")
    expect(AdaptiveRouting.estimate(state, "a", usd)).toEqual({ rate: 1, samples: 0, eliminated: false })
    expect(AdaptiveRouting.estimate(state, "b", usd).samples).toBe(50)
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
