/**
 * The GraphQL schema of AegisPay (the seed's API, `docs/GRAPHQL.md` prints it): the seed's
 * mutations `initiatePayment`, `completePayment` and `saveOrUpdateProviderKeys`, plus
 * `capturePayment`, `cancelPayment` and `refundPayment`; the queries `payment(id)`,
 * `payments(customerId, first, after)` (a Relay-style connection) and `gatewayHealth`.
 *
 * Every resolver is an Effect program over `PaymentService`, run by the request's
 * {@link ResolverContext} (the API key's tenant and principal, the request id of the logs):
 *
 * - **Scopes as REST**: queries need `payments:read`, payment mutations `payments:write`,
 *   `refundPayment` `refunds:write`, `saveOrUpdateProviderKeys` `admin` (`Auth.authorized`). A
 *   missing scope is a `Forbidden` error on that field and the resolver does not run.
 * - **Exact money**: amounts are the `Money` scalar, an exact decimal string (`"49.99"`); a
 *   GraphQL number (`49.99` or `49`) is refused before anything runs. Never `Float`.
 * - **Idempotency**: every mutation that moves money takes a required `idempotencyKey`.
 *   `initiatePayment` uses the payment's own key, as REST's create (`POST /v1/payments`, the
 *   seed's `initiate`): per (tenant, key) one payment, whichever surface created it; the same key
 *   and request answers that payment as it is now (processed while unsettled, never charged
 *   twice; concurrent duplicates wait for the first), the same key with another request is
 *   `IdempotencyKeyReused`. `capturePayment`, `cancelPayment` and `completePayment` have Stripe's
 *   semantics over `IdempotencyStore` records (per tenant and key: the first successful answer is
 *   replayed, the same key with another request is `IdempotencyKeyReused`, while the first runs
 *   `IdempotencyKeyInUse`); `refundPayment` is idempotent per (payment, key) as REST's refunds.
 * - **Errors as REST**: see `GraphqlErrors` (the `extensions.code` is the error's tag; a
 *   declined payment is `PaymentDeclined` (402), a payment whose outcome is unknown
 *   `OutcomeUnknown` (504); both carry the payment id, and the payment stays retrievable).
 *
 * @since 0.2.0
 */
import { DateTime, Effect, Either, Option, Record, Redacted, Schema } from "effect"
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLError,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  type GraphQLNullableType,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  Kind
} from "graphql"
import type * as Payment from "../domain/Payment.js"
import { RefundState } from "../domain/Payment.js"
import { ValidationError } from "../domain/PaymentError.js"
import { PaymentState } from "../domain/PaymentState.js"
import * as PaymentView from "../domain/PaymentView.js"
import * as Tenant from "../domain/Tenant.js"
import { PaymentService } from "../orchestration/PaymentService.js"
import * as IdempotencyStore from "../storage/IdempotencyStore.js"
import { encodeCursor } from "../storage/PaymentRepository.js"
import * as TenantGateways from "../tenancy/TenantGateways.js"
import { NotImplemented, OutcomeUnknown, PaymentDeclined } from "./ApiError.js"
import type { CreatePaymentBody } from "./ApiSchemas.js"
import * as Auth from "./Auth.js"
import type { ResolverError } from "./GraphqlErrors.js"
import * as Operations from "./Operations.js"
import { gatewayHealth } from "./PaymentsHandlers.js"
import * as RequestLog from "./RequestLog.js"

/**
 * The services the resolvers run with.
 *
 * @since 0.2.0
 */
export type Services =
  | PaymentService
  | IdempotencyStore.IdempotencyStore
  | Auth.Principal
  | Effect.Effect.Context<typeof gatewayHealth>

/**
 * What every resolver receives: `run` runs a resolver's program with the request's context and
 * turns its typed errors into `GraphQLError`s (`paymentId`: the payment the field is about).
 *
 * @since 0.2.0
 */
export type ResolverContext = {
  readonly run: <A>(effect: Effect.Effect<A, ResolverError, Services>, paymentId?: string) => Promise<A>
}

// ---------------------------------------------------------------------------------------------
// scalars
// ---------------------------------------------------------------------------------------------

const DECIMAL = /^\d{1,20}(\.\d{1,18})?$/

const moneyError = () =>
  new GraphQLError("Money must be an exact decimal string such as \"49.99\" (a GraphQL number is refused)", {
    extensions: { code: "ValidationError", status: 400, reason: "validation_error" }
  })

