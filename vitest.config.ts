import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"
import { BaseSequencer, type TestSpecification } from "vitest/node"

/**
 * The files that take longest (each over about 5 s on the 2-core CI machine), longest first: they
 * start first, so the workers do not end on one long file while the other waits. Vitest's own order
 * (by the durations of the last run, kept in node_modules) is lost on CI's clean clone, where it
 * falls back to the largest files first. A file missing here only starts later.
 */
const longestFirst = [
  "test/crash/Crash.test.ts",
  "test/multiprocess/MultiProcess.test.ts",
  "test/storage/StorageContract.test.ts",
  "test/security/SqlCardVault.test.ts",
  "test/events/OutboxRelay.test.ts",
  "test/storage/IdempotencyStore.test.ts",
  "test/routing/SharedEvidence.test.ts",
  "test/storage/SqlLockManager.test.ts",
  "test/tenancy/ApiKeys.test.ts",
  "test/gateways/paypal/PayPal.test.ts",
  "test/facade/SharedDatabase.test.ts",
  "test/tenancy/TenantCredentials.test.ts",
  "test/facade/Close.test.ts",
  "test/sim/Simulation.test.ts",
  "test/domain/InputDefects.test.ts",
  "test/multiprocess/SharedRouting.test.ts",
  "test/ops/scrape.test.ts",
  "test/gateways/stripe/Simulation.test.ts"
]

class LongestFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const rank = (file: TestSpecification) => {
      const i = longestFirst.findIndex((path) => file.moduleId.endsWith(path))
      return i === -1 ? longestFirst.length : i
    }
    // stable: the other files keep vitest's order
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b))
  }
}

export default defineConfig({
  resolve: {
    alias: [
      { find: /^aegispay\/testing\/fakes$/, replacement: fileURLToPath(new URL("./src/testing/fakes/index.ts", import.meta.url)) },
      { find: /^aegispay\/facade$/, replacement: fileURLToPath(new URL("./src/facade.ts", import.meta.url)) },
      { find: /^aegispay\/gateways$/, replacement: fileURLToPath(new URL("./src/gateways.ts", import.meta.url)) },
      { find: /^aegispay\/testing$/, replacement: fileURLToPath(new URL("./src/testing/index.ts", import.meta.url)) },
      { find: /^aegispay\/pg$/, replacement: fileURLToPath(new URL("./src/pg.ts", import.meta.url)) },
      { find: /^aegispay\/otel$/, replacement: fileURLToPath(new URL("./src/otel.ts", import.meta.url)) },
      { find: /^aegispay\/http$/, replacement: fileURLToPath(new URL("./src/http.ts", import.meta.url)) },
      { find: /^aegispay\/embedded$/, replacement: fileURLToPath(new URL("./src/embedded.ts", import.meta.url)) },
      { find: /^aegispay$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      // one graphql module, as under Node: graphql-http (loaded by Node) requires graphql's CommonJS
      // build, and Vite would otherwise give the sources its ESM build (graphql refuses two copies)
      { find: /^graphql$/, replacement: "graphql/index.js" }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // one directory for the child-process entry points bundled during the run (test/support/Children.ts)
    globalSetup: ["./test/support/globalSetup.ts"],
    // vitest's default is one worker less than the cores: a single worker on the 2-core CI machine,
    // idle while its tests wait for PostgreSQL and child processes
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: LongestFirst },
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
