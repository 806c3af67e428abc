/**
 * Creating a payment: `PaymentService.createPayment`.
 *
 * @internal
 */
import { Clock, Effect, Option, Schema } from "effect"
import { Customer } from "../../domain/Customer.js"
import * as Money from "../../domain/Money.js"
import * as Payment from "../../domain/Payment.js"
import * as Commit from "./commit.js"
import * as OperationLog from "../../observability/OperationLog.js"
import * as PaymentTelemetry from "../../observability/PaymentTelemetry.js"
import { IdempotencyKeyReused, ValidationError } from "../../domain/PaymentError.js"
import type { PaymentMethodToken } from "../../domain/PaymentMethod.js"
import { CheckoutMethod, GatewayToken, isExpired } from "../../domain/PaymentMethod.js"
import { CheckoutInfo } from "../../domain/PaymentEvent.js"
import * as Request from "../../domain/PaymentRequest.js"
import * as Tenant from "../../domain/Tenant.js"
import { fingerprint } from "../../storage/Fingerprint.js"
import type { Dependencies } from "./dependencies.js"

/**
 * The decoded create request for the current `Tenant`: a request without `tenantId` is for the
 * current tenant; one naming another tenant is refused (`ValidationError` on `tenantId`), so a
 * request body can never choose a tenant other than the one its caller runs for.
 */
const forCurrentTenant = (explicit: string | undefined) => (input: Request.CreatePaymentInput) =>
  Effect.flatMap(Tenant.current, (tenantId): Effect.Effect<Request.CreatePaymentInput, ValidationError> => {
    if (explicit !== undefined) {
      return explicit === tenantId
        ? Effect.succeed(input)
        : Effect.fail(new ValidationError({ path: "tenantId", message: "tenantId differs from the tenant this operation runs for" }))
    }
    return Effect.map(Request.decode(TenantOnly, { tenantId }), () => ({ ...input, tenantId }))
  })

const TenantOnly = Schema.Struct({ tenantId: Request.TenantId })

/**
 * The checkout fields of a request as the payment keeps them (`undefined` when the request named
 * none): line item prices exact in the payment's currency, and their total equal to the amount.
 */
const checkoutOf = (
  input: Request.CreatePaymentInput,
  amount: Money.Money
): Effect.Effect<CheckoutInfo | undefined, ValidationError> =>
  Effect.gen(function*() {
    const { allowPending, cancelUrl, externalReference, lineItems, returnUrl } = input
    if (
      returnUrl === undefined && cancelUrl === undefined && lineItems === undefined && allowPending === undefined &&
      externalReference === undefined
    ) return undefined
    const items: Array<CheckoutInfo["lineItems"] extends ReadonlyArray<infer I> | undefined ? I : never> = []
    let total = 0n
    for (const [index, item] of (lineItems ?? []).entries()) {
      const price = yield* Money.fromInput(item.price, amount.currency).pipe(
        Effect.mapError((e) => new ValidationError({ path: `lineItems.${index}.price`, message: e.message }))
      )
      total += price.minor * BigInt(item.quantity)
      items.push({ quantity: item.quantity, description: item.description, price, ...(item.url === undefined ? {} : { url: item.url }) })
    }
    if (lineItems !== undefined && lineItems.length > 0 && total !== amount.minor) {
      return yield* new ValidationError({
        path: "lineItems",
        message: `the line items total ${Money.toDecimalString(Money.fromMinor(amount.currency, total))} ${amount.currency}, ` +
          `not the amount ${Money.toDecimalString(amount)}`
      })
    }
    return {
      ...(returnUrl === undefined ? {} : { returnUrl }),
      ...(cancelUrl === undefined ? {} : { cancelUrl }),
      ...(lineItems === undefined ? {} : { lineItems: items }),
      ...(allowPending === undefined ? {} : { allowPending }),
      ...(externalReference === undefined ? {} : { externalReference })
    }
  })

/**
 * What a create did: the payment, and whether it was already there (`replayed`: an earlier
 * request with the same idempotency key and the same body created it).
 */
export interface CreateOutcome {
  readonly payment: Payment.Payment
  readonly replayed: boolean
}

/**
 * `PaymentService.createPaymentOutcome`: decodes and checks the request, runs the `beforeCreate`
 * hooks, vaults a card, and inserts the INITIATED payment idempotently per (tenant, idempotency
 * key); a request whose key is taken answers the payment already there (same body) or
 * `IdempotencyKeyReused` (another body).
 */
