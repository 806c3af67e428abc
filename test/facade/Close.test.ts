/**
 * `close()` releases everything: a process running a facade program exits by itself after it
 * (no open handle left: runtime, workers, embedded database, PostgreSQL pool), calls after it
 * reject with `AegisPayClosedError`, and its slow `on` handler finished every event of a payment
 * processed just before `close()` and of one still in its gateway call when `close()` was called
 * (`close()` lets calls finish, flushes the relay, then waits for the handler).
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { lastLine, nodeArgs } from "../support/Children.js"

const child = fileURLToPath(new URL("./fixtures/closeChild.ts", import.meta.url))
const root = fileURLToPath(new URL("../..", import.meta.url))
/** Every event create+process committed: close() hands them all to the handlers before it stops. */
const committed = ["PaymentInitiated", "PaymentAuthenticated", "PaymentProcessing", "PaymentSucceeded"]
/** Both payments succeeded (the second while close() waited for it), their handlers saw everything. */
const expected = { states: ["SUCCESS", "SUCCESS"], after: "AegisPayClosed", events: [committed, committed] }

/** Runs the child; resolves with its exit code and output, or "hung" if it has not exited in time. */
const run = async (target: string) => {
  const node = await nodeArgs(child)
  return new Promise<{ readonly code: number | null | "hung"; readonly stdout: string; readonly stderr: string }>((resolve) => {
    const proc = spawn(process.execPath, [...node, target], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    // the bound of a hang, not a wait: the child normally exits long before
    const timer = setTimeout(() => {
      proc.kill("SIGKILL")
      resolve({ code: "hung", stdout, stderr })
    }, 150_000)
    proc.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe("close()", () => {
  it("on the embedded database: the process exits by itself; later calls reject as closed; handlers saw every committed event", async () => {
    const result = await run("embedded")
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(JSON.parse(lastLine(result.stdout))).toEqual(expected)
  }, 180_000)

})

describe.skipIf(databaseUrl === undefined)("close() on PostgreSQL", () => {
  const urlOf = useTestDatabase("facade_close")
  it("the pool is closed, the process exits by itself, handlers saw every committed event", async () => {
    const result = await run(urlOf())
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(JSON.parse(lastLine(result.stdout))).toEqual(expected)
  }, 180_000)
})
