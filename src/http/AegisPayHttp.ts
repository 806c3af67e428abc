/**
 * The HTTP service of AegisPay, ready to mount: the {@link AegisPayApi} with its handlers, the
 * bearer-key middleware and its rate limiter, the request middleware (request ids, the 1 MB body
 * limit, one error body, access logs), `/openapi.json` and Swagger UI at `/docs`, and the
 * GraphQL API at `/graphql` ({@link AegisPayGraphql}, option `graphql`; docs/GRAPHQL.md).
 *
 * ```ts
 * import { HttpApiBuilder } from "@effect/platform"
 * import { NodeHttpServer } from "@effect/platform-node"
 * import { AegisPayHttp } from "aegispay/http"
 *
 * AegisPayHttp.serve().pipe(                               // the API, its middleware and docs
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 3000 })),
 *   Layer.provide(apiKeys), Layer.provide(AegisPayLive), Layer.launch
 * )
 * ```
 *
 * or, in your own server with your own routes, `HttpApiBuilder.serve()` with `layer()` provided
 * (extend the API by adding groups to `AegisPayApi` and their handlers next to `layerGroups`).
 *
 * Needs what the handlers use: `PaymentService`, `Notifications`, `GatewayRegistry`,
 * `CircuitBreakers`, `GatewayMetrics`, `EventStore`, `Ids` (every `AegisPay` composition provides
 * them), and the tenancy module's `ApiKeys` (or, with
 * `layerWithAuthenticator`, your own `Auth.Authenticator`); with GraphQL (the default), the
 * `IdempotencyStore` too (`AegisPayPg` / `AegisPayEmbedded` provide it; memory:
 * `IdempotencyStore.layerMemory`). Optional: `MerchantWebhooks` (the `/v1/webhook-endpoints`
 * routes answer 501 without it) and `TenantGateways` (provider credentials and tenants' own
 * webhook URLs; 501 / 404 without it).
 *
 * @since 0.2.0
 */
import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware } from "@effect/platform"
import { RateLimiter } from "@effect/experimental"
import { Context, DefaultServices, type Duration, Effect, Layer, Tracer } from "effect"
import * as AegisPayGraphql from "./AegisPayGraphql.js"
import { AegisPayApi } from "./AegisPayApi.js"
import * as Auth from "./Auth.js"
import { layerOps, layerReadiness, type ReadinessCheck, type ReadinessOptions } from "./OpsHandlers.js"
import { layerCustomers, layerGateways, layerPayments } from "./PaymentsHandlers.js"
import * as RequestMiddleware from "./RequestMiddleware.js"
import { layerProviders } from "./ProvidersHandlers.js"
import { layerSeed } from "./SeedHandlers.js"
import { layerWebhookEndpoints } from "./WebhookEndpointsHandlers.js"
import { layerTenantWebhooks, layerWebhooks } from "./WebhookHandlers.js"

/**
 * Options of the HTTP service.
 *
 * @since 0.2.0
 */
export interface Options extends RequestMiddleware.Options {
  /** Per API key; default 100 requests per second. */
  readonly rateLimit?: Auth.RateLimitOptions | undefined
  /** Readiness checks of `/ready` besides the built-in ones (storage, API keys, workers). */
  readonly readiness?: ReadonlyArray<ReadinessCheck> | undefined
  /** The longest a readiness check may take (then it fails as `timed out`); default 2 seconds. */
  readonly readinessTimeout?: Duration.DurationInput | undefined
  /**
   * The outbox lag and worker staleness limits of `/ready` (`OpsHandlers.ReadinessOptions`:
   * `maxOutboxLag`, `workerStaleFactor`, `workerMinStale`); absent ones from `Config`
   * (`AEGISPAY_READY_MAX_OUTBOX_LAG`, `AEGISPAY_READY_WORKER_STALE_FACTOR`).
   */
  readonly readinessLimits?: Pick<ReadinessOptions, "maxOutboxLag" | "workerStaleFactor" | "workerMinStale"> | undefined
  /**
   * How long a key that authenticated is trusted without asking `ApiKeys` again (default 2 s:
   * a revocation takes effect within it); `false` asks on every request. Used by {@link layer}
   * and {@link serve} (your own authenticator in {@link layerWithAuthenticator} is used as is).
   */
  readonly authCache?: Auth.CacheOptions | false | undefined
  /** Swagger UI path; default `/docs`. */
  readonly docsPath?: `/${string}` | undefined
  /**
   * The GraphQL API (`AegisPayGraphql`, `POST`/`GET /graphql`) with these options, behind the
   * same keys, scopes, rate limit and tenants; `false` leaves it out. Default: served, with
   * introspection as the config `AEGISPAY_GRAPHQL_INTROSPECTION` says (default off).
   */
  readonly graphql?: AegisPayGraphql.Options | false | undefined
}