/**
 * `Money`: an amount in major units as an exact decimal string (`"10"`, `"10.50"`, `"0.001"`),
 * checked against the currency's exponent by the domain (`"1.005"` USD is refused, never
 * rounded). A GraphQL `Float` or `Int` (literal or variable) is refused with `ValidationError`.
 *
 * @since 0.2.0
 */
export const Money = new GraphQLScalarType<string, string>({
  name: "Money",
  description:
    "An exact decimal amount in major units, as a string (\"49.99\"); checked against the currency's exponent. Numbers are refused: money is never a float.",
  serialize: (value) => {
    if (typeof value === "string") return value
    throw new GraphQLError("Money is serialized from decimal strings only")
  },
  parseValue: (value) => {
    if (typeof value === "string" && DECIMAL.test(value)) return value
    throw moneyError()
  },
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING && DECIMAL.test(ast.value)) return ast.value
    throw moneyError()
  }
})

/**
 * `DateTime`: an ISO 8601 UTC timestamp (output only).
 *
 * @since 0.2.0
 */
export const DateTimeScalar = new GraphQLScalarType<DateTime.Utc, string>({
  name: "DateTime",
  description: "An ISO 8601 timestamp in UTC (\"2026-12-01T20:00:00.000Z\").",
  serialize: (value) => {
    if (DateTime.isDateTime(value)) return DateTime.formatIso(value)
    throw new GraphQLError("DateTime is serialized from dates only")
  },
  parseValue: () => {
    throw new GraphQLError("DateTime is an output type")
  },
  parseLiteral: () => {
    throw new GraphQLError("DateTime is an output type")
  }
})

// ---------------------------------------------------------------------------------------------
// output types
// ---------------------------------------------------------------------------------------------

const nonNull = <T extends GraphQLNullableType>(type: T) => new GraphQLNonNull(type)
const listOf = <T extends GraphQLNullableType>(type: T) => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type)))

const enumOf = (name: string, description: string, values: ReadonlyArray<string>) =>
  new GraphQLEnumType({ name, description, values: Object.fromEntries(values.map((v) => [v, { value: v }])) })

const PaymentStateEnum = enumOf("PaymentState", "Where a payment is in its life.", PaymentState.literals)
const RefundStateEnum = enumOf("RefundState", "Where a refund is.", RefundState.literals)

const CaptureMethodEnum = new GraphQLEnumType({
  name: "CaptureMethod",
  description: "AUTOMATIC captures with the charge; MANUAL authorizes only (capture with capturePayment).",
  values: { AUTOMATIC: { value: "automatic" }, MANUAL: { value: "manual" } }
})

interface Param {
  readonly key: string
  readonly value: string
}

const ParamType = new GraphQLObjectType<Param, ResolverContext>({
  name: "Param",
  description: "A key and its value.",
  fields: { key: { type: nonNull(GraphQLString) }, value: { type: nonNull(GraphQLString) } }
})

const paramsOf = (record: Readonly<Record<string, unknown>>): ReadonlyArray<Param> =>
  Object.entries(record).map(([key, value]) => ({ key, value: String(value) }))

const AmountType = new GraphQLObjectType<PaymentView.AmountView, ResolverContext>({
  name: "Amount",
  description: "An exact amount and its currency.",
  fields: {
    amount: { type: nonNull(Money), description: "Major units, exact (\"49.99\")." },
    currency: { type: nonNull(GraphQLString), description: "ISO 4217 code." }
  }
})

const PaymentMethodType = new GraphQLObjectType<PaymentView.PaymentMethodView, ResolverContext>({
  name: "PaymentMethod",
  description: "A card's brand, last four and expiry, a gateway token's gateway, or a checkout. Never a card number or token.",
  fields: {
    type: { type: nonNull(GraphQLString), description: "card, gateway_token or checkout." },
    brand: { type: GraphQLString, resolve: (m) => (m.type === "card" ? m.brand : null) },
    last4: { type: GraphQLString, resolve: (m) => (m.type === "card" ? m.last4 : null) },
    expiryMonth: { type: GraphQLInt, resolve: (m) => (m.type === "card" ? m.expiryMonth : null) },
    expiryYear: { type: GraphQLInt, resolve: (m) => (m.type === "card" ? m.expiryYear : null) },
    gateway: { type: GraphQLString, resolve: (m) => (m.type === "card" ? null : m.gateway ?? null) }
  }
})

