/**
 * Payments for routing tests: only what the router reads (currency, method, brand, BIN, amount,
 * customer country, metadata).
 */
import { DateTime, Either, Schema } from "effect"
import { Customer, Money, Payment, PaymentMethod } from "aegispay"

/** What a routing test sets on its payment; the rest is fixed. */
export interface RoutingPaymentOptions {
  readonly id?: string
  readonly amount?: string
  readonly currency?: "USD" | "EUR" | "JPY"
  readonly brand?: PaymentMethod.CardBrand
  readonly bin?: string
  readonly country?: string
  readonly metadata?: Record<string, string | number | boolean>
}

/** An INITIATED card payment of tenant `acme` (default: `pay_1`, 100.00 USD, visa 424242). */
export const routingPayment = (options: RoutingPaymentOptions = {}) =>
  Payment.initiate({
    id: options.id ?? "pay_1",
    tenantId: "acme",
    idempotencyKey: "k",
    requestFingerprint: "f",
    amount: Either.getOrThrow(Money.fromDecimalString(options.amount ?? "100.00", options.currency ?? "USD")),
    captureMethod: "automatic",
    paymentMethod: new PaymentMethod.CardToken({
      type: "card",
      brand: options.brand ?? "visa",
      bin: options.bin ?? "424242",
      last4: "4242",
      expiryMonth: 12,
      expiryYear: 2099,
      holderName: "A",
      fingerprint: "fp",
      vaultToken: "t"
    }),
    customer: new Customer.Customer({
      id: "c",
      email: Schema.decodeSync(Customer.Email)("a@example.com"),
      ...(options.country === undefined ? {} : { country: options.country })
    }),
    metadata: options.metadata ?? {}
  }, DateTime.unsafeMake(0)).payment

/** A card payment of `amount` `currency` by `brand`. */
export const cardPayment = (currency: "USD" | "EUR" = "USD", brand: PaymentMethod.CardBrand = "visa", amount = "10.00") =>
  routingPayment({ id: `pay_${currency}_${brand}_${amount}`, currency, brand, amount })
