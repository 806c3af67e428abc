/**
 * The HTTP service on a real loopback server (port 0) over the memory composition, with a memory
 * API-key authenticator: what every HTTP test runs against.
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted, Schema } from "effect"
import { ApiKeys, type Gateway, GatewayRegistry, IdempotencyStore, MerchantWebhooks, type PaymentService, TenantGateways, Webhook } from "aegispay"
import { AegisPayApi, AegisPayHttp } from "aegispay/http"
import { AegisPayTest, MockGateway, TenancyTest, TestCards } from "aegispay/testing"

/** The API keys every test server has, by name: tenant and scopes. */
export const keySpecs = {
  acme: { tenantId: "acme", scopes: ["payments:read", "payments:write", "refunds:write"] },
  acmeRead: { tenantId: "acme", scopes: ["payments:read"] },
  acmeAdmin: { tenantId: "acme", scopes: ["admin"] },
  acmeHooks: { tenantId: "acme", scopes: ["webhooks:write"] },
  globexHooks: { tenantId: "globex", scopes: ["webhooks:write"] },
  globexAdmin: { tenantId: "globex", scopes: ["admin"] },
  globex: { tenantId: "globex", scopes: ["payments:read", "payments:write", "refunds:write"] },
  revoked: { tenantId: "acme", scopes: ["payments:read", "payments:write", "refunds:write"] },
  limited: { tenantId: "acme", scopes: ["payments:read", "payments:write", "refunds:write"] }
} satisfies Record<string, { readonly tenantId: string; readonly scopes: ReadonlyArray<ApiKeys.Scope> }>

export type KeyName = keyof typeof keySpecs

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

export type StartOptions = AegisPayHttp.Options

/** Starts the service on 127.0.0.1:0; returns its base URL, the runtime and helpers. */
export const start = async (
  options: StartOptions = {},
  extra: {
    readonly tenantGateways?: boolean
    /** Replaces services of the composition for the HTTP layer (e.g. a storage that fails). */
    readonly overrides?: Layer.Layer<never, never, PaymentService.PaymentService | ApiKeys.ApiKeys>
    /** Merchant webhooks in memory with these options, no worker (tests run rounds with `runOnce`). */
    readonly merchantWebhooks?: MerchantWebhooks.Options
    /** `TenantGateways` over these providers instead of the mock provider of `tenantGateways`. */
    readonly tenantProviders?: ReadonlyArray<Gateway.GatewayProvider>
    /** Provided to the whole service, after (so over) the test default log level Warning: loggers, tracers, levels. */
    readonly observe?: Layer.Layer<never>
  } = {}
) => {
  // per-tenant gateways from stored credentials (TenancyTest.mockProvider), when asked for
  const mock = await Effect.runPromise(TenancyTest.mockProvider())
  const tenantGateways = extra.tenantGateways === true
    ? TenantGateways.layer({ providers: [mock.provider] }).pipe(Layer.provideMerge(TenancyTest.layerCredentials))
    : extra.tenantProviders !== undefined
    ? TenantGateways.layer({ providers: extra.tenantProviders }).pipe(Layer.provideMerge(TenancyTest.layerCredentials))
    : Layer.empty
  const merchantWebhooks = extra.merchantWebhooks !== undefined
    ? MerchantWebhooks.layerMemory({ worker: false, retention: false, ...extra.merchantWebhooks })
    : Layer.empty
  // the tests send bursts (50 at once, many in a row): only the rate-limit tests set a limit they test
  const app = AegisPayHttp.serve({ rateLimit: { limit: 1_000_000 }, ...options }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(merchantWebhooks),
    Layer.provideMerge(tenantGateways),
    Layer.provideMerge(extra.overrides ?? Layer.empty),
    Layer.provideMerge(TenancyTest.layerApiKeys),
    Layer.provideMerge(IdempotencyStore.layerMemory),
    Layer.provideMerge(AegisPayTest.layerMemory()),
    Layer.provide(extra.observe ?? Layer.empty),
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
  const created = await runtime.runPromise(Effect.gen(function*() {
    const apiKeys = yield* ApiKeys.ApiKeys
    const out: Partial<Record<KeyName, { readonly raw: string; readonly keyId: string }>> = {}
    for (const [name, spec] of Object.entries(keySpecs)) {
      const key = yield* apiKeys.create({ tenantId: spec.tenantId, scopes: spec.scopes, name })
      out[name as KeyName] = { raw: Redacted.value(key.key), keyId: key.info.keyId }
    }
    return out as Record<KeyName, { readonly raw: string; readonly keyId: string }>
  }))
  const keys = Object.fromEntries(Object.entries(created).map(([name, k]) => [name, k.raw])) as Record<KeyName, string>
  return {
    baseUrl,
    runtime,
    keys,
    /** The gateways built from tenants' stored credentials (with `tenantGateways`), oldest first. */
    tenantBuilds: mock.builds,
    revoke: (name: KeyName) =>
      runtime.runPromise(Effect.flatMap(ApiKeys.ApiKeys, (apiKeys) =>
        apiKeys.revoke({ tenantId: keySpecs[name].tenantId, keyId: created[name].keyId }))),
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
  const key = options.key === undefined ? server.keys.acme : options.key
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
export const client = (server: Started, key: string = server.keys.acme) =>
  HttpApiClient.make(AegisPayApi.AegisPayApi, {
    baseUrl: server.baseUrl,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(key))
  }).pipe(Effect.provide(FetchHttpClient.layer))
