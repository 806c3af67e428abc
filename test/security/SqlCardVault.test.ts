/**
 * The card vault on SQL: round trip, tenant binding, tampering, key rotation (contract, on
 * PostgreSQL and PGlite); on real PostgreSQL also what a database dump reveals and whether other
 * processes (another pool, a restarted process, a child OS process) reveal cards tokenized
 * elsewhere.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { ConfigProvider, Effect, Layer, Redacted, Schema } from "effect"
import type { Scope } from "effect"
import { execFile, spawn, spawnSync } from "node:child_process"
import { createHash, createHmac } from "node:crypto"
import { fileURLToPath } from "node:url"
import { CardVault } from "aegispay"
import { Migrations } from "aegispay/pg"
import * as Envelope from "../../src/security/Envelope.js"
import * as KeyManagement from "../../src/security/KeyManagement.js"
import * as SqlCardVault from "../../src/security/SqlCardVault.js"
import { createTestDatabase, databaseUrl } from "../support/Backends.js"
import { lastLine, nodeArgs } from "../support/Children.js"
import { useSharedPglite } from "../support/SharedPglite.js"
import { cardInput, fingerprintKey, kek, numbers } from "./Keys.js"

/** A database: each build of `client` is one "process" (on PostgreSQL its own pool). */
interface Database {
  readonly url: string | undefined
  readonly client: Layer.Layer<SqlClient.SqlClient>
}

const pgClient = (url: string) => PgClient.layer({ url: Redacted.make(url), maxConnections: 2 }).pipe(Layer.orDie)

const postgres: Effect.Effect<Database, never, Scope.Scope> = Effect.gen(function*() {
  const db = yield* Effect.acquireRelease(
    Effect.promise(() => createTestDatabase("vault")),
    (db) => Effect.promise(() => db.drop())
  )
  yield* Effect.provide(Effect.void, Migrations.layer.pipe(Layer.provideMerge(pgClient(db.url)), Layer.orDie))
  return { url: db.url, client: pgClient(db.url) }
})


const keyA = kek("kek-a")
const keyB = kek("kek-b")
const onlyA: KeyManagement.Keys = { current: keyA, fingerprintKey }
const bWithA: KeyManagement.Keys = { current: keyB, retired: [keyA], fingerprintKey }
const onlyB: KeyManagement.Keys = { current: keyB, fingerprintKey }

/** The vault, its keys and the SQL client, as one process would have them. */
const vaultIn = (db: Database, keys: KeyManagement.Keys) =>
  SqlCardVault.layer.pipe(
    Layer.provideMerge(KeyManagement.layer(keys)),
    Layer.provideMerge(db.client),
    Layer.orDie
  )

const vault = CardVault.CardVault
const number = (card: CardVault.VaultedCard) => Redacted.value(card.number)

const Count = Schema.Struct({ n: Schema.Number })
const count = (where: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`SELECT count(*)::int AS n FROM aegis_card_vault ${where}`)).pipe(
    Effect.flatMap(Schema.decodeUnknown(Schema.Tuple(Count))),
    Effect.map(([row]) => row.n)
  )

