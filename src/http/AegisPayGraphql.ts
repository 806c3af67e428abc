/**
 * The GraphQL API of AegisPay (docs/GRAPHQL.md), on the same `@effect/platform` server as the
 * REST API: `POST /graphql` (queries and mutations) and `GET /graphql` (queries only), served by
 * `graphql-http` (the GraphQL over HTTP reference server) over {@link GraphqlSchema.schema}.
 *
 * `AegisPayHttp.layer` / `serve` include it (option `graphql: false` leaves it out); to mount it
 * yourself, provide {@link layer} to `HttpApiBuilder.serve()` next to the REST API's layer, with
 * `Auth.Authentication` (the REST API's, so that both share one rate limiter per key).
 *
 * Guarantees:
 * - **Same keys, scopes, limits and tenants as REST.** The request is authenticated by the REST
 *   API's `Auth.Authentication` (the same bearer keys, the same per-key rate limit, counted
 *   together with REST's calls) before its body is read; resolvers run under the key's tenant
 *   and check the key's scopes field by field. A missing or revoked key is a 401, over the limit
 *   a 429 with `Retry-After`, both with a GraphQL body `{ errors: [{ message, extensions }] }`
 *   (`extensions.code`: `Unauthenticated` / `RateLimited`).
 * - **Bounded documents.** Over `maxDepth` or `maxCost` (`GraphqlLimits`) or `maxTokens`, the
 *   document is refused before anything runs.
 * - **Introspection** is on only when asked for (option `introspection`, else the config
 *   `AEGISPAY_GRAPHQL_INTROSPECTION`, default off); `npm run serve` turns it on.
 * - **Errors**: typed errors become GraphQL errors with REST's meaning (`GraphqlErrors`); a
 *   defect is `InternalError` with the request id, its cause logged, never answered. Messages
 *   are masked for card numbers. The request id, tenant, key and payment id are in the access log
 *   as for REST (`RequestMiddleware` wraps these routes too: request ids, the body limit).
 *
 * @since 0.2.0
 */
import { HttpApiBuilder, HttpApiSecurity, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Config, Effect, Either, Exit, type Layer, Option, Runtime } from "effect"
import { GraphQLError, NoSchemaIntrospectionCustomRule, parse, type ValidationRule } from "graphql"
import { createHandler } from "graphql-http"
import { maskCardNumbers } from "../domain/Sanitize.js"
import type { ApiError } from "./ApiError.js"
import * as Auth from "./Auth.js"
import * as GraphqlErrors from "./GraphqlErrors.js"
import * as GraphqlLimits from "./GraphqlLimits.js"
import { type ResolverContext, schema, type Services } from "./GraphqlSchema.js"
import * as RequestLog from "./RequestLog.js"

/**
 * Options of the GraphQL API.
 *
 * @since 0.2.0
 */
export interface Options extends GraphqlLimits.Options {
  /** The path of the endpoint; default `/graphql`. */
  readonly path?: `/${string}` | undefined
  /**
   * Whether `__schema` / `__type` queries are answered; default: the config
   * `AEGISPAY_GRAPHQL_INTROSPECTION` (a boolean), else `false`.
   */
  readonly introspection?: boolean | undefined
  /** The most tokens a document may have (graphql's `maxTokens`); default 5000. */
  readonly maxTokens?: number | undefined
}

/**
 * The config of introspection (`AEGISPAY_GRAPHQL_INTROSPECTION`, default `false`).
 *
 * @since 0.2.0
 */
export const introspectionConfig: Config.Config<boolean> = Config.boolean("AEGISPAY_GRAPHQL_INTROSPECTION").pipe(
  Config.withDefault(false)
)

const answer = (error: ApiError): HttpServerResponse.HttpServerResponse => {
  const { extensions } = GraphqlErrors.extensionsOf(error)
  return HttpServerResponse.text(GraphqlErrors.body(error), {
    status: extensions.status,
    contentType: "application/json; charset=utf-8",
    headers: extensions.retryAfterSeconds === undefined ? {} : { "retry-after": String(extensions.retryAfterSeconds) }
  })
}

