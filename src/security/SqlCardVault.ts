/**
 * The card vault on SQL (PostgreSQL or PGlite, table `aegis_card_vault` of migration 0009):
 * every process on the database sees every card, across restarts.
 *
 * Guarantees:
 * - **Stored**: per (tenant, vault token) one row with the envelope (AES-256-GCM ciphertext of
 *   the card number, expiry and holder name; its data key wrapped by the current KEK of
 *   `KeyManagement` and that KEK's id) and display fields only: brand, last four, expiry and the
 *   keyed fingerprint. Never the card number in clear, never the CVV.
 * - **Bound**: the ciphertext authenticates its tenant and vault token, so a row copied to
 *   another tenant or token fails to decrypt (`CardUnreadable`) instead of revealing a card.
 * - **Idempotent**: the vault token is a keyed hash of (tenant, number, expiry, holder), so the
 *   same card for the same tenant gives the same token from any process; concurrent tokenizes
 *   of one card store one row.
 * - **Keyed**: tokens and fingerprints are HMACs under the fingerprint key of `KeyManagement`;
 *   without that key a database dump does not let anyone test a guessed card number.
 * - **Rotation** ({@link rotate}): re-wraps the data keys of rows under retired KEKs with the
 *   current one, in committed batches, without re-encrypting any card; interrupted, it resumes
 *   where it stopped.
 *
 * @since 0.1.0
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { type ConfigError, DateTime, Effect, Layer, Option, Redacted, Schema } from "effect"
import { CardNotInVault, CardUnreadable, CardVault, type VaultedCard } from "../gateway/CardVault.js"
import type { CardInput } from "../domain/PaymentMethod.js"
import * as internal from "../internal/cardVault.js"
import { StorageError } from "../storage/StorageError.js"
import * as Envelope from "./Envelope.js"
import * as KeyManagement from "./KeyManagement.js"
import type { DecryptionFailed, KeyManagementUnavailable, UnknownKeyId } from "./SecurityError.js"

const ENVELOPE_VERSION = 1

/** The authenticated context of a record: its tenant and token, under the record format's version. */
const recordContext = (tenantId: string, vaultToken: string, version: number) =>
  Envelope.context("aegispay/card-vault", `v${version}`, tenantId, vaultToken)

const Payload = Schema.parseJson(Schema.Struct({
  number: Schema.String.pipe(Schema.pattern(/^\d{12,19}$/)),
  expiryMonth: Schema.Int,
  expiryYear: Schema.Int,
  holderName: Schema.String
}))
// Option, not Either: a parse error would quote the plaintext.
const decodePayload = Schema.decodeUnknownOption(Payload)

const Bytes = Schema.Uint8ArrayFromSelf
const RecordRow = Schema.Struct({
  key_id: Schema.String,
  envelope_version: Schema.Number,
  wrapped_key: Bytes,
  nonce: Bytes,
  ciphertext: Bytes
})
const decodeRecordRows = Schema.decodeUnknownOption(Schema.Array(RecordRow))
const KeyRow = Schema.Struct({ tenant_id: Schema.String, vault_token: Schema.String, key_id: Schema.String, wrapped_key: Bytes })
const decodeKeyRows = Schema.decodeUnknownOption(Schema.Array(KeyRow))
const UsageRow = Schema.Struct({ key_id: Schema.String, records: Schema.Number })
const decodeUsageRows = Schema.decodeUnknownOption(Schema.Array(UsageRow))

const storageError = (operation: string) => (error: SqlError.SqlError | KeyManagementUnavailable) =>
  new StorageError({ operation, reason: error.message })

const decodeRows = <A>(operation: string, decode: (u: unknown) => Option.Option<A>) => (rows: unknown) =>
  Option.match(decode(rows), {
    onNone: () => Effect.fail(new StorageError({ operation, reason: "unexpected row shape" })),
    onSome: Effect.succeed
  })