export const createPaymentOutcome = (deps: Dependencies) => {
  const { repository, vault, ids, hooks } = deps

  return Effect.fn("PaymentService.createPayment")(function*(raw: Request.CreatePaymentRequest) {
    // decoded first: `raw` is only read once it is known to be a well-formed request
    const input = yield* Effect.flatMap(
      Request.decode(Request.CreatePaymentRequest, raw),
      (decoded) => forCurrentTenant(raw.tenantId)(decoded)
    )
    const amount = yield* Money.fromInput(input.amount, input.currency).pipe(
      Effect.mapError((e) => new ValidationError({ path: "amount", message: e.message }))
    )
    if (!Money.isPositive(amount)) {
      return yield* new ValidationError({ path: "amount", message: "amount must be greater than zero" })
    }
    const method = input.paymentMethod
    if (method.type === "card") {
      const millis = yield* Clock.currentTimeMillis
      if (isExpired(method, millis)) {
        return yield* new ValidationError({ path: "paymentMethod.expiryYear", message: "the card has expired" })
      }
    } else if (input.gateway !== undefined && method.gateway !== undefined && input.gateway !== method.gateway) {
      // a gateway token is valid only at its gateway: a payment cannot be sent anywhere else
      return yield* new ValidationError({
        path: "gateway",
        message: method.type === "gateway_token"
          ? "gateway must be the gateway of the payment method's token (paymentMethod.gateway), or be left out"
          : "gateway must be the gateway the checkout names (paymentMethod.gateway), or be left out"
      })
    }
    const checkout = yield* checkoutOf(input, amount)
    yield* hooks.beforeCreate(input)
    // the vault is called for cards only: a gateway token is the provider's, kept as it is
    const token: PaymentMethodToken = method.type === "card"
      ? yield* vault.tokenize(method, input.tenantId)
      : method.type === "gateway_token"
      ? new GatewayToken({ type: "gateway_token", gateway: method.gateway, token: method.token }, true)
      : new CheckoutMethod({ type: "checkout", ...(method.gateway === undefined ? {} : { gateway: method.gateway }) }, true)
    const requestFingerprint = fingerprint({
      tenantId: input.tenantId,
      amount: { currency: amount.currency, minor: amount.minor },
      captureMethod: input.captureMethod,
      // a card's part is unchanged since before gateway tokens, so earlier payments still replay
      paymentMethod: token.type === "card"
        ? { fingerprint: token.fingerprint, expiryMonth: token.expiryMonth, expiryYear: token.expiryYear, holderName: token.holderName }
        : token.type === "gateway_token"
        ? { type: token.type, gateway: token.gateway, token: token.token }
        : { type: token.type, gateway: token.gateway },
      customer: input.customer,
      metadata: input.metadata,
      description: input.description,
      gateway: input.gateway,
      // absent unless the request named a checkout field: fingerprints of earlier requests stay the same
      checkout: checkout === undefined ? undefined : Schema.encodeSync(CheckoutInfo)(checkout)
    })
    const replay = (existing: Payment.Payment) =>
      Effect.zipRight(
        PaymentTelemetry.recordIdempotency(existing.requestFingerprint === requestFingerprint),
        existing.requestFingerprint === requestFingerprint
          ? Effect.succeed<CreateOutcome>({ payment: existing, replayed: true })
          : Effect.fail(
            new IdempotencyKeyReused({ tenantId: input.tenantId, idempotencyKey: input.idempotencyKey, existingId: existing.id })
          )
      )
    // No read first: the unique (tenant, idempotency key) insert decides; a loser reads the winner.
    const decision = Payment.initiate(
      {
        id: yield* ids.next("pay"),
        tenantId: input.tenantId,
        idempotencyKey: input.idempotencyKey,
        requestFingerprint,
        amount,
        captureMethod: input.captureMethod,
        paymentMethod: token,
        customer: new Customer(input.customer, true),
        metadata: input.metadata,
        description: input.description,
        gatewayPreference: input.gateway,
        checkout
      },
      yield* Commit.now
    )
    return yield* repository.insert(decision).pipe(
      Effect.as<CreateOutcome>({ payment: decision.payment, replayed: false }),
      Effect.catchTag("DuplicateIdempotencyKey", () =>
        // Lost a race with an identical (or conflicting) create: answer as the winner did.
        repository.findByIdempotencyKey(input.tenantId, input.idempotencyKey).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.dieMessage("idempotency key vanished after a duplicate insert"),
            onSome: replay
          }))
        ))
    )
  }, OperationLog.traced("create", { subjectOf: (outcome: CreateOutcome) => OperationLog.ofPayment(outcome.payment) }))
}

/**
 * `PaymentService.createPayment`: {@link createPaymentOutcome}'s payment.
 */
export const createPayment = (deps: Dependencies) => {
  const create = createPaymentOutcome(deps)
  return (raw: Request.CreatePaymentRequest) => Effect.map(create(raw), (outcome) => outcome.payment)
}
