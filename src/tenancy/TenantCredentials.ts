/**
 * Per-tenant gateway credentials (the seed's `saveOrUpdateProviderKeys`): a tenant's own API keys
 * for a provider (Stripe's secret key, PayPal's client id and secret, …), stored encrypted and
 * turned into that tenant's gateway instances by `TenantGateways`.
 *
 * Guarantees of every implementation (`layerMemory` here, `SqlTenantCredentials.layer` on SQL):
 * - **Encrypted**: one record per (tenant, provider), sealed with the card vault's envelope
 *   encryption (`Envelope`: AES-256-GCM under a fresh data key, wrapped by the current KEK of
 *   `KeyManagement`, the same `AEGISPAY_KEK…` configuration). Field names and values exist only
 *   inside the ciphertext: nothing of them is stored in clear.
 * - **Bound**: the tenant and the provider are the additional authenticated data of the
 *   ciphertext, so a record copied to another tenant or provider fails to decrypt with
 *   {@link CredentialsUnreadable}, never yields credentials.
 * - **Never returned in clear** except by `get`, for the process's own use (building a
 *   gateway): values stay `Redacted`. `describe` shows each field's last four characters only
 *   (values shorter than 12 characters are masked entirely).
 * - **Versioned**: every `save` of a (tenant, provider) increments its `version` (1 at the first)
 *   and sets `updatedAt`, atomically, also under concurrent saves: a gateway built from version
 *   `n` is known to be stale once `versions` shows more.
 * - **Scoped**: every operation takes the tenant; another tenant's credentials are
 *   {@link CredentialsNotFound}, as missing ones are.
 * - Errors never carry a field value: {@link ValidationError}s name the field, decryption
 *   failures the provider and key id.
 *
 * @since 0.2.0
 */
