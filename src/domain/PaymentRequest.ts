/**
 * Input schemas of the public operations, and their translation into {@link ValidationError}s.
 *
 * @since 0.1.0
 */
import { Array as Arr, Either, ParseResult, Schema, type SchemaAST } from "effect"
import * as Currency from "./Currency.js"
import { Email } from "./Customer.js"
import { Metadata } from "./Metadata.js"
import { AmountInput } from "./Money.js"
import { ValidationError } from "./PaymentError.js"
import { CaptureMethod } from "./PaymentEvent.js"
import { PaymentMethodInput } from "./PaymentMethod.js"
import { keyProblem, quote, storable } from "./Sanitize.js"

/** A required free-text field, trimmed, storable, 1 to `max` characters after trimming. */
const NonEmpty = (name: string, max: number) =>
  Schema.Trim.pipe(
    Schema.minLength(1, { message: () => `${name} is required` }),
    Schema.maxLength(max, { message: () => `${name} is at most ${max} characters` }),
    storable(name)
  )

/** An optional free-text field, kept as sent, storable, at most `max` characters. */
const Text = (name: string, max: number) =>
  Schema.String.pipe(
    Schema.maxLength(max, { message: () => `${name} is at most ${max} characters` }),
    storable(name)
  )

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/

/**
 * A key compared exactly, never trimmed or normalised: 1 to `max` UTF-16 code units, no control
 * characters (U+0000–U+001F, U+007F–U+009F), no whitespace at either end, no unpaired surrogate.
 * Two keys are the same key only when they are the same string.
 *
 * @since 0.1.0
 */
export const ExactKey = (name: string, max: number) =>
  Schema.String.pipe(Schema.filter((key) => keyProblem(name, max, key) ?? true))

/**
 * An idempotency key, compared exactly (see {@link ExactKey}): 1 to 255 characters, no control
 * characters, no whitespace at either end. `"k "` is refused, never taken for `"k"`.
 *
 * @since 0.1.0
 */
export const IdempotencyKey = ExactKey("idempotency key", 255)

/**
 * A tenant id, compared exactly (see {@link ExactKey}): 1 to 64 characters.
 *
 * @since 0.1.0
 */
export const TenantId = ExactKey("tenant id", 64)

/**
 * An amount as callers send it ({@link AmountInput}) that is greater than zero, whatever the
 * currency: a decimal string without a minus sign and with a non-zero digit, a number above zero,
 * or a bigint above zero. Exactness in the currency (and the syntax of a string) is checked where
 * the currency is known.
 *
 * @since 0.1.0
 */
export const PositiveAmountInput = AmountInput.pipe(
  Schema.filter((amount) => {
    const decimal = typeof amount === "string" ? DECIMAL.exec(amount.trim()) : null
    const positive = typeof amount === "string"
      ? decimal === null || (decimal[1] === undefined && /[1-9]/.test(`${decimal[2]}${decimal[3] ?? ""}`))
      : typeof amount === "number"
      ? !(amount <= 0)
      : amount > 0n
    return positive || "amount must be greater than zero"
  })
)

/**
 * A page the provider sends the customer back to: an absolute `http(s)` URL, at most 2,048
 * characters.
 *
 * @since 0.2.0
 */
export const ReturnUrl = (name: string) =>
  Schema.String.pipe(
    Schema.maxLength(2048, { message: () => `${name} is at most 2048 characters` }),
    Schema.filter((url) => /^https?:\/\/[^\s]+$/.test(url) || `${name} must be an absolute http(s) URL`),
    storable(name)
  )

/**
 * One line of an order as the caller sends it: `price` is the unit price as an exact decimal
 * string in the payment's currency (checked where the currency is known).
 *
 * @since 0.2.0
 */
export const LineItemInput = Schema.Struct({
  quantity: Schema.Int.pipe(
    Schema.between(1, 1_000_000, { message: () => "line item quantity must be a whole number from 1 to 1000000" })
  ),
  description: NonEmpty("line item description", 255),
  price: Schema.String.pipe(
    Schema.filter((price) => /^\d+(\.\d+)?$/.test(price) || "line item price must be a decimal string such as \"10.50\"")
  ),
  url: Schema.optional(ReturnUrl("line item url"))
})

