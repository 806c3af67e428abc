/**
 * Payments for routing tests: only what the router reads (currency, method, brand, amount).
 */
import { DateTime, Either, Schema } from "effect"
import { Customer, Money, Payment, PaymentMethod } from "aegispay"

/** A card payment of `amount` `currency` by `brand`. */
export const cardPayment = (currency: "USD" | "EUR" = "USD", brand: PaymentMethod.CardBrand = "visa", amount = "10.00") =>
  Payment.initiate({
    id: `pay_${currency}_${brand}_${amount}`,
    tenantId: "acme",
    idempotencyKey: "k",
    requestFingerprint: "f",
    amount: Either.getOrThrow(Money.fromDecimalString(amount, currency)),
    captureMethod: "automatic",
    paymentMethod: new PaymentMethod.CardToken({
      type: "card",
      brand,
      bin: "424242",
      last4: "4242",
      expiryMonth: 12,
      expiryYear: 2099,
      holderName: "A",
      fingerprint: "fp",
      vaultToken: "t"
    }),
    customer: new Customer.Customer({ id: "c", email: Schema.decodeSync(Customer.Email)("a@example.com") }),
    metadata: {}
  }, DateTime.unsafeMake(0)).payment
