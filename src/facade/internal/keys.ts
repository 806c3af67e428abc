/**
 * The vault keys of a facade instance: given, from the environment, or (development on the
 * embedded database only) generated into its data directory.
 *
 * @internal
 */
import { randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Config, Effect, Either, Encoding, Option, Redacted } from "effect"
import * as KeyManagement from "../../security/KeyManagement.js"
import { ConfigurationError } from "../Errors.js"

import type { KeysInput } from "../Keys.js"

/** The file the development default keeps its generated keys in, inside the data directory. */
export const devKeysFile = "aegispay-dev-keys.json"

const envNames = ["AEGISPAY_KEK", "AEGISPAY_KEK_ID", "AEGISPAY_FINGERPRINT_KEY"] as const

const refuse = (reason: string): never => {
  throw new ConfigurationError({ field: "keys", reason })
}

const bytes = (name: string, value: unknown): Redacted.Redacted<Uint8Array> => {
  if (typeof value !== "string") return refuse(`${name} must be a base64 string`)
  const decoded = Encoding.decodeBase64(value.trim())
  return Either.isLeft(decoded) ? refuse(`${name} is not base64`) : Redacted.make(decoded.right)
}

/** Keys from their base64 form, checked (`ConfigurationError` naming the problem, never a key). */
export const fromInput = (input: KeysInput): KeyManagement.Keys => {
  if (typeof input.kekId !== "string") refuse("kekId must be a string")
  const keys: KeyManagement.Keys = {
    current: { id: input.kekId, key: bytes("kek", input.kek) },
    retired: Object.entries(input.retired ?? {}).map(([id, key]) => ({ id, key: bytes(`retired.${id}`, key) })),
    fingerprintKey: bytes("fingerprintKey", input.fingerprintKey)
  }
  const checked = KeyManagement.validate(keys)
  return Either.isLeft(checked) ? refuse(checked.left.reason) : checked.right
}

/** Fresh development keys. */
const generate = (): KeysInput => ({
  kekId: "dev-kek-1",
  kek: randomBytes(32).toString("base64"),
  fingerprintKey: randomBytes(32).toString("base64")
})

/**
 * How the keys were found: given, from the environment, generated (or re-read) in development.
 *
 * @internal
 */
export interface Resolved {
  readonly keys: KeyManagement.Keys
  /** A loud warning to print when the keys are development keys. */
  readonly warning?: string | undefined
}

/**
 * The keys of an instance. Order: `keys`; else the environment (`AEGISPAY_KEK`,
 * `AEGISPAY_KEK_ID`, `AEGISPAY_FINGERPRINT_KEY`: all or none); else, in development on the
 * embedded database only, keys generated once into `<dataDir>/aegispay-dev-keys.json` (mode 0600;
 * in memory without a data directory). Anything else throws `ConfigurationError`: production
 * never defaults a secret.
 *
 * @internal
 */
export const resolve = (options: {
  readonly keys: KeysInput | undefined
  readonly mode: "development" | "production"
  readonly storage: "embedded" | "postgres"
  readonly dataDir: string | undefined
}): Resolved => {
  if (options.keys !== undefined) return { keys: fromInput(options.keys) }
  const present = envNames.filter((name) => Option.isSome(Effect.runSync(Config.option(Config.string(name)))))
  if (present.length > 0) {
    const fromEnv = Effect.runSync(Effect.either(KeyManagement.config))
    if (Either.isLeft(fromEnv)) {
      return refuse(`the keys in the environment are incomplete or malformed (${envNames.join(", ")} are all required): ${fromEnv.left.toString().slice(0, 300)}`)
    }
    return { keys: fromEnv.right }
  }
  if (options.mode === "production") {
    return refuse(
      "production mode needs the vault keys: pass keys: { kekId, kek, fingerprintKey } from your secret store, or set AEGISPAY_KEK, AEGISPAY_KEK_ID and AEGISPAY_FINGERPRINT_KEY. AegisPay never defaults a secret in production."
    )
  }
  if (options.storage === "postgres") {
    return refuse(
      "PostgreSQL storage needs the vault keys even in development (its data outlives this process): pass keys: { kekId, kek, fingerprintKey } or set AEGISPAY_KEK, AEGISPAY_KEK_ID and AEGISPAY_FINGERPRINT_KEY"
    )
  }
  const banner = (where: string) =>
    `AegisPay DEVELOPMENT KEYS: no vault keys were given, so keys were ${where}. Anyone who can read them can read the stored cards. Never use this in production: pass keys (or set AEGISPAY_KEK, AEGISPAY_KEK_ID, AEGISPAY_FINGERPRINT_KEY) and mode "production".`
  if (options.dataDir === undefined) return { keys: fromInput(generate()), warning: banner("generated in memory (they die with the process, like the in-memory database)") }
  const file = join(options.dataDir, devKeysFile)
  if (existsSync(file)) {
    let stored: unknown
    try {
      stored = JSON.parse(readFileSync(file, "utf8"))
    } catch {
      return refuse(`${file} is not readable JSON; restore it (the stored cards need it) or remove the data directory`)
    }
    if (typeof stored !== "object" || stored === null) return refuse(`${file} does not hold keys`)
    const input: KeysInput = {
      kekId: "kekId" in stored && typeof stored.kekId === "string" ? stored.kekId : "",
      kek: "kek" in stored && typeof stored.kek === "string" ? stored.kek : "",
      fingerprintKey: "fingerprintKey" in stored && typeof stored.fingerprintKey === "string" ? stored.fingerprintKey : ""
    }
    return { keys: fromInput(input), warning: banner(`read from ${file}`) }
  }
  const input = generate()
  mkdirSync(options.dataDir, { recursive: true })
  writeFileSync(file, `${JSON.stringify(input, null, 2)}\n`, { mode: 0o600, flag: "wx" })
  chmodSync(file, 0o600)
  return { keys: fromInput(input), warning: banner(`generated into ${file}`) }
}
