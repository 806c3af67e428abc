/**
 * The customer a payment belongs to.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { quote, storable } from "./Sanitize.js"

const EMAIL = /^[^\s@"<>()[\]\\,;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/

/**
 * An email address: a local part without spaces or quoting, `@`, a dotted domain of valid labels;
 * at most 254 characters; storable (no NUL, no unpaired surrogate).
 *
 * @since 0.1.0
 */
export const Email = Schema.Trim.pipe(
  Schema.maxLength(254, { message: () => "email is at most 254 characters" }),
  storable("email"),
  Schema.filter((s) => EMAIL.test(s) || `invalid email address: ${quote(s, 254)}`),
  Schema.brand("Email")
)

/**
 * A customer. `country` (ISO 3166-1 alpha-2) is optional and used by routing rules.
 *
 * @since 0.1.0
 */
export class Customer extends Schema.Class<Customer>("Customer")({
  id: Schema.Trim.pipe(
    Schema.minLength(1, { message: () => "customer id is required" }),
    Schema.maxLength(255, { message: () => "customer id is at most 255 characters" }),
    storable("customer id")
  ),
  email: Email,
  name: Schema.optional(Schema.String.pipe(Schema.maxLength(200), storable("customer name"))),
  country: Schema.optional(
    Schema.String.pipe(Schema.pattern(/^[A-Z]{2}$/, { message: () => "country must be an ISO 3166-1 alpha-2 code" }))
  )
}) {}
