/**
 * Pagadito's hosted checkout with the Pagadito adapter: register the transaction (ERN, exact
 * amount, order lines, custom parameters), send the customer to Pagadito's page, read the
 * status when they come back.
 *
 * Offline (CI): against the in-process fake Pagadito, the customer's payment simulated.
 *
 *   npx tsx examples/pagadito.ts
 *
 * Against Pagadito SandBox (https://sandbox.pagadito.com): set your sandbox merchant's
 * credentials; the example registers a transaction and prints the checkout URL to open in a
 * browser. Pay with a sandbox test card, then run it again with the token Pagadito put in your
 * return URL to read the status:
 *
 *   PAGADITO_UID=… PAGADITO_WSK=… npx tsx examples/pagadito.ts
 *   PAGADITO_UID=… PAGADITO_WSK=… PAGADITO_TOKEN=<token> npx tsx examples/pagadito.ts
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Config, Console, Effect, Option, Redacted } from "effect"
import type { Gateway , PaymentMethod } from "aegispay"
import { Money } from "aegispay"
import { Pagadito } from "aegispay/gateways"
import { FakePagadito } from "aegispay/testing/fakes"

const usd = (decimal: string) => Money.fromDecimalString(decimal, "USD").pipe(Effect.orDie)

/** The order: two lines that add up to the amount exactly (Pagadito checks). */
const order = Effect.gen(function*() {
  const amount = yield* usd("30.50")
  return {
    paymentId: "pay_example_1",
    idempotencyKey: "pay_example_1_att_1",
    amount,
    paymentMethod: { type: "checkout" } as unknown as PaymentMethod.PaymentMethodToken,
    capture: true,
    description: "Order 1001",
    checkout: {
      externalReference: "ORDER-1001",
      lineItems: [
        { quantity: 2, description: "Café Pacamara 1 lb", price: yield* usd("10.00"), url: "https://shop.example/pacamara" },
        { quantity: 1, description: "Envío", price: yield* usd("10.50") }
      ],
      customParams: { customer: "cus_ada" },
      allowPending: false
    }
  } satisfies Gateway.ProcessRequest
})

/** The checkout: initiate (the transaction token), process (the URL the customer goes to). */
const startCheckout = (gateway: Gateway.Gateway) =>
  Effect.gen(function*() {
    const request = yield* order
    const { reference } = yield* gateway.initiate(request)
    const answer = yield* gateway.process({ ...request, reference })
    if (answer.status === "action_required" && answer.action.type === "redirect") {
      yield* Console.log(`send the customer to: ${answer.action.url}`)
    }
    return { request, reference }
  })

/** Offline: the fake Pagadito, the customer pays, the return URL brings the token back. */
const offline = Effect.gen(function*() {
  const fake = yield* FakePagadito.serve()
  const gateway = yield* Pagadito.make({
    uid: Redacted.make(fake.uid),
    wsk: Redacted.make(fake.wsk),
    sandbox: true,
    apiBase: yield* fake.endpoint,
    // Pagadito's webhook certificate, pinned (recommended; the fake has its own)
    webhookCertificate: fake.certificatePem
  })
  const { request, reference } = yield* startCheckout(gateway)
  yield* Console.log(`status before paying: ${(yield* gateway.getStatus({ idempotencyKey: request.idempotencyKey, reference })).status}`)
  yield* fake.pay(reference) // the customer pays on Pagadito's page
  const params = yield* fake.returnParams(reference) // Pagadito's return URL: ?token={value}&ern={ern_value}
  const done = yield* gateway.customerAction!.complete({ ...request, reference, params })
  yield* Console.log(`after the customer came back: ${JSON.stringify(done)}`)
  const notification = yield* gateway.webhooks!.parse(yield* fake.notification(reference))
  yield* Console.log(`webhook: ${JSON.stringify(notification)}`)
  yield* Console.log(`refund: ${(yield* Effect.flip(gateway.refund({ transactionId: "x", idempotencyKey: "r", amount: request.amount }))).message}`)
})

/** Sandbox: a real transaction at sandbox.pagadito.com. */
const sandbox = (credentials: { readonly uid: Redacted.Redacted<string>; readonly wsk: Redacted.Redacted<string> }) =>
  Effect.gen(function*() {
    const gateway = yield* Pagadito.make({ ...credentials, sandbox: true })
    const token = yield* Config.option(Config.string("PAGADITO_TOKEN"))
    if (Option.isSome(token)) {
      const status = yield* gateway.getStatus({ idempotencyKey: "-", reference: token.value })
      return yield* Console.log(`transaction ${token.value}: ${JSON.stringify(status)}`)
    }
    const { reference } = yield* startCheckout(gateway)
    yield* Console.log(`transaction token: ${reference} (set PAGADITO_TOKEN to read its status after paying)`)
  })

const program = Effect.gen(function*() {
  const credentials = yield* Config.option(Config.all({ uid: Config.redacted("PAGADITO_UID"), wsk: Config.redacted("PAGADITO_WSK") }))
  if (Option.isSome(credentials)) return yield* sandbox(credentials.value)
  yield* offline
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
