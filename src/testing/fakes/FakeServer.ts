/**
 * Serves a provider fake on a loopback port: a real HTTP server (Node's, through
 * `@effect/platform-node`) for the lifetime of the scope, so adapters are tested over real
 * sockets, timeouts and resets.
 *
 * @since 0.2.0
 */
import type { HttpApp, HttpServerError } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { Scope } from "effect"
import { Effect } from "effect"
import { createServer } from "node:http"

/**
 * A running fake: its base URL (`http://127.0.0.1:<port>`).
 *
 * @since 0.2.0
 */
export interface Running {
  readonly url: string
  readonly port: number
}

/**
 * Serves `app` on 127.0.0.1 on a free port until the scope closes.
 *
 * @since 0.2.0
 */
export const serve = (app: HttpApp.Default<never, never>): Effect.Effect<Running, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* NodeHttpServer.make(() => createServer(), { port: 0, host: "127.0.0.1" })
    yield* server.serve(app)
    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return { url: `http://127.0.0.1:${port}`, port }
  })
