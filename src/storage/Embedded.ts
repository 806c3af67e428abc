/**
 * The embedded default: a real PostgreSQL (PGlite, compiled to WebAssembly) inside the process,
 * reached through the same `PgClient` as a server, so the SQL layers run unchanged.
 *
 * PGlite is a single backend behind a socket multiplexer: statements of concurrent connections
 * would interleave, so the pool is one connection and every transaction runs alone. Advisory
 * locks and LISTEN/NOTIFY do not cross connections here; use real PostgreSQL for several
 * processes.
 *
 * @since 0.1.0
 */
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Schema } from "effect"

/**
 * The embedded database could not be started or stopped.
 *
 * @since 0.1.0
 */
export class EmbeddedDatabaseError extends Schema.TaggedError<EmbeddedDatabaseError>()("EmbeddedDatabaseError", {
  reason: Schema.String
}) {}

/**
 * Options of the embedded database.
 *
 * @since 0.1.0
 */
export interface Options {
  /** A folder to keep the data in (it survives restarts); in memory when absent. */
  readonly dataDir?: string | undefined
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * A `PgClient` / `SqlClient` on an embedded PGlite, started when the layer is built and closed
 * with its scope.
 *
 * @since 0.1.0
 */
export const layerClient = (options: Options = {}) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PGlite.create(options.dataDir),
        catch: (e) => new EmbeddedDatabaseError({ reason: describe(e) })
      }),
      (db) => Effect.promise(() => db.close())
    )
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 2 })
          await server.start()
          return server
        },
        catch: (e) => new EmbeddedDatabaseError({ reason: describe(e) })
      }),
      (server) => Effect.promise(() => server.stop())
    )
    const address = server.getServerConn()
    const separator = address.lastIndexOf(":")
    return PgClient.layer({
      host: address.slice(0, separator),
      port: Number(address.slice(separator + 1)),
      username: "postgres",
      database: "postgres",
      maxConnections: 1
    })
  }))
