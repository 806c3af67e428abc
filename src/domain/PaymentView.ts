/**
 * The public JSON shape of a payment: what an API answers or a merchant stores, without the
 * internal fields of the aggregate (request fingerprint, vault token, card fingerprint, a gateway
 * token's value, attempt and refund idempotency keys sent to gateways, notification ids,
 * compensations' internals).
 *
 * Amounts are exact decimal strings with their currency (`{ currency: "USD", amount: "10.05" }`),
 * never floats. `Schema.encodeSync(PaymentView)(fromPayment(payment))` gives plain JSON.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Money from "./Money.js"
import type { Payment } from "./Payment.js"
import { RefundState } from "./Payment.js"
import { CustomerAction } from "./CustomerAction.js"
import { CaptureMethod } from "./PaymentEvent.js"
import { CardBrand, type PaymentMethodToken } from "./PaymentMethod.js"
import { PaymentState } from "./PaymentState.js"

/**
 * An amount as an exact decimal string in its currency's exponent.
 *
 * @since 0.1.0
 */
export const AmountView = Schema.Struct({
  currency: Schema.String,
  amount: Schema.String
})

/**
 * @since 0.1.0
 */
export type AmountView = typeof AmountView.Type

/**
 * The public shape of a payment method: a card's brand, last four and expiry, or the gateway a
 * gateway token belongs to. Never a vault token, a fingerprint or a provider's token: the token is
 * not card data, but it can pay at its gateway, so the view leaves it out.
 *
 * @since 0.1.0
 */
export const PaymentMethodView = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("card"),
    brand: CardBrand,
    last4: Schema.String,
    expiryMonth: Schema.Number,
    expiryYear: Schema.Number
  }),
  Schema.Struct({
    type: Schema.Literal("gateway_token"),
    gateway: Schema.String
  }),
  Schema.Struct({
    type: Schema.Literal("checkout"),
    gateway: Schema.optional(Schema.String)
  })
)

/**
 * @since 0.1.0
 */
export type PaymentMethodView = typeof PaymentMethodView.Type

const methodView = (method: PaymentMethodToken): PaymentMethodView =>
  method.type === "card"
    ? {
      type: method.type,
      brand: method.brand,
      last4: method.last4,
      expiryMonth: method.expiryMonth,
      expiryYear: method.expiryYear
    }
    : method.type === "gateway_token"
    ? { type: method.type, gateway: method.gateway }
    : { type: method.type, ...(method.gateway === undefined ? {} : { gateway: method.gateway }) }

/**
 * The public shape of a payment.
 *
 * @since 0.1.0
 */
