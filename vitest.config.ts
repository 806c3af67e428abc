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
      { find: /^aegispay$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
