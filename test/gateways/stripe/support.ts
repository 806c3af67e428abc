/**
 * Shared set-up of the Stripe adapter tests: a fake Stripe on a loopback port and an adapter
 * pointed at it, over a real HTTP client.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Redacted } from "effect"
import { Money, PaymentMethod } from "aegispay"
import { Stripe } from "aegispay/gateways"
import { FakeStripe } from "aegispay/testing/fakes"

export const HttpLive = NodeHttpClient.layerUndici

export const setup = (
  options: Partial<Omit<Stripe.Options, "secretKey">> & { readonly secretKey?: string; readonly fake?: FakeStripe.Options } = {}
) =>
  Effect.gen(function*() {
    const { fake, url } = yield* FakeStripe.serve(options.fake)
    const { fake: _fake, secretKey, ...rest } = options
    const gateway = yield* Stripe.make({
      secretKey: Redacted.make(secretKey ?? fake.secretKey),
      webhookSecret: Redacted.make(fake.webhookSecret),
      apiBase: url,
      timeout: "5 seconds",
      ...rest
    })
    return { fake, gateway, url }
  })

export const usd = (minor: bigint) => Money.fromMinor("USD", minor)

export const token = (value: string, gateway = "stripe") => new PaymentMethod.GatewayToken({ type: "gateway_token", gateway, token: value })

let counter = 0
/** A charge request with a fresh payment id and attempt key. */
export const charge = (
  overrides: Partial<{ amount: Money.Money; capture: boolean; paymentMethod: PaymentMethod.PaymentMethodToken; reference: string; returnUrl: string; allowPending: boolean; key: string }> = {}
) => {
  counter++
  return {
    paymentId: `pay_${counter}`,
    idempotencyKey: overrides.key ?? `pay_${counter}_att_${counter}`,
    amount: overrides.amount ?? usd(1999n),
    paymentMethod: overrides.paymentMethod ?? token(FakeStripe.TestPaymentMethods.visa),
    capture: overrides.capture ?? true,
    description: "order 1",
    reference: overrides.reference,
    checkout: overrides.returnUrl === undefined && overrides.allowPending === undefined
      ? undefined
      : { returnUrl: overrides.returnUrl, allowPending: overrides.allowPending }
  }
}
