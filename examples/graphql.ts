/**
 * The GraphQL API (docs/GRAPHQL.md): the HTTP service on a loopback port with the memory
 * composition and the mock gateway, then the seed's flow over `POST /graphql` with an API key:
 * `initiatePayment` (a checkout: the customer must act, so it answers the checkout URL),
 * `completePayment`, `refundPayment`, a customer's payments with cursors, and what is refused:
 * a float for money, another tenant's payment.
 *
 *   npx tsx examples/graphql.ts
 */
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { HttpServer } from "@effect/platform"
import { Console, Effect, Layer, Logger, LogLevel, Redacted } from "effect"
import { ApiKeys, IdempotencyStore } from "aegispay"
import { AegisPayHttp } from "aegispay/http"
import { AegisPayTest, TenancyTest } from "aegispay/testing"

const app = AegisPayHttp.serve({ graphql: { introspection: true } }).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(TenancyTest.layerApiKeys),
  Layer.provideMerge(IdempotencyStore.layerMemory),
  Layer.provideMerge(AegisPayTest.layerMemory()),
  Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
)

const program = Effect.gen(function*() {
  const address = (yield* HttpServer.HttpServer).address
  const url = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}/graphql`
  const apiKeys = yield* ApiKeys.ApiKeys
  const acme = Redacted.value((yield* apiKeys.create({ tenantId: "acme", scopes: ["payments:read", "payments:write", "refunds:write"] })).key)
  const globex = Redacted.value((yield* apiKeys.create({ tenantId: "globex", scopes: ["payments:read"] })).key)

  const graphql = (key: string, query: string, variables: Record<string, unknown> = {}) =>
    Effect.promise(async () => {
      const response = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ query, variables })
      })
      return JSON.stringify(await response.json())
    })

  yield* Console.log("initiatePayment (a checkout at the mock provider):")
  const initiated = yield* graphql(
    acme,
    `mutation($key: String!) {
      initiatePayment(idempotencyKey: $key, providerType: "mock", amount: "49.99", currency: "USD", orderId: "order-1001",
        customer: { id: "cus_ada", email: "ada@example.com" },
        details: [{ quantity: 2, description: "Mug", price: "20.00" }, { quantity: 1, description: "Tea", price: "9.99" }],
        returnUrl: "https://shop.example/return") {
        checkoutUrl actionRequired payment { id state amount { amount currency } }
      }
    }`,
    { key: "order-1001" }
  )
  yield* Console.log(`  ${initiated}`)
  const paymentId = /"id":"(pay_[^"]+)"/.exec(initiated)?.[1] ?? ""

  yield* Console.log("completePayment (the customer is back from the checkout):")
  yield* Console.log(`  ${yield* graphql(acme, `mutation($id: ID!) { completePayment(paymentId: $id, idempotencyKey: "complete-1001", params: [{ key: "token", value: "t" }]) { state capturedAmount { amount } } }`, { id: paymentId })}`)

  yield* Console.log("refundPayment of 10.00:")
  yield* Console.log(`  ${yield* graphql(acme, `mutation($id: ID!) { refundPayment(paymentId: $id, idempotencyKey: "refund-1", amount: "10.00") { state amount { amount currency } } }`, { id: paymentId })}`)

  yield* Console.log("payments(customerId, first):")
  yield* Console.log(`  ${yield* graphql(acme, `{ payments(customerId: "cus_ada", first: 10) { edges { cursor node { id state refundedAmount { amount } } } pageInfo { hasNextPage endCursor } } }`)}`)

  yield* Console.log("a float for money is refused before anything runs:")
  yield* Console.log(`  ${yield* graphql(acme, `mutation($id: ID!) { refundPayment(paymentId: $id, idempotencyKey: "refund-2", amount: 5.5) { id } }`, { id: paymentId })}`)

  yield* Console.log("another tenant's payment does not exist for it:")
  yield* Console.log(`  ${yield* graphql(globex, `query($id: ID!) { payment(id: $id) { id } }`, { id: paymentId })}`)
})

program.pipe(Effect.provide(app), Effect.runPromise).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
