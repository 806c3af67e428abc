// The runtime image's package.json (run in the Dockerfile's build stage, after `npm ci` and the
// build, before `npm prune`): the service needs at run time its own dependencies and its peer
// dependencies (Effect, its @effect/* packages, OpenTelemetry for aegispay/otel: an application
// supplies those, and in this repository they are installed as devDependencies), plus @effect/cli
// for the admin CLI (`node dist/tenancy/admin.js`). Each gets the exact version `npm ci` installed
// from the lockfile; devDependencies are dropped, so `npm prune` removes everything else
// (TypeScript, tsx, ESLint, Vitest, …). Nothing is downloaded.
import { readFileSync, writeFileSync } from "node:fs"

const pkg = JSON.parse(readFileSync("package.json", "utf8"))
const installed = (name) => JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8")).version
const runtime = [...Object.keys(pkg.peerDependencies ?? {}), "@effect/cli"]
const dependencies = { ...pkg.dependencies }
for (const name of runtime) dependencies[name] = installed(name)
delete pkg.devDependencies
pkg.dependencies = Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b)))
writeFileSync("package.json", `${JSON.stringify(pkg, null, 2)}\n`)
process.stdout.write(`runtime dependencies: ${Object.keys(pkg.dependencies).join(", ")}\n`)
