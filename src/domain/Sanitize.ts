/**
 * Text that crosses AegisPay's boundary.
 *
 * - **Card numbers are masked** out of everything AegisPay echoes back: error messages and error
 *   fields (by the constructors of the domain errors), log lines (by {@link maskLogger}). A caller
 *   who types a card number into the wrong field (the email, the currency, a metadata key) never
 *   sees it again in an answer or a log line.
 * - **Storable text**: every string AegisPay accepts can be stored, unchanged, by every storage
 *   backend. PostgreSQL cannot hold U+0000 (NUL) in `text` or `jsonb`, and a UTF-16 surrogate
 *   without its pair has no UTF-8 encoding (Node's encoder turns it into U+FFFD, so it would be
 *   stored changed); both are refused where a request is validated, the same on every layer.
 *
 * @since 0.1.0
 */
import { Effect, FiberRef, HashMap, HashSet, Layer, Logger, Schema } from "effect"

/**
 * What a masked card number is replaced with.
 *
 * @since 0.1.0
 */
export const MASK = "<redacted>"

/**
 * The Luhn (mod 10) check of a string of ASCII digits.
 *
 * @since 0.1.0
 */
export const luhn = (digits: string): boolean => {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}

/**
 * A run of digits with separators between them: whitespace, dashes, or the escapes of whitespace
 * that `JSON.stringify` writes (`\n`, `\t`, …), since messages often quote the input as JSON.
 */
const DIGIT_RUN = /\d(?:(?:[\s-]|\\[nrtfv])*\d)*/g

/** The separators removed from a run to leave its digits. */
const SEPARATORS = /(?:[\s-]|\\[nrtfv])+/g

/**
 * Tells whether a string of digits could be or hold a card number: more than 19 digits, or 13 to
 * 19 digits any 13 or more consecutive of which pass the Luhn check.
 *
 * @since 0.1.0
 */
export const couldHoldCardNumber = (digits: string): boolean => {
  if (digits.length > 19) return true
  for (let length = 13; length <= digits.length; length++) {
    for (let start = 0; start + length <= digits.length; start++) {
      if (luhn(digits.slice(start, start + length))) return true
    }
  }
  return false
}

/**
 * Tells whether `text` holds a card number: a run of 13 to 19 digits (spaces, dashes or other
 * whitespace allowed between them, as in {@link maskCardNumbers}) that passes the Luhn check as
 * a whole. Stricter than {@link couldHoldCardNumber}, which also flags longer runs and Luhn-valid
 * parts of a run (right for masking, too eager for provider tokens: format-preserving tokens are
 * digit runs made to fail the Luhn check).
 *
 * @since 0.1.0
 */
export const containsCardNumber = (text: string): boolean => {
  for (const run of text.match(DIGIT_RUN) ?? []) {
    const digits = run.replace(SEPARATORS, "")
    if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) return true
  }
  return false
}

/**
 * Replaces every run of digits that could be a card number with {@link MASK}. A run is digits
 * with any spaces, dashes or other whitespace between them (`4242 4242-4242 4242`); it is masked
 * whole when it could hold a card number ({@link couldHoldCardNumber}). Shorter runs and runs
 * failing the check (order numbers, amounts, dates, ids) are kept.
 *
 * Guarantee: no Luhn-valid 13–19 digit number survives in the result, whether its digits are
 * adjacent or separated by spaces, dashes or other whitespace.
 * Idempotent: `maskCardNumbers(maskCardNumbers(s)) === maskCardNumbers(s)`.
 *
 * @since 0.1.0
 */
export const maskCardNumbers = (text: string): string =>
  text.replace(DIGIT_RUN, (run) => (couldHoldCardNumber(run.replace(SEPARATORS, "")) ? MASK : run))

/**
 * Quotes caller text for a message: card numbers masked first, then cut to at most `max`
 * characters (marked with `…`), then JSON-quoted. Masking before cutting matters: a card number
 * cut short is no longer Luhn-valid and would otherwise survive as most of its digits.
 *
 * @since 0.1.0
 */
