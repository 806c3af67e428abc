/**
 * What a customer must do before a provider can charge: follow a redirect (PayPal's approval
 * page, Pagadito's hosted checkout, a 3-D Secure page), finish a challenge in the provider's
 * browser SDK with a client secret (Stripe.js `handleNextAction`), or open the provider's
 * checkout widget with the given parameters (Razorpay Checkout).
 *
 * A customer action never holds card data. A Stripe client secret lets a browser finish that one
 * PaymentIntent and nothing else; it is meant for the customer's browser and is kept as sent.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * Send the customer's browser to `url`; the provider sends it back to the merchant's return URL.
 *
 * @since 0.2.0
 */
export const Redirect = Schema.Struct({
  type: Schema.Literal("redirect"),
  url: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096))
})

/**
 * Finish the payment in the provider's browser SDK with `clientSecret` (Stripe's
 * `payment_intent.client_secret`).
 *
 * @since 0.2.0
 */
export const ClientSecret = Schema.Struct({
  type: Schema.Literal("client_secret"),
  clientSecret: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1024))
})

/**
 * Open the provider's checkout widget with these parameters (Razorpay: `key`, `order_id`,
 * `amount`, `currency`). Never a secret.
 *
 * @since 0.2.0
 */
export const Checkout = Schema.Struct({
  type: Schema.Literal("checkout"),
  params: Schema.Record({ key: Schema.String, value: Schema.String })
})

/**
 * What the customer must do.
 *
 * @since 0.2.0
 */
export const CustomerAction = Schema.Union(Redirect, ClientSecret, Checkout)

/**
 * @since 0.2.0
 */
export type CustomerAction = typeof CustomerAction.Type
