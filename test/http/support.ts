/**
 * The HTTP service on a real loopback server (port 0) over the memory composition, with a memory
 * API-key authenticator: what every HTTP test runs against.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted, Schema } from "effect"
import { type Gateway, GatewayRegistry, IdempotencyStore, Webhook } from "aegispay"
import { AegisPayApi, AegisPayHttp, Auth } from "aegispay/http"
import { AegisPayTest, MockGateway, TestCards } from "aegispay/testing"

export const allScopes = ["payments:read", "payments:write", "refunds:write"] as const

export interface TestKey {
  readonly raw: string
  readonly principal: Auth.ApiKeyPrincipal
}

/** Memory API keys: raw key → principal; `revoke` removes one. */
export const makeKeys = (keys: ReadonlyArray<TestKey>) => {
  const byHash = new Map<string, Auth.ApiKeyPrincipal>()
  const hash = (raw: string) => createHash("sha256").update(raw).digest("hex")
  for (const key of keys) byHash.set(hash(key.raw), key.principal)
  const authenticator = Auth.Authenticator.of({
    authenticate: (raw) => {
      const found = byHash.get(hash(Redacted.value(raw)))
      return found === undefined ? Effect.fail(new Auth.InvalidApiKey({ reason: "unknown key" })) : Effect.succeed(found)
    }
  })
  return { authenticator, revoke: (raw: string) => byHash.delete(hash(raw)) }
}

export const keys = {
  acme: { raw: "sk_test_acme_all", principal: { keyId: "key_acme", tenantId: "acme", scopes: [...allScopes] } },
  acmeRead: { raw: "sk_test_acme_read", principal: { keyId: "key_acme_read", tenantId: "acme", scopes: ["payments:read"] } },
  globex: { raw: "sk_test_globex_all", principal: { keyId: "key_globex", tenantId: "globex", scopes: [...allScopes] } },
  revoked: { raw: "sk_test_acme_revoked", principal: { keyId: "key_acme_revoked", tenantId: "acme", scopes: [...allScopes] } },
  limited: { raw: "sk_test_acme_limited", principal: { keyId: "key_acme_limited", tenantId: "acme", scopes: [...allScopes] } }
} satisfies Record<string, TestKey>

export const webhookSecret = "whsec_test_secret"

/** The test scheme: `x-test-signature` is the hex HMAC-SHA256 of the body; body `{ notifications: [...] }`. */
export const sign = (body: string, secret: string = webhookSecret) => createHmac("sha256", secret).update(body).digest("hex")

const WebhookBody = Schema.Struct({ notifications: Schema.Array(Webhook.GatewayNotification) })

const withWebhooks = (gateway: Gateway.Gateway): Gateway.Gateway => ({
  ...gateway,
  webhooks: {
    parse: (request) =>
      Effect.gen(function*() {
        const signature = request.headers["x-test-signature"] ?? ""
        const expected = Buffer.from(sign(Buffer.from(request.body).toString("utf8")), "hex")
        const given = Buffer.from(signature, "hex")
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          return yield* new Webhook.WebhookRejected({ gateway: gateway.id, reason: "bad_signature", detail: "signature mismatch" })
        }
        const json = yield* Effect.try(() => JSON.parse(Buffer.from(request.body).toString("utf8")) as unknown).pipe(
          Effect.mapError(() => new Webhook.WebhookRejected({ gateway: gateway.id, reason: "malformed", detail: "not JSON" }))
        )
        const decoded = yield* Schema.decodeUnknown(WebhookBody)(json).pipe(
          Effect.mapError(() => new Webhook.WebhookRejected({ gateway: gateway.id, reason: "malformed", detail: "unexpected body" }))
        )
        return decoded.notifications
      })
  }
})

export interface StartOptions extends AegisPayHttp.Options {
  readonly keys?: ReadonlyArray<TestKey>
}

/** Starts the service on 127.0.0.1:0; returns its base URL, the runtime and helpers. */
export const start = async (options: StartOptions = {}) => {
  const { authenticator, revoke } = makeKeys(options.keys ?? Object.values(keys))
  const app = AegisPayHttp.serve(options).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provide(Layer.succeed(Auth.Authenticator, authenticator)),
    Layer.provideMerge(IdempotencyStore.layerMemory),
    Layer.provideMerge(AegisPayTest.layerMemory()),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )
  const runtime = ManagedRuntime.make(app)
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const baseUrl = `http://127.0.0.1:${address.port}`
  // the mock gateway, with webhooks of the test scheme, replaces itself in the registry
  await runtime.runPromise(Effect.gen(function*() {
    const mock = yield* MockGateway.MockGateway
    const registry = yield* GatewayRegistry.GatewayRegistry
    yield* registry.register(withWebhooks(mock.gateway))
  }))
  return {
    baseUrl,
    runtime,
    revoke,
    close: () => runtime.dispose()
  }
}

export type Started = Awaited<ReturnType<typeof start>>

/** A JSON request with a key. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly json: Record<string, any>
  readonly text: string
}

export const call = async (
  server: Started,
  method: string,
  path: string,
  options: { readonly key?: string | null; readonly body?: unknown; readonly raw?: string; readonly headers?: Record<string, string> } = {}
): Promise<Answer> => {
  const headers: Record<string, string> = { ...options.headers }
  const key = options.key === undefined ? keys.acme.raw : options.key
  if (key !== null) headers.authorization = `Bearer ${key}`
  let body: string | undefined
  if (options.raw !== undefined) body = options.raw
  else if (options.body !== undefined) body = JSON.stringify(options.body)
  if (body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json"
  const response = await fetch(`${server.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
  const text = await response.text()
  let json: unknown = undefined
  try {
    json = text === "" ? undefined : JSON.parse(text)
  } catch {
    json = text
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, headers: response.headers, json: json as Record<string, any>, text }
}

export const cardBody = (number: string = TestCards.success, overrides: Record<string, unknown> = {}) => ({
  amount: "49.99",
  currency: "USD",
  paymentMethod: { type: "card", number, expiryMonth: 12, expiryYear: 2099, cvv: "123", holderName: "Ada Lovelace" },
  customer: { id: "cus_ada", email: "ada@example.com" },
  metadata: { orderId: "1001" },
  ...overrides
})

/** The typed client against the server. */
export const client = (server: Started, key: string = keys.acme.raw) =>
  HttpApiClient.make(AegisPayApi.AegisPayApi, {
    baseUrl: server.baseUrl,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(key))
  }).pipe(Effect.provide(FetchHttpClient.layer))