const CustomerType = new GraphQLObjectType<PaymentView.PaymentView["customer"], ResolverContext>({
  name: "Customer",
  fields: {
    id: { type: nonNull(GraphQLString) },
    email: { type: nonNull(GraphQLString) },
    name: { type: GraphQLString },
    country: { type: GraphQLString }
  }
})

type CustomerActionView = NonNullable<PaymentView.PaymentView["customerAction"]>

const CustomerActionType = new GraphQLObjectType<CustomerActionView, ResolverContext>({
  name: "CustomerAction",
  description: "What the customer must do: go to `url` (redirect), finish in the provider's SDK (client_secret), or a checkout with `params`.",
  fields: {
    type: { type: nonNull(GraphQLString), description: "redirect, client_secret or checkout." },
    url: { type: GraphQLString, resolve: (a) => (a.type === "redirect" ? a.url : null) },
    clientSecret: { type: GraphQLString, resolve: (a) => (a.type === "client_secret" ? a.clientSecret : null) },
    params: { type: new GraphQLList(new GraphQLNonNull(ParamType)), resolve: (a) => (a.type === "checkout" ? paramsOf(a.params) : null) }
  }
})

const AttemptType = new GraphQLObjectType<PaymentView.PaymentView["attempts"][number], ResolverContext>({
  name: "Attempt",
  fields: {
    number: { type: nonNull(GraphQLInt) },
    gateway: { type: nonNull(GraphQLString) },
    status: { type: nonNull(GraphQLString) },
    failureReason: { type: GraphQLString },
    startedAt: { type: nonNull(DateTimeScalar) }
  }
})

/** A refund as the API shows it (of a payment's view, or as `refundPayment` answers). */
interface RefundSource {
  readonly id: string
  readonly paymentId: string
  readonly amount: PaymentView.AmountView
  readonly state: Payment.Refund["state"]
  readonly reason?: string | undefined
  readonly failureReason?: string | undefined
  readonly external?: boolean | undefined
  readonly createdAt: DateTime.Utc
  readonly updatedAt: DateTime.Utc
}

const RefundType = new GraphQLObjectType<RefundSource, ResolverContext>({
  name: "Refund",
  description: "SUCCEEDED, FAILED (the gateway refused; nothing moved), PENDING (no definite answer yet: repeat with the same key) or MANUAL_REVIEW.",
  fields: {
    id: { type: nonNull(GraphQLID) },
    paymentId: { type: nonNull(GraphQLID) },
    amount: { type: nonNull(AmountType) },
    state: { type: nonNull(RefundStateEnum) },
    reason: { type: GraphQLString },
    failureReason: { type: GraphQLString },
    external: { type: nonNull(GraphQLBoolean), description: "Made outside AegisPay (the provider's dashboard).", resolve: (r) => r.external === true },
    createdAt: { type: nonNull(DateTimeScalar) },
    updatedAt: { type: nonNull(DateTimeScalar) }
  }
})

const checkoutUrlOf = (view: PaymentView.PaymentView): string | null =>
  view.state === "ACTION_REQUIRED" && view.customerAction?.type === "redirect" ? view.customerAction.url : null

const PaymentType = new GraphQLObjectType<PaymentView.PaymentView, ResolverContext>({
  name: "Payment",
  description: "A payment of the API key's tenant. Amounts are exact decimal strings; no card number, token or secret.",
  fields: {
    id: { type: nonNull(GraphQLID) },
    tenantId: { type: nonNull(GraphQLString) },
    idempotencyKey: { type: nonNull(GraphQLString) },
    state: { type: nonNull(PaymentStateEnum) },
    captureMethod: { type: nonNull(CaptureMethodEnum) },
    amount: { type: nonNull(AmountType) },
    authorizedAmount: { type: nonNull(AmountType) },
    capturedAmount: { type: nonNull(AmountType) },
    refundedAmount: { type: nonNull(AmountType) },
    paymentMethod: { type: nonNull(PaymentMethodType) },
    customer: { type: nonNull(CustomerType) },
    metadata: { type: listOf(ParamType), description: "The order id and custom parameters.", resolve: (p) => paramsOf(p.metadata) },
    description: { type: GraphQLString },
    gateway: { type: GraphQLString },
    gatewayTransactionId: { type: GraphQLString },
    attempts: { type: listOf(AttemptType) },
    refunds: {
      type: listOf(RefundType),
      resolve: (p): ReadonlyArray<RefundSource> => p.refunds.map((r) => ({ ...r, paymentId: p.id }))
    },
    customerAction: { type: CustomerActionType, description: "What the customer must do (ACTION_REQUIRED)." },
    checkoutUrl: { type: GraphQLString, description: "Where to send the customer (ACTION_REQUIRED with a redirect).", resolve: checkoutUrlOf },
    actionExpiresAt: { type: DateTimeScalar, description: "Until when the payment waits for the customer or the provider." },
    providerPending: { type: nonNull(GraphQLBoolean), resolve: (p) => p.providerPending === true },
    failureReason: { type: GraphQLString },
    declineCode: { type: GraphQLString },
    requiresReconciliation: { type: nonNull(GraphQLBoolean) },
    version: { type: nonNull(GraphQLInt) },
    createdAt: { type: nonNull(DateTimeScalar) },
    updatedAt: { type: nonNull(DateTimeScalar) }
  }
})