import { Clock, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { ValidationError } from "../domain/PaymentError.js"
import { TenantId } from "../domain/PaymentRequest.js"
import * as Envelope from "../security/Envelope.js"
import type * as KeyManagement from "../security/KeyManagement.js"
import { StorageError } from "../storage/StorageError.js"

/**
 * The credentials of one provider for one tenant, decrypted.
 *
 * @since 0.2.0
 */
export interface Credentials {
  readonly tenantId: string
  readonly provider: string
  readonly version: number
  readonly updatedAt: Date
  readonly fields: Readonly<Record<string, Redacted.Redacted<string>>>
}

/**
 * What may be shown of stored credentials: field names and masked values (`****1234`).
 *
 * @since 0.2.0
 */
export const CredentialsSummary = Schema.Struct({
  provider: Schema.String,
  version: Schema.Number,
  updatedAt: Schema.Date,
  fields: Schema.Record({ key: Schema.String, value: Schema.String })
})

/**
 * @since 0.2.0
 */
export type CredentialsSummary = typeof CredentialsSummary.Type

/**
 * The current version of one provider's credentials of a tenant.
 *
 * @since 0.2.0
 */
export interface CredentialsVersion {
  readonly provider: string
  readonly version: number
}

/**
 * The input of `save`.
 *
 * @since 0.2.0
 */
export interface SaveInput {
  readonly tenantId: string
  readonly provider: string
  readonly fields: Readonly<Record<string, Redacted.Redacted<string>>>
}

/**
 * The tenant has no credentials for this provider.
 *
 * @since 0.2.0
 */
export class CredentialsNotFound extends Schema.TaggedError<CredentialsNotFound>()("CredentialsNotFound", {
  provider: Schema.String
}) {
  override get message(): string {
    return `no credentials for provider ${JSON.stringify(this.provider)}`
  }
}

/**
 * Stored credentials could not be decrypted: their KEK is not configured (`unknown_key_id`), or
 * the record was altered or copied from another tenant or provider (`decryption_failed`).
 *
 * @since 0.2.0
 */
export class CredentialsUnreadable extends Schema.TaggedError<CredentialsUnreadable>()("CredentialsUnreadable", {
  provider: Schema.String,
  keyId: Schema.String,
  reason: Schema.Literal("unknown_key_id", "decryption_failed")
}) {
  override get message(): string {
    return `credentials for provider ${JSON.stringify(this.provider)} under key "${this.keyId}" cannot be read: ${this.reason}`
  }
}

/**
 * @since 0.2.0
 */
export class TenantCredentials extends Context.Tag("aegispay/TenantCredentials")<TenantCredentials, {
  /** Stores (or replaces) the tenant's credentials for `provider`; returns their summary. */
  readonly save: (input: SaveInput) => Effect.Effect<CredentialsSummary, ValidationError | StorageError>
  /** The decrypted credentials, for building the tenant's gateway. Never send them anywhere else. */
  readonly get: (
    input: { readonly tenantId: string; readonly provider: string }
  ) => Effect.Effect<Credentials, CredentialsNotFound | CredentialsUnreadable | StorageError>
  /** The summaries of every provider the tenant has credentials for, by provider. */
  readonly describe: (tenantId: string) => Effect.Effect<ReadonlyArray<CredentialsSummary>, CredentialsUnreadable | StorageError>
  /** The current versions of the tenant's credentials, by provider, without decrypting anything. */
  readonly versions: (tenantId: string) => Effect.Effect<ReadonlyArray<CredentialsVersion>, StorageError>
  /** The tenants that have credentials. */
  readonly tenants: Effect.Effect<ReadonlyArray<string>, StorageError>
  readonly remove: (
    input: { readonly tenantId: string; readonly provider: string }
  ) => Effect.Effect<void, CredentialsNotFound | StorageError>
}>() {}

// ---------------------------------------------------------------------------------------------
// rules shared by every implementation

/**
 * A stored record: the envelope and its metadata.
 *
 * @since 0.2.0
 */
export interface SealedRecord {
  readonly tenantId: string
  readonly provider: string
  readonly version: number
  readonly updatedAt: Date
  readonly envelopeVersion: number
  readonly envelope: Envelope.Envelope
}

/**
 * What an implementation stores; {@link make} holds every rule (validation, encryption,
 * masking), so memory and SQL behave alike.
 *
 * @since 0.2.0
 */
export interface Store {
  /** Inserts at version 1 or replaces with version + 1, atomically; the new version. */
  readonly upsert: (
    record: Omit<SealedRecord, "version">
  ) => Effect.Effect<number, StorageError>
  readonly find: (tenantId: string, provider: string) => Effect.Effect<Option.Option<SealedRecord>, StorageError>
  /** The tenant's records, by provider. */
  readonly list: (tenantId: string) => Effect.Effect<ReadonlyArray<SealedRecord>, StorageError>
  readonly versions: (tenantId: string) => Effect.Effect<ReadonlyArray<CredentialsVersion>, StorageError>
  readonly tenants: Effect.Effect<ReadonlyArray<string>, StorageError>
  /** Whether a record was removed. */
  readonly remove: (tenantId: string, provider: string) => Effect.Effect<boolean, StorageError>
}

/**
 * The format of the sealed payload (bound into the additional authenticated data).
 *
 * @since 0.2.0
 */
export const ENVELOPE_VERSION = 1

/**
 * The additional authenticated data of a record: its tenant and provider, under the format
 * version.
 *
 * @since 0.2.0
 */
export const recordContext = (tenantId: string, provider: string, version: number = ENVELOPE_VERSION): Uint8Array =>
  Envelope.context("aegispay/tenant-credentials", `v${version}`, tenantId, provider)

const PROVIDER = /^[a-z0-9][a-z0-9_-]{0,63}$/
const FIELD = /^[A-Za-z][A-Za-z0-9_]{0,63}$/
const MAX_FIELDS = 32
const MAX_VALUE = 8192
const MASK_MIN = 12

/**
 * A value as `describe` shows it: `****` and its last four characters, or `****` alone when it is
 * shorter than 12 characters (where four characters would give too much of it away).
 *
 * @since 0.2.0
 */
export const mask = (value: Redacted.Redacted<string>): string => {
  const raw = Redacted.value(value)
  return raw.length >= MASK_MIN ? `****${raw.slice(-4)}` : "****"
}

/**
 * Checks a provider name: 1 to 64 of `[a-z0-9_-]`, starting with a letter or digit.
 *
 * @since 0.2.0
 */
export const validateProvider = (provider: string): Effect.Effect<string, ValidationError> =>
  PROVIDER.test(provider)
    ? Effect.succeed(provider)
    : Effect.fail(new ValidationError({ path: "provider", message: "provider must be 1 to 64 of a-z, 0-9, _ and -" }))

const validateSave = (input: SaveInput) =>
  Effect.gen(function*() {
    yield* Schema.decodeUnknown(TenantId)(input.tenantId).pipe(
      Effect.mapError(() =>
        new ValidationError({ path: "tenantId", message: "tenant id must be 1 to 64 characters, without control characters or whitespace at either end" })
      )
    )
    yield* validateProvider(input.provider)
    const names = Object.keys(input.fields)
    if (names.length === 0 || names.length > MAX_FIELDS) {
      return yield* new ValidationError({ path: "fields", message: `fields must hold 1 to ${MAX_FIELDS} fields` })
    }
    for (const name of names) {
      if (!FIELD.test(name)) {
        return yield* new ValidationError({
          path: "fields",
          message: "field names must be 1 to 64 of A-Z, a-z, 0-9 and _, starting with a letter"
        })
      }
      const value = input.fields[name]
      if (value === undefined || !Redacted.isRedacted(value)) {
        return yield* new ValidationError({ path: `fields.${name}`, message: "must be a Redacted string" })
      }
      const raw: unknown = Redacted.value(value)
      if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_VALUE || raw.includes("\u0000")) {
        return yield* new ValidationError({
          path: `fields.${name}`,
          message: `must be 1 to ${MAX_VALUE} characters without NUL`
        })
      }
    }
    return names.sort()
  })

