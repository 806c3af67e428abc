/**
 * The JSON of a payment as the HTTP API answers it, written by hand for the routes every payment
 * goes through (create, get, confirm, capture, cancel, complete): the same value as
 * `Schema.encode(PaymentView)` (a property test over `Arbitrary.make(PaymentView)` checks that
 * they are deep-equal), without interpreting the schema on every answer. The only fields the
 * schema transforms are the `DateTimeUtc` ones (ISO strings, `DateTime.formatIso`); every other
 * field is copied, and only the view's own fields are written, as the schema's encoding does.
 *
 * The routes still declare `PaymentView` as their success schema: the OpenAPI document and the
 * typed client (`HttpApiClient`) are unchanged.
 *
 * @since 0.2.0
 */
import { HttpServerResponse } from "@effect/platform"
import { DateTime } from "effect"
import type { CustomerAction } from "../domain/CustomerAction.js"
import type { AmountView, PaymentMethodView, PaymentView } from "../domain/PaymentView.js"

type Encoded = typeof PaymentView.Encoded

const amount = (a: AmountView): AmountView => ({ currency: a.currency, amount: a.amount })

const method = (m: PaymentMethodView): PaymentMethodView => {
  switch (m.type) {
    case "card":
      return { type: m.type, brand: m.brand, last4: m.last4, expiryMonth: m.expiryMonth, expiryYear: m.expiryYear }
    case "gateway_token":
      return { type: m.type, gateway: m.gateway }
    case "checkout":
      return m.gateway === undefined ? { type: m.type } : { type: m.type, gateway: m.gateway }
  }
}

const iso = DateTime.formatIso

/** A record's string keys, assigned one by one as the schema's encoding of a `Record` does. */
const record = <V>(from: { readonly [key: string]: V }): { [key: string]: V } => {
  const out: { [key: string]: V } = {}
  for (const [key, value] of Object.entries(from)) out[key] = value
  return out
}

const action = (a: CustomerAction): CustomerAction => {
  switch (a.type) {
    case "redirect":
      return { type: a.type, url: a.url }
    case "client_secret":
      return { type: a.type, clientSecret: a.clientSecret }
    case "checkout":
      return { type: a.type, params: record(a.params) }
  }
}

/**
 * `Schema.encodeSync(PaymentView)(view)`, by hand.
 *
 * @since 0.2.0
 */
export const encode = (view: PaymentView): Encoded => {
  const out: { -readonly [K in keyof Encoded]: Encoded[K] } = {
    id: view.id,
    tenantId: view.tenantId,
    idempotencyKey: view.idempotencyKey,
    state: view.state,
    captureMethod: view.captureMethod,
    amount: amount(view.amount),
    authorizedAmount: amount(view.authorizedAmount),
    capturedAmount: amount(view.capturedAmount),
    refundedAmount: amount(view.refundedAmount),
    paymentMethod: method(view.paymentMethod),
    customer: {
      id: view.customer.id,
      email: view.customer.email,
      ...(view.customer.name === undefined ? {} : { name: view.customer.name }),
      ...(view.customer.country === undefined ? {} : { country: view.customer.country })
    },
    metadata: record(view.metadata),
    attempts: view.attempts.map((a) => ({
      number: a.number,
      gateway: a.gateway,
      status: a.status,
      ...(a.failureReason === undefined ? {} : { failureReason: a.failureReason }),
      startedAt: iso(a.startedAt)
    })),
    refunds: view.refunds.map((r) => ({
      id: r.id,
      amount: amount(r.amount),
      state: r.state,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      ...(r.failureReason === undefined ? {} : { failureReason: r.failureReason }),
      ...(r.external === undefined ? {} : { external: r.external }),
      createdAt: iso(r.createdAt),
      updatedAt: iso(r.updatedAt)
    })),
    requiresReconciliation: view.requiresReconciliation,
    version: view.version,
    createdAt: iso(view.createdAt),
    updatedAt: iso(view.updatedAt)
  }
  if (view.description !== undefined) out.description = view.description
  if (view.gateway !== undefined) out.gateway = view.gateway
  if (view.gatewayTransactionId !== undefined) out.gatewayTransactionId = view.gatewayTransactionId
  if (view.customerAction !== undefined) out.customerAction = action(view.customerAction)
  if (view.actionExpiresAt !== undefined) out.actionExpiresAt = iso(view.actionExpiresAt)
  if (view.providerPending !== undefined) out.providerPending = view.providerPending
  if (view.disputes !== undefined) {
    out.disputes = view.disputes.map((d) => ({
      id: d.id,
      gateway: d.gateway,
      state: d.state,
      ...(d.amount === undefined ? {} : { amount: amount(d.amount) }),
      ...(d.reason === undefined ? {} : { reason: d.reason }),
      ...(d.outcome === undefined ? {} : { outcome: d.outcome }),
      openedAt: iso(d.openedAt),
      updatedAt: iso(d.updatedAt)
    }))
  }
  if (view.failureReason !== undefined) out.failureReason = view.failureReason
  if (view.declineCode !== undefined) out.declineCode = view.declineCode
  return out
}

/**
 * The answer with `view` as its JSON body ({@link encode}), `status` (default 200) and `headers`.
 *
 * @since 0.2.0
 */
export const response = (
  view: PaymentView,
  status = 200,
  headers?: Readonly<Record<string, string>>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(encode(view), headers === undefined ? { status } : { status, headers })