interface InitiateResult {
  readonly payment: PaymentView.PaymentView
}

const InitiatePaymentResultType = new GraphQLObjectType<InitiateResult, ResolverContext>({
  name: "InitiatePaymentResult",
  description: "The payment; when the customer must act (ACTION_REQUIRED), `checkoutUrl` is where to send them.",
  fields: {
    checkoutUrl: { type: GraphQLString, resolve: (r) => checkoutUrlOf(r.payment) },
    actionRequired: { type: nonNull(GraphQLBoolean), resolve: (r) => r.payment.state === "ACTION_REQUIRED" },
    customerAction: { type: CustomerActionType, resolve: (r) => r.payment.customerAction ?? null },
    payment: { type: nonNull(PaymentType) }
  }
})

interface Connection {
  readonly edges: ReadonlyArray<{ readonly cursor: string; readonly node: PaymentView.PaymentView }>
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null }
}

const PaymentEdgeType = new GraphQLObjectType<Connection["edges"][number], ResolverContext>({
  name: "PaymentEdge",
  fields: { cursor: { type: nonNull(GraphQLString) }, node: { type: nonNull(PaymentType) } }
})

const PageInfoType = new GraphQLObjectType<Connection["pageInfo"], ResolverContext>({
  name: "PageInfo",
  fields: {
    hasNextPage: { type: nonNull(GraphQLBoolean) },
    endCursor: { type: GraphQLString, description: "The last edge's cursor (null for an empty page): pass it as `after` for the next page." }
  }
})

const PaymentConnectionType = new GraphQLObjectType<Connection, ResolverContext>({
  name: "PaymentConnection",
  description: "A page of payments, newest first.",
  fields: { edges: { type: listOf(PaymentEdgeType) }, pageInfo: { type: nonNull(PageInfoType) } }
})

type GatewayHealthView = Effect.Effect.Success<typeof gatewayHealth>["data"][number]

const GatewayHealthType = new GraphQLObjectType<GatewayHealthView, ResolverContext>({
  name: "GatewayHealth",
  description: "A gateway's health score, circuit state and latency (milliseconds).",
  fields: {
    gateway: { type: nonNull(GraphQLString) },
    circuit: { type: nonNull(GraphQLString), description: "CLOSED, OPEN or HALF_OPEN." },
    score: { type: nonNull(GraphQLFloat) },
    requests: { type: nonNull(GraphQLInt) },
    successRate: { type: GraphQLFloat },
    p50: { type: GraphQLFloat },
    p95: { type: GraphQLFloat },
    p99: { type: GraphQLFloat }
  }
})

const ProviderCredentialsType = new GraphQLObjectType<{ readonly provider: string; readonly fields: ReadonlyArray<Param> }, ResolverContext>({
  name: "ProviderCredentials",
  description: "Saved credentials, masked (last four characters only).",
  fields: { provider: { type: nonNull(GraphQLString) }, fields: { type: listOf(ParamType) } }
})

// ---------------------------------------------------------------------------------------------
// input types
// ---------------------------------------------------------------------------------------------

const ParamInput = new GraphQLInputObjectType({
  name: "ParamInput",
  fields: { key: { type: nonNull(GraphQLString) }, value: { type: nonNull(GraphQLString) } }
})

const CustomerInput = new GraphQLInputObjectType({
  name: "CustomerInput",
  fields: {
    id: { type: nonNull(GraphQLString) },
    email: { type: nonNull(GraphQLString) },
    name: { type: GraphQLString },
    country: { type: GraphQLString, description: "ISO 3166-1 alpha-2." }
  }
})