const Payload = Schema.parseJson(Schema.Struct({ fields: Schema.Record({ key: Schema.String, value: Schema.String }) }))
// Option, not Either: a parse error would quote the plaintext.
const decodePayload = Schema.decodeUnknownOption(Payload)

/**
 * The service over `store`; needs `KeyManagement` (the KEKs of the card vault).
 *
 * @since 0.2.0
 */
export const make = (
  store: Store
): Effect.Effect<TenantCredentials["Type"], never, KeyManagement.KeyManagement> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<KeyManagement.KeyManagement>()
    const withKeys = Effect.provide(context)
    const keyFailure = (operation: string) => (e: { readonly message: string }) => new StorageError({ operation, reason: e.message })

    const open = (record: SealedRecord) =>
      Effect.gen(function*() {
        const unreadable = (reason: CredentialsUnreadable["reason"]) =>
          new CredentialsUnreadable({ provider: record.provider, keyId: record.envelope.keyId, reason })
        if (record.envelopeVersion !== ENVELOPE_VERSION) return yield* unreadable("decryption_failed")
        const plaintext = yield* Envelope.open(record.envelope, recordContext(record.tenantId, record.provider)).pipe(
          withKeys,
          Effect.catchTags({
            UnknownKeyId: () => Effect.fail(unreadable("unknown_key_id")),
            DecryptionFailed: () => Effect.fail(unreadable("decryption_failed")),
            KeyManagementUnavailable: (e) => Effect.fail(keyFailure("tenantCredentials.open")(e))
          })
        )
        const bytes = Redacted.value(plaintext)
        const payload = decodePayload(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"))
        bytes.fill(0)
        if (Option.isNone(payload)) return yield* unreadable("decryption_failed")
        const fields: Record<string, Redacted.Redacted<string>> = {}
        for (const name of Object.keys(payload.value.fields).sort()) {
          const value = payload.value.fields[name]
          if (value !== undefined) fields[name] = Redacted.make(value)
        }
        const credentials: Credentials = {
          tenantId: record.tenantId,
          provider: record.provider,
          version: record.version,
          updatedAt: record.updatedAt,
          fields
        }
        return credentials
      })

    const summary = (credentials: Credentials): CredentialsSummary => ({
      provider: credentials.provider,
      version: credentials.version,
      updatedAt: credentials.updatedAt,
      fields: Object.fromEntries(Object.entries(credentials.fields).map(([name, value]) => [name, mask(value)]))
    })

    const save = Effect.fn("TenantCredentials.save")(function*(input: SaveInput) {
      const names = yield* validateSave(input)
      const clear: Record<string, string> = {}
      for (const name of names) {
        const value = input.fields[name]
        if (value !== undefined) clear[name] = Redacted.value(value)
      }
      const plaintext = Buffer.from(JSON.stringify({ fields: clear }), "utf8")
      const envelope = yield* Envelope.seal(Redacted.make<Uint8Array>(plaintext), recordContext(input.tenantId, input.provider)).pipe(
        withKeys,
        Effect.mapError(keyFailure("tenantCredentials.save")),
        Effect.ensuring(Effect.sync(() => plaintext.fill(0)))
      )
      const updatedAt = new Date(yield* Clock.currentTimeMillis)
      const version = yield* store.upsert({
        tenantId: input.tenantId,
        provider: input.provider,
        updatedAt,
        envelopeVersion: ENVELOPE_VERSION,
        envelope
      })
      const fields: Record<string, Redacted.Redacted<string>> = {}
      for (const name of names) {
        const value = input.fields[name]
        if (value !== undefined) fields[name] = value
      }
      return summary({ tenantId: input.tenantId, provider: input.provider, version, updatedAt, fields })
    })

    const get = Effect.fn("TenantCredentials.get")(function*(input: { readonly tenantId: string; readonly provider: string }) {
      const record = yield* store.find(input.tenantId, input.provider)
      if (Option.isNone(record)) return yield* new CredentialsNotFound({ provider: input.provider })
      return yield* open(record.value)
    })

    const describe = Effect.fn("TenantCredentials.describe")(function*(tenantId: string) {
      const records = yield* store.list(tenantId)
      return yield* Effect.forEach(records, (record) => Effect.map(open(record), summary))
    })

    const remove = Effect.fn("TenantCredentials.remove")(function*(input: { readonly tenantId: string; readonly provider: string }) {
      if (!(yield* store.remove(input.tenantId, input.provider))) {
        return yield* new CredentialsNotFound({ provider: input.provider })
      }
    })

    return TenantCredentials.of({
      save,
      get,
      describe,
      versions: (tenantId) => store.versions(tenantId),
      tenants: store.tenants,
      remove
    })
  })

