/**
 * Migrations are forward-only: ids strictly increase in the order they were written, every file
 * is registered, and the migrations of a release are never edited (a database that applied them
 * would never see the edit). The hashes below are those of the files at the last release
 * (wave 1, commit 2c9d59a), line endings normalised to LF.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { Migrations } from "aegispay/pg"

const directory = new URL("../../src/storage/migrations/", import.meta.url)

/** sha256 of each migration file as released in wave 1 (2c9d59a). Never change these. */
const released: Record<string, string> = {
  "0001_payments": "bc76cb80166263f5ca41f24d7a60d5e3ea5c153e2991aa2a5f45705d19c6f495",
  "0002_locks_and_ledger": "f76af87d208f0d58a144c24bf2c63d7fcc2a81f7e7ff36e38e8e1588ba34fc06",
  "0003_outbox_delivery": "6c7220ec6205f59d62eab1ded4560660e7da609c2b93f356338cce62a66a6606",
  "0004_idempotency": "1159d03db520775ea511b7964ac81323203fd3b0da902d9938b0f75abc9c1f42",
  "0005_lock_and_read": "fe2272e50ce8389ad95078947c4eb2a4e9bb32d1e84436c22e33c0525c940fd7",
  "0006_open_work": "78b27852d1a9adb285726e4c971e2c437fc62a3b026a9680c3a8ec7d4282c16e",
  "0007_needs_review": "c49ed48a23a20fdd6e0666b93b2cf4c4b276d0d8b9bf077b6f1f885336a76776"
}

const hash = (name: string) =>
  createHash("sha256").update(readFileSync(new URL(`${name}.ts`, directory), "utf8").replace(/\r\n/g, "\n")).digest("hex")

const idOf = (name: string) => Number(/^(\d+)_/.exec(name)?.[1] ?? Number.NaN)

describe("Migrations", () => {
  const keys = Object.keys(Migrations.migrations)

  it("ids strictly increase in the order the migrations are written", () => {
    const ids = keys.map(idOf)
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true)
    ids.forEach((id, i) => {
      if (i > 0) expect(id, `${keys[i]} after ${keys[i - 1]}`).toBeGreaterThan(ids[i - 1]!)
    })
  })

  it("every file is registered and the loader runs them all in order", () =>
    Effect.gen(function*() {
      const files = readdirSync(directory).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort()
      expect(keys).toEqual(files)
      const loaded = yield* Migrations.loader
      expect(loaded.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`)).toEqual(files)
    }).pipe(Effect.runSync))

  it("keeps every released migration, unchanged, and numbers new ones above them", () => {
    const releasedIds = Object.keys(released).map(idOf)
    for (const name of Object.keys(released)) {
      expect(keys, `released migration ${name} is gone`).toContain(name)
      expect(hash(name), `released migration ${name} was edited: add a new migration instead`).toBe(released[name])
    }
    for (const name of keys.filter((k) => released[k] === undefined)) {
      expect(idOf(name), `${name} must be numbered above every released migration`).toBeGreaterThan(Math.max(...releasedIds))
    }
  })
})