/**
 * The handlers of every group of {@link AegisPayApi}.
 *
 * @since 0.2.0
 */
export const layerGroups = Layer.mergeAll(
  layerPayments,
  layerCustomers,
  layerGateways,
  layerProviders,
  layerWebhooks,
  layerSeed,
  layerOps,
  layerWebhookEndpoints,
  layerTenantWebhooks
)

/**
 * {@link layer} with your own `Auth.Authenticator` instead of the tenancy module's `ApiKeys`.
 *
 * @since 0.2.0
 */
export const layerWithAuthenticator = (options: Options = {}) => {
  // one authentication (and one rate limiter) for REST and GraphQL: a key's calls count together
  const authentication = Auth.layer(options.rateLimit).pipe(
    Layer.provide(RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory)))
  )
  const api = HttpApiBuilder.api(AegisPayApi).pipe(
    Layer.provide(layerGroups),
    Layer.provide(authentication),
    Layer.provide(layerReadiness({ ...options.readinessLimits, checks: options.readiness, timeout: options.readinessTimeout }))
  )
  const graphql = options.graphql === false
    ? Layer.empty
    : AegisPayGraphql.layer(options.graphql).pipe(Layer.provide(authentication))
  return Layer.mergeAll(
    HttpApiSwagger.layer({ path: options.docsPath ?? "/docs" }),
    HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
    RequestMiddleware.layer(options),
    graphql
  ).pipe(Layer.provideMerge(api))
}

/**
 * The API with its handlers, authentication by the tenancy module's `ApiKeys` (a per-process
 * memory rate limiter per key), readiness, request middleware, `/openapi.json` and Swagger UI.
 * Provide it to `HttpApiBuilder.serve()` (or use {@link serve}).
 *
 * @since 0.2.0
 */
export const layer = (options: Options = {}) =>
  layerWithAuthenticator(options).pipe(Layer.provide(Auth.layerApiKeysWith({ cache: options.authCache })))

/**
 * The server layer `self` (e.g. `HttpApiBuilder.serve()`) with the platform's per-request
 * `http.server` span only where a tracer is installed when the server starts (e.g. by
 * `Otel.layerConfig` with an endpoint, provided below the server). With Effect's built-in tracer
 * nothing reads that span, and making it (the URL parsed, an attribute per header) is a good part
 * of the CPU of a small request. {@link serve} applies it; apply it to your own
 * `HttpApiBuilder.serve()` the same way.
 *
 * @since 0.2.0
 */
export const withRequestSpansWhenTraced = <A, E, R>(self: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.unwrapEffect(
    Effect.map(Effect.tracer, (tracer) =>
      tracer === Context.get(DefaultServices.liveServices, Tracer.Tracer)
        ? HttpMiddleware.withTracerDisabledWhen(self, () => true)
        : self)
  )

/**
 * Serves the API on the `HttpServer` you provide (e.g. `NodeHttpServer.layer`); API keys from
 * `ApiKeys`. Requests get an `http.server` span when a tracer is installed
 * ({@link withRequestSpansWhenTraced}).
 *
 * @since 0.2.0
 */
export const serve = (options: Options = {}) =>
  HttpApiBuilder.serve().pipe(withRequestSpansWhenTraced, Layer.provide(layer(options)))

/**
 * {@link serve} with your own `Auth.Authenticator`.
 *
 * @since 0.2.0
 */
export const serveWithAuthenticator = (options: Options = {}) =>
  HttpApiBuilder.serve().pipe(withRequestSpansWhenTraced, Layer.provide(layerWithAuthenticator(options)))
