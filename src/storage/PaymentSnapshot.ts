/**
 * The JSON snapshot of a payment that `SqlStorage` writes with every version of the row.
 *
 * `encode(payment)` equals `Schema.encodeSync(Payment)(payment)` (the test suite checks it on
 * arbitrary payments), but does not re-encode what an earlier version already encoded: a new
 * version shares most of its values with the one it was made from (the same `Money`, customer,
 * payment method, attempts that did not change), and the encoded form of each of those objects
 * is kept, by identity, for as long as the object lives. Payments are immutable, so an object's
 * encoded form never changes.
 *
 * - A field whose value is an object (or an array) is encoded with the field's own schema, once
 *   per object; an array is encoded element by element, once per element object. Amounts
 *   (`Money`) and timestamps (`DateTime.Utc`) are encoded directly, as their schemas encode them.
 * - A field whose value is a primitive (string, number, boolean) is copied as it is: every such
 *   field of `Payment` encodes to itself (no transformation). A field added later with a
 *   transformation of a primitive would break the equality, which the test suite would show.
 * - Values are not validated again: a `Payment` is only ever built from validated input (the
 *   request decoder, the event fold, the snapshot decoder).
 *
 * @internal
 */
import { DateTime, Schema } from "effect"
import { Money } from "../domain/Money.js"
import { Payment } from "../domain/Payment.js"

interface FieldEncoder {
  /** The field's encoded value of `value` (the field's schema applied to `{ [key]: value }`). */
  readonly encode: (value: unknown) => unknown
  /** Encoded objects (or array elements) of this field, by identity. */
  readonly objects: WeakMap<object, unknown>
}

const fieldEncoders = new Map<string, FieldEncoder>(Object.entries(Payment.fields).map(([key, field]) => {
  const encodeStruct = Schema.encodeUnknownSync(Schema.Struct({ [key]: field }))
  const encoder: FieldEncoder = {
    encode: (value) => {
      const encoded: unknown = encodeStruct({ [key]: value })[key]
      return encoded
    },
    objects: new WeakMap()
  }
  return [key, encoder]
}))

const first = (encoded: unknown): unknown => (Array.isArray(encoded) ? encoded[0] : undefined)

const encodeObject = (field: FieldEncoder, value: object): unknown => {
  // the two kinds of value a new version makes most (amounts, timestamps), encoded directly as
  // their schemas do (`Money`: the minor units as a decimal string; `DateTimeUtc`: ISO 8601)
  if (value instanceof Money) return { currency: value.currency, minor: value.minor.toString() }
  if (DateTime.isDateTime(value) && DateTime.isUtc(value)) return DateTime.formatIso(value)
  const known = field.objects.get(value)
  if (known !== undefined) return known
  let encoded: unknown
  if (Array.isArray(value)) {
    // element by element: a new array (one attempt changed) reuses its other elements' encodings
    encoded = value.map((element: unknown) => {
      if (typeof element !== "object" || element === null) return first(field.encode([element]))
      const done = field.objects.get(element)
      if (done !== undefined) return done
      const one = first(field.encode([element]))
      field.objects.set(element, one)
      return one
    })
  } else {
    encoded = field.encode(value)
  }
  field.objects.set(value, encoded)
  return encoded
}

/**
 * `Schema.encodeSync(Payment)(payment)`, reusing the encodings of objects an earlier version of
 * the payment shares with this one.
 *
 * @internal
 */
export const encode = (payment: Payment): { readonly [field: string]: unknown } => {
  const out: Record<string, unknown> = {}
  // a Payment's own properties are its fields (Schema.Class assigns each one)
  for (const [key, value] of Object.entries(payment)) {
    const field = fieldEncoders.get(key)
    if (field === undefined) continue
    // an optional field present as `undefined` stays so, as the schema keeps it
    out[key] = typeof value === "object" && value !== null ? encodeObject(field, value) : value
  }
  return out
}

/**
 * The payments this process wrote last, so that reading one back (the lock-and-read of the next
 * operation on it, a lookup) needs no decoding.
 *
 * A payment's row is written once per version (every update is conditional on the version
 * before it), so a snapshot read back with the same id, version and `updatedAt` as a payment this
 * process wrote *and saw committed* is that payment: {@link recall} returns the object itself
 * (immutable). Anything else (another process's version, an older one, a row that does not
 * match) is decoded as before. One cache per database client (`SqlClient`), so compositions on
 * different databases in one process never share entries; bounded by `capacity` (the least
 * recently written go first).
 *
 * @internal
 */
export interface Written {
  /** Call only after the write of `payment` committed. */
  readonly remember: (payment: Payment) => void
  /**
   * The payment this process wrote with the id, version and `updatedAt` of `row.snapshot` (a row
   * read with the `snapshot` column), if any.
   */
  readonly recall: (row: unknown) => Payment | undefined
  /**
   * The last version of `paymentId` this process wrote, if it is still remembered. Another
   * process may have written a newer one since: use it only under a version check.
   */
  readonly latest: (paymentId: string) => Payment | undefined
}

const written = new WeakMap<object, Written>()

/**
 * The {@link Written} cache of the database client `client` (created on first use).
 *
 * @internal
 */
export const writtenFor = (client: object, capacity = 10_000): Written => {
  const known = written.get(client)
  if (known !== undefined) return known
  const entries = new Map<string, { readonly payment: Payment; readonly updatedAt: string }>()
  const cache: Written = {
    remember: (payment) => {
      entries.delete(payment.id)
      // the snapshot's `updatedAt`, as `encode` writes it
      entries.set(payment.id, { payment, updatedAt: DateTime.formatIso(payment.updatedAt) })
      if (entries.size > capacity) {
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
    },
    latest: (paymentId) => entries.get(paymentId)?.payment,
    recall: (row) => {
      if (typeof row !== "object" || row === null || !("snapshot" in row)) return undefined
      const snapshot = row.snapshot
      if (typeof snapshot !== "object" || snapshot === null || !("id" in snapshot) || typeof snapshot.id !== "string") return undefined
      const entry = entries.get(snapshot.id)
      if (entry === undefined) return undefined
      const version = "version" in snapshot ? snapshot.version : undefined
      const updatedAt = "updatedAt" in snapshot ? snapshot.updatedAt : undefined
      return version === entry.payment.version && updatedAt === entry.updatedAt
        ? entry.payment
        : undefined
    }
  }
  written.set(client, cache)
  return cache
}