/**
 * @since 0.2.0
 */
export type LineItemInput = typeof LineItemInput.Type

/**
 * The request of `createPayment`. `amount` is major units as a decimal string ("10.50") or an
 * exactly convertible number (10.5), or minor units as a bigint (1050n).
 *
 * @since 0.1.0
 */
export const CreatePaymentRequest = Schema.Struct({
  tenantId: Schema.optionalWith(TenantId, { default: () => "default" }),
  idempotencyKey: IdempotencyKey,
  amount: AmountInput,
  currency: Currency.CurrencyCode,
  captureMethod: Schema.optionalWith(CaptureMethod, { default: () => "automatic" as const }),
  /**
   * A card (`{ type: "card", … }`), a gateway token (`{ type: "gateway_token", gateway, token }`:
   * the payment is pinned to that gateway) or a checkout (`{ type: "checkout", gateway? }`: the
   * customer pays at the provider).
   */
  paymentMethod: PaymentMethodInput,
  customer: Schema.Struct({
    id: NonEmpty("customer id", 255),
    email: Email,
    name: Schema.optional(Text("customer name", 200)),
    country: Schema.optional(
      Schema.String.pipe(Schema.pattern(/^[A-Z]{2}$/, { message: () => "country must be an ISO 3166-1 alpha-2 code" }))
    )
  }),
  metadata: Schema.optionalWith(Metadata, { default: () => ({}) }),
  description: Schema.optional(Text("description", 1000)),
  /**
   * Send this payment to this gateway (by registry id) instead of letting routing choose. With a
   * gateway token it may only name the token's gateway.
   */
  gateway: Schema.optional(Text("gateway", 255)),
  /** Where the provider sends the customer back after a customer action (0.2). */
  returnUrl: Schema.optional(ReturnUrl("returnUrl")),
  /** Where the provider sends a customer who abandons the checkout (0.2). */
  cancelUrl: Schema.optional(ReturnUrl("cancelUrl")),
  /**
   * The order's lines (0.2), at most 100; when given, their total (quantity × price) must equal
   * `amount` exactly: a provider that charges the lines then charges the payment's amount.
   */
  lineItems: Schema.optional(Schema.Array(LineItemInput).pipe(
    Schema.maxItems(100, { message: () => "at most 100 line items" })
  )),
  /** Accept a provider-pending result, settled later by status or webhook (0.2); default false. */
  allowPending: Schema.optional(Schema.Boolean),
  /** The merchant's order reference sent to the provider (Pagadito's ERN; 0.2); default the payment id. */
  externalReference: Schema.optional(ExactKey("externalReference", 255))
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
  paymentId: Schema.String.pipe(storable("payment id")),
  idempotencyKey: IdempotencyKey,
  amount: Schema.optional(PositiveAmountInput),
  reason: Schema.optional(Text("reason", 1000))
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
 * The member of a union that `input` cannot be, whatever its other fields: one with a required
 * literal field (a `type` tag) that `input` holds another value for.
 */
const excludedByLiteral = (member: SchemaAST.AST, input: object): boolean => {
  const ast = member._tag === "Refinement" || member._tag === "Transformation" ? member.from : member
  return ast._tag === "TypeLiteral" && ast.propertySignatures.some((ps) =>
    !ps.isOptional && ps.type._tag === "Literal" && Reflect.get(input, ps.name) !== ps.type.literal
  )
}

const keyGuards = new WeakMap<SchemaAST.AST, (key: unknown) => boolean>()

/** A string, or a string refined by filters: checking such a key is decoding it. */
const isStringKey = (ast: SchemaAST.AST): boolean =>
  ast._tag === "StringKeyword" || (ast._tag === "Refinement" && isStringKey(ast.from))

/**
 * Whether a record's key schema (`parameter`) accepts `key` (its guard built once per schema);
 * `false` (unsure) for a key schema other than a possibly refined string.
 */
const isKeyOf = (parameter: SchemaAST.AST, key: PropertyKey): boolean => {
  if (typeof key !== "string" || !isStringKey(parameter)) return false
  let guard = keyGuards.get(parameter)
  if (guard === undefined) {
    guard = Schema.is(Schema.make(parameter))
    keyGuards.set(parameter, guard)
  }
  return guard(key)
}

/**
 * Whether decoding `input` with `ast` could meet an object key the schema does not declare:
 * `false` only when it certainly cannot (every object of `input` where the schema expects a struct
 * has only the struct's keys, for every union member `input` could be), `true` when unsure. When
 * it is `false`, decoding with `onExcessProperty: "error"` and with the default ("ignore") give the
 * same result.
 */
const mayHaveExcess = (ast: SchemaAST.AST, input: unknown): boolean => {
  if (typeof input !== "object" || input === null) return false
  switch (ast._tag) {
    case "Refinement":
    case "Transformation":
      return mayHaveExcess(ast.from, input)
    case "TypeLiteral": {
      for (const key of Reflect.ownKeys(input)) {
        if (ast.propertySignatures.some((ps) => ps.name === key)) continue
        // a record's key: expected when its key schema accepts it (else the strict decoder refuses it)
        const signature = ast.indexSignatures.find((is) => isKeyOf(is.parameter, key))
        if (signature === undefined || mayHaveExcess(signature.type, Reflect.get(input, key))) return true
      }
      return ast.propertySignatures.some((ps) => mayHaveExcess(ps.type, Reflect.get(input, ps.name)))
    }
    case "TupleType": {
      if (!Array.isArray(input)) return false
      if (ast.elements.length > 0 || ast.rest.length > 1) return true
      const rest = ast.rest[0]
      return rest !== undefined && input.some((element: unknown) => mayHaveExcess(rest.type, element))
    }
    case "Union":
      return ast.types.some((member) => !excludedByLiteral(member, input) && mayHaveExcess(member, input))
    case "Declaration":
    case "Suspend":
      return true
    default:
      // a primitive or literal schema: an object there fails to decode either way
      return false
  }
}

const strict: SchemaAST.ParseOptions = { errors: "first", onExcessProperty: "error" }

/**
 * `Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "error" })(input)` at
 * about half the cost: decoded with the default options (also errors "first"; excess keys
 * ignored), which is the answer when it succeeded and `input` cannot hold a key the schema does not
 * declare (see `mayHaveExcess`); otherwise the strict decoder decides (an error, or a key to refuse).
 */
const decodeStrict = <A, I>(schema: Schema.Schema<A, I>, input: unknown): Either.Either<A, ParseResult.ParseError> => {
  const lenient = Schema.decodeUnknownEither(schema)(input)
  return Either.isRight(lenient) && !mayHaveExcess(schema.ast, input) ? lenient : Schema.decodeUnknownEither(schema, strict)(input)
}

/**
 * Decodes `input` with `schema`, turning the first problem into a {@link ValidationError} whose
 * `path` names the field. Messages never echo the value that was sent (it may be a card number
 * or CVV, wherever the caller put it); unknown fields are refused.
 *
 * @since 0.1.0
 */
export const decode = <A, I>(schema: Schema.Schema<A, I>, input: unknown): Either.Either<A, ValidationError> =>
  Either.mapLeft(decodeStrict(schema, input), (error) => {
    const issue = Arr.head(ParseResult.ArrayFormatter.formatErrorSync(error))
    if (issue._tag === "None") return new ValidationError({ path: "", message: "invalid request" })
    const segments = issue.value.path.map(String)
    const path = segments.join(".")
    if (issue.value.message.startsWith("is unexpected")) {
      const key = segments[segments.length - 1] ?? ""
      return new ValidationError({
        path,
        message: segments[0] === "metadata" && segments.length === 2
          ? `metadata key ${quote(key, 140)} is not allowed: keys are 1 to 128 letters, digits or underscores`
          : `unknown field ${quote(key, 140)}`
      })
    }
    return new ValidationError({ path, message: withoutActual(issue.value.message) })
  })
