/**
 * API keys: how a caller of the HTTP service proves which tenant it acts for and what it may do.
 *
 * A key belongs to one tenant and carries scopes. It is shown once, when it is created or rotated
 * (`ak_live_<keyId>_<secret>`, see `ApiKeyHash`); only a keyed hash of its secret is stored. The
 * public `keyId` (the 16 hex characters after `ak_live_`) identifies it in lists, logs and the
 * revoke / rotate operations.
 *
 * Guarantees of every implementation (`layerMemory` here, `SqlApiKeys.layer` on PostgreSQL):
 * - `authenticate` fails with the one {@link InvalidApiKey} (no fields, same message) for a
 *   malformed key, an unknown key id, a wrong secret and a revoked key: a caller cannot learn
 *   whether a key id exists. An unknown key id costs the same hash and constant-time comparison
 *   as a wrong secret (`ApiKeyHash.verify`).
 * - The secret is never stored, logged or returned after creation; `list` returns
 *   {@link ApiKeyInfo} only.
 * - Every operation that takes a `tenantId` acts on that tenant's keys only: another tenant's key
 *   is an {@link ApiKeyNotFound}, exactly like a missing one, and is left unchanged.
 * - `revoke` is immediate and idempotent; `rotate` creates the new key and schedules the old
 *   one's revocation (now, or after a grace period) in one step.
 * - Time comes from `Clock`, randomness from `SecureRandom` (a CSPRNG).
 *
 * @since 0.2.0
 */
import { Clock, Context, Duration, Effect, Layer, Option, type Redacted, Schema } from "effect"
import { ValidationError } from "../domain/PaymentError.js"
import { decode, ExactKey, TenantId } from "../domain/PaymentRequest.js"
import * as ApiKeyHash from "../security/ApiKeyHash.js"
import type { StorageError } from "../storage/StorageError.js"
import * as Tenants from "./Tenants.js"

/**
 * What a key may do. `webhooks:write` manages the tenant's merchant webhook endpoints (their
 * secrets, deliveries and replays) and nothing else; `admin` allows everything, including
 * managing keys and credentials.
 *
 * @since 0.2.0
 */
export const Scope = Schema.Literal("payments:read", "payments:write", "refunds:write", "webhooks:write", "admin")

/**
 * @since 0.2.0
 */
export type Scope = typeof Scope.Type

/**
 * Every scope, in a fixed order.
 *
 * @since 0.2.0
 */
export const scopes: ReadonlyArray<Scope> = Scope.literals

/**
 * Whether `granted` allows `required`: it holds the scope, or `admin`.
 *
 * @since 0.2.0
 */
export const allows = (granted: ReadonlyArray<Scope>, required: Scope): boolean =>
  granted.includes(required) || granted.includes("admin")

/**
 * What is known about a key, without its secret. `revokedAt` is when the key stops (stopped)
 * authenticating: in the future during a rotation's grace period.
 *
 * @since 0.2.0
 */
export const ApiKeyInfo = Schema.Struct({
  keyId: Schema.String,
  tenantId: Schema.String,
  /** `ak_live_<keyId>`: the start of the key, safe to show. */
  prefix: Schema.String,
  name: Schema.optional(Schema.String),
  scopes: Schema.Array(Scope),
  createdAt: Schema.Date,
  lastUsedAt: Schema.optional(Schema.Date),
  revokedAt: Schema.optional(Schema.Date)
})

/**
 * @since 0.2.0
 */
export type ApiKeyInfo = typeof ApiKeyInfo.Type

/**
 * Who a valid key authenticates: the tenant every request made with it runs for, and its scopes.
 *
 * @since 0.2.0
 */
export interface ApiKeyPrincipal {
  readonly keyId: string
  readonly tenantId: string
  readonly scopes: ReadonlyArray<Scope>
}

/**
 * A new key: the full key, to be shown to its owner once and never again, and its info.
 *
 * @since 0.2.0
 */
export interface CreatedApiKey {
  readonly key: Redacted.Redacted<string>
  readonly info: ApiKeyInfo
}

/**
 * The input of `create`. `scopes`: at least one, no duplicates; `name`: 1 to 100 characters, a
 * label for people.
 *
 * @since 0.2.0
 */
