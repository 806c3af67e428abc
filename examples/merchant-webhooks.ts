/**
 * Webhooks to merchants: a tenant registers an endpoint, AegisPay signs and delivers every event of
 * its payments there (at least once, in order per payment, retried over hours). The merchant's
 * receiver here is a local HTTP server on a loopback port that verifies each signature and
 * refuses the first request, to show a retry.
 *
 *   npx tsx examples/merchant-webhooks.ts
 */
import { HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { Redacted} from "effect";
import { Console, Deferred, Effect, Layer, Ref, Schedule, Schema } from "effect"
import { MerchantEvent, MerchantWebhooks, PaymentService, Tenant } from "aegispay"
import { AegisPayTest, TestCards } from "aegispay/testing"
import { createServer } from "node:http"

const program = Effect.gen(function*() {
  const webhooks = yield* MerchantWebhooks.MerchantWebhooks
  const payments = yield* PaymentService.PaymentService

  // the merchant's receiver: verify the signature over the exact bytes, dedupe by event id
  const secret = yield* Deferred.make<Redacted.Redacted<string>>()
  const seen = yield* Ref.make(new Set<string>())
  const done = yield* Deferred.make<void>()
  let requests = 0
  const receiver = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* request.text
    if (++requests === 1) return HttpServerResponse.text("not now", { status: 503 }) // retried 1 s later
    const verified = yield* Effect.either(MerchantWebhooks.verify(yield* Deferred.await(secret), request.headers, body))
    if (verified._tag === "Left") return HttpServerResponse.text(verified.left.message, { status: 400 })
    const event = Schema.decodeUnknownSync(Schema.parseJson(MerchantEvent.MerchantEvent))(body)
    const fresh = yield* Ref.modify(seen, (ids) => [!ids.has(event.id), new Set(ids).add(event.id)])
    if (fresh) yield* Console.log(`merchant got ${event.type.padEnd(17)} #${event.sequence} of ${event.paymentId} (signature ok)`)
    if (event.type === "refund.succeeded") yield* Deferred.succeed(done, undefined)
    return HttpServerResponse.text("ok")
  }).pipe(Effect.orDie)
  yield* HttpServer.serveEffect(receiver)
  const address = yield* HttpServer.HttpServer.pipe(Effect.map((server) => server.address))
  const url = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}/aegispay`

  // the tenant registers its endpoint; the secret is shown once
  const created = yield* webhooks.createEndpoint({
    url,
    events: ["payment.created", "payment.succeeded", "payment.failed", "refund.succeeded"]
  }).pipe(Tenant.with("acme"))
  yield* Deferred.succeed(secret, created.secret)
  yield* Console.log(`endpoint ${created.endpoint.id} -> ${url} (events: ${created.endpoint.events.join(", ")})`)

  const pay = (key: string, number: string) =>
    Effect.flatMap(payments.createPayment({
      idempotencyKey: key,
      amount: "42.00",
      currency: "EUR",
      paymentMethod: { type: "card", number, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "Ada" },
      customer: { id: "cus_1", email: "ada@example.com" }
    }), (p) => payments.processPayment(p.id)).pipe(Tenant.with("acme"))
  const paid = yield* pay("order-1", TestCards.success)
  yield* pay("order-2", TestCards.declined)
  yield* payments.refundPayment({ paymentId: paid.id, idempotencyKey: "refund-1", amount: "2.00" }).pipe(Tenant.with("acme"))

  yield* Deferred.await(done).pipe(Effect.timeout("30 seconds"))
  // the last answer is recorded right after the merchant sent it
  const deliveries = yield* webhooks.listDeliveries(created.endpoint.id, { limit: 100 }).pipe(
    Tenant.with("acme"),
    Effect.filterOrFail((page) => page.items.every((d) => d.status === "delivered"), () => "not recorded yet"),
    Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 500 })
  )
  for (const d of [...deliveries.items].reverse()) {
    yield* Console.log(`delivery ${d.id}: ${d.eventType} ${d.status} after ${d.attempts} attempt(s)`)
  }
})

const AegisPayLive = MerchantWebhooks.layerMemory({
  // quick retries for the demo; the default is 30 s, ×4 each time, 8 attempts over about a day
  schedule: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(5))),
  pollInterval: "100 millis"
}).pipe(Layer.provideMerge(AegisPayTest.layerMemory({ ids: "sequential" })))

program.pipe(
  Effect.provide(Layer.merge(AegisPayLive, NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" }))),
  Effect.scoped,
  Effect.runPromise
).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
