/**
 * The Stripe adapter against the fake Stripe over real HTTP: every operation, declines, 3-D
 * Secure, expiry, Stripe's idempotent replay of a saved 5xx, timeouts and resets after the
 * request was applied, malformed answers. A doubt on a money-moving call is always an unknown
 * outcome, never a decline; nothing is ever a defect.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Layer, Option, Redacted, Schema } from "effect"
import { CardVault, Money, PaymentMethod } from "aegispay"
import { Stripe } from "aegispay/gateways"
import { AegisPayTest, MemoryCardVault } from "aegispay/testing"
import { FakeStripe } from "aegispay/testing/fakes"
import { charge, HttpLive, setup, token, usd } from "./support.js"

const { TestPaymentMethods } = FakeStripe

const cardInput = (number: string) =>
  Schema.decodeUnknownSync(PaymentMethod.CardInput)({ type: "card", number, expiryMonth: 12, expiryYear: 2030, cvv: "123", holderName: "Ada Lovelace" })

/** The error of a failed effect (fails the test on success or defect). */
const failure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail"
      ? Effect.succeed(exit.cause.error)
      : Effect.dieMessage(`expected a typed failure, got ${Exit.isSuccess(exit) ? "success" : "a defect or interruption"}`))

describe("Stripe adapter", () => {
  it.scoped("initiate creates a PaymentIntent; process confirms it; the charge is exact and keyed", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({ amount: usd(1999n) })
      const { reference } = yield* gateway.initiate(request)
      expect(reference).toMatch(/^pi_/)
      const result = yield* gateway.process({ ...request, reference })
      expect(result).toEqual({ status: "succeeded", transactionId: reference })
      const ledger = yield* fake.ledger
      expect(ledger.charges).toHaveLength(1)
      expect(ledger.charges[0]).toMatchObject({ intentId: reference, amount: 1999n, captured: 1999n, currency: "usd", paymentId: request.paymentId })
      const requests = yield* fake.requests
      expect(requests.map((r) => [r.method, r.route, r.idempotencyKey])).toEqual([
        ["POST", "/v1/payment_intents", `${request.idempotencyKey}:create`],
        ["POST", "/v1/payment_intents/{intent}/confirm", `${request.idempotencyKey}:confirm`]
      ])
      const create = new Map(requests[0]?.form)
      expect(create.get("amount")).toBe("1999")
      expect(create.get("currency")).toBe("usd")
      expect(create.get("capture_method")).toBe("automatic")
      expect(create.get("metadata[aegispay_payment_id]")).toBe(request.paymentId)
      expect(create.get("metadata[aegispay_idempotency_key]")).toBe(request.idempotencyKey)
      expect(requests.every((r) => r.stripeVersion === Stripe.defaultApiVersion)).toBe(true)
      expect(requests[1]?.contentType).toBe("application/x-www-form-urlencoded")
      expect(new Map(requests[1]?.form).get("payment_method")).toBe(TestPaymentMethods.visa)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("process without a reference creates the intent itself; repeating it moves money once", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const first = yield* gateway.process(request)
      const again = yield* gateway.process(request)
      expect(again).toEqual(first)
      expect((yield* fake.ledger).charges).toHaveLength(1)
      expect((yield* fake.intents)).toHaveLength(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("manual capture: authorized, partial capture, then refunds up to what was captured", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({ capture: false, amount: usd(5000n) })
      const result = yield* gateway.process(request)
      expect(result.status).toBe("authorized")
      if (result.status !== "authorized") return
      expect((yield* fake.ledger).charges[0]?.captured).toBe(0n)
      const captured = yield* gateway.capture({ transactionId: result.transactionId, idempotencyKey: "cap-1", amount: usd(3000n) })
      expect(captured.transactionId).toBe(result.transactionId)
      expect(new Map((yield* fake.requests).at(-1)?.form).get("amount_to_capture")).toBe("3000")
      expect((yield* fake.ledger).charges[0]?.captured).toBe(3000n)
      // the same capture again (a retry) is Stripe's replay: nothing more moves
      yield* gateway.capture({ transactionId: result.transactionId, idempotencyKey: "cap-1", amount: usd(3000n) })
      const refund = yield* gateway.refund({ transactionId: result.transactionId, idempotencyKey: "ref-1", amount: usd(1000n) })
      expect(refund.refundId).toMatch(/^re_/)
      const refundForm = new Map((yield* fake.requests).at(-1)?.form)
      expect(refundForm.get("payment_intent")).toBe(result.transactionId)
      expect(refundForm.get("amount")).toBe("1000")
      expect(refundForm.get("metadata[aegispay_idempotency_key]")).toBe("ref-1")
      const tooMuch = yield* failure(gateway.refund({ transactionId: result.transactionId, idempotencyKey: "ref-2", amount: usd(2500n) }))
      expect(tooMuch._tag).toBe("GatewayMisconfigured")
      expect((yield* fake.ledger).charges[0]?.refunded).toBe(1000n)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("void cancels an authorization; a captured intent cannot be voided", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const held = yield* gateway.process(charge({ capture: false }))
      if (held.status !== "authorized") return expect.unreachable()
      yield* gateway.void({ transactionId: held.transactionId, idempotencyKey: "void-1" })
      expect((yield* fake.ledger).charges[0]?.voided).toBe(true)
      // voiding again with another key: already canceled, still fine
      yield* gateway.void({ transactionId: held.transactionId, idempotencyKey: "void-2" })
      const status = yield* gateway.getStatus({ idempotencyKey: "x", reference: held.transactionId })
      expect(status).toMatchObject({ status: "failed", code: "canceled" })
      const paid = yield* gateway.process(charge())
      if (paid.status !== "succeeded") return expect.unreachable()
      const error = yield* failure(gateway.void({ transactionId: paid.transactionId, idempotencyKey: "void-3" }))
      expect(error._tag).toBe("GatewayMisconfigured")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("declines are Stripe's card_error: decline_code, and the status says failed", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const declined = charge({ paymentMethod: token(TestPaymentMethods.declined) })
      const error = yield* failure(gateway.process(declined))
      expect(error).toMatchObject({ _tag: "GatewayDeclined", code: "generic_decline" })
      const poor = yield* failure(gateway.process(charge({ paymentMethod: token(TestPaymentMethods.insufficientFunds) })))
      expect(poor).toMatchObject({ _tag: "GatewayDeclined", code: "insufficient_funds" })
      const intent = (yield* fake.intents)[0]
      const status = yield* gateway.getStatus({ idempotencyKey: declined.idempotencyKey, reference: intent?.id })
      expect(status).toMatchObject({ status: "failed", code: "generic_decline" })
      // the same confirm again is Stripe's replay of the decline
      expect(yield* failure(gateway.process(declined))).toMatchObject({ _tag: "GatewayDeclined", code: "generic_decline" })
      expect((yield* fake.ledger).charges).toHaveLength(0)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("3-D Secure: action required (redirect with a return URL, client secret without), the customer finishes, complete charges", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const redirect = charge({ paymentMethod: token(TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/return" })
      const waiting = yield* gateway.process(redirect)
      if (waiting.status !== "action_required") return expect.unreachable()
      expect(waiting.action).toEqual({ type: "redirect", url: expect.stringContaining(waiting.reference) })
      expect(new Map((yield* fake.requests).at(-1)?.form).get("return_url")).toBe("https://shop.example/return")
      const completeRequest = { paymentId: redirect.paymentId, idempotencyKey: redirect.idempotencyKey, reference: waiting.reference, amount: redirect.amount, capture: true, params: {} }
      // the customer has not finished yet
      expect((yield* gateway.customerAction.complete(completeRequest)).status).toBe("action_required")
      yield* fake.finishAction(waiting.reference, "succeed")
      expect(yield* gateway.customerAction.complete(completeRequest)).toEqual({ status: "succeeded", transactionId: waiting.reference })
      expect((yield* fake.ledger).charges).toHaveLength(1)

      const sdk = charge({ paymentMethod: token(TestPaymentMethods.threeDSecure) })
      const secret = yield* gateway.process(sdk)
      if (secret.status !== "action_required") return expect.unreachable()
      expect(secret.action).toEqual({ type: "client_secret", clientSecret: `${secret.reference}_secret_fake` })
      expect(new Map((yield* fake.requests).find((r) => r.idempotencyKey === `${sdk.idempotencyKey}:create`)?.form).get("automatic_payment_methods[allow_redirects]")).toBe("never")
      yield* fake.finishAction(secret.reference, "fail")
      const failed = yield* failure(gateway.customerAction.complete({ ...completeRequest, idempotencyKey: sdk.idempotencyKey, reference: secret.reference }))
      expect(failed).toMatchObject({ _tag: "GatewayDeclined", code: "payment_intent_authentication_failure" })
      // a reference of another attempt is refused
      const wrong = yield* failure(gateway.customerAction.complete({ ...completeRequest, reference: secret.reference }))
      expect(wrong._tag).toBe("GatewayMisconfigured")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("expiry: cancel at Stripe answers failed; a 3-D Secure finished late cannot be cancelled and answers the charge", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const abandoned = charge({ paymentMethod: token(TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/r" })
      const waiting = yield* gateway.process(abandoned)
      if (waiting.status !== "action_required") return expect.unreachable()
      const cancelled = yield* gateway.customerAction.cancel({ paymentId: abandoned.paymentId, idempotencyKey: abandoned.idempotencyKey, reference: waiting.reference })
      expect(cancelled).toMatchObject({ status: "failed", code: "canceled" })
      expect(Option.map(yield* fake.intent(waiting.reference), (i) => i.status)).toEqual(Option.some("canceled"))

      const late = charge({ paymentMethod: token(TestPaymentMethods.threeDSecure), returnUrl: "https://shop.example/r" })
      const pending = yield* gateway.process(late)
      if (pending.status !== "action_required") return expect.unreachable()
      yield* fake.finishAction(pending.reference, "succeed")
      const status = yield* gateway.customerAction.cancel({ paymentId: late.paymentId, idempotencyKey: late.idempotencyKey, reference: pending.reference })
      expect(status).toEqual({ status: "succeeded", transactionId: pending.reference })
      expect((yield* fake.ledger).charges).toHaveLength(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("processing: provider-pending with allowPending, else an unknown outcome; the status says pending", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const pending = yield* gateway.process(charge({ paymentMethod: token(TestPaymentMethods.processing), allowPending: true }))
      expect(pending.status).toBe("pending")
      const unknown = yield* failure(gateway.process(charge({ paymentMethod: token(TestPaymentMethods.processing) })))
      expect(unknown._tag).toBe("GatewayUnknownOutcome")
      if (pending.status !== "pending") return
      expect((yield* gateway.getStatus({ idempotencyKey: "k", reference: pending.reference })).status).toBe("pending")
      yield* fake.settleProcessing(pending.reference)
      expect((yield* gateway.getStatus({ idempotencyKey: "k", reference: pending.reference })).status).toBe("succeeded")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a saved 5xx is replayed by Stripe: the adapter reads the intent and confirms once more; one charge", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.inject("error500", { path: "/v1/payment_intents/{intent}/confirm" })
      const first = yield* failure(gateway.process({ ...request, reference }))
      expect(first._tag).toBe("GatewayUnknownOutcome")
      // nothing was charged: the status by reference says so (never confirmed: safe to send again)
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toEqual({ status: "not_found" })
      // the retry with the same key meets the replayed 5xx; the intent decides
      const second = yield* gateway.process({ ...request, reference })
      expect(second).toEqual({ status: "succeeded", transactionId: reference })
      expect((yield* fake.ledger).charges).toHaveLength(1)
      expect((yield* fake.requests).map((r) => r.idempotencyKey).filter((k) => k?.includes("after-5xx"))).toHaveLength(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a saved 5xx on capture, void and refund: resolved from the intent or the refund list; money moves once", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const held = yield* gateway.process(charge({ capture: false, amount: usd(3000n) }))
      if (held.status !== "authorized") return expect.unreachable()
      // capture: a 5xx saved before applying, then the retry meets its replay and captures under a second key
      yield* fake.inject("error500", { path: "/v1/payment_intents/{intent}/capture" })
      const captureRequest = { transactionId: held.transactionId, idempotencyKey: "cap-5xx", amount: usd(3000n) }
      expect((yield* failure(gateway.capture(captureRequest)))._tag).toBe("GatewayUnknownOutcome")
      expect(yield* gateway.capture(captureRequest)).toEqual({ transactionId: held.transactionId })
      expect((yield* fake.ledger).charges[0]?.captured).toBe(3000n)
      // refund: a 5xx saved after applying; the retry finds the refund of its key in the list
      yield* fake.inject("error500AfterApply", { path: "/v1/refunds" })
      const refundRequest = { transactionId: held.transactionId, idempotencyKey: "ref-5xx", amount: usd(1000n) }
      expect((yield* failure(gateway.refund(refundRequest)))._tag).toBe("GatewayUnknownOutcome")
      const refunded = yield* gateway.refund(refundRequest)
      expect(refunded.refundId).toMatch(/^re_/)
      // refund: a 5xx saved before applying; the retry finds none and refunds under a second key
      yield* fake.inject("error500", { path: "/v1/refunds" })
      const second = { transactionId: held.transactionId, idempotencyKey: "ref-5xx-2", amount: usd(500n) }
      expect((yield* failure(gateway.refund(second)))._tag).toBe("GatewayUnknownOutcome")
      yield* gateway.refund(second)
      yield* gateway.refund(second)
      expect((yield* fake.ledger).charges[0]?.refunded).toBe(1500n)
      expect((yield* fake.ledger).refunds.map((r) => r.metadata["aegispay_idempotency_key"])).toEqual(["ref-5xx", "ref-5xx-2"])
      // void: a 5xx saved before applying, then canceled under a second key
      const other = yield* gateway.process(charge({ capture: false }))
      if (other.status !== "authorized") return expect.unreachable()
      yield* fake.inject("error500", { path: "/v1/payment_intents/{intent}/cancel" })
      const voidRequest = { transactionId: other.transactionId, idempotencyKey: "void-5xx" }
      expect((yield* failure(gateway.void(voidRequest)))._tag).toBe("GatewayUnknownOutcome")
      yield* gateway.void(voidRequest)
      expect((yield* fake.ledger).charges[1]?.voided).toBe(true)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a 5xx after Stripe applied the confirm: unknown outcome; status by reference finds the charge; a retry answers it", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.inject("error500AfterApply", { path: "/v1/payment_intents/{intent}/confirm" })
      expect((yield* failure(gateway.process({ ...request, reference })))._tag).toBe("GatewayUnknownOutcome")
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toEqual({ status: "succeeded", transactionId: reference })
      expect(yield* gateway.process({ ...request, reference })).toEqual({ status: "succeeded", transactionId: reference })
      expect((yield* fake.ledger).charges).toHaveLength(1)
    }).pipe(Effect.provide(HttpLive)))

  it.live("a timeout after Stripe applied the confirm is an unknown outcome; getStatus by reference finds the charge", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup({ timeout: "300 millis" })
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.inject("timeoutAfterApply", { path: "/v1/payment_intents/{intent}/confirm" })
      const error = yield* failure(gateway.process({ ...request, reference }))
      expect(error._tag).toBe("GatewayUnknownOutcome")
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toEqual({ status: "succeeded", transactionId: reference })
      expect((yield* fake.ledger).charges).toHaveLength(1)
    }).pipe(Effect.provide(HttpLive), Effect.scoped))

  it.scoped("a connection reset after applying is an unknown outcome on a money-moving call, transient on a read", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({ capture: false })
      const { reference } = yield* gateway.initiate(request)
      yield* fake.inject("resetAfterApply", { path: "/v1/payment_intents/{intent}/confirm" })
      expect((yield* failure(gateway.process({ ...request, reference })))._tag).toBe("GatewayUnknownOutcome")
      yield* fake.inject("resetBeforeApply", { method: "GET" })
      expect((yield* failure(gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })))._tag).toBe("GatewayTransientError")
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).toEqual({ status: "authorized", transactionId: reference })
      yield* fake.inject("resetAfterApply", { path: "/v1/payment_intents/{intent}/capture" })
      expect((yield* failure(gateway.capture({ transactionId: reference, idempotencyKey: "cap", amount: usd(1999n) })))._tag).toBe("GatewayUnknownOutcome")
      // the retry with the same key is Stripe's replay of the saved success
      expect(yield* gateway.capture({ transactionId: reference, idempotencyKey: "cap", amount: usd(1999n) })).toEqual({ transactionId: reference })
      expect((yield* fake.ledger).charges[0]?.captured).toBe(1999n)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("answers that are not JSON or not a PaymentIntent: unknown outcome on money-moving calls, never a decline", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.inject("notJson", { path: "/v1/payment_intents/{intent}/confirm" })
      expect((yield* failure(gateway.process({ ...request, reference })))._tag).toBe("GatewayUnknownOutcome")
      const other = charge()
      const created = yield* gateway.initiate(other)
      yield* fake.inject("unexpectedJson", { path: "/v1/payment_intents/{intent}/confirm" })
      expect((yield* failure(gateway.process({ ...other, reference: created.reference })))._tag).toBe("GatewayUnknownOutcome")
      yield* fake.inject("notJson", { method: "GET" })
      expect((yield* failure(gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })))._tag).toBe("GatewayTransientError")
      yield* fake.inject("error500", { path: "/v1/refunds" })
      expect((yield* failure(gateway.refund({ transactionId: reference, idempotencyKey: "r1", amount: usd(1n) })))._tag).toBe("GatewayUnknownOutcome")
      // both charges happened: the garbled answers hid them, the statuses find them
      expect((yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).status).toBe("succeeded")
      expect((yield* gateway.getStatus({ idempotencyKey: other.idempotencyKey, reference: created.reference })).status).toBe("succeeded")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("the error table: 429 transient, a wrong key or a key reused with other parameters misconfigured, a concurrent key unknown", () =>
    Effect.gen(function*() {
      const { fake, gateway, url } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.inject("rateLimit")
      expect((yield* failure(gateway.process({ ...request, reference })))._tag).toBe("GatewayTransientError")
      expect((yield* gateway.process({ ...request, reference })).status).toBe("succeeded")
      // the same attempt key with another amount: Stripe's idempotency_error
      const reused = yield* failure(gateway.initiate({ ...request, amount: usd(1n) }))
      expect(reused).toMatchObject({ _tag: "GatewayMisconfigured" })
      const wrongKey = yield* Stripe.make({ secretKey: Redacted.make("sk_test_other"), apiBase: url })
      expect((yield* failure(wrongKey.process(charge())))._tag).toBe("GatewayMisconfigured")
      const notAKey = yield* Stripe.make({ secretKey: Redacted.make("pk_test_123"), apiBase: url })
      expect(notAKey.environment).toBeUndefined()
      expect((yield* failure(notAKey.initiate(charge())))._tag).toBe("GatewayMisconfigured")
      // a request with the same key while the first is in flight: 409 (the first may still apply)
      const slow = charge()
      const created = yield* gateway.initiate(slow)
      yield* fake.inject("hang", { path: "/v1/payment_intents/{intent}/confirm" })
      const hung = yield* Effect.fork(gateway.process({ ...slow, reference: created.reference }))
      while ((yield* fake.pendingFaults) > 0) yield* Effect.yieldNow()
      const concurrent = yield* failure(gateway.process({ ...slow, reference: created.reference }))
      expect(concurrent._tag).toBe("GatewayUnknownOutcome")
      yield* Fiber.interrupt(hung)
      expect((yield* fake.requests).filter((r) => r.idempotencyKey === `${slow.idempotencyKey}:confirm`)).toHaveLength(2)
      expect((yield* fake.ledger).charges).toHaveLength(1)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a refused connection is transient, even on a money-moving call; the health check says unhealthy", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.scoped(setup()).pipe(Effect.map(({ url }) => url))
      const gateway = yield* Stripe.make({ secretKey: Redacted.make("sk_test_fake"), apiBase: closed })
      expect((yield* failure(gateway.process(charge({ reference: "pi_1" }))))._tag).toBe("GatewayTransientError")
      expect((yield* gateway.healthCheck).healthy).toBe(false)
      const { gateway: live } = yield* setup()
      expect((yield* live.healthCheck).healthy).toBe(true)
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("status without a reference: found by the attempt key in search; missing from a lagging index is not_found, and re-sending is safe", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup({ fake: { searchLag: true } })
      const request = charge()
      const result = yield* gateway.process(request)
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey })).toEqual({ status: "not_found" })
      // the orchestration sends the same attempt again: Stripe answers the intent it has
      expect(yield* gateway.process(request)).toEqual(result)
      yield* fake.indexSearch
      expect(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey })).toEqual(result)
      expect((yield* fake.ledger).charges).toHaveLength(1)
      expect((yield* fake.intents)).toHaveLength(1)
      const search = (yield* fake.requests).find((r) => r.route === "/v1/payment_intents/search")
      expect(search?.query).toContainEqual(["query", `metadata['aegispay_idempotency_key']:'${request.idempotencyKey}'`])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("amounts: zero-decimal, three-decimal and ISK sent exactly; what Stripe cannot take exactly is refused before sending", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const sent = (currency: Money.Money["currency"], minor: bigint) =>
        Effect.gen(function*() {
          yield* gateway.initiate(charge({ amount: Money.fromMinor(currency, minor) }))
          return new Map((yield* fake.requests).at(-1)?.form).get("amount")
        })
      expect(yield* sent("JPY", 500n)).toBe("500")
      expect(yield* sent("KWD", 1230n)).toBe("1230")
      expect(yield* sent("ISK", 5n)).toBe("500")
      expect(yield* sent("MGA", 1500n)).toBe("15")
      const before = (yield* fake.requests).length
      expect((yield* failure(gateway.initiate(charge({ amount: Money.fromMinor("KWD", 1234n) }))))._tag).toBe("GatewayMisconfigured")
      expect((yield* failure(gateway.initiate(charge({ amount: Money.fromMinor("MGA", 1501n) }))))._tag).toBe("GatewayMisconfigured")
      expect((yield* failure(gateway.initiate(charge({ amount: Money.fromMinor("CLF", 12345n) }))))._tag).toBe("GatewayMisconfigured")
      expect((yield* fake.requests).length).toBe(before)
      // an amount beyond 2^53 is sent digit for digit
      expect(yield* sent("USD", 9_007_199_254_740_993n)).toBe("9007199254740993")
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("gateway tokens are only this gateway's; cards need raw card access and come from the vault", () =>
    Effect.gen(function*() {
      const { fake, gateway, url } = yield* setup()
      expect(gateway.capabilities.paymentMethods).toEqual(["gateway_token"])
      expect((yield* failure(gateway.process(charge({ paymentMethod: token("pm_card_visa", "other") }))))._tag).toBe("GatewayMisconfigured")
      const vault = yield* CardVault.CardVault
      const card = yield* vault.tokenize(cardInput("4242424242424242"))
      expect((yield* failure(gateway.process(charge({ paymentMethod: card }))))._tag).toBe("GatewayMisconfigured")
      const raw = yield* Stripe.make({ secretKey: Redacted.make(fake.secretKey), apiBase: url, rawCardAccess: true })
      expect(raw.capabilities.paymentMethods).toEqual(["gateway_token", "card"])
      expect((yield* raw.process(charge({ paymentMethod: card }))).status).toBe("succeeded")
      const confirm = new Map((yield* fake.requests).at(-1)?.form)
      expect(confirm.get("payment_method_data[card][number]")).toBe("4242424242424242")
      expect(confirm.get("payment_method_data[card][exp_month]")).toBe("12")
      expect(confirm.get("payment_method_data[card][exp_year]")).toBe("2030")
      const declinedCard = yield* vault.tokenize(cardInput("4000000000000002"))
      expect(yield* failure(raw.process(charge({ paymentMethod: declinedCard })))).toMatchObject({ _tag: "GatewayDeclined" })
    }).pipe(Effect.provide(Layer.merge(HttpLive, MemoryCardVault.layer(AegisPayTest.testFingerprintKey)))))

  it.effect("environment from the key; the provider refuses a missing or foreign key", () =>
    Effect.gen(function*() {
      expect(Stripe.environmentOf(Redacted.make("sk_test_abc"))).toBe("test")
      expect(Stripe.environmentOf(Redacted.make("sk_live_abc"))).toBe("live")
      expect(Stripe.environmentOf(Redacted.make("rk_live_abc"))).toBe("live")
      expect(Stripe.environmentOf(Redacted.make("pk_live_abc"))).toBeUndefined()
      const missing = yield* Effect.either(Stripe.provider.make({}, { id: "stripe-acme" }))
      expect(Either.isLeft(missing) && missing.left._tag).toBe("GatewayMisconfigured")
      const foreign = yield* Effect.either(Stripe.provider.make({ secretKey: Redacted.make("whatever") }, { id: "stripe-acme" }))
      expect(Either.isLeft(foreign) && foreign.left.reason).not.toContain("whatever")
      const made = yield* Stripe.provider.make({ secretKey: Redacted.make("sk_live_abc") }, { id: "stripe-acme" })
      expect(made.id).toBe("stripe-acme")
      expect(Stripe.provider.fields.map((f) => f.name)).toEqual(["secretKey", "webhookSecret"])
    }).pipe(Effect.provide(HttpLive)))
})