export const PaymentView = Schema.Struct({
  id: Schema.String,
  tenantId: Schema.String,
  idempotencyKey: Schema.String,
  state: PaymentState,
  captureMethod: CaptureMethod,
  amount: AmountView,
  authorizedAmount: AmountView,
  capturedAmount: AmountView,
  refundedAmount: AmountView,
  paymentMethod: PaymentMethodView,
  customer: Schema.Struct({
    id: Schema.String,
    email: Schema.String,
    name: Schema.optional(Schema.String),
    country: Schema.optional(Schema.String)
  }),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  description: Schema.optional(Schema.String),
  gateway: Schema.optional(Schema.String),
  gatewayTransactionId: Schema.optional(Schema.String),
  attempts: Schema.Array(Schema.Struct({
    number: Schema.Number,
    gateway: Schema.String,
    status: Schema.String,
    failureReason: Schema.optional(Schema.String),
    startedAt: Schema.DateTimeUtc
  })),
  refunds: Schema.Array(Schema.Struct({
    id: Schema.String,
    amount: AmountView,
    state: RefundState,
    reason: Schema.optional(Schema.String),
    failureReason: Schema.optional(Schema.String),
    /** Made outside AegisPay (the provider's dashboard). */
    external: Schema.optional(Schema.Boolean),
    createdAt: Schema.DateTimeUtc,
    updatedAt: Schema.DateTimeUtc
  })),
  /** What the customer must do (ACTION_REQUIRED): a redirect URL, a client secret or checkout parameters. */
  customerAction: Schema.optional(CustomerAction),
  /** Until when the payment waits for the customer or the provider. */
  actionExpiresAt: Schema.optional(Schema.DateTimeUtc),
  /** PROCESSING, accepted by the provider and not settled yet. */
  providerPending: Schema.optional(Schema.Boolean),
  disputes: Schema.optional(Schema.Array(Schema.Struct({
    id: Schema.String,
    gateway: Schema.String,
    state: Schema.Literal("OPEN", "CLOSED"),
    amount: Schema.optional(AmountView),
    reason: Schema.optional(Schema.String),
    outcome: Schema.optional(Schema.String),
    openedAt: Schema.DateTimeUtc,
    updatedAt: Schema.DateTimeUtc
  }))),
  failureReason: Schema.optional(Schema.String),
  declineCode: Schema.optional(Schema.String),
  requiresReconciliation: Schema.Boolean,
  version: Schema.Number,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 */
export type PaymentView = typeof PaymentView.Type

const amount = (money: Money.Money): AmountView => ({ currency: money.currency, amount: Money.toDecimalString(money) })

/**
 * The public view of `payment`.
 *
 * @since 0.1.0
 */
export const fromPayment = (payment: Payment): PaymentView => ({
  id: payment.id,
  tenantId: payment.tenantId,
  idempotencyKey: payment.idempotencyKey,
  state: payment.state,
  captureMethod: payment.captureMethod,
  amount: amount(payment.amount),
  authorizedAmount: amount(payment.authorizedAmount),
  capturedAmount: amount(payment.capturedAmount),
  refundedAmount: amount(payment.refundedAmount),
  paymentMethod: methodView(payment.paymentMethod),
  customer: {
    id: payment.customer.id,
    email: payment.customer.email,
    ...(payment.customer.name === undefined ? {} : { name: payment.customer.name }),
    ...(payment.customer.country === undefined ? {} : { country: payment.customer.country })
  },
  metadata: payment.metadata,
  ...(payment.description === undefined ? {} : { description: payment.description }),
  ...(payment.gateway === undefined ? {} : { gateway: payment.gateway }),
  ...(payment.gatewayTransactionId === undefined ? {} : { gatewayTransactionId: payment.gatewayTransactionId }),
  attempts: payment.attempts.map((a) => ({
    number: a.number,
    gateway: a.gateway,
    status: a.status,
    ...(a.failureReason === undefined ? {} : { failureReason: a.failureReason }),
    startedAt: a.startedAt
  })),
  refunds: payment.refunds.map((r) => ({
    id: r.id,
    amount: amount(r.amount),
    state: r.state,
    ...(r.reason === undefined ? {} : { reason: r.reason }),
    ...(r.failureReason === undefined ? {} : { failureReason: r.failureReason }),
    ...(r.external === true ? { external: true } : {}),
    createdAt: r.createdAt,
    updatedAt: r.updatedAt
  })),
  ...(payment.customerAction === undefined ? {} : { customerAction: payment.customerAction }),
  ...(payment.actionExpiresAt === undefined ? {} : { actionExpiresAt: payment.actionExpiresAt }),
  ...(payment.providerPending === true ? { providerPending: true } : {}),
  ...(payment.disputes === undefined || payment.disputes.length === 0 ? {} : {
    disputes: payment.disputes.map((d) => ({
      id: d.id,
      gateway: d.gateway,
      state: d.state,
      ...(d.amount === undefined ? {} : { amount: amount(d.amount) }),
      ...(d.reason === undefined ? {} : { reason: d.reason }),
      ...(d.outcome === undefined ? {} : { outcome: d.outcome }),
      openedAt: d.openedAt,
      updatedAt: d.updatedAt
    }))
  }),
  ...(payment.failureReason === undefined ? {} : { failureReason: payment.failureReason }),
  ...(payment.declineCode === undefined ? {} : { declineCode: payment.declineCode }),
  requiresReconciliation: payment.requiresReconciliation,
  version: payment.version,
  createdAt: payment.createdAt,
  updatedAt: payment.updatedAt
})

/**
 * The JSON of `payment`'s public view.
 *
 * @since 0.1.0
 */
export const toJson = (payment: Payment): typeof PaymentView.Encoded => Schema.encodeSync(PaymentView)(fromPayment(payment))
