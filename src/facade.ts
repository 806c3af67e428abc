/**
 * `aegispay/facade`: AegisPay for programs that do not write Effect. `new AegisPay(config)` with
 * Promise methods, plain types (amounts as exact decimal strings or minor units), `Error`
 * subclasses with a `code`. Nothing exported here is an Effect type. Needs `@effect/sql-pg` and
 * `@effect/platform-node` (it runs the embedded or PostgreSQL composition).
 *
 * @since 0.2.0
 */

/** @since 0.2.0 */
export { AegisPay, type AegisPayConfig, type GatewayCredentials, type RegisterOptions, type RoutingRule } from "./facade/AegisPay.js"
/** @since 0.2.0 */
export type { KeysInput } from "./facade/Keys.js"
/** @since 0.2.0 */
export type {
  GatewayCard,
  GatewayChargeRequest,
  GatewayChargeResult,
  GatewayPaymentMethod,
  GatewayStatus,
  PaymentGateway
} from "./facade/PromiseGateway.js"
/** @since 0.2.0 */
export {
  type Amount,
  type AmountInput,
  type CardInput,
  type CreatePaymentRequest,
  type CustomerAction,
  type EventHandler,
  GatewayType,
  type GatewayHealth,
  type MetricsSnapshot,
  type Payment,
  type PaymentEvent,
  type PaymentEventType,
  type PaymentMethodInput,
  type PaymentMethodView,
  type PaymentPage,
  PaymentState,
  type Refund,
  RoutingStrategy
} from "./facade/Types.js"
/** @since 0.2.0 */
export {
  AegisPayClosedError,
  AegisPayError,
  CaptureExceedsAuthorizedError,
  CheckoutNotCancelledError,
  CircuitOpenError,
  ConfigurationError,
  GatewayDeclinedError,
  GatewayMisconfiguredError,
  GatewayNotFoundError,
  GatewayTransientError,
  GatewayUnknownOutcomeError,
  HookError,
  IdempotencyKeyReusedError,
  InternalError,
  InvalidAmountError,
  InvalidTransitionError,
  LockUnavailableError,
  NoGatewayAvailableError,
  OperationPendingError,
  PaymentNotFoundError,
  RefundExceedsCapturedError,
  RefundLimitReachedError,
  StartupFailedError,
  StorageError,
  ValidationError,
  VersionConflictError
} from "./facade/Errors.js"
