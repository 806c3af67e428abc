# AegisPay service image: `npm run serve` compiled (scripts/serve.ts), and the worker
# (scripts/worker.ts) from the same image with another command. docs/OPERATIONS.md, "Docker".
#
#   docker build -t aegispay .
#   docker run -p 3000:3000 -e DATABASE_URL=… aegispay                           # API (+ workers unless AEGISPAY_WORKERS=false)
#   docker run -e DATABASE_URL=… aegispay node --enable-source-maps dist-scripts/worker.js   # workers only

# ---- build: every dependency, the library (dist/) and the scripts (dist-scripts/) ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.scripts.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build && npm run build:scripts
# production dependencies only: the package's own and its peers (Effect, @effect/*, OpenTelemetry),
# at the versions npm ci installed; everything else (TypeScript, tsx, ESLint, Vitest…) is pruned
COPY ops/docker/runtime-package.mjs ./ops/docker/runtime-package.mjs
RUN node ops/docker/runtime-package.mjs \
  && npm prune --omit=dev --no-audit --no-fund \
  && find node_modules -type d -empty -delete

# ---- runtime: compiled JavaScript, production dependencies, a non-root user ----
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/dist-scripts ./dist-scripts
# embedded PostgreSQL's directory, for `docker run` without DATABASE_URL (a demo, one process)
RUN mkdir /app/data && chown node:node /app/data
# the `node` user (uid 1000) of the official Node.js image; the files stay root-owned, read-only to it
USER node
ENV PORT=3000
EXPOSE 3000
# liveness of the API (GET /health); the worker answers on AEGISPAY_WORKER_PORT (3001) instead:
# Compose and Kubernetes give the worker its own check (ops/compose/compose.yaml, ops/k8s/worker.yaml)
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist-scripts/serve.js"]
