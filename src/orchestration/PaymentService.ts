/**
 * The public payment operations: `createPayment`, `processPayment`, `completePayment`,
 * `capturePayment`, `cancelPayment`, `refundPayment`, `getPayment`, `getCustomerPayments`.
 *
 * Guarantees:
 * - **Tenant scoping.** Every operation runs for the current `Tenant` (default `"default"`):
 *   `createPayment` creates for it, lists list its payments, and an operation on another
 *   tenant's payment fails with exactly the `PaymentNotFound` of a missing id and changes nothing
 *   (checked by `PaymentLock` and `getPayment`, before any write or gateway call). A payment's
 *   card is vaulted and revealed under its own tenant, and its gateways are its tenant's
 *   (`GatewayRegistry.forTenant`).
 * - **Idempotent creation.** Per (tenant, idempotency key) one payment exists. The same key with
 *   the same request returns it; with a different request fails with `IdempotencyKeyReused`.
 * - **No double charge.** Before a money-moving gateway call, the attempt, its gateway
 *   idempotency key and the PROCESSING state are committed. The key never changes for the
 *   attempt, so retries and restarts resend the same key. A payment found in PROCESSING is first
 *   reconciled with the gateway's status, never charged again blindly. Operations on one payment
 *   are serialised by the {@link PaymentLock} and every write is version-checked.
 * - **Waiting for the customer.** A payment the provider holds for the customer (3-D Secure, an
 *   approval page, a hosted checkout) is ACTION_REQUIRED with the action and an expiry;
 *   `completePayment`, a verified webhook, `processPayment` or recovery settle it from the
 *   provider's answer; past the expiry the provider is asked to cancel, and the payment fails
 *   only when the provider confirms nothing was charged.
 * - **Unknown outcomes stay open.** A timeout after the request may have been applied leaves the
 *   payment PROCESSING with `requiresReconciliation`; calling `processPayment` again asks the
 *   gateway what happened.
 * - **Refunds never exceed captures.** A refund is reserved (committed as PENDING) before the
 *   gateway is asked, against captured minus succeeded and pending refunds.
 * - **Everything is recorded.** Every change is an event, written atomically with the snapshot;
 *   the storage layer delivers committed events to the `EventBus` (memory: at once; SQL: through
 *   the transactional outbox and `OutboxRelay`).
 *
 * This module holds the service's tag, `make` and `layer`; the operations are written in
 * `src/internal/orchestration/` (create, the charge/reconcile core, process, settlement, refunds,
 * reads, and the shared version-checked `commit`); `docs/ARCHITECTURE.md` maps each rule to its file.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type * as Payment from "../domain/Payment.js"
import type {
  CaptureExceedsAuthorized,
  CheckoutNotCancelled,
  IdempotencyKeyReused,
  InvalidTransition,
  OperationPending,
  PaymentNotFound,
  RefundExceedsCaptured,
  RefundLimitReached,
  ValidationError,
  VersionConflict
} from "../domain/PaymentError.js"
import type * as Request from "../domain/PaymentRequest.js"
import type { GatewayError, GatewayMisconfigured, GatewayTransientError } from "../gateway/Gateway.js"
import type { GatewayNotFound } from "../gateway/GatewayRegistry.js"
import type { CircuitOpen } from "../resilience/CircuitBreaker.js"
import type { LockUnavailable } from "../storage/LockManager.js"
import type { Page } from "../storage/PaymentRepository.js"
import type { StorageError } from "../storage/StorageError.js"
import type { NoGatewayAvailable } from "./Errors.js"
import { type FraudRejected, type HookFailed, type HookRejected, runAfterProcess } from "./Hooks.js"
import * as Charge from "../internal/orchestration/charge.js"
import * as Create from "../internal/orchestration/create.js"
import type { CreateOutcome } from "../internal/orchestration/create.js"
import * as CustomerAction from "../internal/orchestration/customerAction.js"
import * as Dependencies from "../internal/orchestration/dependencies.js"
import type { CancelPaymentRequest, CapturePaymentRequest, Config, CustomerPaymentsRequest } from "../internal/orchestration/options.js"
import * as Process from "../internal/orchestration/process.js"
import * as Reads from "../internal/orchestration/reads.js"
import * as Refunds from "../internal/orchestration/refunds.js"
import * as Settlement from "../internal/orchestration/settlement.js"

export type { CreateOutcome } from "../internal/orchestration/create.js"
export type {
  CancelPaymentRequest,
  CapturePaymentRequest,
  Config,
  CustomerPaymentsRequest,
  Options
} from "../internal/orchestration/options.js"

type Common = PaymentNotFound | VersionConflict | LockUnavailable | StorageError

/**
 * @since 0.1.0
 */
