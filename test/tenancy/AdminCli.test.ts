/**
 * The admin command line on memory tenants and keys: the first admin key of a fresh
 * installation is printed once and authenticates; refusals exit with code 1.
 */
import { describe, expect, it } from "@effect/vitest"
import { NodeContext } from "@effect/platform-node"
import type { Console} from "effect";
import { Effect, Layer, Redacted } from "effect"
import * as AdminCli from "../../src/tenancy/AdminCli.js"
import { ApiKeys } from "../../src/tenancy/ApiKeys.js"
import { Tenants } from "../../src/tenancy/Tenants.js"
import { TenancyTest } from "../../src/testing/index.js"

const captured = (base: Console.Console, lines: Array<string>, errors: Array<string>): Console.Console => ({
  ...base,
  log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(args.map(String).join(" "))),
  error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void errors.push(args.map(String).join(" ")))
})

const runCli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const errors: Array<string> = []
    process.exitCode = 0
    const base = yield* Effect.console
    yield* AdminCli.run(argv).pipe(Effect.withConsole(captured(base, lines, errors)))
    const code = process.exitCode
    process.exitCode = 0
    return { lines, errors, code }
  })

describe("admin command line", () => {
  it.effect("create-tenant, create-key prints the key once and it authenticates, list-keys, revoke-key", () =>
    Effect.gen(function*() {
      expect((yield* runCli(["create-tenant", "--id", "acme", "--name", "Acme Inc."])).code).toBe(0)
      const created = yield* runCli(["create-key", "--tenant", "acme", "--scopes", "admin,payments:read", "--name", "first"])
      expect(created.code).toBe(0)
      const key = created.lines.find((l) => l.startsWith("ak_live_"))
      expect(key).toMatch(/^ak_live_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
      const principal = yield* (yield* ApiKeys).authenticate(Redacted.make(key ?? ""))
      expect(principal).toMatchObject({ tenantId: "acme", scopes: ["admin", "payments:read"] })

      const listed = yield* runCli(["list-keys", "--tenant", "acme"])
      expect(listed.lines.join("\n")).toContain(`ak_live_${principal.keyId}`)
      expect(listed.lines.join("\n")).not.toContain(key)

      expect((yield* runCli(["revoke-key", "--tenant", "acme", "--key", principal.keyId])).code).toBe(0)
      expect((yield* Effect.flip((yield* ApiKeys).authenticate(Redacted.make(key ?? ""))))._tag).toBe("InvalidApiKey")
    }).pipe(Effect.provide(Layer.merge(TenancyTest.layerMemory, NodeContext.layer))))

  it.effect("refuses an unknown or suspended tenant, unknown scopes and a missing option, with exit code 1", () =>
    Effect.gen(function*() {
      const unknown = yield* runCli(["create-key", "--tenant", "nobody", "--scopes", "admin"])
      expect(unknown.code).toBe(1)
      expect(unknown.errors).toEqual(['error: no tenant "nobody"'])
      yield* runCli(["create-tenant", "--id", "acme", "--name", "Acme"])
      const scopes = yield* runCli(["create-key", "--tenant", "acme", "--scopes", "root"])
      expect(scopes.code).toBe(1)
      expect(scopes.lines.some((l) => l.startsWith("ak_live_"))).toBe(false)
      const missing = yield* runCli(["create-key", "--tenant", "acme"])
      expect(missing.code).toBe(1)
      expect((yield* runCli(["create-tenant", "--id", "acme", "--name", "Again"])).code).toBe(1)
      yield* (yield* Tenants).setStatus({ id: "acme", status: "suspended" })
      const suspended = yield* runCli(["create-key", "--tenant", "acme", "--scopes", "admin"])
      expect(suspended.code).toBe(1)
      expect(suspended.errors).toEqual(["error: tenant acme is suspended"])
    }).pipe(Effect.provide(Layer.merge(TenancyTest.layerMemory, NodeContext.layer))))
})
