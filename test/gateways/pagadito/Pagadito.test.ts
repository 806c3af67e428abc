/**
 * The Pagadito adapter against the fake Pagadito over real HTTP: the connection tokens, the
 * checkout flow (registered → the customer pays → complete), pending payments, expiry and
 * cancellation, what exec_trans is sent, the error table, malformed answers and timeouts. No
 * Pagadito call moves money, so nothing is ever an unknown outcome except VERIFYING without
 * allow-pending; nothing is ever a defect.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, DateTime, Effect, Exit, Layer, Option, Redacted } from "effect"
import type { Gateway} from "aegispay";
import { GatewayRegistry, Money, PaymentMethod } from "aegispay"
import { Pagadito } from "aegispay/gateways"
import type { FakePagadito } from "aegispay/testing/fakes"
import { charge, HttpLive, setup, usd } from "./support.js"

/** The typed failure of an exit (a defect or interruption fails the test). */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

const connects = (fake: FakePagadito.FakePagadito) =>
  Effect.map(fake.requests, (requests) => requests.filter((r) => r.operation === "connect").length)

/** initiate then process, as the orchestration does for a `statusLookup: "reference"` gateway. */
const register = (gateway: Gateway.Gateway, request: ReturnType<typeof charge>) =>
  Effect.gen(function*() {
    const { reference } = yield* gateway.initiate(request)
    const answer = yield* gateway.process({ ...request, reference })
    if (answer.status !== "action_required") throw new Error(`expected action_required, got ${answer.status}`)
    return answer
  })

