/**
 * The tenant's own provider credentials over HTTP: `/v1/providers…` and the seed's
 * `POST /api/v1/providers/credentials`, over `TenantGateways`.
 *
 * Guarantees:
 * - Every route needs the `admin` scope and acts for the API key's tenant only.
 * - **Values are never answered**: a save answers the fields masked (last four characters, values
 *   under 12 characters entirely), as does the list; nothing of a value is logged.
 * - A save is checked before anything is stored (unknown or missing fields, a provider that
 *   refuses the values: 400 naming the field), and the tenant's gateway for the provider is
 *   rebuilt from the new version at once (`TenantGateways.save`).
 * - Where the installation does not provide `TenantGateways` to the HTTP layer, 501.
 *
 * @since 0.2.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option, Record, Redacted } from "effect"
import * as Tenant from "../domain/Tenant.js"
import * as TenantGateways from "../tenancy/TenantGateways.js"
import { AegisPayApi } from "./AegisPayApi.js"
import { InternalError, NotFound, NotImplemented } from "./ApiError.js"
import { authorized } from "./Auth.js"
import { fromDomain } from "./ErrorMapping.js"

/**
 * The `TenantGateways` of the installation, or 501.
 *
 * @since 0.2.0
 */
export const tenantGateways = Effect.flatMap(
  Effect.serviceOption(TenantGateways.TenantGateways),
  Option.match({
    onNone: () =>
      Effect.fail(
        new NotImplemented({ code: "not_implemented", message: "provider credentials are not available in this installation" })
      ),
    onSome: Effect.succeed
  })
)

/**
 * Saves the current tenant's credentials for `provider` (see the module's guarantees); answers
 * the stored version, masked.
 *
 * @since 0.2.0
 */
export const saveCredentials = (provider: string, credentials: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const service = yield* tenantGateways
    const tenantId = yield* Tenant.current
    return yield* service.save({ tenantId, provider, fields: Record.map(credentials, (value) => Redacted.make(value)) }).pipe(
      Effect.mapError((e) => fromDomain(e))
    )
  })

const unreadable = new InternalError({ code: "internal_error", message: "internal error" })

/**
 * @since 0.2.0
 */
export const layerProviders = HttpApiBuilder.group(AegisPayApi, "providers", (handlers) =>
  handlers
    .handle("list", () =>
      Effect.map(tenantGateways, (service) => ({
        data: service.providers.map((p) => ({
          provider: p.provider,
          fields: p.fields.map((f) => ({ name: f.name, secret: f.secret, optional: f.optional === true }))
        }))
      })).pipe(authorized("admin")))
    .handle("saveCredentials", ({ payload }) => saveCredentials(payload.provider, payload.credentials).pipe(authorized("admin")))
    .handle("credentials", () =>
      Effect.gen(function*() {
        const service = yield* tenantGateways
        const data = yield* service.describe(yield* Tenant.current).pipe(
          Effect.catchTags({
            // a record that cannot be decrypted (a KEK missing from the configuration) is logged, never answered
            CredentialsUnreadable: (e) => Effect.zipRight(Effect.logError("stored provider credentials cannot be read", e), Effect.fail(unreadable)),
            StorageError: (e) => Effect.fail(fromDomain(e))
          })
        )
        return { data }
      }).pipe(authorized("admin")))
    .handle("removeCredentials", ({ path }) =>
      Effect.gen(function*() {
        const service = yield* tenantGateways
        yield* service.remove({ tenantId: yield* Tenant.current, provider: path.provider }).pipe(
          Effect.catchTags({
            CredentialsNotFound: (e) => Effect.fail(new NotFound({ code: "credentials_not_found", message: e.message })),
            StorageError: (e) => Effect.fail(fromDomain(e))
          })
        )
      }).pipe(authorized("admin")))
)
