/**
 * Identifier generation as a service, so tests get deterministic ids.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Random, Ref } from "effect"

/**
 * Generates unique ids with a prefix (`pay_…`, `att_…`, `ref_…`).
 *
 * @since 0.1.0
 */
export class Ids extends Context.Tag("aegispay/Ids")<Ids, {
  readonly next: (prefix: string) => Effect.Effect<string>
}>() {}

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

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
  next: (prefix) =>
    Effect.gen(function*() {
      const millis = yield* Clock.currentTimeMillis
      let random = ""
      for (let i = 0; i < 4; i++) random += encode(yield* Random.nextIntBetween(0, 1_048_576), 4)
      return `${prefix}_${encode(millis, 10)}${random}`
    })
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
