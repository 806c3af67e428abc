/**
 * The administration command line of an installation (`npm run admin -- <command>`): tenants and
 * API keys, straight on the database, for the first admin key of a fresh installation and for
 * operators without an admin key at hand.
 *
 * ```sh
 * npm run admin -- create-tenant --id acme --name "Acme Inc."
 * npm run admin -- create-key --tenant acme --scopes admin
 * npm run admin -- list-keys --tenant acme
 * npm run admin -- revoke-key --tenant acme --key 0123456789abcdef
 * ```
 *
 * The database: `DATABASE_URL` (PostgreSQL, in `AEGISPAY_PG_SCHEMA`, default `aegispay`) when it
 * is set, else the embedded PGlite in `AEGISPAY_DATA_DIR` (default `./data`; stop the service
 * using that folder first: PGlite is one process's). Migrations run first. The key pepper comes
 * from `AEGISPAY_API_KEY_PEPPER` (required; the service must use the same).
 *
 * Guarantees: `create-key` prints the full key once, on standard output, and nowhere else (no
 * log line carries it); it refuses a tenant that is not registered or is suspended. Every failure
 * is a message on standard error and exit code 1.
 *
 * @since 0.2.0
 */
import { Command, Options, ValidationError as CliError } from "@effect/cli"
import { Config, Console, Effect, Layer, Option, Redacted, Schema } from "effect"
import * as AegisPayPg from "../AegisPayPg.js"
import { ValidationError } from "../domain/PaymentError.js"
import * as ApiKeyHash from "../security/ApiKeyHash.js"
import * as Embedded from "../storage/Embedded.js"
import * as Migrations from "../storage/Migrations.js"
import { ApiKeys, Scope } from "./ApiKeys.js"
import * as SqlApiKeys from "./SqlApiKeys.js"
import * as SqlTenants from "./SqlTenants.js"
import { Tenants } from "./Tenants.js"

const tenant = Options.text("tenant").pipe(Options.withDescription("the tenant id"))

const decodeScopes = Schema.decodeUnknownOption(Schema.Array(Scope))

const parseScopes = (raw: string) => {
  const scopes = decodeScopes(raw.split(",").map((s) => s.trim()).filter((s) => s !== ""))
  return Option.isSome(scopes)
    ? Effect.succeed(scopes.value)
    : Effect.fail(new ValidationError({ path: "scopes", message: `scopes are a comma-separated list of ${Scope.literals.join(", ")}` }))
}

const formatDate = (date: Date | undefined) => (date === undefined ? "-" : date.toISOString())

/**
 * `create-tenant --id <id> --name <name>`: registers an active tenant.
 *
 * @since 0.2.0
 */
export const createTenant = Command.make(
  "create-tenant",
  { id: Options.text("id").pipe(Options.withDescription("the tenant id (1 to 64 characters)")), name: Options.text("name") },
  ({ id, name }) =>
    Effect.gen(function*() {
      const created = yield* (yield* Tenants).create({ id, name })
      yield* Console.log(`tenant ${created.id} (${created.name}) created`)
    })
).pipe(Command.withDescription("register a tenant"))

/**
 * `create-key --tenant <id> --scopes admin[,payments:read,…] [--name <label>]`: prints the new key
 * once.
 *
 * @since 0.2.0
 */
export const createKey = Command.make(
  "create-key",
  {
    tenant,
    scopes: Options.text("scopes").pipe(Options.withDescription(`comma-separated: ${Scope.literals.join(", ")}`)),
    name: Options.text("name").pipe(Options.withDescription("a label for people"), Options.optional)
  },
  ({ name, scopes, tenant }) =>
    Effect.gen(function*() {
      const registered = yield* (yield* Tenants).get(tenant)
      if (registered.status !== "active") {
        return yield* new ValidationError({ path: "tenant", message: `tenant ${tenant} is ${registered.status}` })
      }
      const created = yield* (yield* ApiKeys).create({
        tenantId: tenant,
        scopes: yield* parseScopes(scopes),
        name: Option.getOrUndefined(name)
      })
      yield* Console.log(`key ${created.info.keyId} for tenant ${tenant}, scopes ${created.info.scopes.join(",")}`)
      yield* Console.log("the key, shown once (store it now; only its hash is kept):")
      yield* Console.log(Redacted.value(created.key))
    })
).pipe(Command.withDescription("create an API key and print it once"))

