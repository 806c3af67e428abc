/**
 * npm run examples: runs every file of `examples/`, in name order, each as its own Node process,
 * and stops at the first that fails (its exit code is this script's).
 *
 * Each example runs from an esbuild bundle of it (test/support/Children.ts: the library's sources
 * and the project's packages in one module, PGlite left to Node), not under `tsx`: tsx transformed
 * and loaded the library's sources and about a thousand package modules in every example, some
 * seconds of CPU each before the example itself ran. The same program from the same sources.
 * `AEGISPAY_CHILDREN=tsx` runs them under tsx as before.
 */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { nodeArgs } from "../support/Children.js"

const directory = fileURLToPath(new URL("../../examples/", import.meta.url))
const examples = readdirSync(directory).filter((name) => name.endsWith(".ts")).sort()

const main = async (): Promise<number> => {
  for (const name of examples) {
    console.log(`== examples/${name}`)
    const ran = spawnSync(process.execPath, await nodeArgs(join(directory, name)), { stdio: "inherit" })
    if (ran.status !== 0) {
      console.error(`examples/${name} failed: ${ran.error?.message ?? `exit ${ran.status} signal ${ran.signal}`}`)
      return ran.status ?? 1
    }
  }
  return 0
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error)
  process.exit(1)
})
