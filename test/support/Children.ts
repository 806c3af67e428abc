/**
 * How the tests start their TypeScript entry points as child processes (the crash children, the
 * multi-process workers, the vault worker, the facade's close child). No vitest import here: the
 * standalone scripts (`npm run crash`) use it too.
 *
 * Under `node --import tsx` every child transformed and loaded the library's sources and some
 * thousand package modules itself before doing anything: about 5.5 s of CPU per crash child
 * (measured on the 2-core CI machine), times the 80 SIGKILLed crash children. Instead each entry is
 * bundled once per test process with esbuild (the transformer tsx itself uses) into one ES module:
 * the library's sources (the `aegispay` paths of tsconfig.json) and the packages from the
 * project's node_modules, except PGlite (left to Node). Loading it takes under 1 s of CPU. The
 * child runs the bundle with plain `node`: the same program from the same sources and package
 * versions, still its own OS process, SIGKILLed where the harness kills it.
 *
 * `AEGISPAY_CHILDREN=tsx` runs the sources through tsx as before. The bundles are written to
 * `AEGISPAY_CHILDREN_DIR` (created and removed by the test run's global setup), else to a
 * temporary directory removed when this process exits.
 */
import { build } from "esbuild"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

/** A directory for bundles whose bare imports resolve to the project's packages. */
export const makeBundleDirectory = (): string => {
  const dir = mkdtempSync(join(tmpdir(), "aegispay-children-"))
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir")
  return dir
}

let ownDirectory: string | undefined
const directory = (): string => {
  const shared = process.env.AEGISPAY_CHILDREN_DIR
  if (shared !== undefined) {
    mkdirSync(shared, { recursive: true })
    return shared
  }
  if (ownDirectory === undefined) {
    const dir = makeBundleDirectory()
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }))
    ownDirectory = dir
  }
  return ownDirectory
}

const bundles = new Map<string, Promise<string>>()

const bundle = async (entry: string): Promise<string> => {
  const outfile = join(directory(), `${basename(entry, ".ts")}-${process.pid}-${bundles.size}.mjs`)
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // PGlite loads its WebAssembly and data files next to its own modules: left to Node
    external: ["@electric-sql/*"],
    // for the CommonJS packages (pg) inside the ES module
    banner: { js: `import { createRequire } from "node:module"; const require = createRequire(import.meta.url);` },
    tsconfig: join(root, "tsconfig.json"),
    logLevel: "error"
  })
  return outfile
}

/**
 * The arguments before the child's own for `spawn(process.execPath, …)` that run the TypeScript
 * file `entry` (an absolute path). The first call for an entry bundles it (a second or two).
 */
export const nodeArgs = async (entry: string): Promise<ReadonlyArray<string>> => {
  if (process.env.AEGISPAY_CHILDREN === "tsx") return ["--import", "tsx", entry]
  let built = bundles.get(entry)
  if (built === undefined) {
    built = bundle(entry)
    bundles.set(entry, built)
  }
  return [await built]
}

/**
 * A child's result printed as its last stdout line: the library's log lines (Info operation
 * lines by default) may come before it on the same stdout.
 */
export const lastLine = (stdout: string): string => stdout.trim().split("\n").at(-1) ?? ""
