import { FetchHttpClient } from "@effect/platform"
import { Effect, Redacted } from "effect"
import { Money, PaymentMethod } from "aegispay"
import type { Gateway } from "aegispay"
import { PayPal } from "aegispay/gateways"
import { FakePayPal } from "aegispay/testing/fakes"

/** A checkout payment method (the customer pays at PayPal). */
export const checkout = new PaymentMethod.CheckoutMethod({ type: "checkout", gateway: "paypal" })

export const usd = (minor: bigint) => Money.fromMinor("USD", minor)

let counter = 0
/** A charge request with a fresh key. */
export const charge = (overrides: Partial<Gateway.ProcessRequest> = {}): Gateway.ProcessRequest => {
  counter += 1
  return {
    paymentId: `pay_${counter}`,
    idempotencyKey: `pay_${counter}_att_1`,
    amount: usd(1050n),
    paymentMethod: checkout,
    capture: true,
    checkout: { returnUrl: "https://shop.example/return", cancelUrl: "https://shop.example/cancel" },
    ...overrides
  }
}

/** A fake PayPal and the adapter pointed at it, over real HTTP on a loopback port. */
export const setup = (options: { readonly tokenLifetimeSeconds?: number; readonly webhookId?: string | null } = {}) =>
  Effect.gen(function*() {
    const fake = yield* FakePayPal.make({ tokenLifetimeSeconds: options.tokenLifetimeSeconds })
    const gateway = yield* PayPal.make({
      clientId: Redacted.make(fake.clientId),
      clientSecret: Redacted.make(fake.clientSecret),
      webhookId: options.webhookId === null ? undefined : options.webhookId ?? fake.webhookId,
      environment: "sandbox",
      apiBase: fake.url,
      timeout: "5 seconds"
    })
    return { fake, gateway }
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** `complete` as the orchestration calls it after the customer returned. */
export const completeOf = (request: Gateway.ProcessRequest, reference: string, params: Record<string, string> = {}): Gateway.CompleteRequest => ({
  paymentId: request.paymentId,
  idempotencyKey: request.idempotencyKey,
  reference,
  amount: request.amount,
  capture: request.capture,
  params
})