const PaymentDetailInput = new GraphQLInputObjectType({
  name: "PaymentDetailInput",
  description: "One line of the order (the seed's PaymentDetailsVO); `price` is the unit price, exact.",
  fields: {
    quantity: { type: nonNull(GraphQLInt) },
    description: { type: nonNull(GraphQLString) },
    price: { type: nonNull(Money) },
    urlProduct: { type: GraphQLString }
  }
})

// ---------------------------------------------------------------------------------------------
// arguments, decoded with Schema (GraphQL has coerced their types; Schema gives them a type)
// ---------------------------------------------------------------------------------------------

const opt = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { nullable: true })
const ParamArg = Schema.Struct({ key: Schema.String, value: Schema.String })

const InitiateArgs = Schema.Struct({
  idempotencyKey: Schema.String,
  providerType: Schema.String,
  amount: Schema.String,
  currency: Schema.String,
  orderId: Schema.String,
  customer: Schema.Struct({ id: Schema.String, email: Schema.String, name: opt(Schema.String), country: opt(Schema.String) }),
  captureMethod: opt(Schema.Literal("automatic", "manual")),
  details: opt(Schema.Array(Schema.Struct({
    quantity: Schema.Number,
    description: Schema.String,
    price: Schema.String,
    urlProduct: opt(Schema.String)
  }))),
  customParams: opt(Schema.Array(ParamArg)),
  allowPendingPayments: opt(Schema.Boolean),
  externalReferenceNumber: opt(Schema.String),
  returnUrl: opt(Schema.String),
  cancelUrl: opt(Schema.String),
  description: opt(Schema.String)
})

const CompleteArgs = Schema.Struct({
  paymentId: Schema.String,
  idempotencyKey: Schema.String,
  params: opt(Schema.Array(ParamArg))
})

const CaptureArgs = Schema.Struct({ paymentId: Schema.String, idempotencyKey: Schema.String, amount: opt(Schema.String) })
const CancelArgs = Schema.Struct({ paymentId: Schema.String, idempotencyKey: Schema.String, reason: opt(Schema.String) })
const RefundArgs = Schema.Struct({
  paymentId: Schema.String,
  idempotencyKey: Schema.String,
  amount: opt(Schema.String),
  reason: opt(Schema.String)
})
const CredentialsArgs = Schema.Struct({ providerType: Schema.String, credentials: Schema.Array(ParamArg) })
const PaymentArgs = Schema.Struct({ id: Schema.String })
const PaymentsArgs = Schema.Struct({ customerId: Schema.String, first: opt(Schema.Number), after: opt(Schema.String) })

/** The GraphQL argument a domain field path comes from (`lineItems.0.url` → `details.0.urlProduct`). */
const argumentPath = (path: string): string => {
  const [head = "", ...rest] = path.split(".")
  const renamed: Record<string, string> = {
    lineItems: "details",
    externalReference: "externalReferenceNumber",
    allowPending: "allowPendingPayments",
    metadata: "customParams",
    paymentMethod: "providerType",
    gateway: "providerType",
    limit: "first",
    cursor: "after",
    provider: "providerType",
    fields: "credentials"
  }
  const tail = head === "lineItems" ? rest.map((p) => (p === "url" ? "urlProduct" : p)) : rest
  return [renamed[head] ?? head, ...tail].join(".")
}

const renamePaths = <E>(error: E | ValidationError): E | ValidationError =>
  error instanceof ValidationError ? new ValidationError({ path: argumentPath(error.path), message: error.message }) : error

const withArgs = <A, I, B>(schema: Schema.Schema<A, I>, f: (args: A) => Effect.Effect<B, ResolverError, Services>, about?: (args: A) => string) =>
(_source: unknown, raw: Record<string, unknown>, context: ResolverContext): Promise<B> =>
  Either.match(Schema.decodeUnknownEither(schema)(raw), {
    // GraphQL has coerced the arguments already: this is a schema that disagrees with itself
    onLeft: () => context.run(Effect.fail(new ValidationError({ path: "", message: "the arguments do not match the schema" }))),
    onRight: (args) => {
      const paymentId = about?.(args)
      const program = f(args).pipe(Effect.mapError(renamePaths))
      return context.run(paymentId === undefined ? program : program.pipe(RequestLog.aboutPayment(paymentId)), paymentId)
    }
  })

// ---------------------------------------------------------------------------------------------
// programs
// ---------------------------------------------------------------------------------------------

const unsettled = new Set<string>(["INITIATED", "AUTHENTICATED", "PROCESSING"])