export interface CreateInput {
  readonly tenantId: string
  readonly scopes: ReadonlyArray<Scope>
  readonly name?: string | undefined
}

/**
 * The input of `rotate`. `gracePeriod` (default zero, at most {@link maxGracePeriod}): how long
 * the old key keeps authenticating, so clients can switch over.
 *
 * @since 0.2.0
 */
export interface RotateInput {
  readonly tenantId: string
  readonly keyId: string
  readonly gracePeriod?: Duration.DurationInput | undefined
}

/**
 * The longest grace period of a rotation: 7 days.
 *
 * @since 0.2.0
 */
export const maxGracePeriod: Duration.Duration = Duration.days(7)

/**
 * The presented key does not authenticate: malformed, unknown, wrong secret or revoked: which one
 * is never said.
 *
 * @since 0.2.0
 */
export class InvalidApiKey extends Schema.TaggedError<InvalidApiKey>()("InvalidApiKey", {}) {
  override get message(): string {
    return "invalid API key"
  }
}

/**
 * No key `keyId` in this tenant (missing, or another tenant's: the same error).
 *
 * @since 0.2.0
 */
export class ApiKeyNotFound extends Schema.TaggedError<ApiKeyNotFound>()("ApiKeyNotFound", {
  keyId: Schema.String
}) {
  override get message(): string {
    return `no API key ${JSON.stringify(this.keyId)}`
  }
}

/**
 * The key is revoked (or its revocation time has passed): it cannot be rotated.
 *
 * @since 0.2.0
 */
export class ApiKeyRevoked extends Schema.TaggedError<ApiKeyRevoked>()("ApiKeyRevoked", {
  keyId: Schema.String
}) {
  override get message(): string {
    return `API key ${this.keyId} is revoked`
  }
}

/**
 * @since 0.2.0
 */
export class ApiKeys extends Context.Tag("aegispay/ApiKeys")<ApiKeys, {
  /** Creates a key for `tenantId`; the result holds the full key, shown once. */
  readonly create: (input: CreateInput) => Effect.Effect<CreatedApiKey, ValidationError | StorageError>
  /**
   * The principal of a presented key, or {@link InvalidApiKey}. Records the key's last use
   * (at most once a minute per key).
   */
  readonly authenticate: (raw: Redacted.Redacted<string>) => Effect.Effect<ApiKeyPrincipal, InvalidApiKey | StorageError>
  /** Revokes the key now; revoking a revoked key changes nothing and succeeds. */
  readonly revoke: (input: { readonly tenantId: string; readonly keyId: string }) => Effect.Effect<ApiKeyInfo, ApiKeyNotFound | StorageError>
  /**
   * A new key with the old one's tenant, scopes and name; the old one is revoked now or after
   * `gracePeriod`. Both in one step: never two live keys without a revocation scheduled.
   */
  readonly rotate: (
    input: RotateInput
  ) => Effect.Effect<CreatedApiKey, ApiKeyNotFound | ApiKeyRevoked | ValidationError | StorageError>
  /** The tenant's keys (revoked ones too), newest first. */
  readonly list: (tenantId: string) => Effect.Effect<ReadonlyArray<ApiKeyInfo>, StorageError>
}>() {}

// ---------------------------------------------------------------------------------------------
// the shared implementation over a row store

/**
 * A stored key: its info and the hash of its secret.
 *
 * @since 0.2.0
 */
export interface StoredKey {
  readonly info: ApiKeyInfo
  readonly hash: Uint8Array
}

/**
 * A stored key as `find` returns it.
 *
 * @since 0.2.0
 */
export interface FoundKey extends StoredKey {
  readonly tenantActive: boolean
}

/**
 * What an implementation stores; {@link make} holds every rule, so memory and SQL behave alike.
 *
 * @since 0.2.0
 */