export const quote = (text: string, max: number): string => {
  const masked = maskCardNumbers(text)
  return masked.length > max ? `${JSON.stringify(masked.slice(0, max))}…` : JSON.stringify(masked)
}

/**
 * Tells whether every storage backend can hold `text` exactly: no U+0000 (NUL) and no UTF-16
 * surrogate without its pair (well-formed Unicode). Other characters, control characters and
 * characters outside the Basic Multilingual Plane included, are storable.
 *
 * @since 0.1.0
 */
export const isStorable = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 0) return false
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false
      i++
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return false
    }
  }
  return true
}

/**
 * The message of a string refused by {@link isStorable}.
 *
 * @since 0.1.0
 */
export const unstorableMessage = (name: string): string =>
  `${name} must not contain NUL characters or unpaired UTF-16 surrogates`

const CONTROL = /\p{Cc}/u
const SURROUNDING_SPACE = /^\s|\s$/

/**
 * What is wrong with `key` as a key compared exactly (never trimmed or normalised), or
 * `undefined` when nothing is: 1 to `max` UTF-16 code units, no control characters
 * (U+0000–U+001F, U+007F–U+009F), no whitespace at either end, {@link isStorable}. `name` names
 * the field in the message; the message never quotes the key.
 *
 * @since 0.1.0
 */
export const keyProblem = (name: string, max: number, key: string): string | undefined =>
  key.length === 0
    ? `${name} is required`
    : key.length > max
    ? `${name} is at most ${max} characters`
    : CONTROL.test(key)
    ? `${name} must not contain control characters`
    : SURROUNDING_SPACE.test(key)
    ? `${name} must not start or end with whitespace (keys are compared exactly)`
    : isStorable(key)
    ? undefined
    : unstorableMessage(name)

/**
 * Refines a string schema to {@link isStorable} strings; `name` names the field in the message.
 *
 * @since 0.1.0
 */
export const storable = (name: string) =>
<A extends string, I, R>(self: Schema.Schema<A, I, R>): Schema.filter<Schema.Schema<A, I, R>> =>
  self.pipe(Schema.filter((text: A) => isStorable(text) || unstorableMessage(name)))

/**
 * A string every storage backend can hold exactly (see {@link isStorable}).
 *
 * @since 0.1.0
 */
export const StorableString = Schema.String.pipe(storable("text"))

const maskValue = (value: unknown): unknown =>
  typeof value === "string"
    ? maskCardNumbers(value)
    : Array.isArray(value)
    ? value.map(maskValue)
    : value

/**
 * Wraps a logger so that card numbers are masked ({@link maskCardNumbers}) in the message (a
 * string, or each string of a multi-part message) and in every string annotation before `self`
 * sees them. Errors of the domain mask themselves; other objects are passed as they are.
 *
 * @since 0.1.0
 */
export const maskLogger = <Output>(self: Logger.Logger<unknown, Output>): Logger.Logger<unknown, Output> =>
  Logger.make((options) =>
    self.log({ ...options, message: maskValue(options.message), annotations: HashMap.map(options.annotations, maskValue) })
  )

/**
 * Replaces Effect's default logger with a {@link maskLogger} of it. Provide it where the program
 * runs (e.g. to the `ManagedRuntime` or at the edge of `main`) to mask every log line. When the
 * default logger is not installed where it is built (the program chose its own, e.g.
 * `Logging.layerJson`), it changes nothing.
 *
 * @since 0.1.0
 */
export const layerLogger: Layer.Layer<never> = Layer.unwrapEffect(
  Effect.map(
    FiberRef.get(FiberRef.currentLoggers),
    (loggers) =>
      HashSet.has(loggers, Logger.defaultLogger)
        ? Logger.replace(Logger.defaultLogger, maskLogger(Logger.defaultLogger))
        : Layer.empty
  )
)
