/**
 * The HTTP entry of AegisPay: the REST API as an `HttpApi` (`AegisPayApi`: mount it, extend it,
 * derive a typed `HttpApiClient`), its handlers over `PaymentService`, bearer API keys with
 * scopes and a per-key rate limit, Stripe-style idempotent creation, incoming provider webhooks,
 * `/health`, `/ready`, `/metrics`, `/openapi.json` and Swagger UI, and the GraphQL API at
 * `/graphql` (`AegisPayGraphql`, docs/GRAPHQL.md). Needs `@effect/platform` (and
 * a server, e.g. `@effect/platform-node`'s `NodeHttpServer`). See docs/HTTP.md.
 *
 * @since 0.2.0
 */

/** @since 0.2.0 */
export * as AegisPayApi from "./http/AegisPayApi.js"
/** @since 0.2.0 */
export * as AegisPayGraphql from "./http/AegisPayGraphql.js"
/** @since 0.2.0 */
export * as AegisPayHttp from "./http/AegisPayHttp.js"
/** @since 0.2.0 */
export * as ApiError from "./http/ApiError.js"
/** @since 0.2.0 */
export * as ApiSchemas from "./http/ApiSchemas.js"
/** @since 0.2.0 */
export * as Auth from "./http/Auth.js"
/** @since 0.2.0 */
export * as ErrorMapping from "./http/ErrorMapping.js"
/** @since 0.2.0 */
export * as GraphqlErrors from "./http/GraphqlErrors.js"
/** @since 0.2.0 */
export * as GraphqlLimits from "./http/GraphqlLimits.js"
/** @since 0.2.0 */
export * as GraphqlSchema from "./http/GraphqlSchema.js"
/** @since 0.2.0 */
export * as OpsHandlers from "./http/OpsHandlers.js"
/** @since 0.2.0 */
export * as RequestMiddleware from "./http/RequestMiddleware.js"
/** @since 0.2.0 */
export * as WebhookSchemas from "./http/WebhookSchemas.js"