export class PaymentService extends Context.Tag("aegispay/PaymentService")<PaymentService, {
  /**
   * Creates a payment of the current tenant in INITIATED, idempotently per (tenant, idempotency
   * key). A request `tenantId` other than the current tenant is a `ValidationError`.
   */
  readonly createPayment: (
    request: Request.CreatePaymentRequest
  ) => Effect.Effect<Payment.Payment, ValidationError | IdempotencyKeyReused | HookRejected | HookFailed | StorageError>
  /**
   * {@link createPayment}, also telling whether the payment was already there: `replayed` is
   * `true` when an earlier request with the same idempotency key and the same body created it
   * (the payment is then as it is now, not as it was created). Concurrent identical requests
   * create one payment: one answers `replayed: false`, the others wait for it and answer
   * `replayed: true`. The same key with another body is `IdempotencyKeyReused`.
   */
  readonly createPaymentOutcome: (
    request: Request.CreatePaymentRequest
  ) => Effect.Effect<CreateOutcome, ValidationError | IdempotencyKeyReused | HookRejected | HookFailed | StorageError>
  /**
   * Drives a payment to SUCCESS, FAILURE or AUTHORIZED (manual capture); a payment whose
   * outcome is unknown stays PROCESSING with `requiresReconciliation` and is reconciled by the
   * next call.
   */
  readonly processPayment: (
    paymentId: string
  ) => Effect.Effect<
    Payment.Payment,
    | Common
    | InvalidTransition
    | NoGatewayAvailable
    | GatewayNotFound
    | GatewayTransientError
    | GatewayMisconfigured
    | CircuitOpen
    | FraudRejected
    | HookFailed
  >
  /**
   * The customer is back from the provider (its return page, or a webhook said so): asks the
   * gateway to finish the payment waiting in ACTION_REQUIRED (`customerAction.complete` with the
   * attempt's committed idempotency key and reference, and `params`: what the provider appended
   * to the return URL) and settles it: SUCCESS or AUTHORIZED, FAILURE on a decline, still
   * ACTION_REQUIRED while the customer has not finished, provider-pending (`providerPending`) when the
   * provider settles later. An unknown outcome stays ACTION_REQUIRED with
   * `requiresReconciliation`, never failed. Past the payment's expiry the provider is asked to
   * cancel instead (a late charge settles). A settled payment is returned unchanged.
   */
  readonly completePayment: (
    paymentId: string,
    params?: Readonly<Record<string, string>>
  ) => Effect.Effect<
    Payment.Payment,
    | Common
    | InvalidTransition
    | GatewayNotFound
    | GatewayTransientError
    | GatewayMisconfigured
    | CircuitOpen
    | HookFailed
  >
  /** Captures all or part of an authorization: AUTHORIZED → SUCCESS. */
  readonly capturePayment: (
    request: CapturePaymentRequest
  ) => Effect.Effect<
    Payment.Payment,
    | Common
    | InvalidTransition
    | CaptureExceedsAuthorized
    | ValidationError
    | GatewayNotFound
    | GatewayError
    | CircuitOpen
    | OperationPending
  >
  /**
   * Cancels a payment not yet processed, voids an authorization, or cancels the checkout of a
   * payment waiting for its customer: → CANCELLED.
   *
   * A waiting payment (ACTION_REQUIRED) is cancelled at its provider first, under the payment's
   * lock, with the attempt's key and reference (or, for a gateway without a cancel call, its
   * status is read): only the provider's "nothing was charged and nothing will be" makes it
   * CANCELLED. The customer paid meanwhile: the charge is recorded (SUCCESS, or AUTHORIZED,
   * whose authorization is then voided → CANCELLED) and a SUCCESS answers `InvalidTransition`
   * (refund it instead). The provider still waits: `CheckoutNotCancelled`, nothing changed.
   */
  readonly cancelPayment: (
    request: CancelPaymentRequest
  ) => Effect.Effect<
    Payment.Payment,
    Common | InvalidTransition | GatewayNotFound | GatewayError | CircuitOpen | OperationPending | CheckoutNotCancelled
  >
  /**
   * Resends the capture or void whose answer was lost, with its own idempotency key, deciding
   * under the payment's lock from the payment as it is now. A payment with nothing pending is
   * returned unchanged: this never starts a new operation (recovery uses it, so a worker holding
   * an old copy of the payment cannot capture or void twice).
   */
  readonly resumeOperation: (
    paymentId: string
  ) => Effect.Effect<
    Payment.Payment,
    Common | InvalidTransition | CaptureExceedsAuthorized | GatewayNotFound | GatewayError | CircuitOpen
  >
  /**
   * Refunds part or all of a captured payment, idempotently per (payment, idempotency key).
   * Returns the refund: SUCCEEDED, FAILED (the gateway refused; nothing moved), or PENDING (the
   * gateway's answer was lost or was an error, so it may have moved; call again with the same
   * key, or leave it to the recovery worker).
   */
  readonly refundPayment: (
    request: Request.RefundPaymentRequest
  ) => Effect.Effect<
    Payment.Refund,
    | Common
    | InvalidTransition
    | RefundExceedsCaptured
    | RefundLimitReached
    | IdempotencyKeyReused
    | ValidationError
    | GatewayNotFound
  >
  /** The current tenant's payment; another tenant's is `PaymentNotFound`, as a missing one. */
  readonly getPayment: (paymentId: string) => Effect.Effect<Payment.Payment, PaymentNotFound | StorageError>
  /**
   * A customer's payments of the current tenant, newest first, a page at a time (a `tenantId`
   * naming another tenant: an empty page).
   */
  readonly getCustomerPayments: (
    request: CustomerPaymentsRequest
  ) => Effect.Effect<Page<Payment.Payment>, ValidationError | StorageError>
}>() {}