// ---------------------------------------------------------------------------------------------
// memory

/**
 * A store in process memory (tests, single-process demos). It holds the same sealed records as
 * the SQL store.
 *
 * @since 0.2.0
 */
export const memoryStore: Effect.Effect<Store> = Effect.sync(() => {
  const records = new Map<string, Map<string, SealedRecord>>()
  const byProvider = (a: { readonly provider: string }, b: { readonly provider: string }) =>
    a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0
  return {
    upsert: (record) =>
      Effect.sync(() => {
        let tenant = records.get(record.tenantId)
        if (tenant === undefined) records.set(record.tenantId, tenant = new Map())
        const version = (tenant.get(record.provider)?.version ?? 0) + 1
        tenant.set(record.provider, { ...record, version })
        return version
      }),
    find: (tenantId, provider) => Effect.sync(() => Option.fromNullable(records.get(tenantId)?.get(provider))),
    list: (tenantId) => Effect.sync(() => [...(records.get(tenantId)?.values() ?? [])].sort(byProvider)),
    versions: (tenantId) =>
      Effect.sync(() =>
        [...(records.get(tenantId)?.values() ?? [])]
          .map((r) => ({ provider: r.provider, version: r.version }))
          .sort(byProvider)
      ),
    tenants: Effect.sync(() => [...records.entries()].filter(([, m]) => m.size > 0).map(([id]) => id).sort()),
    remove: (tenantId, provider) => Effect.sync(() => records.get(tenantId)?.delete(provider) ?? false)
  }
})

/**
 * Credentials in process memory, encrypted like on SQL; needs `KeyManagement`.
 *
 * @since 0.2.0
 */
export const layerMemory: Layer.Layer<TenantCredentials, never, KeyManagement.KeyManagement> = Layer.effect(
  TenantCredentials,
  Effect.flatMap(memoryStore, make)
)
