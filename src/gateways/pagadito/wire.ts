/**
 * Pagadito's answers and notifications as Schemas: everything the adapter believes of a response
 * goes through these (never a cast), and a body that does not match is a typed error.
 *
 * @internal
 */
import { Schema } from "effect"

/** A string Pagadito may also send as a number (references, ERNs, event ids). */
const Text = Schema.Union(
  Schema.String,
  Schema.transform(Schema.Number, Schema.String, { strict: true, decode: (n) => String(n), encode: (s) => Number(s) })
)

/**
 * Every APIPG answer: `{ code, message, value, datetime }` (WSPG documentation). `value` is the
 * token (connect), the URL-encoded checkout URL (exec_trans) or the status object (get_status).
 */
export const Envelope = Schema.Struct({
  code: Schema.String,
  message: Schema.optional(Schema.NullOr(Schema.String)),
  value: Schema.optional(Schema.Unknown),
  datetime: Schema.optional(Schema.NullOr(Schema.String))
})

/** The answer of a call, decoded. */
export type Envelope = typeof Envelope.Type

/** A connection token (connect's `value`). */
export const Token = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255))

/** A checkout URL (exec_trans's `value`, URL-encoded on the wire). */
export const CheckoutUrl = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096))

/** get_status's `value`. */
export const StatusValue = Schema.Struct({
  status: Schema.String,
  reference: Schema.optional(Schema.NullOr(Text)),
  date_trans: Schema.optional(Schema.NullOr(Schema.String))
})

const Params = Schema.Record({ key: Schema.String, value: Schema.NullOr(Text) })

/** Custom parameters by name; PHP encodes an empty set as `[]`, read as none. */
const CustomParams = Schema.Union(
  Params,
  Schema.transform(Schema.Array(Schema.Unknown), Params, { strict: true, decode: () => ({}), encode: () => [] })
)

/**
 * A webhook notification's body (webhook page, WooCommerce plugin): the event's `id`, its
 * `event_type`, and the whole `resource` (the transaction).
 */
export const Notification = Schema.Struct({
  id: Text,
  event_type: Schema.String,
  resource: Schema.Struct({
    ern: Schema.optional(Schema.NullOr(Text)),
    reference: Schema.optional(Schema.NullOr(Text)),
    status: Schema.optional(Schema.NullOr(Schema.String)),
    token: Schema.optional(Schema.NullOr(Schema.String)),
    custom_params: Schema.optional(Schema.NullOr(CustomParams))
  })
})

/** A webhook notification, decoded. */
export type Notification = typeof Notification.Type