/**
 * Builds the service from its dependencies.
 *
 * @since 0.1.0
 */
export const make = (config: Config = {}) =>
  Effect.gen(function*() {
    const deps = yield* Dependencies.make(config)
    const core = Charge.make(deps)
    const settlement = Settlement.make(deps, core)
    const reads = Reads.make(deps)
    return PaymentService.of({
      createPayment: Create.createPayment(deps),
      createPaymentOutcome: Create.createPaymentOutcome(deps),
      processPayment: Process.processPayment(deps, core),
      completePayment: CustomerAction.completePayment(deps, core),
      capturePayment: settlement.capturePayment,
      cancelPayment: settlement.cancelPayment,
      resumeOperation: settlement.resumeOperation,
      refundPayment: Refunds.refundPayment(deps),
      getPayment: reads.getPayment,
      getCustomerPayments: reads.getCustomerPayments
    })
  })

/**
 * The payment service layer. For its lifetime it also runs the `afterProcess` hooks from the
 * committed terminal events on the `EventBus` (`Hooks.runAfterProcess`; nothing when no such hook
 * is installed).
 *
 * @since 0.1.0
 */
export const layer = (config: Config = {}) =>
  Layer.scoped(PaymentService, Effect.zipRight(runAfterProcess(), make(config)))


