/**
 * `aegispay/testing/fakes`: in-process fakes of the providers the adapters of
 * `aegispay/gateways` talk to, served on a loopback port (needs `@effect/platform-node`). They
 * reproduce each provider's documented behaviour: idempotent replay, error bodies, declines,
 * customer-action redirects, 5xx, timeouts after applying, signed webhooks.
 *
 * @since 0.2.0
 */
/** @since 0.2.0 */
export * as FakeServer from "./FakeServer.js"
/** @since 0.2.0 */
export * as FakePagadito from "./FakePagadito.js"
/** @since 0.2.0 */
export * as FakePayPal from "./FakePayPal.js"
/** @since 0.2.0 */
export * as FakeStripe from "./FakeStripe.js"
/** @since 0.2.0 */
export * as FakeRazorpay from "./FakeRazorpay.js"