/**
 * Builds the vault over the `SqlClient` and `KeyManagement` in context.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<CardVault["Type"], never, SqlClient.SqlClient | KeyManagement.KeyManagement> = Effect
  .gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* KeyManagement.KeyManagement

    const tokenize = Effect.fn("SqlCardVault.tokenize")(
      function*(card: CardInput, tenantId: string = internal.defaultTenant) {
        const token = internal.cardToken(
          card,
          yield* keys.fingerprint(internal.tokenInput(tenantId, card)),
          yield* keys.fingerprint(internal.fingerprintInput(card))
        )
        const existing = yield* sql`
          SELECT 1 AS found FROM aegis_card_vault WHERE tenant_id = ${tenantId} AND vault_token = ${token.vaultToken}`
        if (existing.length > 0) return token
        const plaintext = Buffer.from(JSON.stringify({
          number: Redacted.value(card.number),
          expiryMonth: card.expiryMonth,
          expiryYear: card.expiryYear,
          holderName: card.holderName
        }), "utf8")
        const envelope = yield* Envelope.seal(
          Redacted.make<Uint8Array>(plaintext),
          recordContext(tenantId, token.vaultToken, ENVELOPE_VERSION)
        ).pipe(Effect.ensuring(Effect.sync(() => plaintext.fill(0))))
        const now = DateTime.toDateUtc(yield* DateTime.now)
        // a concurrent tokenize of the same card may have won: its row is as good as ours
        yield* sql`
          INSERT INTO aegis_card_vault (tenant_id, vault_token, fingerprint, brand, last4, expiry_month, expiry_year,
            envelope_version, key_id, wrapped_key, nonce, ciphertext, created_at)
          VALUES (${tenantId}, ${token.vaultToken}, ${token.fingerprint}, ${token.brand}, ${token.last4},
            ${token.expiryMonth}, ${token.expiryYear}, ${ENVELOPE_VERSION}, ${envelope.keyId},
            ${Buffer.from(envelope.wrappedKey)}, ${Buffer.from(envelope.nonce)}, ${Buffer.from(envelope.ciphertext)}, ${now})
          ON CONFLICT (tenant_id, vault_token) DO NOTHING`
        return token
      },
      Effect.provideService(KeyManagement.KeyManagement, keys),
      Effect.catchTags({
        SqlError: (e) => Effect.fail(storageError("cardVault.tokenize")(e)),
        KeyManagementUnavailable: (e) => Effect.fail(storageError("cardVault.tokenize")(e))
      })
    )

    const reveal = Effect.fn("SqlCardVault.reveal")(
      function*(vaultToken: string, tenantId: string = internal.defaultTenant) {
        const rows = yield* sql`
          SELECT key_id, envelope_version, wrapped_key, nonce, ciphertext FROM aegis_card_vault
          WHERE tenant_id = ${tenantId} AND vault_token = ${vaultToken}`.pipe(
            Effect.flatMap(decodeRows("cardVault.reveal", decodeRecordRows))
          )
        const row = rows[0]
        if (row === undefined) return yield* new CardNotInVault({ vaultToken })
        const unreadable = (reason: CardUnreadable["reason"]) => new CardUnreadable({ vaultToken, keyId: row.key_id, reason })
        if (row.envelope_version !== ENVELOPE_VERSION) return yield* unreadable("decryption_failed")
        const plaintext = yield* Envelope.open(
          { keyId: row.key_id, wrappedKey: row.wrapped_key, nonce: row.nonce, ciphertext: row.ciphertext },
          recordContext(tenantId, vaultToken, row.envelope_version)
        ).pipe(
          Effect.catchTags({
            UnknownKeyId: () => Effect.fail(unreadable("unknown_key_id")),
            DecryptionFailed: () => Effect.fail(unreadable("decryption_failed"))
          })
        )
        const bytes = Redacted.value(plaintext)
        const payload = decodePayload(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"))
        bytes.fill(0)
        if (Option.isNone(payload)) return yield* unreadable("decryption_failed")
        const card: VaultedCard = {
          number: Redacted.make(payload.value.number),
          expiryMonth: payload.value.expiryMonth,
          expiryYear: payload.value.expiryYear,
          holderName: payload.value.holderName
        }
        return card
      },
      Effect.provideService(KeyManagement.KeyManagement, keys),
      Effect.catchTags({
        SqlError: (e) => Effect.fail(storageError("cardVault.reveal")(e)),
        KeyManagementUnavailable: (e) => Effect.fail(storageError("cardVault.reveal")(e))
      })
    )

    return CardVault.of({ tokenize, reveal })
  })

/**
 * The SQL card vault. Needs the table of migration `0009_card_vault` (`Migrations.layer`).
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<CardVault, never, SqlClient.SqlClient | KeyManagement.KeyManagement> = Layer.effect(
  CardVault,
  make
)

/**
 * The SQL card vault with its keys from configuration (`KeyManagement.layerConfig`); the key
 * management is provided too, for {@link rotate}. A missing key fails start-up with a
 * `ConfigError`.
 *
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<
  CardVault | KeyManagement.KeyManagement,
  ConfigError.ConfigError,
  SqlClient.SqlClient
> = layer.pipe(Layer.provideMerge(KeyManagement.layerConfig))

/**
 * How many vault records each key-encryption key protects. A retired KEK may be removed from
 * the configuration once it protects none.
 *
 * @since 0.1.0
 */