/**
 * A payment `processPayment` or `completePayment` answered, as REST answers it: declined
 * (FAILURE) is `PaymentDeclined` (402), an unknown outcome (still PROCESSING) `OutcomeUnknown`
 * (504), anything else the payment.
 */
const settledView = (payment: Payment.Payment): Effect.Effect<PaymentView.PaymentView, PaymentDeclined | OutcomeUnknown> => {
  switch (payment.state) {
    case "FAILURE":
      return Effect.fail(
        new PaymentDeclined({
          code: payment.declineCode ?? "declined",
          message: `the payment was declined${payment.declineCode === undefined ? "" : ` (${payment.declineCode})`}`,
          paymentId: payment.id
        })
      )
    case "PROCESSING":
      return Effect.fail(
        new OutcomeUnknown({
          code: "outcome_unknown",
          message: "the gateway's answer is not known yet: the payment settles later; it is never charged twice",
          paymentId: payment.id
        })
      )
    default:
      return Effect.succeed(PaymentView.fromPayment(payment))
  }
}

/** Key/value pairs as a record; a key given twice is a `ValidationError` (any key, `__proto__` included). */
const record = (params: ReadonlyArray<Param> | undefined): Effect.Effect<Record<string, string>, ValidationError> =>
  Effect.suspend(() => {
    const seen = new Map<string, string>()
    for (const { key, value } of params ?? []) {
      if (seen.has(key)) return Effect.fail(new ValidationError({ path: "", message: `the key ${JSON.stringify(key)} is given twice` }))
      seen.set(key, value)
    }
    return Effect.succeed(Object.fromEntries(seen))
  })

const initiatePayment = (args: typeof InitiateArgs.Type) =>
  Effect.gen(function*() {
    const custom = yield* record(args.customParams).pipe(
      Effect.mapError((e) => new ValidationError({ path: "customParams", message: e.message }))
    )
    if (Object.hasOwn(custom, "orderId")) {
      return yield* new ValidationError({ path: "customParams", message: "orderId is its own argument" })
    }
    const body: CreatePaymentBody = {
      amount: args.amount,
      currency: args.currency,
      ...(args.captureMethod === undefined ? {} : { captureMethod: args.captureMethod }),
      paymentMethod: { type: "checkout", gateway: args.providerType },
      customer: {
        id: args.customer.id,
        email: args.customer.email,
        ...(args.customer.name === undefined ? {} : { name: args.customer.name }),
        ...(args.customer.country === undefined ? {} : { country: args.customer.country })
      },
      metadata: { ...custom, orderId: args.orderId },
      ...(args.description === undefined ? {} : { description: args.description }),
      ...(args.returnUrl === undefined ? {} : { returnUrl: args.returnUrl }),
      ...(args.cancelUrl === undefined ? {} : { cancelUrl: args.cancelUrl }),
      ...(args.details === undefined ? {} : {
        lineItems: args.details.map((d) => ({
          quantity: d.quantity,
          description: d.description,
          price: d.price,
          ...(d.urlProduct === undefined ? {} : { url: d.urlProduct })
        }))
      }),
      ...(args.allowPendingPayments === undefined ? {} : { allowPending: args.allowPendingPayments }),
      ...(args.externalReferenceNumber === undefined ? {} : { externalReference: args.externalReferenceNumber })
    }
    const payments = yield* PaymentService
    // the payment's own idempotency, as REST's create: per (tenant, key) one payment; the same
    // request answers it as it is now, another request is IdempotencyKeyReused
    const payment = yield* payments.createPayment({ ...body, idempotencyKey: args.idempotencyKey })
    yield* RequestLog.set({ paymentId: payment.id })
    const processed = unsettled.has(payment.state) ? yield* payments.processPayment(payment.id) : payment
    return { payment: yield* settledView(processed) }
  })

/** Runs `effect` once per (tenant, key) in `namespace`, with Stripe's semantics (see the module). */
const once = <E, R>(
  namespace: string,
  key: string,
  request: unknown,
  effect: Effect.Effect<PaymentView.PaymentView, E, R>
) =>
  Effect.flatMap(Tenant.current, (tenantId) =>
    IdempotencyStore.run({ tenantId, key, namespace, request, success: PaymentView.PaymentView }, effect))

const completePayment = (args: typeof CompleteArgs.Type) =>
  Effect.gen(function*() {
    const params = yield* record(args.params).pipe(Effect.mapError((e) => new ValidationError({ path: "params", message: e.message })))
    const payments = yield* PaymentService
    return yield* once(
      "graphql:complete:",
      args.idempotencyKey,
      { paymentId: args.paymentId, params },
      Effect.flatMap(payments.completePayment(args.paymentId, params), settledView)
    )
  })