/** Errors without a code of ours come from graphql itself: a malformed or invalid document. */
const formatError = (error: Readonly<GraphQLError | Error>): GraphQLError => {
  if (!(error instanceof GraphQLError)) {
    return new GraphQLError(maskCardNumbers(error.message), {
      extensions: { code: "BadRequest", status: 400, reason: "invalid_request" }
    })
  }
  const original = error.originalError
  if (original !== undefined && !(original instanceof GraphQLError)) {
    // something a resolver threw that is not ours: nothing of it is answered
    return new GraphQLError("internal error", {
      ...(error.path === undefined ? {} : { path: error.path }),
      extensions: { code: "InternalError", status: 500, reason: "internal_error" }
    })
  }
  const extensions = typeof error.extensions.code === "string"
    ? error.extensions
    : { code: "GraphqlValidationFailed", status: 400, reason: "invalid_query", ...error.extensions }
  return new GraphQLError(maskCardNumbers(error.message), {
    ...(error.nodes === undefined ? {} : { nodes: error.nodes }),
    ...(error.source === undefined ? {} : { source: error.source }),
    ...(error.positions === undefined ? {} : { positions: error.positions }),
    ...(error.path === undefined ? {} : { path: error.path }),
    extensions
  })
}

/**
 * The resolvers' context for one request: runs their programs in `runtime` (the request's
 * principal, tenant and log annotations), interrupted when the request is.
 *
 * @since 0.2.0
 */
export const makeContext = (runtime: Runtime.Runtime<Services>, signal: AbortSignal, requestId?: string): ResolverContext => ({
  run: (effect, paymentId) =>
    Runtime.runPromiseExit(runtime)(
      effect.pipe(
        Effect.catchAllDefect((defect) =>
          Effect.zipRight(Effect.logError("unexpected error in a GraphQL resolver", Cause.die(defect)), Effect.fail(GraphqlErrors.internal(requestId)))
        )
      ),
      { signal }
    ).then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      const failure = Cause.failureOption(exit.cause)
      throw GraphqlErrors.toGraphqlError(Option.isSome(failure) ? failure.value : GraphqlErrors.internal(requestId), paymentId)
    })
})

/**
 * The `/graphql` routes on `HttpApiBuilder.Router` (provide to `HttpApiBuilder.serve()` with the
 * REST API's layer, whose middleware wraps them).
 *
 * @since 0.2.0
 */
export const layer = (options: Options = {}): Layer.Layer<never, never, Auth.Authentication | Exclude<Services, Auth.Principal>> =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function*() {
      const authentication = yield* Auth.Authentication
      const context = yield* Effect.context<Exclude<Services, Auth.Principal>>()
      const introspection = options.introspection ?? (yield* introspectionConfig.pipe(
        Effect.catchAll((error) =>
          Effect.as(Effect.logWarning("AEGISPAY_GRAPHQL_INTROSPECTION is not a boolean: introspection stays off", error), false)
        )
      ))
      const limits: ReadonlyArray<ValidationRule> = introspection ? [] : [NoSchemaIntrospectionCustomRule]
      const maxTokens = options.maxTokens ?? 5000
      const handler = createHandler<undefined, ResolverContext, ResolverContext>({
        schema,
        context: (request) => request.context,
        parse: (source, parseOptions) => parse(source, { ...parseOptions, maxTokens }),
        validationRules: (_request, args, specified) => [
          ...specified,
          ...limits,
          ...GraphqlLimits.rules(options, args.variableValues ?? {})
        ],
        formatError
      })

      const handle = Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const requestId = (yield* RequestLog.current)?.requestId
        const token = yield* HttpApiBuilder.securityDecode(HttpApiSecurity.bearer)
        const authenticated = yield* Effect.either(authentication.bearer(token))
        if (Either.isLeft(authenticated)) return answer(authenticated.left)
        const principal = authenticated.right
        const runtime = yield* Effect.runtime<Services>().pipe(
          Effect.provideService(Auth.Principal, principal),
          Effect.annotateLogs({ tenantId: principal.tenantId })
        )
        // the body is read after authentication (and within the middleware's size limit)
        const body = request.method === "POST" ? yield* request.text : null
        const [text, init] = yield* Effect.tryPromise({
          try: (signal) =>
            handler({
              method: request.method,
              url: request.url,
              headers: request.headers,
              body,
              raw: undefined,
              context: makeContext(runtime, signal, requestId)
            }),
          catch: (cause) => cause
        }).pipe(
          Effect.catchAll((cause) =>
            Effect.as(
              Effect.logError("the GraphQL handler failed", Cause.fail(cause)),
              [GraphqlErrors.body(GraphqlErrors.internal(requestId)), {
                status: 500,
                statusText: "Internal Server Error",
                headers: { "content-type": "application/json; charset=utf-8" }
              }] as const
            )
          )
        )
        const { "content-type": contentType, ...headers } = init.headers ?? {}
        return HttpServerResponse.text(text ?? "", {
          status: init.status,
          headers,
          ...(contentType === undefined ? {} : { contentType })
        })
      }).pipe(Effect.provide(context))
      const path = options.path ?? "/graphql"
      yield* router.post(path, handle)
      yield* router.get(path, handle)
    })
  )
