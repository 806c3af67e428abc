/**
 * AegisPay: payment orchestration for Effect. The core entry: domain, gateway contract,
 * routing, resilience, orchestration, events and the composition of your parts. It loads no
 * database driver, no PGlite and no `@effect/platform-node`: PostgreSQL is in `aegispay/pg`, the
 * embedded database in `aegispay/embedded`, mocks and memory layers in `aegispay/testing`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AegisPay from "./AegisPay.js"
/** @since 0.1.0 */
export * as Currency from "./domain/Currency.js"
/** @since 0.2.0 */
export * as CustomerAction from "./domain/CustomerAction.js"
/** @since 0.1.0 */
export * as Customer from "./domain/Customer.js"
/** @since 0.1.0 */
export * as Ids from "./domain/Ids.js"
/** @since 0.1.0 */
export * as Metadata from "./domain/Metadata.js"
/** @since 0.1.0 */
export * as Money from "./domain/Money.js"
/** @since 0.1.0 */
export * as Payment from "./domain/Payment.js"
/** @since 0.1.0 */
export * as PaymentError from "./domain/PaymentError.js"
/** @since 0.1.0 */
export * as PaymentEvent from "./domain/PaymentEvent.js"
/** @since 0.1.0 */
export * as PaymentMethod from "./domain/PaymentMethod.js"
/** @since 0.1.0 */
export * as PaymentRequest from "./domain/PaymentRequest.js"
/** @since 0.1.0 */
export * as PaymentView from "./domain/PaymentView.js"
/** @since 0.1.0 */
export * as PaymentState from "./domain/PaymentState.js"
/** @since 0.1.0 */
export * as Sanitize from "./domain/Sanitize.js"
/** @since 0.1.0 */
export * as Tenant from "./domain/Tenant.js"
/** @since 0.1.0 */
export * as EventBus from "./events/EventBus.js"
/** @since 0.1.0 */
export * as Inbox from "./events/Inbox.js"
/** @since 0.2.0 */
export * as MerchantEvent from "./events/MerchantEvent.js"
/** @since 0.2.0 */
export * as MerchantWebhooks from "./events/MerchantWebhooks.js"
/** @since 0.2.0 */
export * as WebhookDelivery from "./events/WebhookDelivery.js"
/** @since 0.2.0 */
export * as WebhookSignature from "./events/WebhookSignature.js"
/** @since 0.1.0 */
export * as CardVault from "./gateway/CardVault.js"
/** @since 0.1.0 */
export * as Gateway from "./gateway/Gateway.js"
/** @since 0.1.0 */
export * as GatewayRegistry from "./gateway/GatewayRegistry.js"
/** @since 0.2.0 */
export * as Webhook from "./gateway/Webhook.js"
/** @since 0.2.0 */
export * as AegisPayMetrics from "./observability/AegisPayMetrics.js"
/** @since 0.1.0 */
export * as GatewayMetrics from "./observability/GatewayMetrics.js"
/** @since 0.1.0 */
export * as Health from "./observability/Health.js"
/** @since 0.2.0 */
export * as Logging from "./observability/Logging.js"
/** @since 0.2.0 */
export * as Correlation from "./observability/Correlation.js"
/** @since 0.2.0 */
export * as OperationLog from "./observability/OperationLog.js"
/** @since 0.2.0 */
export * as OutboxBacklog from "./observability/OutboxBacklog.js"
/** @since 0.2.0 */
export * as Prometheus from "./observability/Prometheus.js"
/** @since 0.2.0 */
export * as PaymentTelemetry from "./observability/PaymentTelemetry.js"
/** @since 0.2.0 */
export * as Workers from "./observability/Workers.js"
/** @since 0.1.0 */
export * as Hooks from "./orchestration/Hooks.js"
/** @since 0.1.0 */
export * as OrchestrationError from "./orchestration/Errors.js"
/** @since 0.1.0 */
export * as PaymentService from "./orchestration/PaymentService.js"
/** @since 0.1.0 */
export * as Recovery from "./orchestration/Recovery.js"
/** @since 0.1.0 */
export * as Shutdown from "./orchestration/Shutdown.js"
/** @since 0.1.0 */
export * as Compensation from "./orchestration/Compensation.js"
/** @since 0.1.0 */
export * as Notifications from "./orchestration/Notifications.js"
/** @since 0.1.0 */
export * as ManualReview from "./orchestration/ManualReview.js"
/** @since 0.1.0 */
export * as GatewayCall from "./orchestration/GatewayCall.js"
/** @since 0.1.0 */
export * as RetryPolicy from "./resilience/RetryPolicy.js"
/** @since 0.1.0 */
export * as CircuitBreaker from "./resilience/CircuitBreaker.js"
/** @since 0.1.0 */
export * as SlidingWindow from "./resilience/SlidingWindow.js"
/** @since 0.1.0 */
export * as Router from "./routing/Router.js"
/** @since 0.1.0 */
export * as RoutingRules from "./routing/Rules.js"
/** @since 0.1.0 */
export * as AdaptiveRouting from "./routing/Adaptive.js"
/** @since 0.3.0 */
export * as SharedEvidence from "./routing/SharedEvidence.js"
/** @since 0.2.0 */
export * as ApiKeyHash from "./security/ApiKeyHash.js"
/** @since 0.2.0 */
export * as SecureRandom from "./security/SecureRandom.js"
/** @since 0.2.0 */
export * as ApiKeys from "./tenancy/ApiKeys.js"
/** @since 0.2.0 */
export * as Tenants from "./tenancy/Tenants.js"
/** @since 0.2.0 */
export * as TenantCredentials from "./tenancy/TenantCredentials.js"
/** @since 0.2.0 */
export * as TenantGateways from "./tenancy/TenantGateways.js"
/** @since 0.1.0 */
export * as Envelope from "./security/Envelope.js"
/** @since 0.1.0 */
export * as KeyManagement from "./security/KeyManagement.js"
/** @since 0.1.0 */
export * as SecurityError from "./security/SecurityError.js"
/** @since 0.1.0 */
export * as CommittedEvents from "./storage/CommittedEvents.js"
/** @since 0.1.0 */
export * as EventStore from "./storage/EventStore.js"
/** @since 0.1.0 */
export * as LockManager from "./storage/LockManager.js"
/** @since 0.1.0 */
export * as PaymentLock from "./storage/PaymentLock.js"
/** @since 0.1.0 */
export * as IdempotencyStore from "./storage/IdempotencyStore.js"
/** @since 0.1.0 */
export * as Fingerprint from "./storage/Fingerprint.js"
/** @since 0.1.0 */
export * as PaymentRepository from "./storage/PaymentRepository.js"
/** @since 0.1.0 */
export * as StorageError from "./storage/StorageError.js"
