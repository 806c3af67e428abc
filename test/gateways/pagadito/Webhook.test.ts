/**
 * Pagadito's webhook notifications: signed as Pagadito signs them (RSA over
 * `notification_id|timestamp|event_id|crc32(body)|wsk`, the certificate at the URL they name),
 * verified over the exact bytes; refused when the signature, the certificate URL or the body is
 * wrong; handed over unverified (a status check only) when unsigned.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import { generateKeyPairSync } from "node:crypto"
import type { Gateway } from "aegispay"
import type { FakePagadito } from "aegispay/testing/fakes"
import { charge, HttpLive, setup } from "./support.js"

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

const registered = (gateway: Gateway.Gateway) =>
  Effect.gen(function*() {
    const request = charge()
    const { reference } = yield* gateway.initiate(request)
    yield* gateway.process({ ...request, reference })
    return { request, reference }
  })

const parse = (gateway: Gateway.Gateway, notification: FakePagadito.SignedNotification) => gateway.webhooks!.parse(notification)

describe("Pagadito webhooks", () => {
  it.scoped("a signed COMPLETED notification: charge.succeeded, verified, naming the payment and attempt", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* registered(gateway)
      yield* fake.pay(reference)
      const notification = yield* fake.notification(reference, { eventId: "EVT-77" })
      const parsed = yield* parse(gateway, notification)
      const transaction = Option.getOrThrow(yield* fake.transaction(reference))
      expect(parsed).toEqual([{
        id: "EVT-77",
        gateway: "pagadito",
        paymentId: request.paymentId,
        idempotencyKey: request.idempotencyKey,
        type: "charge.succeeded",
        transactionId: transaction.reference,
        verified: true
      }])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("CANCELED, EXPIRED, FAILED, REVOKED: charge.failed; REGISTERED and VERIFYING: nothing to apply", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const waiting = yield* registered(gateway)
      expect(yield* parse(gateway, yield* fake.notification(waiting.reference))).toEqual([])
      yield* fake.cancel(waiting.reference)
      expect(yield* parse(gateway, yield* fake.notification(waiting.reference))).toMatchObject([{
        type: "charge.failed",
        code: "canceled",
        paymentId: waiting.request.paymentId,
        verified: true
      }])
      const expired = yield* registered(gateway)
      yield* fake.expire(expired.reference)
      expect(yield* parse(gateway, yield* fake.notification(expired.reference))).toMatchObject([{ type: "charge.failed", code: "expired" }])
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("a body changed after signing, another wsk, a broken signature: bad_signature, nothing applied", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { reference } = yield* registered(gateway)
      yield* fake.pay(reference)
      const notification = yield* fake.notification(reference)
      const tampered = new TextEncoder().encode(new TextDecoder().decode(notification.body).replace("COMPLETED", "COMPLETED "))
      expect(failureOf(yield* Effect.exit(parse(gateway, { ...notification, body: tampered })))).toMatchObject({
        _tag: "WebhookRejected",
        reason: "bad_signature"
      })
      const otherWsk = yield* setup({ wsk: "another-wsk" })
      // the same fake's certificate, but the adapter's wsk differs from the one signed
      const foreign = { ...notification, headers: { ...notification.headers, "pagadito-cert-url": yield* otherWsk.fake.certificateUrl } }
      expect(failureOf(yield* Effect.exit(parse(otherWsk.gateway, foreign)))).toMatchObject({ reason: "bad_signature" })
      const broken = { ...notification, headers: { ...notification.headers, "pagadito-signature": "AAAA" + notification.headers["pagadito-signature"]!.slice(4) } }
      expect(failureOf(yield* Effect.exit(parse(gateway, broken)))).toMatchObject({ reason: "bad_signature" })
      const algo = { ...notification, headers: { ...notification.headers, "pagadito-auth-algo": "md5WithRSAEncryption" } }
      expect(failureOf(yield* Effect.exit(parse(gateway, algo)))).toMatchObject({ reason: "bad_signature" })
      const { "pagadito-signature": _dropped, ...partial } = notification.headers
      expect(failureOf(yield* Effect.exit(parse(gateway, { ...notification, headers: partial })))).toMatchObject({ reason: "bad_signature" })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("the certificate: a URL outside pagadito.com is never fetched; a pinned certificate is used instead of the URL", () =>
    Effect.gen(function*() {
      const { fake, gateway, settings } = yield* setup()
      const { reference } = yield* registered(gateway)
      yield* fake.pay(reference)
      const notification = yield* fake.notification(reference)
      // the default trust: https on pagadito.com only (the fake is on 127.0.0.1)
      const { trustCertificateUrl: _trust, uid: _uid, wsk: _wsk, ...defaults } = settings
      const strict = yield* setup({ ...defaults, apiBase: settings.apiBase })
      expect(failureOf(yield* Effect.exit(parse(strict.gateway, notification)))).toMatchObject({
        reason: "bad_signature",
        detail: "the certificate URL is not Pagadito's"
      })
      // pinned: verified without looking at the URL
      const pinned = yield* setup({ ...defaults, apiBase: settings.apiBase, webhookCertificate: fake.certificatePem })
      const evil = { ...notification, headers: { ...notification.headers, "pagadito-cert-url": "https://evil.example/cert.pem" } }
      const parsed = yield* parse(pinned.gateway, evil)
      expect(parsed).toMatchObject([{ type: "charge.succeeded", verified: true }])
      // a pinned certificate that did not sign it
      const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString()
      const wrongPin = yield* setup({ ...defaults, apiBase: settings.apiBase, webhookCertificate: otherKey })
      expect(failureOf(yield* Effect.exit(parse(wrongPin.gateway, notification)))).toMatchObject({ reason: "bad_signature" })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("unsigned notifications are handed over unverified (a status check only), or refused when signatures are required", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { request, reference } = yield* registered(gateway)
      yield* fake.pay(reference)
      const notification = yield* fake.notification(reference)
      const unsigned = { headers: { "content-type": "application/json" }, body: notification.body }
      expect(yield* parse(gateway, unsigned)).toMatchObject([{
        type: "charge.succeeded",
        paymentId: request.paymentId,
        idempotencyKey: request.idempotencyKey,
        verified: false
      }])
      const strict = yield* setup({ requireSignedWebhooks: true })
      expect(failureOf(yield* Effect.exit(parse(strict.gateway, unsigned)))).toMatchObject({ reason: "bad_signature" })
    }).pipe(Effect.provide(HttpLive)))

  it.scoped("bodies that are not a Pagadito notification, other events, unknown statuses, no custom parameters: refused, never a defect", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const { reference } = yield* registered(gateway)
      yield* fake.pay(reference)
      const unsigned = (body: string) => ({ headers: {}, body: new TextEncoder().encode(body) })
      expect(failureOf(yield* Effect.exit(parse(gateway, unsigned("<html>"))))).toMatchObject({ reason: "malformed" })
      expect(failureOf(yield* Effect.exit(parse(gateway, unsigned("{\"id\":1}"))))).toMatchObject({ reason: "malformed" })
      expect(failureOf(yield* Effect.exit(parse(gateway, unsigned(JSON.stringify({ id: "e", event_type: "PAYOUT.DONE", resource: {} }))))))
        .toMatchObject({ reason: "unknown_event" })
      expect(
        failureOf(yield* Effect.exit(parse(gateway, unsigned(JSON.stringify({ id: "e", event_type: "TRANSACTION.STATUS.CHANGE", resource: { status: "TELEPORTED" } })))))
      ).toMatchObject({ reason: "unknown_event" })
      // custom parameters switched off in Pagadito's panel: the notification cannot name the payment
      const anonymous = yield* fake.notification(reference, { withoutCustomParams: true })
      expect(failureOf(yield* Effect.exit(parse(gateway, anonymous)))).toMatchObject({ reason: "malformed" })
      // PHP's empty custom parameters `[]`
      expect(
        failureOf(yield* Effect.exit(parse(gateway, unsigned(JSON.stringify({ id: 5, event_type: "TRANSACTION.STATUS.CHANGE", resource: { status: "COMPLETED", reference: 1, custom_params: [] } })))))
      ).toMatchObject({ reason: "malformed" })
      // numbers where Pagadito may send numbers
      expect(
        yield* parse(gateway, unsigned(JSON.stringify({ id: 5, event_type: "TRANSACTION.STATUS.CHANGE", resource: { status: "COMPLETED", reference: 123, custom_params: { param1: "pay_x", param2: "pay_x_att_1" } } })))
      ).toMatchObject([{ id: "5", transactionId: "123", paymentId: "pay_x" }])
    }).pipe(Effect.provide(HttpLive)))
})