/**
 * `revoke-key --tenant <id> --key <keyId>`.
 *
 * @since 0.2.0
 */
export const revokeKey = Command.make(
  "revoke-key",
  { tenant, key: Options.text("key").pipe(Options.withDescription("the key id (the 16 hex characters after ak_live_)")) },
  ({ key, tenant }) =>
    Effect.gen(function*() {
      const revoked = yield* (yield* ApiKeys).revoke({ tenantId: tenant, keyId: key })
      yield* Console.log(`key ${revoked.keyId} revoked at ${formatDate(revoked.revokedAt)}`)
    })
).pipe(Command.withDescription("revoke an API key"))

/**
 * `list-keys --tenant <id>`: key ids, scopes and times; never a secret.
 *
 * @since 0.2.0
 */
export const listKeys = Command.make("list-keys", { tenant }, ({ tenant }) =>
  Effect.gen(function*() {
    const keys = yield* (yield* ApiKeys).list(tenant)
    yield* Console.log(["prefix", "scopes", "name", "created", "last used", "revoked"].join("\t"))
    for (const key of keys) {
      yield* Console.log([
        key.prefix,
        key.scopes.join(","),
        key.name ?? "-",
        formatDate(key.createdAt),
        formatDate(key.lastUsedAt),
        formatDate(key.revokedAt)
      ].join("\t"))
    }
  })).pipe(Command.withDescription("list a tenant's API keys"))

/**
 * `list-tenants`.
 *
 * @since 0.2.0
 */
export const listTenants = Command.make("list-tenants", {}, () =>
  Effect.gen(function*() {
    for (const t of yield* (yield* Tenants).list) yield* Console.log([t.id, t.status, t.name, formatDate(t.createdAt)].join("\t"))
  })).pipe(Command.withDescription("list the tenants"))

/**
 * The `admin` command and its subcommands.
 *
 * @since 0.2.0
 */
export const command = Command.make("admin").pipe(
  Command.withDescription("AegisPay administration: tenants and API keys"),
  Command.withSubcommands([createTenant, createKey, revokeKey, listKeys, listTenants])
)

/**
 * Runs the command line on `argv` (without the node and script entries). Typed failures are
 * printed as `error: <message>` on standard error and set exit code 1.
 *
 * @since 0.2.0
 */
export const run = (argv: ReadonlyArray<string>) =>
  Command.run(command, { name: "aegispay admin", version: "0.2.0" })(["node", "admin", ...argv]).pipe(
    Effect.catchAll((error) =>
      Effect.zipRight(
        // the command line's own errors (unknown command, missing option) are printed by it
        CliError.isValidationError(error) ? Effect.void : Console.error(`error: ${error.message}`),
        Effect.sync(() => {
          process.exitCode = 1
        })
      )
    )
  )

/**
 * The database of the command line, migrated: PostgreSQL from `DATABASE_URL` when set, else the
 * embedded PGlite in `AEGISPAY_DATA_DIR` (default `./data`); tenants and API keys on it, with the
 * pepper from `AEGISPAY_API_KEY_PEPPER`.
 *
 * @since 0.2.0
 */
export const layerDatabase = Layer.unwrapEffect(Effect.gen(function*() {
  const url = yield* Config.option(Config.redacted("DATABASE_URL"))
  const client = Option.isSome(url)
    ? AegisPayPg.layerClient({ url: url.value, maxConnections: 2 })
    : Layer.unwrapEffect(Effect.map(
      Config.string("AEGISPAY_DATA_DIR").pipe(Config.withDefault("./data")),
      (dataDir) => Embedded.layerClient({ dataDir })
    ))
  return Layer.merge(SqlApiKeys.layer, SqlTenants.layer).pipe(
    Layer.provide(ApiKeyHash.layerConfig),
    Layer.provide(Layer.provideMerge(Migrations.layer, client))
  )
}))
