/**
 * Shared set-up of the Pagadito adapter tests: a fake Pagadito on a loopback port and an adapter
 * pointed at it, over a real HTTP client.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Redacted } from "effect"
import type { Gateway, PaymentMethod } from "aegispay";
import { Money } from "aegispay"
import { Pagadito } from "aegispay/gateways"
import { FakePagadito } from "aegispay/testing/fakes"

export const HttpLive = NodeHttpClient.layerUndici

export const setup = (
  options: Partial<Omit<Pagadito.Options, "uid" | "wsk">> & {
    readonly wsk?: string
    readonly fake?: FakePagadito.Options
  } = {}
) =>
  Effect.gen(function*() {
    const fake = yield* FakePagadito.serve(options.fake)
    const { fake: _fake, wsk, ...rest } = options
    const endpoint = yield* fake.endpoint
    const certificateUrl = yield* fake.certificateUrl
    const settings: Pagadito.Options = {
      uid: Redacted.make(fake.uid),
      wsk: Redacted.make(wsk ?? fake.wsk),
      sandbox: true,
      apiBase: endpoint,
      timeout: "5 seconds",
      trustCertificateUrl: (url) => url.href === certificateUrl,
      ...rest
    }
    const gateway = yield* Pagadito.make(settings)
    return { fake, gateway, settings }
  })

export const usd = (minor: bigint) => Money.fromMinor("USD", minor)

/** A checkout payment method. */
// TODO(core merge): new PaymentMethod.CheckoutMethod({ type: "checkout" }) once it is on main
export const checkout = { type: "checkout" } as unknown as PaymentMethod.PaymentMethodToken

let counter = 0
/** A charge request with a fresh payment id and attempt key. */
export const charge = (
  overrides: Partial<{
    amount: Money.Money
    capture: boolean
    paymentMethod: PaymentMethod.PaymentMethodToken
    reference: string
    checkout: Gateway.CheckoutDetails
    description: string
  }> = {}
) => {
  counter++
  return {
    paymentId: `pay_${counter}`,
    idempotencyKey: `pay_${counter}_att_${counter}`,
    amount: overrides.amount ?? usd(1999n),
    paymentMethod: overrides.paymentMethod ?? checkout,
    capture: overrides.capture ?? true,
    description: overrides.description ?? "Order 1001",
    reference: overrides.reference,
    checkout: overrides.checkout
  }
}
