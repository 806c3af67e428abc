/**
 * `aegispay/gateways`: the real provider adapters (Stripe, PayPal, Razorpay, Pagadito), each on
 * `@effect/platform`'s `HttpClient` (no vendor SDK), each a `Gateway` with its settings from
 * `Config` and a `GatewayProvider` to build it from one tenant's stored credentials.
 * See `docs/GATEWAYS.md`.
 *
 * @since 0.2.0
 */
/** @since 0.2.0 */
export * as Pagadito from "./gateways/pagadito/Pagadito.js"
/** @since 0.2.0 */
export * as PayPal from "./gateways/paypal/PayPal.js"
/** @since 0.2.0 */
export * as Stripe from "./gateways/stripe/Stripe.js"
/** @since 0.2.0 */
export * as Razorpay from "./gateways/razorpay/Razorpay.js"
