#!/usr/bin/env bash
# Installs the packed library into a fresh consumer project with its own `effect`, as a user
# would, then typechecks (strict, exactOptionalPropertyTypes) and runs two programs there:
#   1. core.ts on the core entry and the test kit, with NO pg / @effect/sql-pg / platform-node
#      installed (proves the core entry does not load them);
#   2. http.ts on `aegispay/http` and `aegispay/gateways` (the API mounted on a server on port 0,
#      called with the derived HttpApiClient; gateway adapters built, no network), after
#      installing the optional peers;
#   3. pg.ts on `aegispay/pg` against DATABASE_URL;
#   4. facade.ts on `aegispay/facade` (a program importing nothing from Effect), after checking
#      that no declaration file reachable from `aegispay/facade` imports an Effect package.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d /tmp/aegispay-consumer.XXXXXX)"
trap 'rm -rf "$work"' EXIT

cd "$root"
# .ci/run has just built dist/ (AEGISPAY_CONSUMER_BUILT=1): packed as it is, not built a second time
if [ "${AEGISPAY_CONSUMER_BUILT:-}" = "1" ] && [ -f dist/index.js ]; then echo "== consumer: packing the existing build"; else npm run --silent build; fi
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"

cd "$work"
mkdir src
cp "$root"/test/consumer/{MyGateway,program,core,pg,http,facade}.ts src/
cat > package.json <<'JSON'
{ "name": "aegispay-consumer", "private": true, "type": "module" }
JSON
cat > tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022", "lib": ["ES2022"], "module": "NodeNext", "moduleResolution": "NodeNext",
    "types": ["node"], "strict": true, "exactOptionalPropertyTypes": true, "noUncheckedIndexedAccess": true,
    "skipLibCheck": true, "outDir": "dist", "rootDir": "src"
  },
  "files": ["src/core.ts"]
}
JSON
echo "== consumer: install $tarball with effect 3.22 and the required peers only"
npm install --no-audit --no-fund --loglevel=error "./$tarball" \
  "effect@~3.22.4" "@effect/sql@^0.52.1" "@effect/platform@^0.97.2" "@effect/experimental@^0.61.1" \
  "typescript@~5.9.3" "@types/node@^20.19.43"
copies="$(find node_modules -path '*node_modules/effect/package.json' | wc -l)"
if [ "$copies" != "1" ]; then echo "expected one copy of effect, found $copies"; exit 1; fi
if node -e 'require.resolve("pg")' 2>/dev/null; then echo "pg is installed: the core check would prove nothing"; exit 1; fi
echo "== consumer: typecheck and run the core program (no pg installed)"
npx tsc -p tsconfig.json
node dist/core.js

echo "== consumer: install the optional peers, typecheck the HTTP and PostgreSQL programs, run the HTTP one"
npm install --no-audit --no-fund --loglevel=error "@effect/sql-pg@^0.53.0" "@effect/platform-node@^0.108.2"
sed -i 's#"files": \["src/core.ts"\]#"files": ["src/core.ts", "src/pg.ts", "src/facade.ts", "src/http.ts"]#' tsconfig.json
npx tsc -p tsconfig.json
echo "== consumer: run the HTTP program (aegispay/http, aegispay/gateways)"
node dist/http.js
key() { node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("base64"))'; }

echo "== consumer: the facade's public declarations import no Effect package"
node --input-type=module - <<'NODE'
import { readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
const root = resolve("node_modules/aegispay/dist")
const seen = new Set()
const pending = [resolve(root, "facade.d.ts")]
const leaks = []
while (pending.length > 0) {
  const file = pending.pop()
  if (seen.has(file)) continue
  seen.add(file)
  for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
    if (spec.startsWith(".")) pending.push(resolve(dirname(file), spec.replace(/\.js$/, ".d.ts")))
    else leaks.push(`${file.slice(root.length + 1)} imports ${spec}`)
  }
}
if (leaks.length > 0) {
  console.error(leaks.join("\n"))
  process.exit(1)
}
console.log(`${seen.size} declaration files, no import of a package`)
NODE
echo "== consumer: run the facade program (production mode, keys from the environment)"
AEGISPAY_KEK="$(key)" AEGISPAY_KEK_ID="kek-consumer" AEGISPAY_FINGERPRINT_KEY="$(key)" node dist/facade.js
if [ -z "${DATABASE_URL:-}" ]; then
  echo "DATABASE_URL is not set: the PostgreSQL consumer program is SKIPPED"
  [ "${REQUIRE_POSTGRES:-}" = "1" ] && exit 1
  exit 0
fi
db="aegis_consumer_$$"
psql "$DATABASE_URL" -qc "CREATE DATABASE $db"
trap 'psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; rm -rf "$work"' EXIT
url="${DATABASE_URL%/*}/$db"
DATABASE_URL="$url" AEGISPAY_KEK="$(key)" AEGISPAY_KEK_ID="kek-consumer" AEGISPAY_FINGERPRINT_KEY="$(key)" node dist/pg.js
echo "== consumer: ok"