const capturePayment = (args: typeof CaptureArgs.Type) =>
  Effect.flatMap(PaymentService, (payments) =>
    once(
      "graphql:capture:",
      args.idempotencyKey,
      { paymentId: args.paymentId, amount: args.amount ?? null },
      Effect.map(
        payments.capturePayment({ paymentId: args.paymentId, ...(args.amount === undefined ? {} : { amount: args.amount }) }),
        PaymentView.fromPayment
      )
    ))

const cancelPayment = (args: typeof CancelArgs.Type) =>
  Effect.flatMap(PaymentService, (payments) =>
    once(
      "graphql:cancel:",
      args.idempotencyKey,
      { paymentId: args.paymentId, reason: args.reason ?? null },
      Effect.map(
        payments.cancelPayment({ paymentId: args.paymentId, ...(args.reason === undefined ? {} : { reason: args.reason }) }),
        PaymentView.fromPayment
      )
    ))

const refundPayment = (args: typeof RefundArgs.Type) =>
  Effect.flatMap(PaymentService, (payments) =>
    payments.refundPayment({
      paymentId: args.paymentId,
      idempotencyKey: args.idempotencyKey,
      ...(args.amount === undefined ? {} : { amount: args.amount }),
      ...(args.reason === undefined ? {} : { reason: args.reason })
    })).pipe(Effect.map(Operations.refundView))

const saveOrUpdateProviderKeys = (args: typeof CredentialsArgs.Type) =>
  Effect.gen(function*() {
    // only where the installation provides `TenantGateways` (as REST's route, else NotImplemented)
    const service = yield* Effect.serviceOption(TenantGateways.TenantGateways)
    if (Option.isNone(service)) {
      return yield* Effect.fail(
        new NotImplemented({ code: "not_implemented", message: "provider credentials are not available in this installation" })
      )
    }
    const fields = yield* record(args.credentials).pipe(
      Effect.mapError((e) => new ValidationError({ path: "credentials", message: e.message }))
    )
    const saved = yield* service.value.save({
      tenantId: yield* Tenant.current,
      provider: args.providerType,
      fields: Record.map(fields, (value) => Redacted.make(value))
    })
    return { provider: saved.provider, fields: paramsOf(saved.fields) }
  })

const getPayment = (args: typeof PaymentArgs.Type) =>
  Effect.flatMap(PaymentService, (payments) => Effect.map(payments.getPayment(args.id), PaymentView.fromPayment))

const listPayments = (args: typeof PaymentsArgs.Type) =>
  Effect.flatMap(PaymentService, (payments) =>
    payments.getCustomerPayments({
      customerId: args.customerId,
      limit: args.first ?? 20,
      ...(args.after === undefined ? {} : { cursor: args.after })
    })).pipe(
      Effect.map((page): Connection => {
        const edges = page.items.map((p) => ({ cursor: encodeCursor(p.id), node: PaymentView.fromPayment(p) }))
        return { edges, pageInfo: { hasNextPage: page.nextCursor !== undefined, endCursor: edges.at(-1)?.cursor ?? null } }
      })
    )

// ---------------------------------------------------------------------------------------------
// the schema
// ---------------------------------------------------------------------------------------------

const key = {
  idempotencyKey: {
    type: nonNull(GraphQLString),
    description: "Required: the same key and request answer the same result and move money at most once."
  }
}