export const keyUsage: Effect.Effect<
  ReadonlyArray<{ readonly keyId: string; readonly records: number }>,
  StorageError,
  SqlClient.SqlClient
> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`SELECT key_id, count(*)::int AS records FROM aegis_card_vault GROUP BY key_id ORDER BY key_id`.pipe(
    Effect.flatMap(decodeRows("cardVault.keyUsage", decodeUsageRows))
  )
  return rows.map((row) => ({ keyId: row.key_id, records: row.records }))
}).pipe(
  Effect.catchTag("SqlError", (e) => Effect.fail(storageError("cardVault.keyUsage")(e))),
  Effect.withSpan("SqlCardVault.keyUsage")
)

/**
 * Options of {@link rotate}.
 *
 * @since 0.1.0
 */
export interface RotateOptions {
  /** Records re-wrapped per transaction; default 100. */
  readonly batchSize?: number | undefined
  /** Stop after this many batches (e.g. a bounded run per schedule tick); default no limit. */
  readonly maxBatches?: number | undefined
}

/**
 * What {@link rotate} did.
 *
 * @since 0.1.0
 */
export interface RotationReport {
  /** Records whose data key is now wrapped by the current KEK (`KeyManagement.currentKeyId`). */
  readonly rewrapped: number
  /** Committed batches. */
  readonly batches: number
  /** Whether the run went until no record under a retired key was left (false: `maxBatches` stopped it first). */
  readonly complete: boolean
}

/**
 * Key rotation: re-wraps the data key of every record under another KEK than the current one
 * with the current KEK. Cards are not re-encrypted. Each batch commits on its own, its rows
 * locked (`FOR UPDATE SKIP LOCKED`), so rotation can run while the vault serves, several
 * rotations can run at once, and an interrupted rotation resumes when run again.
 *
 * Fails before touching anything with `UnknownKeyId` when records are under a key id that is not
 * configured (current or retired); fails with `DecryptionFailed` on a record whose wrapped key
 * was altered (batches before it stay committed).
 *
 * Procedure: configure the new KEK as current and the old one as retired, deploy, run `rotate`,
 * check {@link keyUsage} shows no record under the old id, then remove the old key.
 *
 * @since 0.1.0
 */
export const rotate: (
  options?: RotateOptions
) => Effect.Effect<
  RotationReport,
  StorageError | UnknownKeyId | DecryptionFailed | KeyManagementUnavailable,
  SqlClient.SqlClient | KeyManagement.KeyManagement
> = Effect.fn("SqlCardVault.rotate")(function*(options: RotateOptions = {}) {
  const sql = yield* SqlClient.SqlClient
  const keys = yield* KeyManagement.KeyManagement
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100))
  const usage = yield* keyUsage
  const retired = usage.filter((u) => u.keyId !== keys.currentKeyId).map((u) => u.keyId)
  // refuse up front when a key is missing (unwrap one record of each): no half-done rotation
  for (const keyId of retired) {
    const [sample] = yield* sql`
      SELECT tenant_id, vault_token, key_id, wrapped_key FROM aegis_card_vault WHERE key_id = ${keyId} LIMIT 1`.pipe(
        Effect.flatMap(decodeRows("cardVault.rotate", decodeKeyRows))
      )
    if (sample !== undefined) {
      const dataKey = yield* keys.unwrap({ keyId, wrapped: sample.wrapped_key })
      Redacted.value(dataKey).fill(0)
    }
  }
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY
  let rewrapped = 0
  let batches = 0
  for (const keyId of retired) {
    while (true) {
      if (batches >= maxBatches) return { rewrapped, batches, complete: false }
      const done = yield* sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql`
          SELECT tenant_id, vault_token, key_id, wrapped_key FROM aegis_card_vault
          WHERE key_id = ${keyId}
          LIMIT ${batchSize}
          FOR UPDATE SKIP LOCKED`.pipe(Effect.flatMap(decodeRows("cardVault.rotate", decodeKeyRows)))
        for (const row of rows) {
          const key = yield* Envelope.rewrapKey({ keyId: row.key_id, wrapped: row.wrapped_key })
          yield* sql`
            UPDATE aegis_card_vault SET key_id = ${key.keyId}, wrapped_key = ${Buffer.from(key.wrapped)}
            WHERE tenant_id = ${row.tenant_id} AND vault_token = ${row.vault_token} AND key_id = ${row.key_id}`
        }
        return rows.length
      }))
      if (done === 0) break
      rewrapped += done
      batches += 1
    }
  }
  return { rewrapped, batches, complete: true }
}, Effect.catchTag("SqlError", (e) => Effect.fail(storageError("cardVault.rotate")(e))))
