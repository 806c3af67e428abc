/**
 * One embedded PGlite for the tests of a `describe` block, as `useTestDatabase` gives them one
 * PostgreSQL database: started (and migrated) before the block's tests, closed after them.
 *
 * Starting a PGlite (its WebAssembly PostgreSQL and initdb) costs about 2 s of CPU, the migrations
 * another 0.5 s; per test, that was most of the time of the PGlite suites. The tests on it share
 * its data, as the PostgreSQL runs of the same suites share their database (random ids, their own
 * keys), and each test still builds its own services on it: only the database is shared.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import type { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { type Context, Effect, Exit, Layer, Scope } from "effect"
import { Embedded } from "aegispay/embedded"
import { Migrations } from "aegispay/pg"
import * as SqlComposition from "../../src/internal/SqlComposition.js"
import * as PaymentLock from "../../src/storage/PaymentLock.js"

type Client = PgClient.PgClient | SqlClient.SqlClient

/**
 * A started, migrated PGlite for the enclosing `describe` block. Returns a function giving a
 * layer of its client (valid inside tests); building that layer starts nothing and closing it
 * closes nothing.
 */
export const useSharedPglite = (): () => Layer.Layer<Client> => {
  let scope: Scope.CloseableScope | undefined
  let context: Context.Context<Client> | undefined
  beforeAll(async () => {
    scope = Effect.runSync(Scope.make())
    context = await Effect.runPromise(
      Layer.buildWithScope(Layer.provideMerge(Migrations.layer, Embedded.layerClient()), scope)
    )
  }, 60_000)
  afterAll(async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  })
  return () => {
    if (context === undefined) throw new Error("the shared PGlite is started in beforeAll")
    return Layer.succeedContext(context)
  }
}

/**
 * `AegisPayEmbedded.layer(options)` on an already started PGlite (`client`): the same composition
 * (`SqlComposition.layer` with in-process payment locks), without starting a database of its own.
 * The suites using it keep one test that builds `AegisPayEmbedded.layer` itself.
 */
export const embeddedOn = <GOut, EG, RG, EV, RV>(
  client: Layer.Layer<Client>,
  options: SqlComposition.Options<GOut, EG, RG, EV, RV>
) => SqlComposition.layer(options, PaymentLock.layerMemory).pipe(Layer.provideMerge(client))