const Mutation = new GraphQLObjectType<unknown, ResolverContext>({
  name: "Mutation",
  fields: {
    initiatePayment: {
      type: nonNull(InitiatePaymentResultType),
      description:
        "Creates and processes a checkout payment at `providerType` (the seed's initiatePayment). Answers the payment, with `checkoutUrl` when the customer must act. Scope payments:write.",
      args: {
        ...key,
        providerType: { type: nonNull(GraphQLString), description: "The gateway (registry id: pagadito, paypal, razorpay, stripe, mock…)." },
        amount: { type: nonNull(Money) },
        currency: { type: nonNull(GraphQLString) },
        orderId: { type: nonNull(GraphQLString), description: "Kept in the payment's metadata as orderId." },
        customer: { type: nonNull(CustomerInput) },
        captureMethod: { type: CaptureMethodEnum, description: "Default AUTOMATIC." },
        details: { type: new GraphQLList(new GraphQLNonNull(PaymentDetailInput)), description: "Order lines; their total must equal amount." },
        customParams: { type: new GraphQLList(new GraphQLNonNull(ParamInput)), description: "Passed to the provider (metadata)." },
        allowPendingPayments: { type: GraphQLBoolean, description: "Accept a provider-pending result (settled later)." },
        externalReferenceNumber: { type: GraphQLString, description: "The merchant's reference sent to the provider (default: the payment id)." },
        returnUrl: { type: GraphQLString },
        cancelUrl: { type: GraphQLString },
        description: { type: GraphQLString }
      },
      resolve: withArgs(InitiateArgs, (args) => initiatePayment(args).pipe(Auth.authorized("payments:write")))
    },
    completePayment: {
      type: nonNull(PaymentType),
      description: "Finishes a payment after the customer's action, with what the provider appended to the return URL. Scope payments:write.",
      args: { ...key, paymentId: { type: nonNull(GraphQLID) }, params: { type: new GraphQLList(new GraphQLNonNull(ParamInput)) } },
      resolve: withArgs(CompleteArgs, (args) => completePayment(args).pipe(Auth.authorized("payments:write")), (a) => a.paymentId)
    },
    capturePayment: {
      type: nonNull(PaymentType),
      description: "Captures all (no amount) or part of an authorization. Scope payments:write.",
      args: { ...key, paymentId: { type: nonNull(GraphQLID) }, amount: { type: Money } },
      resolve: withArgs(CaptureArgs, (args) => capturePayment(args).pipe(Auth.authorized("payments:write")), (a) => a.paymentId)
    },
    cancelPayment: {
      type: nonNull(PaymentType),
      description: "Cancels a payment not yet processed, or voids its authorization. Scope payments:write.",
      args: { ...key, paymentId: { type: nonNull(GraphQLID) }, reason: { type: GraphQLString } },
      resolve: withArgs(CancelArgs, (args) => cancelPayment(args).pipe(Auth.authorized("payments:write")), (a) => a.paymentId)
    },
    refundPayment: {
      type: nonNull(RefundType),
      description: "Refunds all that is refundable (no amount) or part of it; idempotent per (payment, key). Scope refunds:write.",
      args: { ...key, paymentId: { type: nonNull(GraphQLID) }, amount: { type: Money }, reason: { type: GraphQLString } },
      resolve: withArgs(RefundArgs, (args) => refundPayment(args).pipe(Auth.authorized("refunds:write")), (a) => a.paymentId)
    },
    saveOrUpdateProviderKeys: {
      type: nonNull(ProviderCredentialsType),
      description: "Saves the tenant's credentials for a provider (encrypted; answered masked). Scope admin.",
      args: { providerType: { type: nonNull(GraphQLString) }, credentials: { type: listOf(ParamInput) } },
      resolve: withArgs(CredentialsArgs, (args) => saveOrUpdateProviderKeys(args).pipe(Auth.authorized("admin")))
    }
  }
})

const Query = new GraphQLObjectType<unknown, ResolverContext>({
  name: "Query",
  fields: {
    payment: {
      type: PaymentType,
      description: "A payment of the API key's tenant (another tenant's is PaymentNotFound, as a missing one). Scope payments:read.",
      args: { id: { type: nonNull(GraphQLID) } },
      resolve: withArgs(PaymentArgs, (args) => getPayment(args).pipe(Auth.authorized("payments:read")), (a) => a.id)
    },
    payments: {
      type: nonNull(PaymentConnectionType),
      description: "A customer's payments, newest first, `first` (1–100, default 20) at a time after the cursor `after`. Scope payments:read.",
      args: {
        customerId: { type: nonNull(GraphQLString) },
        first: { type: GraphQLInt, defaultValue: 20 },
        after: { type: GraphQLString }
      },
      resolve: withArgs(PaymentsArgs, (args) => listPayments(args).pipe(Auth.authorized("payments:read")))
    },
    gatewayHealth: {
      type: listOf(GatewayHealthType),
      description: "The health of every gateway. Scope payments:read.",
      resolve: (_source: unknown, _args: unknown, context: ResolverContext) =>
        context.run(Effect.map(gatewayHealth, (h) => h.data).pipe(Auth.authorized("payments:read")))
    }
  }
})

/**
 * The schema.
 *
 * @since 0.2.0
 */
export const schema: GraphQLSchema = new GraphQLSchema({ query: Query, mutation: Mutation })