describe("Pagadito adapter", () => {
  it.scoped("capabilities: checkout only, no manual capture, status by reference, Pagadito's currencies", () =>
    Effect.gen(function*() {
      const { gateway } = yield* setup()
      expect(gateway.id).toBe("pagadito")
      expect(gateway.capabilities).toEqual({
        currencies: ["USD", "GTQ", "HNL", "NIO", "CRC", "PAB", "DOP"],
        manualCapture: false,
        paymentMethods: ["checkout"],
        statusLookup: "reference"
      })
      expect(gateway.customerAction).toBeDefined()
      expect(gateway.webhooks).toBeDefined()
      const restricted = yield* setup({ currencies: ["USD"] })
      expect(restricted.gateway.capabilities.currencies).toEqual(["USD"])
      const bad = yield* Effect.exit(setup({ currencies: ["EUR"] as unknown as ReadonlyArray<Pagadito.PagaditoCurrency> }))
      expect(failureOf(bad)).toMatchObject({ _tag: "GatewayMisconfigured" })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("initiate → process: one connect per transaction, the checkout URL, an expiry after Pagadito's 10 minutes", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const before = yield* DateTime.now
      const answer = yield* register(gateway, request)
      expect(answer.action).toEqual({ type: "redirect", url: expect.stringContaining(`/comercios/index.php?mod=login&token=${answer.reference}`) })
      // the URL arrives URL-encoded and is decoded
      expect(answer.action.type === "redirect" && answer.action.url.includes("%")).toBe(false)
      expect(answer.expiresAt).toBeDefined()
      expect(DateTime.distance(before, answer.expiresAt ?? before)).toBeGreaterThanOrEqual(15 * 60_000)
      const transaction = yield* fake.transaction(answer.reference)
      expect(Option.map(transaction, (t) => t.status)).toEqual(Option.some("REGISTERED"))
      // a second payment gets its own connection: the token is the transaction's
      const second = yield* register(gateway, charge())
      expect(second.reference).not.toBe(answer.reference)
      expect(yield* connects(fake)).toBe(2)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("process without a reference connects itself (a 0.1 orchestration)", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const answer = yield* gateway.process(charge())
      expect(answer.status).toBe("action_required")
      expect(yield* connects(fake)).toBe(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("status reads share one cached connection (one connect under concurrency) and reconnect when Pagadito refuses it", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { reference } = yield* register(gateway, charge())
      const base = yield* connects(fake)
      const results = yield* Effect.all(
        Array.from({ length: 8 }, () => gateway.getStatus({ idempotencyKey: "k", reference })),
        { concurrency: "unbounded" }
      )
      expect(results.every((r) => r.status === "action_required")).toBe(true)
      expect(yield* connects(fake)).toBe(base + 1)
      // the token expires at Pagadito: PG3007, one reconnect, the read succeeds
      yield* fake.expireConnections
      const after = yield* gateway.getStatus({ idempotencyKey: "k", reference })
      expect(after.status).toBe("action_required")
      expect(yield* connects(fake)).toBe(base + 2)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("the customer pays: complete reads COMPLETED → charged with Pagadito's reference number", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* register(gateway, request)
      const complete = gateway.customerAction!.complete
      const params = yield* fake.returnParams(reference)
      // back before paying: still waiting, same checkout
      const waiting = yield* complete({ ...request, reference, params })
      expect(waiting).toMatchObject({ status: "action_required", reference })
      yield* fake.pay(reference)
      const paid = yield* complete({ ...request, reference, params })
      const transaction = Option.getOrThrow(yield* fake.transaction(reference))
      expect(paid).toEqual({ status: "succeeded", transactionId: transaction.reference, reference })
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toEqual({
        status: "succeeded",
        transactionId: transaction.reference
      })
      // a token the customer brought back is not believed over the recorded reference
      const other = yield* register(gateway, charge())
      const again = yield* complete({ ...request, reference, params: { token: other.reference } })
      expect(again.status).toBe("succeeded")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("VERIFYING with allow-pending: pending, then COMPLETED (or REVOKED) by status", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({ checkout: { allowPending: true } })
      const { reference } = yield* register(gateway, request)
      yield* fake.pay(reference, { pending: true })
      const complete = gateway.customerAction!.complete
      expect(yield* complete({ ...request, reference, params: {} })).toMatchObject({ status: "pending", reference })
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "pending", reference })
      yield* fake.approve(reference)
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "succeeded" })

      const revoked = charge({ checkout: { allowPending: true } })
      const second = yield* register(gateway, revoked)
      yield* fake.pay(second.reference, { pending: true })
      yield* fake.revoke(second.reference)
      expect(yield* gateway.getStatus({ idempotencyKey: revoked.idempotencyKey, reference: second.reference })).toMatchObject({
        status: "failed",
        code: "revoked"
      })
      const exit = yield* Effect.exit(complete({ ...revoked, reference: second.reference, params: {} }))
      expect(failureOf(exit)).toMatchObject({ _tag: "GatewayDeclined", code: "revoked" })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("VERIFYING for a payment that did not allow pending results: complete answers an unknown outcome", () =>
    Effect.gen(function*() {
      const { fake, gateway, settings } = yield* setup()
      const request = charge({ checkout: { allowPending: true } })
      const { reference } = yield* register(gateway, request)
      yield* fake.pay(reference, { pending: true })
      // another process (a restart) that does not know this transaction allowed pending, nor does its default
      const restarted = yield* Pagadito.make({ ...settings, allowPending: false })
      const exit = yield* Effect.exit(restarted.customerAction!.complete({ ...request, reference, params: {} }))
      expect(failureOf(exit)).toMatchObject({ _tag: "GatewayUnknownOutcome", operation: "complete" })
      // the status itself is the truth: pending
      expect(yield* restarted.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toMatchObject({ status: "pending" })
      // with the adapter's default allowing pending, the same read is pending
      const allowing = yield* Pagadito.make({ ...settings, allowPending: true })
      expect(yield* allowing.customerAction!.complete({ ...request, reference, params: {} })).toMatchObject({ status: "pending" })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("expiry: cancel re-reads the status; failed only for CANCELED, EXPIRED, FAILED, REVOKED or never registered", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const cancel = gateway.customerAction!.cancel
      const waiting = charge()
      const a = yield* register(gateway, waiting)
      // still waiting at Pagadito: not failed, ask again later
      expect(yield* cancel({ ...waiting, reference: a.reference })).toMatchObject({ status: "action_required" })
      yield* fake.expire(a.reference)
      expect(yield* cancel({ ...waiting, reference: a.reference })).toMatchObject({ status: "failed", code: "expired" })

      const late = charge()
      const b = yield* register(gateway, late)
      yield* fake.pay(b.reference)
      // paid just before the expiry: the payment settles with the charge
      expect(yield* cancel({ ...late, reference: b.reference })).toMatchObject({ status: "succeeded" })

      const abandoned = charge()
      const c = yield* register(gateway, abandoned)
      yield* fake.cancel(c.reference)
      expect(yield* cancel({ ...abandoned, reference: c.reference })).toMatchObject({ status: "failed", code: "canceled" })
      const declined = yield* Effect.exit(gateway.customerAction!.complete({ ...abandoned, reference: c.reference, params: {} }))
      expect(failureOf(declined)).toMatchObject({ _tag: "GatewayDeclined", code: "canceled" })

      const failing = charge()
      const d = yield* register(gateway, failing)
      yield* fake.fail(d.reference)
      expect(yield* gateway.getStatus({ idempotencyKey: failing.idempotencyKey, reference: d.reference })).toMatchObject({
        status: "failed",
        code: "failed"
      })

      // a token Pagadito never registered, or no token at all: not found
      const { reference: unused } = yield* gateway.initiate(charge())
      expect(yield* cancel({ ...failing, reference: unused })).toEqual({ status: "not_found" })
      expect(yield* gateway.getStatus({ idempotencyKey: "x" })).toEqual({ status: "not_found" })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("exec_trans is sent as specified: ERN, exact amount, details, custom parameters, currency, allow-pending", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({
        amount: usd(3050n),
        checkout: {
          externalReference: "ORDER-1001",
          allowPending: true,
          lineItems: [
            { quantity: 2, description: "Café \"Pacamara\" 1 lb", price: usd(1000n), url: "https://shop.example/pacamara" },
            { quantity: 1, description: "Envío", price: usd(1050n) }
          ],
          customParams: { customer: "cus_7", channel: "web", extra: "x", dropped: "y" }
        }
      })
      yield* register(gateway, request)
      const requests = yield* fake.requests
      const sent = requests.find((r) => r.operation === "exec_trans")?.form
      expect(sent).toEqual({
        operation: "41216f8caf94aaa598db137e36d4673e",
        token: expect.any(String),
        ern: "ORDER-1001",
        amount: "30.50",
        details:
          "[{\"quantity\":2,\"description\":\"Café \\\"Pacamara\\\" 1 lb\",\"price\":10.00,\"url_product\":\"https://shop.example/pacamara\"},{\"quantity\":1,\"description\":\"Envío\",\"price\":10.50,\"url_product\":\"\"}]",
        custom_params: JSON.stringify({
          param1: request.paymentId,
          param2: request.idempotencyKey,
          param3: "cus_7",
          param4: "web",
          param5: "x"
        }),
        currency: "USD",
        format_return: "json",
        allow_pending_payments: "true"
      })
      const connect = requests.find((r) => r.operation === "connect")?.form
      expect(connect).toEqual({ operation: "f3f191ce3326905ff4403bb05b0de150", uid: fake.uid, wsk: "***", format_return: "json" })

      // no line items: one line of the payment's description and amount; ERN = the payment id
      const plain = charge({ amount: Money.fromMinor("GTQ", 15000n) })
      yield* register(gateway, plain)
      const last = (yield* fake.requests).filter((r) => r.operation === "exec_trans").at(-1)?.form
      expect(last).toMatchObject({
        ern: plain.paymentId,
        amount: "150.00",
        currency: "GTQ",
        details: "[{\"quantity\":1,\"description\":\"Order 1001\",\"price\":150.00,\"url_product\":\"\"}]",
        allow_pending_payments: "false"
      })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("custom parameters can be turned off (when they are not enabled in Pagadito's panel)", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup({ customParams: false })
      yield* register(gateway, charge({ checkout: { customParams: { a: "b" } } }))
      const sent = (yield* fake.requests).find((r) => r.operation === "exec_trans")?.form
      expect(sent?.["custom_params"]).toBe("[]")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("requests Pagadito would refuse are refused before anything is sent", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const refused = [
        charge({ checkout: { lineItems: [{ quantity: 1, description: "x", price: usd(1000n) }] } }),
        charge({ checkout: { lineItems: [{ quantity: 0, description: "x", price: usd(1999n) }] } }),
        charge({ checkout: { lineItems: [{ quantity: 1, description: "x", price: Money.fromMinor("GTQ", 1999n) }] } }),
        charge({ amount: Money.fromMinor("EUR", 1000n) }),
        charge({ capture: false }),
        charge({ paymentMethod: new PaymentMethod.GatewayToken({ type: "gateway_token", gateway: "pagadito", token: "tok" }) })
      ]
      for (const request of refused) {
        expect(failureOf(yield* Effect.exit(gateway.initiate(request)))).toMatchObject({ _tag: "GatewayMisconfigured" })
        expect(failureOf(yield* Effect.exit(gateway.process(request)))).toMatchObject({ _tag: "GatewayMisconfigured" })
      }
      expect(yield* fake.requests).toEqual([])
      expect(failureOf(yield* Effect.exit(gateway.capture({ transactionId: "t", idempotencyKey: "k", amount: usd(1n) })))).toMatchObject({
        _tag: "GatewayMisconfigured"
      })
      expect(failureOf(yield* Effect.exit(gateway.void({ transactionId: "t", idempotencyKey: "k" })))).toMatchObject({
        _tag: "GatewayMisconfigured"
      })
      expect(failureOf(yield* Effect.exit(gateway.refund({ transactionId: "t", idempotencyKey: "k", amount: usd(1n) })))).toMatchObject({
        reason: "refunds are made in the Pagadito panel"
      })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("the error table: codes and HTTP statuses become typed errors, never a defect, never an unknown outcome", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const cases: ReadonlyArray<readonly [FakePagadito.Fault, FakePagadito.Operation, string, Record<string, unknown>]> = [
        [{ _tag: "code", code: "PG3001" }, "connect", "initiate", { _tag: "GatewayMisconfigured" }],
        [{ _tag: "code", code: "PG3005" }, "connect", "initiate", { _tag: "GatewayMisconfigured" }],
        [{ _tag: "code", code: "PG3002" }, "connect", "initiate", { _tag: "GatewayTransientError" }],
        [{ _tag: "code", code: "PG3006" }, "exec_trans", "process", { _tag: "GatewayDeclined", code: "amount_above_maximum" }],
        [{ _tag: "code", code: "PG3009" }, "exec_trans", "process", { _tag: "GatewayDeclined", code: "amount_below_minimum" }],
        [{ _tag: "code", code: "PG3004" }, "exec_trans", "process", { _tag: "GatewayMisconfigured" }],
        [{ _tag: "code", code: "PG3008" }, "exec_trans", "process", { _tag: "GatewayMisconfigured" }],
        [{ _tag: "code", code: "PG2001" }, "exec_trans", "process", { _tag: "GatewayMisconfigured" }],
        [{ _tag: "code", code: "PG3002" }, "exec_trans", "process", { _tag: "GatewayTransientError" }],
        [{ _tag: "code", code: "PG3007" }, "exec_trans", "process", { _tag: "GatewayTransientError" }],
        [{ _tag: "code", code: "PG9999" }, "exec_trans", "process", { _tag: "GatewayTransientError" }],
        [{ _tag: "http", status: 500 }, "exec_trans", "process", { _tag: "GatewayTransientError" }],
        [{ _tag: "http", status: 503 }, "connect", "initiate", { _tag: "GatewayTransientError" }],
        [{ _tag: "http", status: 429 }, "exec_trans", "process", { _tag: "GatewayTransientError" }],
        [{ _tag: "http", status: 404 }, "exec_trans", "process", { _tag: "GatewayMisconfigured" }],
        [{ _tag: "notJson" }, "exec_trans", "process", { _tag: "GatewayTransientError" }],
        [{ _tag: "unexpectedJson" }, "exec_trans", "process", { _tag: "GatewayTransientError" }],
        [{ _tag: "resetBeforeApply" }, "exec_trans", "process", { _tag: "GatewayTransientError" }],
        [{ _tag: "code", code: "PG3002" }, "get_status", "getStatus", { _tag: "GatewayTransientError" }],
        [{ _tag: "notJson" }, "get_status", "getStatus", { _tag: "GatewayTransientError" }],
        [{ _tag: "http", status: 401 }, "get_status", "getStatus", { _tag: "GatewayMisconfigured" }]
      ]
      for (const [fault, operation, call, expected] of cases) {
        const request = charge()
        const { reference } = call === "initiate" ? { reference: "" } : yield* gateway.initiate(request)
        if (call === "getStatus") yield* gateway.process({ ...request, reference })
        yield* fake.inject(fault, operation)
        const run: Effect.Effect<unknown, unknown> = call === "initiate"
          ? gateway.initiate(request)
          : call === "process"
          ? gateway.process({ ...request, reference })
          : gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })
        const exit = yield* Effect.exit(run)
        expect({ fault, operation, error: failureOf(exit) }).toMatchObject({ fault, operation, error: expected })
      }
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("get_status answers that are not understood: an unexpected status, a malformed value", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* register(gateway, request)
      yield* fake.inject({ _tag: "code", code: "PG1003" }, "get_status")
      // PG1003 with no status object
      expect(failureOf(yield* Effect.exit(gateway.getStatus({ idempotencyKey: "k", reference })))).toMatchObject({
        _tag: "GatewayTransientError"
      })
      yield* fake.inject({ _tag: "code", code: "PG1002" }, "get_status")
      expect(failureOf(yield* Effect.exit(gateway.customerAction!.complete({ ...request, reference, params: {} })))).toMatchObject({
        _tag: "GatewayTransientError"
      })
    }).pipe(Effect.provide(HttpLive)))

  it.scopedLive("a timeout on exec_trans, even after Pagadito registered it, is transient; the retry with the same token replays the checkout", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup({ timeout: "300 millis" })
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.inject({ _tag: "timeoutAfterApply" }, "exec_trans")
      const exit = yield* Effect.exit(gateway.process({ ...request, reference }))
      expect(failureOf(exit)).toMatchObject({ _tag: "GatewayTransientError", operation: "process" })
      // registered at Pagadito, but nobody has its URL: nothing can be paid
      expect(Option.map(yield* fake.transaction(reference), (t) => t.status)).toEqual(Option.some("REGISTERED"))
      const retried = yield* gateway.process({ ...request, reference })
      expect(retried).toMatchObject({ status: "action_required", reference })
      expect((yield* fake.transactions).filter((t) => t.token === reference)).toHaveLength(1)
      // a hang on a read is transient too
      yield* fake.inject({ _tag: "hang" }, "get_status")
      expect(failureOf(yield* Effect.exit(gateway.getStatus({ idempotencyKey: "k", reference })))).toMatchObject({
        _tag: "GatewayTransientError"
      })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("healthCheck connects; wrong credentials are unhealthy and misconfigured", () =>
    Effect.gen(function*() {
      const { gateway } = yield* setup()
      expect((yield* gateway.healthCheck).healthy).toBe(true)
      const wrong = yield* setup({ wsk: "not-the-wsk" })
      expect((yield* wrong.gateway.healthCheck).healthy).toBe(false)
      const exit = yield* Effect.exit(wrong.gateway.initiate(charge()))
      const error = failureOf(exit)
      expect(error).toMatchObject({ _tag: "GatewayMisconfigured" })
      // the secret never appears in an error
      expect(JSON.stringify(error)).not.toContain("not-the-wsk")
      expect(String(error)).not.toContain("not-the-wsk")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("settings: from Config, from a tenant's stored credentials, refused when unusable", () =>
    Effect.gen(function*() {
      const { fake, settings } = yield* setup()
      const endpoint = yield* fake.endpoint
      const fromConfig = yield* Pagadito.fromConfig({ apiBase: endpoint }).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PAGADITO_UID", fake.uid], ["PAGADITO_WSK", fake.wsk], ["PAGADITO_SANDBOX", "true"]])))
      )
      expect((yield* fromConfig.healthCheck).healthy).toBe(true)
      const missing = yield* Effect.exit(Pagadito.fromConfig().pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PAGADITO_UID", "u"]])))))
      expect(failureOf(missing)).toMatchObject({ _tag: "ConfigError" })

      const registry = yield* Layer.build(
        GatewayRegistry.layerFrom([Pagadito.Pagadito]).pipe(
          Layer.provide(Pagadito.layerConfig({ apiBase: endpoint, id: "pagadito-sv" })),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["PAGADITO_UID", fake.uid], ["PAGADITO_WSK", fake.wsk]]))))
        )
      )
      expect(registry).toBeDefined()

      const make = Pagadito.provider.make
      expect(Pagadito.provider.fields).toEqual([
        { name: "uid", secret: false },
        { name: "wsk", secret: true },
        { name: "sandbox", secret: false, optional: true }
      ])
      const tenant = yield* make({ uid: settings.uid, wsk: settings.wsk, sandbox: Redacted.make("true") }, { id: "pagadito-acme" })
      expect(tenant.id).toBe("pagadito-acme")
      expect(failureOf(yield* Effect.exit(make({ uid: settings.uid }, { id: "p" })))).toMatchObject({ _tag: "GatewayMisconfigured" })
      expect(failureOf(yield* Effect.exit(make({ uid: settings.uid, wsk: settings.wsk, sandbox: Redacted.make("maybe") }, { id: "p" }))))
        .toMatchObject({ _tag: "GatewayMisconfigured" })
      expect(failureOf(yield* Effect.exit(Pagadito.make({ ...settings, wsk: Redacted.make(" ") })))).toMatchObject({ _tag: "GatewayMisconfigured" })
      expect(failureOf(yield* Effect.exit(Pagadito.make({ ...settings, apiBase: "not a url" })))).toMatchObject({ _tag: "GatewayMisconfigured" })
      expect(failureOf(yield* Effect.exit(Pagadito.make({ ...settings, webhookCertificate: "nope" })))).toMatchObject({ _tag: "GatewayMisconfigured" })
    }).pipe(Effect.provide(HttpLive)))
})
