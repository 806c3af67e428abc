/**
 * Input schemas of the public operations, and their translation into {@link ValidationError}s.
 *
 * @since 0.1.0
 */
import { Array as Arr, Either, ParseResult, Schema } from "effect"
import * as Currency from "./Currency.js"
import { Email } from "./Customer.js"
import { Metadata } from "./Metadata.js"
import { AmountInput } from "./Money.js"
import { ValidationError } from "./PaymentError.js"
import { CaptureMethod } from "./PaymentEvent.js"
import { CardInput } from "./PaymentMethod.js"

const NonEmpty = (name: string, max: number) =>
  Schema.Trim.pipe(
    Schema.minLength(1, { message: () => `${name} is required` }),
    Schema.maxLength(max, { message: () => `${name} is at most ${max} characters` })
  )

/**
 * An idempotency key: 1 to 255 characters.
 *
 * @since 0.1.0
 */
export const IdempotencyKey = NonEmpty("idempotency key", 255)

/**
 * The request of `createPayment`. `amount` is major units as a decimal string ("10.50") or an
 * exactly convertible number (10.5), or minor units as a bigint (1050n).
 *
 * @since 0.1.0
 */
export const CreatePaymentRequest = Schema.Struct({
  tenantId: Schema.optionalWith(NonEmpty("tenant id", 64), { default: () => "default" }),
  idempotencyKey: IdempotencyKey,
  amount: AmountInput,
  currency: Currency.CurrencyCode,
  captureMethod: Schema.optionalWith(CaptureMethod, { default: () => "automatic" as const }),
  paymentMethod: CardInput,
  customer: Schema.Struct({
    id: NonEmpty("customer id", 255),
    email: Email,
    name: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
    country: Schema.optional(
      Schema.String.pipe(Schema.pattern(/^[A-Z]{2}$/, { message: () => "country must be an ISO 3166-1 alpha-2 code" }))
    )
  }),
  metadata: Schema.optionalWith(Metadata, { default: () => ({}) }),
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(1000))),
  /** Send this payment to this gateway (by registry id) instead of letting routing choose. */
  gateway: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 */
export type CreatePaymentRequest = typeof CreatePaymentRequest.Encoded

/**
 * The decoded `createPayment` request.
 *
 * @since 0.1.0
 */
export type CreatePaymentInput = typeof CreatePaymentRequest.Type

/**
 * The request of `refundPayment`. Without `amount`, everything still refundable is refunded.
 *
 * @since 0.1.0
 */
export const RefundPaymentRequest = Schema.Struct({
  paymentId: Schema.String,
  idempotencyKey: IdempotencyKey,
  amount: Schema.optional(AmountInput),
  reason: Schema.optional(Schema.String.pipe(Schema.maxLength(1000)))
})

/**
 * @since 0.1.0
 */
export type RefundPaymentRequest = typeof RefundPaymentRequest.Encoded

/** Drops the echoed input (`…, actual <value>`) from a parse message: values may be card data. */
const withoutActual = (message: string): string => {
  const cut = message.search(/,?\s*actual\s/)
  return cut === -1 ? message : message.slice(0, cut)
}

/**
 * Decodes `input` with `schema`, turning the first problem into a {@link ValidationError} whose
 * `path` names the field. Messages never echo the value that was sent (it may be a card number
 * or CVV, wherever the caller put it); unknown fields are refused.
 *
 * @since 0.1.0
 */
export const decode = <A, I>(schema: Schema.Schema<A, I>, input: unknown): Either.Either<A, ValidationError> =>
  Either.mapLeft(Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "error" })(input), (error) => {
    const issue = Arr.head(ParseResult.ArrayFormatter.formatErrorSync(error))
    if (issue._tag === "None") return new ValidationError({ path: "", message: "invalid request" })
    const segments = issue.value.path.map(String)
    const path = segments.join(".")
    if (issue.value.message.startsWith("is unexpected")) {
      const key = segments[segments.length - 1] ?? ""
      return new ValidationError({
        path,
        message: segments[0] === "metadata" && segments.length === 2
          ? `metadata key ${JSON.stringify(key.slice(0, 140))} is not allowed: keys are 1 to 128 letters, digits or underscores`
          : `unknown field ${JSON.stringify(key.slice(0, 140))}`
      })
    }
    return new ValidationError({ path, message: withoutActual(issue.value.message) })
  })