const Stored = Schema.Struct({
  key_id: Schema.String,
  wrapped_key: Schema.Uint8ArrayFromSelf,
  nonce: Schema.Uint8ArrayFromSelf,
  ciphertext: Schema.Uint8ArrayFromSelf
})
const stored = (tenantId: string, vaultToken: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT key_id, wrapped_key, nonce, ciphertext FROM aegis_card_vault
        WHERE tenant_id = ${tenantId} AND vault_token = ${vaultToken}`).pipe(
    Effect.flatMap(Schema.decodeUnknown(Schema.Tuple(Stored))),
    Effect.map(([row]) => row)
  )

const expectNoCardData = (error: unknown) => {
  const text = `${String(error)} ${JSON.stringify(error)}`
  for (const n of numbers) {
    expect(text).not.toContain(n)
    expect(text).not.toContain(n.slice(0, 8))
  }
}

const contract = (name: string, setup: Effect.Effect<Database, never, Scope.Scope>) =>
  describe(`SqlCardVault: ${name}`, () => {
    it.live("round trip; the same card for the same tenant gives one token and one row, from any process", () =>
      Effect.scoped(Effect.gen(function*() {
        const db = yield* setup
        const card = cardInput(numbers[0])
        const [t1, t1Again, t2, tDefault] = yield* Effect.gen(function*() {
          const v = yield* vault
          return [
            yield* v.tokenize(card, "t1"),
            yield* v.tokenize(card, "t1"),
            yield* v.tokenize(card, "t2"),
            yield* v.tokenize(card)
          ] as const
        }).pipe(Effect.provide(vaultIn(db, onlyA)))
        expect(t1Again).toEqual(t1)
        expect(t2.vaultToken).not.toBe(t1.vaultToken)
        expect(t2.fingerprint).toBe(t1.fingerprint)
        expect(t1).toMatchObject({ brand: "visa", bin: "424242", last4: "4242", expiryMonth: 12, expiryYear: 2031 })
        expect(JSON.stringify(t1)).not.toContain(numbers[0])

        // another process (its own pool and key-management instance) sees the same card
        yield* Effect.gen(function*() {
          const v = yield* vault
          const revealed = yield* v.reveal(t1.vaultToken, "t1")
          expect(number(revealed)).toBe(numbers[0])
          expect(revealed).toMatchObject({ expiryMonth: 12, expiryYear: 2031, holderName: "Ada Lovelace" })
          expect(number(yield* v.reveal(tDefault.vaultToken))).toBe(numbers[0])
          expect(yield* v.tokenize(card, "t1")).toEqual(t1)
          // concurrent tokenizes of one new card store one row
          const tokens = yield* Effect.all(
            Array.from({ length: 8 }, () => v.tokenize(cardInput(numbers[1]), "t1")),
            { concurrency: "unbounded" }
          )
          expect(new Set(tokens.map((t) => t.vaultToken)).size).toBe(1)
          expect(yield* count("")).toBe(4)
        }).pipe(Effect.provide(vaultIn(db, onlyA)))
      })), 60_000)

    it.live("another tenant gets CardNotInVault; a row copied to another tenant or token fails to decrypt", () =>
      Effect.scoped(Effect.gen(function*() {
        const db = yield* setup
        yield* Effect.gen(function*() {
          const v = yield* vault
          const sql = yield* SqlClient.SqlClient
          const a = yield* v.tokenize(cardInput(numbers[0]), "t1")
          const b = yield* v.tokenize(cardInput(numbers[1]), "t1")
          expect(yield* Effect.flip(v.reveal(a.vaultToken, "t2"))).toMatchObject({ _tag: "CardNotInVault" })
          expect(yield* Effect.flip(v.reveal("card_unknown", "t1"))).toMatchObject({ _tag: "CardNotInVault" })

          // a row copied, as is, to another tenant
          yield* sql`
            INSERT INTO aegis_card_vault
            SELECT 'evil', vault_token, fingerprint, brand, last4, expiry_month, expiry_year, envelope_version,
              key_id, wrapped_key, nonce, ciphertext, created_at
            FROM aegis_card_vault WHERE tenant_id = 't1' AND vault_token = ${a.vaultToken}`
          const copied = yield* Effect.flip(v.reveal(a.vaultToken, "evil"))
          expect(copied).toMatchObject({ _tag: "CardUnreadable", reason: "decryption_failed", keyId: "kek-a" })
          expectNoCardData(copied)

          // card a's envelope moved under card b's token, same tenant
          yield* sql`
            UPDATE aegis_card_vault AS target
            SET key_id = source.key_id, wrapped_key = source.wrapped_key, nonce = source.nonce, ciphertext = source.ciphertext
            FROM aegis_card_vault AS source
            WHERE source.tenant_id = 't1' AND source.vault_token = ${a.vaultToken}
              AND target.tenant_id = 't1' AND target.vault_token = ${b.vaultToken}`
          const moved = yield* Effect.flip(v.reveal(b.vaultToken, "t1"))
          expect(moved).toMatchObject({ _tag: "CardUnreadable", reason: "decryption_failed" })
          expectNoCardData(moved)
          expect(number(yield* v.reveal(a.vaultToken, "t1"))).toBe(numbers[0])
        }).pipe(Effect.provide(vaultIn(db, onlyA)))
      })), 60_000)

    it.live("a tampered ciphertext, nonce or wrapped key fails with CardUnreadable; the payload holds no CVV", () =>
      Effect.scoped(Effect.gen(function*() {
        const db = yield* setup
        yield* Effect.gen(function*() {
          const v = yield* vault
          const sql = yield* SqlClient.SqlClient
          const tokens = yield* Effect.forEach(numbers.slice(0, 3), (n) => v.tokenize(cardInput(n), "t1"))
          const [c, n, w] = tokens.map((t) => t.vaultToken)
          yield* sql`UPDATE aegis_card_vault SET ciphertext = set_byte(ciphertext, 3, get_byte(ciphertext, 3) # 1)
                     WHERE vault_token = ${c!}`
          yield* sql`UPDATE aegis_card_vault SET nonce = set_byte(nonce, 0, get_byte(nonce, 0) # 1) WHERE vault_token = ${n!}`
          yield* sql`UPDATE aegis_card_vault SET wrapped_key = set_byte(wrapped_key, 30, get_byte(wrapped_key, 30) # 1)
                     WHERE vault_token = ${w!}`
          for (const token of [c!, n!, w!]) {
            const error = yield* Effect.flip(v.reveal(token, "t1"))
            expect(error).toMatchObject({ _tag: "CardUnreadable", reason: "decryption_failed" })
            expectNoCardData(error)
          }

          // what is encrypted: number, expiry, holder; never the CVV
          const d = yield* v.tokenize(cardInput(numbers[3]), "t1")
          const row = yield* stored("t1", d.vaultToken)
          const plaintext = yield* Envelope.open(
            { keyId: row.key_id, wrappedKey: row.wrapped_key, nonce: row.nonce, ciphertext: row.ciphertext },
            Envelope.context("aegispay/card-vault", "v1", "t1", d.vaultToken)
          )
          const payload: unknown = JSON.parse(Buffer.from(Redacted.value(plaintext)).toString("utf8"))
          expect(payload).toEqual({ number: numbers[3], expiryMonth: 12, expiryYear: 2031, holderName: "Ada Lovelace" })
        }).pipe(Effect.provide(vaultIn(db, onlyA)))
      })), 60_000)

    it.live("rotation re-wraps under the new key without re-encrypting; resumable; the old key removed too early is a typed error", () =>
      Effect.scoped(Effect.gen(function*() {
        const db = yield* setup
        const tokens = yield* Effect.gen(function*() {
          const v = yield* vault
          return yield* Effect.forEach(numbers, (n, i) => v.tokenize(cardInput(n), i % 2 === 0 ? "t1" : "t2"))
        }).pipe(Effect.provide(vaultIn(db, onlyA)))
        const tenantOf = (i: number) => (i % 2 === 0 ? "t1" : "t2")
        const before = yield* Effect.forEach(tokens, (t, i) => stored(tenantOf(i), t.vaultToken)).pipe(Effect.provide(db.client))

        // the old key removed before rotation: reveals fail with a typed error, rotation refuses to start
        yield* Effect.gen(function*() {
          const v = yield* vault
          const error = yield* Effect.flip(v.reveal(tokens[0]!.vaultToken, "t1"))
          expect(error).toMatchObject({ _tag: "CardUnreadable", reason: "unknown_key_id", keyId: "kek-a" })
          expect(yield* Effect.flip(SqlCardVault.rotate())).toMatchObject({ _tag: "UnknownKeyId", keyId: "kek-a" })
          expect(yield* SqlCardVault.keyUsage).toEqual([{ keyId: "kek-a", records: numbers.length }])
        }).pipe(Effect.provide(vaultIn(db, onlyB)))

        // new key current, old retired: everything still reveals; rotation in bounded batches, resumed
        yield* Effect.gen(function*() {
          const v = yield* vault
          expect(number(yield* v.reveal(tokens[1]!.vaultToken, "t2"))).toBe(numbers[1])
          const added = yield* v.tokenize(cardInput(numbers[0]), "t3") // a new record goes under the new key
          expect((yield* stored("t3", added.vaultToken)).key_id).toBe("kek-b")
          const first = yield* SqlCardVault.rotate({ batchSize: 3, maxBatches: 1 })
          expect(first).toEqual({ rewrapped: 3, batches: 1, complete: false })
          expect(yield* SqlCardVault.keyUsage).toEqual([
            { keyId: "kek-a", records: numbers.length - 3 },
            { keyId: "kek-b", records: 4 }
          ])
          const rest = yield* SqlCardVault.rotate({ batchSize: 3 })
          expect(rest).toEqual({ rewrapped: numbers.length - 3, batches: 2, complete: true })
          expect(yield* SqlCardVault.rotate()).toEqual({ rewrapped: 0, batches: 0, complete: true })
          expect(yield* SqlCardVault.keyUsage).toEqual([{ keyId: "kek-b", records: numbers.length + 1 }])
        }).pipe(Effect.provide(vaultIn(db, bWithA)))

        // the old key removed after rotation: everything reveals; ciphertexts are unchanged
        yield* Effect.gen(function*() {
          const v = yield* vault
          for (const [i, t] of tokens.entries()) {
            expect(number(yield* v.reveal(t.vaultToken, tenantOf(i)))).toBe(numbers[i])
            const after = yield* stored(tenantOf(i), t.vaultToken)
            expect(Buffer.from(after.ciphertext).equals(Buffer.from(before[i]!.ciphertext))).toBe(true)
            expect(Buffer.from(after.wrapped_key).equals(Buffer.from(before[i]!.wrapped_key))).toBe(false)
          }
        }).pipe(Effect.provide(vaultIn(db, onlyB)))
      })), 60_000)
  })

