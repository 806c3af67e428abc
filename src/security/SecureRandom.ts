/**
 * Cryptographically secure random bytes, as a service.
 *
 * Effect's `Random` is a seeded generator for reproducible tests; secrets (API keys, their public
 * ids) need a CSPRNG. `SecureRandom` is a `Context.Reference` whose default draws from node:crypto
 * `randomBytes` (the operating system's CSPRNG), so production needs nothing, and a test can
 * provide a deterministic source to reproduce a run.
 *
 * Guarantees of the default: every call returns fresh bytes from node:crypto `randomBytes`; nothing
 * is cached or logged.
 *
 * @since 0.2.0
 */
import { Context, Effect } from "effect"
import { randomBytes } from "node:crypto"

/**
 * A source of random bytes; `bytes(n)` returns `n` fresh bytes.
 *
 * @since 0.2.0
 */
export class SecureRandom extends Context.Reference<SecureRandom>()("aegispay/SecureRandom", {
  defaultValue: (): { readonly bytes: (n: number) => Effect.Effect<Uint8Array> } => ({
    bytes: (n) => Effect.sync(() => new Uint8Array(randomBytes(n)))
  })
}) {}

/**
 * `n` random bytes from the current {@link SecureRandom}.
 *
 * @since 0.2.0
 */
export const bytes = (n: number): Effect.Effect<Uint8Array> => Effect.flatMap(SecureRandom, (random) => random.bytes(n))
