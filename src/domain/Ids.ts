/**
 * Identifier generation as a service, so tests get deterministic ids.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Ref } from "effect"

/**
 * Generates unique ids with a prefix (`pay_…`, `att_…`, `ref_…`).
 *
 * @since 0.1.0
 */
export class Ids extends Context.Tag("aegispay/Ids")<Ids, {
  readonly next: (prefix: string) => Effect.Effect<string>
}>() {}

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

/** 2^40: each of an id's two random halves is 8 characters of base 32. */
const RANDOM_HALF = 1_099_511_627_776

const encode = (value: number, length: number): string => {
  let out = ""
  let v = value
  for (let i = 0; i < length; i++) {
    out = ALPHABET.charAt(v % 32) + out
    v = Math.floor(v / 32)
  }
  return out
}

/**
 * Time-ordered random ids: 10 characters of milliseconds from `Clock` followed by 16 random
 * characters from `Random` (80 bits), in Crockford base 32. Ids made later sort later.
 * Reproducible under TestClock with a seeded `Random`.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Ids> = Layer.succeed(Ids, {
  // one clock read and two random draws of 40 bits each (one effect step apiece, on the hot path)
  next: (prefix) =>
    Effect.clockWith((clock) =>
      Effect.randomWith((random) =>
        Effect.zipWith(
          random.nextIntBetween(0, RANDOM_HALF),
          random.nextIntBetween(0, RANDOM_HALF),
          (high, low) => `${prefix}_${encode(clock.unsafeCurrentTimeMillis(), 10)}${encode(high, 8)}${encode(low, 8)}`
        )
      )
    )
})

/**
 * Sequential ids (`pay_000001`, `pay_000002`, …), one counter per prefix: for tests and demos
 * whose output should read the same on every run.
 *
 * @since 0.1.0
 */
export const layerSequential: Layer.Layer<Ids> = Layer.effect(
  Ids,
  Effect.map(Ref.make(new Map<string, number>()), (ref) => ({
    next: (prefix: string) =>
      Ref.modify(ref, (counters) => {
        const n = (counters.get(prefix) ?? 0) + 1
        return [`${prefix}_${String(n).padStart(6, "0")}`, new Map(counters).set(prefix, n)] as const
      })
  }))
)