describe("pglite", () => {
  // one PGlite for the contract (starting one takes seconds of CPU); each test starts on an empty
  // vault, as each PostgreSQL test does on its fresh database (the vault is its only table)
  const shared = useSharedPglite()
  const pglite: Effect.Effect<Database, never, Scope.Scope> = Effect.gen(function*() {
    const client = shared()
    yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`TRUNCATE aegis_card_vault`).pipe(
      Effect.provide(client),
      Effect.orDie
    )
    return { url: undefined, client }
  })
  contract("pglite", pglite)
})

describe.skipIf(databaseUrl === undefined)("SqlCardVault on PostgreSQL", () => {
  contract("postgres", postgres)

  it.live("a database dump holds no card number and no fingerprint that can be recomputed without the key", () =>
    Effect.scoped(Effect.gen(function*() {
      const db = yield* postgres
      const tenants = ["t1", "t2"]
      yield* Effect.gen(function*() {
        const v = yield* vault
        for (const tenant of tenants) {
          for (const n of numbers) yield* v.tokenize(cardInput(n), tenant)
        }
      }).pipe(Effect.provide(vaultIn(db, onlyA)))

      // every table as text, and pg_dump's dump when the tool is installed
      const tables = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ table_name: string }>`
          SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`).pipe(
        Effect.provide(db.client)
      )
      expect(tables.map((t) => t.table_name)).toContain("aegis_card_vault")
      let dump = ""
      for (const { table_name } of tables) {
        const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.unsafe<{ row: string }>(`SELECT t::text AS row FROM "${table_name}" t`)).pipe(Effect.provide(db.client))
        dump += rows.map((r) => r.row).join("\n") + "\n"
      }
      const hasPgDump = spawnSync("pg_dump", ["--version"]).status === 0
      if (hasPgDump) {
        dump += yield* Effect.async<string>((resume) => {
          execFile("pg_dump", ["--no-owner", db.url!], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
            resume(error === null ? Effect.succeed(stdout) : Effect.die(new Error(`pg_dump failed: ${stderr}`))))
        })
      } else {
        console.warn("[aegispay tests] pg_dump not installed: the dump check reads every table instead")
      }
      expect(dump).toContain("aegis_card_vault")

      const hmac = (key: string | Uint8Array, data: string) => createHmac("sha256", key).update(data).digest("hex")
      const sha256 = (data: string) => createHash("sha256").update(data).digest("hex")
      const publicKeys = ["", "k", "aegispay-test-fingerprint-key", "multiprocess-key", "crash-key"]
      for (const n of numbers) {
        // no number: not in clear, not as hex of its ASCII bytes, not by its first 12 digits
        expect(dump).not.toContain(n)
        expect(dump).not.toContain(n.slice(0, 12))
        expect(dump).not.toContain(Buffer.from(n, "utf8").toString("hex"))
        // no fingerprint that can be recomputed without the secret key
        const guesses = [
          sha256(n),
          sha256(`fingerprint:${n}`),
          ...publicKeys.flatMap((key) => [hmac(key, n), hmac(key, `fingerprint:${n}`)])
        ]
        for (const guess of guesses) {
          expect(dump).not.toContain(guess.slice(0, 32))
          expect(dump).not.toContain(guess.slice(0, 16))
        }
        // ...while the key holder finds it: the check above looks at the right thing
        expect(dump).toContain(hmac(Redacted.value(fingerprintKey), `fingerprint:${n}`).slice(0, 32))
      }
    })), 120_000)

  it.live("another pool, a restarted process with keys from Config, and child OS processes reveal cards tokenized elsewhere", () =>
    Effect.scoped(Effect.gen(function*() {
      const db = yield* postgres
      const url = db.url!
      const b64 = (r: Redacted.Redacted<Uint8Array>) => Buffer.from(Redacted.value(r)).toString("base64")
      const env = {
        AEGISPAY_KEK: b64(keyB.key),
        AEGISPAY_KEK_ID: keyB.id,
        AEGISPAY_KEK_RETIRED: `${keyA.id}=${b64(keyA.key)}`,
        AEGISPAY_FINGERPRINT_KEY: b64(fingerprintKey)
      }

      const token = yield* Effect.flatMap(vault, (v) => v.tokenize(cardInput(numbers[2]), "t1")).pipe(
        Effect.provide(vaultIn(db, onlyA))
      )

      // a restarted process: fresh pool, keys read from configuration (old key retired meanwhile)
      const restarted = SqlCardVault.layerConfig.pipe(Layer.provideMerge(pgClient(url)), Layer.orDie)
      yield* Effect.gen(function*() {
        const v = yield* vault
        expect(number(yield* v.reveal(token.vaultToken, "t1"))).toBe(numbers[2])
        expect(yield* v.tokenize(cardInput(numbers[2]), "t1")).toEqual(token)
      }).pipe(
        Effect.provide(restarted),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
      )

      // child OS processes, keys from their environment
      const worker = yield* Effect.promise(() => nodeArgs(fileURLToPath(new URL("./vaultWorker.ts", import.meta.url))))
      const run = (mode: string, extra: Record<string, string>) =>
        Effect.async<unknown>((resume) => {
          const child = spawn(process.execPath, [...worker, mode], {
            env: { ...process.env, ...env, DATABASE_URL: url, TENANT: "t1", ...extra },
            stdio: ["ignore", "pipe", "pipe"]
          })
          let out = ""
          let err = ""
          child.stdout.on("data", (d) => (out += String(d)))
          child.stderr.on("data", (d) => (err += String(d)))
          child.on("exit", (code) =>
            resume(code === 0 ? Effect.succeed(JSON.parse(lastLine(out))) : Effect.die(new Error(`worker exited ${code}: ${err}`))))
        })
      const sha = (n: string) => createHash("sha256").update(n).digest("hex")
      const [revealed, made] = yield* Effect.all([
        run("reveal", { VAULT_TOKEN: token.vaultToken }),
        run("tokenize", { CARD_NUMBER: numbers[4] })
      ], { concurrency: 2 })
      expect(revealed).toEqual({ last4: numbers[2].slice(-4), sha256: sha(numbers[2]) })
      const { vaultToken } = yield* Schema.decodeUnknown(Schema.Struct({ vaultToken: Schema.String }))(made)
      yield* Effect.flatMap(vault, (v) => v.reveal(vaultToken, "t1")).pipe(
        Effect.map((card) => expect(number(card)).toBe(numbers[4])),
        Effect.provide(vaultIn(db, bWithA))
      )
      // the child's token is the one this process computes for the same card and tenant
      const here = yield* Effect.flatMap(vault, (v) => v.tokenize(cardInput(numbers[4]), "t1")).pipe(
        Effect.provide(vaultIn(db, bWithA))
      )
      expect(here.vaultToken).toBe(vaultToken)
    })), 120_000)
})