export interface Store {
  readonly insert: (key: StoredKey) => Effect.Effect<void, StorageError>
  /**
   * The key `keyId` of any tenant, and whether its tenant may authenticate (not a registered
   * tenant with status `suspended`).
   */
  readonly find: (keyId: string) => Effect.Effect<Option.Option<FoundKey>, StorageError>
  /** Sets `lastUsedAt` when it is absent or before `staleBefore`. */
  readonly touch: (keyId: string, at: Date, staleBefore: Date) => Effect.Effect<void, StorageError>
  /**
   * Sets `revokedAt` to `at` for `tenantId`'s key `keyId` unless it is already revoked at or
   * before `at`; then `insert` when given, in the same transaction. The key as it is after, or
   * `None` when the tenant has no such key (nothing inserted then).
   */
  readonly revoke: (
    tenantId: string,
    keyId: string,
    at: Date,
    insert?: StoredKey
  ) => Effect.Effect<Option.Option<ApiKeyInfo>, StorageError>
  readonly list: (tenantId: string) => Effect.Effect<ReadonlyArray<ApiKeyInfo>, StorageError>
}

const TOUCH_EVERY_MS = 60_000
const NAME_MAX = 100

const CreateSchema = Schema.Struct({
  tenantId: TenantId,
  scopes: Schema.Array(Scope).pipe(
    Schema.minItems(1, { message: () => "scopes must name at least one scope" }),
    Schema.filter((s) => new Set(s).size === s.length || "scopes must not repeat a scope")
  ),
  name: Schema.optional(ExactKey("name", NAME_MAX))
})

const validateCreate = (input: CreateInput) =>
  decode(CreateSchema, input.name === undefined ? { tenantId: input.tenantId, scopes: input.scopes } : input)

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/**
 * The service over `store`; needs the pepper ({@link ApiKeyHash.ApiKeyPepper}).
 *
 * @since 0.2.0
 */
export const make = (store: Store): Effect.Effect<ApiKeys["Type"], never, ApiKeyHash.ApiKeyPepper> =>
  Effect.map(ApiKeyHash.ApiKeyPepper, (pepper) => {
    const withPepper = Effect.provideService(ApiKeyHash.ApiKeyPepper, pepper)

    const fresh = (tenantId: string, scopes: ReadonlyArray<Scope>, name: string | undefined, createdAt: Date) =>
      Effect.gen(function*() {
        const keyId = yield* ApiKeyHash.generateKeyId
        const secret = yield* ApiKeyHash.generateSecret
        const hash = yield* ApiKeyHash.hash(keyId, secret)
        const info: ApiKeyInfo = {
          keyId,
          tenantId,
          prefix: ApiKeyHash.displayPrefix(keyId),
          ...(name === undefined ? {} : { name }),
          scopes: [...scopes],
          createdAt
        }
        return { stored: { info, hash }, created: { key: ApiKeyHash.format(keyId, secret), info } }
      }).pipe(withPepper)

    const create = Effect.fn("ApiKeys.create")(function*(input: CreateInput) {
      const valid = yield* validateCreate(input)
      const at = yield* now
      const { created, stored } = yield* fresh(valid.tenantId, valid.scopes, valid.name, at)
      yield* store.insert(stored)
      return created
    })

    const invalid = new InvalidApiKey()

    const authenticate = Effect.fn("ApiKeys.authenticate")(function*(raw: Redacted.Redacted<string>) {
      const parsed = ApiKeyHash.parse(raw)
      if (Option.isNone(parsed)) return yield* invalid
      const { keyId, secret } = parsed.value
      const found = yield* store.find(keyId)
      const ok = yield* ApiKeyHash.verify(keyId, secret, Option.isSome(found) ? found.value.hash : undefined).pipe(withPepper)
      if (!ok || Option.isNone(found) || !found.value.tenantActive) return yield* invalid
      const info = found.value.info
      const at = yield* now
      if (info.revokedAt !== undefined && info.revokedAt.getTime() <= at.getTime()) return yield* invalid
      if (info.lastUsedAt === undefined || info.lastUsedAt.getTime() < at.getTime() - TOUCH_EVERY_MS) {
        yield* store.touch(keyId, at, new Date(at.getTime() - TOUCH_EVERY_MS))
      }
      return { keyId, tenantId: info.tenantId, scopes: info.scopes }
    })

    const revoke = Effect.fn("ApiKeys.revoke")(function*(input: { readonly tenantId: string; readonly keyId: string }) {
      const at = yield* now
      const after = yield* store.revoke(input.tenantId, input.keyId, at)
      if (Option.isNone(after)) return yield* new ApiKeyNotFound({ keyId: input.keyId })
      return after.value
    })

    const rotate = Effect.fn("ApiKeys.rotate")(function*(input: RotateInput) {
      const grace = Duration.decodeUnknown(input.gracePeriod ?? 0)
      if (
        Option.isNone(grace) || !Duration.isFinite(grace.value) ||
        Duration.greaterThan(grace.value, maxGracePeriod)
      ) {
        return yield* new ValidationError({ path: "gracePeriod", message: "gracePeriod must be between 0 and 7 days" })
      }
      const at = yield* now
      const found = yield* store.find(input.keyId)
      if (Option.isNone(found) || found.value.info.tenantId !== input.tenantId) {
        return yield* new ApiKeyNotFound({ keyId: input.keyId })
      }
      const old = found.value.info
      if (old.revokedAt !== undefined && old.revokedAt.getTime() <= at.getTime()) {
        return yield* new ApiKeyRevoked({ keyId: input.keyId })
      }
      const { created, stored } = yield* fresh(old.tenantId, old.scopes, old.name, at)
      const until = new Date(at.getTime() + Duration.toMillis(grace.value))
      const after = yield* store.revoke(input.tenantId, input.keyId, until, stored)
      if (Option.isNone(after)) return yield* new ApiKeyNotFound({ keyId: input.keyId })
      return created
    })

    const list = Effect.fn("ApiKeys.list")(function*(tenantId: string) {
      return yield* store.list(tenantId)
    })

    return ApiKeys.of({ create, authenticate, revoke, rotate, list })
  })

