import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { charge, completeOf, setup, usd } from "./support.js"

const rejection = <A, E>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error("expected a typed failure")
  return exit.cause.error
}

/** A captured payment at the fake, and its capture id. */
const captured = Effect.gen(function*() {
  const env = yield* setup()
  const request = charge()
  const { reference } = yield* env.gateway.initiate(request)
  yield* env.fake.approve(reference)
  const result = yield* env.gateway.customerAction!.complete(completeOf(request, reference))
  if (result.status !== "succeeded") throw new Error("not captured")
  return { ...env, request, reference, captureId: result.transactionId }
})

describe("PayPal webhooks (verified by PayPal's verify-webhook-signature)", () => {
  it.scoped("PAYMENT.CAPTURE.COMPLETED → charge.succeeded naming the payment (custom_id) and attempt (invoice_id)", () =>
    Effect.gen(function*() {
      const { captureId, fake, gateway, reference, request } = yield* captured
      const hook = yield* fake.webhook("PAYMENT.CAPTURE.COMPLETED", yield* fake.resource("capture", captureId))
      const notifications = yield* gateway.webhooks!.parse(hook)
      expect(notifications).toEqual([{
        id: hook.eventId,
        gateway: "paypal",
        verified: true,
        paymentId: request.paymentId,
        idempotencyKey: request.idempotencyKey,
        type: "charge.succeeded",
        transactionId: captureId,
        reference
      }])
      // the event went back to PayPal exactly as received
      const verify = (yield* fake.received).find((r) => r.path === "/v1/notifications/verify-webhook-signature")
      expect(verify?.body).toContain(new TextDecoder().decode(hook.body))
    }))

  it.scoped("PAYMENT.AUTHORIZATION.CREATED → charge.authorized; PAYMENT.CAPTURE.DENIED → charge.failed", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge({ capture: false })
      const { reference } = yield* gateway.initiate(request)
      yield* fake.approve(reference)
      const authorized = yield* gateway.customerAction!.complete(completeOf(request, reference))
      if (authorized.status !== "authorized") throw new Error("not authorized")
      const hook = yield* fake.webhook("PAYMENT.AUTHORIZATION.CREATED", yield* fake.resource("authorization", authorized.transactionId))
      expect(yield* gateway.webhooks!.parse(hook)).toMatchObject([{ type: "charge.authorized", transactionId: authorized.transactionId, paymentId: request.paymentId, idempotencyKey: request.idempotencyKey }])
      const denied = yield* fake.webhook("PAYMENT.CAPTURE.DENIED", {
        id: "CAPDENIED1", status: "DECLINED", custom_id: request.paymentId, invoice_id: request.idempotencyKey, amount: { currency_code: "USD", value: "10.50" }
      })
      expect(yield* gateway.webhooks!.parse(denied)).toMatchObject([{ type: "charge.failed", code: "capture_denied", paymentId: request.paymentId }])
    }))

  it.scoped("PAYMENT.CAPTURE.REFUNDED → refund.succeeded: the refund's key from its invoice_id, the payment read from its capture", () =>
    Effect.gen(function*() {
      const { captureId, fake, gateway, request } = yield* captured
      const { refundId } = yield* gateway.refund({ transactionId: captureId, idempotencyKey: "refund_key_1", amount: usd(300n) })
      const refund = yield* fake.resource("refund", refundId)
      expect(refund).not.toHaveProperty("custom_id")
      const hook = yield* fake.webhook("PAYMENT.CAPTURE.REFUNDED", refund)
      expect(yield* gateway.webhooks!.parse(hook)).toMatchObject([{
        type: "refund.succeeded", paymentId: request.paymentId, idempotencyKey: "refund_key_1", refundId
      }])
    }))

  it.scoped("forged signatures, altered bodies, missing headers are bad_signature; unknown types unknown_event; garbage malformed", () =>
    Effect.gen(function*() {
      const { captureId, fake, gateway } = yield* captured
      const resource = yield* fake.resource("capture", captureId)
      const hook = yield* fake.webhook("PAYMENT.CAPTURE.COMPLETED", resource)
      const forged = { ...hook, headers: { ...hook.headers, "paypal-transmission-sig": "Zm9yZ2Vk" } }
      expect(rejection(yield* Effect.exit(gateway.webhooks!.parse(forged)))).toMatchObject({ _tag: "WebhookRejected", reason: "bad_signature" })
      const altered = { ...hook, body: new TextEncoder().encode(new TextDecoder().decode(hook.body).replace(captureId, "CAPOTHER")) }
      expect(rejection(yield* Effect.exit(gateway.webhooks!.parse(altered)))).toMatchObject({ reason: "bad_signature" })
      const { "paypal-cert-url": _cert, ...withoutCert } = hook.headers
      expect(rejection(yield* Effect.exit(gateway.webhooks!.parse({ ...hook, headers: withoutCert })))).toMatchObject({ reason: "bad_signature" })
      const unknown = yield* fake.webhook("BILLING.SUBSCRIPTION.CREATED", { id: "I-1" })
      expect(rejection(yield* Effect.exit(gateway.webhooks!.parse(unknown)))).toMatchObject({ reason: "unknown_event" })
      expect(rejection(yield* Effect.exit(gateway.webhooks!.parse({ headers: hook.headers, body: new TextEncoder().encode("<xml/>") })))).toMatchObject({ reason: "malformed" })
      // a verified event whose resource is not PayPal's shape
      const odd = yield* fake.webhook("PAYMENT.CAPTURE.COMPLETED", { id: 7 })
      expect(rejection(yield* Effect.exit(gateway.webhooks!.parse(odd)))).toMatchObject({ reason: "malformed" })
      // a capture that is not an AegisPay payment (no custom_id): nothing to apply
      const foreign = yield* fake.webhook("PAYMENT.CAPTURE.COMPLETED", { id: "CAPX", status: "COMPLETED" })
      expect(yield* gateway.webhooks!.parse(foreign)).toEqual([])
    }))

  it.scoped("PayPal's verify endpoint failing is transient (PayPal redelivers); no webhook id is not_configured", () =>
    Effect.gen(function*() {
      const { captureId, fake, gateway } = yield* captured
      const hook = yield* fake.webhook("PAYMENT.CAPTURE.COMPLETED", yield* fake.resource("capture", captureId))
      yield* fake.fail("webhooks.verify", { kind: "before", status: 503 })
      expect(rejection(yield* Effect.exit(gateway.webhooks!.parse(hook)))._tag).toBe("GatewayTransientError")
      expect(yield* gateway.webhooks!.parse(hook)).toHaveLength(1)
      const unconfigured = yield* setup({ webhookId: null })
      expect(rejection(yield* Effect.exit(unconfigured.gateway.webhooks!.parse(hook)))).toMatchObject({ reason: "not_configured" })
    }))

  it.scoped("CHECKOUT.ORDER.APPROVED → charge.action_required (asks PayPal); PAYMENT.CAPTURE.PENDING → charge.pending", () =>
    Effect.gen(function*() {
      const { fake, gateway } = yield* setup()
      const request = charge()
      const { reference } = yield* gateway.initiate(request)
      yield* fake.approve(reference)
      const approved = yield* fake.webhook("CHECKOUT.ORDER.APPROVED", yield* fake.resource("order", reference))
      expect(yield* gateway.webhooks!.parse(approved)).toMatchObject([{
        type: "charge.action_required", paymentId: request.paymentId, idempotencyKey: request.idempotencyKey, reference
      }])
      const pending = yield* fake.webhook("PAYMENT.CAPTURE.PENDING", {
        id: "CAPPEND1", status: "PENDING", status_details: { reason: "ECHECK" }, custom_id: request.paymentId, invoice_id: request.idempotencyKey,
        supplementary_data: { related_ids: { order_id: reference } }
      })
      expect(yield* gateway.webhooks!.parse(pending)).toMatchObject([{ type: "charge.pending", reason: "ECHECK", reference }])
    }))

  it.scoped("a refund made in PayPal's dashboard is refund.external with its exact amount; HUF in whole units", () =>
    Effect.gen(function*() {
      const { captureId, fake, gateway, request } = yield* captured
      const hook = yield* fake.webhook("PAYMENT.CAPTURE.REFUNDED", {
        id: "REFDASH1", status: "COMPLETED", amount: { currency_code: "USD", value: "3.25" },
        links: [{ href: `${fake.url}/v2/payments/captures/${captureId}`, rel: "up", method: "GET" }]
      })
      expect(yield* gateway.webhooks!.parse(hook)).toMatchObject([{
        type: "refund.external", paymentId: request.paymentId, refundId: "REFDASH1", amount: "3.25", currency: "USD", transactionId: captureId
      }])
      // carrying the capture's own invoice id is not one of ours either
      const copied = yield* fake.webhook("PAYMENT.CAPTURE.REFUNDED", {
        id: "REFDASH2", status: "COMPLETED", amount: { currency_code: "HUF", value: "1000" }, invoice_id: request.idempotencyKey,
        links: [{ href: `${fake.url}/v2/payments/captures/${captureId}`, rel: "up", method: "GET" }]
      })
      expect(yield* gateway.webhooks!.parse(copied)).toMatchObject([{ type: "refund.external", amount: "1000", currency: "HUF" }])
    }))

  it.scoped("CUSTOMER.DISPUTE.CREATED / RESOLVED → dispute.opened / dispute.closed with the disputed amount and outcome", () =>
    Effect.gen(function*() {
      const { captureId, fake, gateway, request } = yield* captured
      const dispute = (outcome?: string) => ({
        dispute_id: "PP-D-1",
        reason: "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        status: outcome === undefined ? "OPEN" : "RESOLVED",
        dispute_amount: { currency_code: "USD", value: "10.50" },
        disputed_transactions: [{ seller_transaction_id: captureId }],
        ...(outcome === undefined ? {} : { dispute_outcome: { outcome_code: outcome } })
      })
      const opened = yield* fake.webhook("CUSTOMER.DISPUTE.CREATED", dispute())
      expect(yield* gateway.webhooks!.parse(opened)).toMatchObject([{
        type: "dispute.opened", disputeId: "PP-D-1", paymentId: request.paymentId, idempotencyKey: request.idempotencyKey,
        amount: "10.50", currency: "USD", reason: "merchandise_or_service_not_received"
      }])
      const closed = yield* fake.webhook("CUSTOMER.DISPUTE.RESOLVED", dispute("RESOLVED_SELLER_FAVOUR"))
      expect(yield* gateway.webhooks!.parse(closed)).toMatchObject([{ type: "dispute.closed", code: "resolved_seller_favour" }])
    }))
})
