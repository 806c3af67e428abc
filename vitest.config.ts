import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

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
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