// ---------------------------------------------------------------------------------------------
// memory

/**
 * A store in process memory (tests, single-process demos); with `tenants`, a suspended tenant's
 * keys do not authenticate.
 *
 * @since 0.2.0
 */
export const memoryStore = (tenants?: Tenants.Tenants["Type"] | undefined): Effect.Effect<Store> => Effect.sync(() => {
  const keys = new Map<string, StoredKey>()
  return {
    insert: (key) => Effect.sync(() => void keys.set(key.info.keyId, key)),
    find: (keyId) =>
      Effect.suspend(() => {
        const key = keys.get(keyId)
        if (key === undefined) return Effect.succeedNone
        const active = tenants === undefined ? Effect.succeed(true) : Tenants.keysAllowed(tenants, key.info.tenantId)
        return Effect.map(active, (tenantActive) => Option.some({ ...key, tenantActive }))
      }),
    touch: (keyId, at, staleBefore) =>
      Effect.sync(() => {
        const key = keys.get(keyId)
        if (key === undefined) return
        const last = key.info.lastUsedAt
        if (last === undefined || last.getTime() < staleBefore.getTime()) {
          keys.set(keyId, { ...key, info: { ...key.info, lastUsedAt: at } })
        }
      }),
    revoke: (tenantId, keyId, at, insert) =>
      Effect.sync(() => {
        const key = keys.get(keyId)
        if (key === undefined || key.info.tenantId !== tenantId) return Option.none()
        const revokedAt = key.info.revokedAt
        const next = revokedAt !== undefined && revokedAt.getTime() <= at.getTime()
          ? key
          : { ...key, info: { ...key.info, revokedAt: at } }
        keys.set(keyId, next)
        if (insert !== undefined) keys.set(insert.info.keyId, insert)
        return Option.some(next.info)
      }),
    list: (tenantId) =>
      Effect.sync(() =>
        [...keys.values()]
          .filter((key) => key.info.tenantId === tenantId)
          .map((key) => key.info)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.keyId < b.keyId ? -1 : 1))
      )
  }
})

/**
 * API keys in process memory; needs the pepper (`ApiKeyHash.layer`, or the test kit's
 * `TenancyTest.layerPepper`). When a `Tenants` registry is in the layer's context, a suspended
 * tenant's keys do not authenticate.
 *
 * @since 0.2.0
 */
export const layerMemory: Layer.Layer<ApiKeys, never, ApiKeyHash.ApiKeyPepper> = Layer.effect(
  ApiKeys,
  Effect.gen(function*() {
    const tenants = yield* Effect.serviceOption(Tenants.Tenants)
    return yield* make(yield* memoryStore(Option.getOrUndefined(tenants)))
  })
)
