/**
 * A facade program and an Effect program share one database: the same payments, the same vault
 * keys (a card tokenized by one is revealed to the other's gateway). On one embedded data
 * directory used in turn (the facade's generated development keys included), and on PostgreSQL
 * at the same time (skipped without DATABASE_URL).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { ConfigProvider, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { GatewayRegistry, PaymentService } from "aegispay"
import { AegisPayEmbedded } from "aegispay/embedded"
import { AegisPay, type KeysInput } from "aegispay/facade"
import { AegisPayPg } from "aegispay/pg"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { cardRequest, freshKeys, ledgerGateway } from "./support.js"

const keysProvider = (keys: KeysInput) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
    ["AEGISPAY_KEK", keys.kek],
    ["AEGISPAY_KEK_ID", keys.kekId],
    ["AEGISPAY_FINGERPRINT_KEY", keys.fingerprintKey]
  ])))

const nextWarning = () => new Promise<Error>((resolve) => process.once("warning", resolve))

describe("a facade program and an Effect program on one embedded data directory, in turn", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "aegispay-facade-"))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it("development keys are generated into the data directory once, and both programs use them", async () => {
    // 1. the facade, development mode, no keys: generated into the data directory, loudly
    const warned = nextWarning()
    const first = new AegisPay({ mode: "development", storage: { kind: "embedded", dataDir }, workers: false })
    const warning = await warned
    expect(warning.message).toMatch(/DEVELOPMENT KEYS.*generated into .*aegispay-dev-keys\.json.*Never use this in production/)
    const file = join(dataDir, "aegispay-dev-keys.json")
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const house = ledgerGateway()
    await first.registerGateway("house", house.gateway)
    const p1 = await first.createPayment(cardRequest("shared-1", { amount: "20.00" }))
    expect((await first.processPayment({ paymentId: p1.id })).state).toBe("SUCCESS")
    await first.close()

    // 2. an Effect program on the same directory with the same keys: sees it, creates another
    const keys: KeysInput = JSON.parse(readFileSync(file, "utf8"))
    const p2 = await Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const seen = yield* payments.getPayment(p1.id)
      expect(seen.state).toBe("SUCCESS")
      expect(seen.capturedAmount.minor).toBe(2000n)
      return yield* payments.createPayment(cardRequest("shared-2", { amount: "30.00" }))
    }).pipe(
      Effect.provide(AegisPayEmbedded.layer({ gateways: GatewayRegistry.layerFrom([]), dataDir, recovery: false, retention: false })),
      Effect.provide(keysProvider(keys)),
      Effect.scoped,
      Effect.runPromise
    )

    // 3. the facade again: keys re-read (still loudly), the Effect program's payment charged by the
    // facade's gateway with the card the Effect program vaulted
    const rewarned = nextWarning()
    const second = new AegisPay({ mode: "development", storage: { kind: "embedded", dataDir }, workers: false })
    expect((await rewarned).message).toMatch(/read from .*aegispay-dev-keys\.json/)
    try {
      const house2 = ledgerGateway()
      await second.registerGateway("house", house2.gateway)
      expect((await second.getPayment(p2.id)).state).toBe("INITIATED")
      const done = await second.processPayment({ paymentId: p2.id })
      expect(done.state).toBe("SUCCESS")
      expect([...house2.charges.values()][0]).toMatchObject({ minor: 3000n, cardNumber: "4242424242424242" })
      const page = await second.getCustomerPayments("cus_ada")
      expect(page.items.map((p) => p.id).sort()).toEqual([p1.id, p2.id].sort())
    } finally {
      await second.close()
    }
  }, 180_000)
})

describe.skipIf(databaseUrl === undefined)("a facade program and an Effect program on one PostgreSQL database, at once", () => {
  const urlOf = useTestDatabase("facade_shared")

  it("each sees and settles the other's payments", async () => {
    const keys = freshKeys()
    const schema = "facade_shared"
    const facade = new AegisPay({ mode: "production", storage: { kind: "postgres", url: urlOf(), schema, maxConnections: 3 }, keys })
    const effect = ManagedRuntime.make(
      AegisPayPg.layer({
        gateways: GatewayRegistry.layerFrom([]),
        url: Redacted.make(urlOf()),
        schema,
        maxConnections: 3,
        recovery: false,
        retention: false
      }).pipe(Layer.provide(keysProvider(keys)))
    )
    try {
      const house = ledgerGateway()
      await facade.registerGateway("house", house.gateway)
      const p1 = await facade.createPayment(cardRequest("pg-shared-1", { amount: "20.00" }))
      expect((await facade.processPayment({ paymentId: p1.id })).state).toBe("SUCCESS")

      const p2 = await effect.runPromise(Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        expect((yield* payments.getPayment(p1.id)).state).toBe("SUCCESS")
        return yield* payments.createPayment(cardRequest("pg-shared-2", { amount: "30.00" }))
      }))
      const done = await facade.processPayment({ paymentId: p2.id })
      expect(done.state).toBe("SUCCESS")
      expect(house.charges.size).toBe(2)
      expect([...house.charges.values()].map((c) => c.cardNumber)).toEqual(["4242424242424242", "4242424242424242"])
      const seen = await effect.runPromise(Effect.flatMap(PaymentService.PaymentService, (p) => p.getPayment(p2.id)))
      expect(seen.state).toBe("SUCCESS")
      expect(seen.version).toBe(done.version)
    } finally {
      await facade.close()
      await effect.dispose()
    }
  }, 180_000)
})
