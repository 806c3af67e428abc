/**
 * The tenant registry: which tenants an installation serves, by id, with a display name and a
 * status. Payments do not need it (a tenant id is enough for `Tenant.with`); the HTTP service and
 * the admin CLI do: the CLI makes keys only for a registered tenant, and a `suspended` tenant's
 * API keys stop authenticating (`ApiKeys.authenticate` fails with `InvalidApiKey`) until it is
 * active again.
 *
 * Guarantees of every implementation (`layerMemory` here, `SqlTenants.layer` on PostgreSQL):
 * - ids are unique and compared exactly (tenant id rules of `PaymentRequest.TenantId`: 1 to 64
 *   characters, no control characters or whitespace at either end); `create` of an existing id
 *   fails with {@link TenantExists} and changes nothing;
 * - time comes from `Clock`.
 *
 * @since 0.2.0
 */
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import type { ValidationError } from "../domain/PaymentError.js"
import { decode, ExactKey, TenantId } from "../domain/PaymentRequest.js"
import type { StorageError } from "../storage/StorageError.js"

/**
 * `active`, or `suspended`: its API keys do not authenticate.
 *
 * @since 0.2.0
 */
export const TenantStatus = Schema.Literal("active", "suspended")

/**
 * @since 0.2.0
 */
export type TenantStatus = typeof TenantStatus.Type

/**
 * A registered tenant.
 *
 * @since 0.2.0
 */
export const TenantInfo = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  status: TenantStatus,
  createdAt: Schema.Date
})

/**
 * @since 0.2.0
 */
export type TenantInfo = typeof TenantInfo.Type

/**
 * A tenant with this id is already registered.
 *
 * @since 0.2.0
 */
export class TenantExists extends Schema.TaggedError<TenantExists>()("TenantExists", { tenantId: Schema.String }) {
  override get message(): string {
    return `tenant ${JSON.stringify(this.tenantId)} already exists`
  }
}

/**
 * No tenant with this id is registered.
 *
 * @since 0.2.0
 */
export class TenantNotFound extends Schema.TaggedError<TenantNotFound>()("TenantNotFound", { tenantId: Schema.String }) {
  override get message(): string {
    return `no tenant ${JSON.stringify(this.tenantId)}`
  }
}

/**
 * @since 0.2.0
 */
export class Tenants extends Context.Tag("aegispay/Tenants")<Tenants, {
  /** Registers a tenant, `active`. */
  readonly create: (
    input: { readonly id: string; readonly name: string }
  ) => Effect.Effect<TenantInfo, ValidationError | TenantExists | StorageError>
  readonly get: (id: string) => Effect.Effect<TenantInfo, TenantNotFound | StorageError>
  /** Every tenant, by id. */
  readonly list: Effect.Effect<ReadonlyArray<TenantInfo>, StorageError>
  readonly setStatus: (
    input: { readonly id: string; readonly status: TenantStatus }
  ) => Effect.Effect<TenantInfo, TenantNotFound | StorageError>
}>() {}

/**
 * What an implementation stores; {@link make} holds the rules.
 *
 * @since 0.2.0
 */
export interface Store {
  /** Inserts unless the id exists; whether it inserted. */
  readonly insert: (tenant: TenantInfo) => Effect.Effect<boolean, StorageError>
  readonly find: (id: string) => Effect.Effect<Option.Option<TenantInfo>, StorageError>
  readonly list: Effect.Effect<ReadonlyArray<TenantInfo>, StorageError>
  readonly setStatus: (id: string, status: TenantStatus) => Effect.Effect<Option.Option<TenantInfo>, StorageError>
}

const CreateSchema = Schema.Struct({ id: TenantId, name: ExactKey("name", 200) })

/**
 * The registry over `store`.
 *
 * @since 0.2.0
 */
export const make = (store: Store): Tenants["Type"] =>
  Tenants.of({
    create: Effect.fn("Tenants.create")(function*(input: { readonly id: string; readonly name: string }) {
      const valid = yield* decode(CreateSchema, { id: input.id, name: input.name })
      const tenant: TenantInfo = {
        id: valid.id,
        name: valid.name,
        status: "active",
        createdAt: new Date(yield* Clock.currentTimeMillis)
      }
      if (!(yield* store.insert(tenant))) return yield* new TenantExists({ tenantId: valid.id })
      return tenant
    }),
    get: Effect.fn("Tenants.get")(function*(id: string) {
      const found = yield* store.find(id)
      if (Option.isNone(found)) return yield* new TenantNotFound({ tenantId: id })
      return found.value
    }),
    list: store.list,
    setStatus: Effect.fn("Tenants.setStatus")(function*(input: { readonly id: string; readonly status: TenantStatus }) {
      const found = yield* store.setStatus(input.id, input.status)
      if (Option.isNone(found)) return yield* new TenantNotFound({ tenantId: input.id })
      return found.value
    })
  })

/**
 * A store in process memory.
 *
 * @since 0.2.0
 */
export const memoryStore: Effect.Effect<Store> = Effect.sync(() => {
  const tenants = new Map<string, TenantInfo>()
  return {
    insert: (tenant) =>
      Effect.sync(() => {
        if (tenants.has(tenant.id)) return false
        tenants.set(tenant.id, tenant)
        return true
      }),
    find: (id) => Effect.sync(() => Option.fromNullable(tenants.get(id))),
    list: Effect.sync(() => [...tenants.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))),
    setStatus: (id, status) =>
      Effect.sync(() => {
        const tenant = tenants.get(id)
        if (tenant === undefined) return Option.none()
        const next = { ...tenant, status }
        tenants.set(id, next)
        return Option.some(next)
      })
  }
})

/**
 * The registry in process memory.
 *
 * @since 0.2.0
 */
export const layerMemory: Layer.Layer<Tenants> = Layer.effect(Tenants, Effect.map(memoryStore, make))

/**
 * Whether API keys of `tenantId` may authenticate: it is not a registered tenant with status
 * `suspended`.
 *
 * @since 0.2.0
 */
export const keysAllowed = (tenants: Tenants["Type"], tenantId: string): Effect.Effect<boolean, StorageError> =>
  tenants.get(tenantId).pipe(
    Effect.map((tenant) => tenant.status === "active"),
    Effect.catchTag("TenantNotFound", () => Effect.succeed(true))
  )

