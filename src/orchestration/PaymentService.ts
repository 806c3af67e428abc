/**
 * The public payment operations: `createPayment`, `processPayment`, `capturePayment`,
 * `cancelPayment`, `refundPayment`, `getPayment`, `getCustomerPayments`.
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
 * - **Unknown outcomes stay open.** A timeout after the request may have been applied leaves the
 *   payment PROCESSING with `requiresReconciliation`; calling `processPayment` again asks the
 *   gateway what happened.
 * - **Refunds never exceed captures.** A refund is reserved (committed as PENDING) before the
 *   gateway is asked, against captured minus succeeded and pending refunds.
 * - **Everything is recorded.** Every change is an event, written atomically with the snapshot;
 *   the storage layer delivers committed events to the `EventBus` (memory: at once; SQL: through
 *   the transactional outbox and `OutboxRelay`).
 *
 * @since 0.1.0
 */
import type { Duration, DateTime} from "effect";
import { Clock, Context, Effect, Either, Layer, Metric, Option, Schedule, Schema } from "effect"
import { Customer } from "../domain/Customer.js"
import { Ids } from "../domain/Ids.js"
import * as Money from "../domain/Money.js"
import * as Payment from "../domain/Payment.js"
import * as Commit from "../internal/orchestration/commit.js"
import {
  CaptureExceedsAuthorized,
  IdempotencyKeyReused,
  InvalidTransition,
  OperationPending,
  PaymentNotFound,
  type RefundExceedsCaptured,
  type RefundLimitReached,
  ValidationError,
  type VersionConflict
} from "../domain/PaymentError.js"
import { GatewayToken, isExpired, type PaymentMethodToken, pinnedGateway } from "../domain/PaymentMethod.js"
import { isStorable } from "../domain/Sanitize.js"
import * as Request from "../domain/PaymentRequest.js"
import * as Tenant from "../domain/Tenant.js"
import { CardVault } from "../gateway/CardVault.js"
import type {
  GatewayTransientError} from "../gateway/Gateway.js";
import {
  type Gateway,
  type GatewayError,
  type GatewayMisconfigured,
  supports
} from "../gateway/Gateway.js"
import { type GatewayNotFound, GatewayRegistry } from "../gateway/GatewayRegistry.js"
import { type CircuitOpen, CircuitBreakers } from "../resilience/CircuitBreaker.js"
import * as RetryPolicy from "../resilience/RetryPolicy.js"
import { Router } from "../routing/Router.js"
import type { LockUnavailable } from "../storage/LockManager.js"
import { orNotFound, PaymentLock } from "../storage/PaymentLock.js"
import { type Page, PaymentRepository } from "../storage/PaymentRepository.js"
import { fingerprint } from "../storage/Fingerprint.js"
import type { StorageError } from "../storage/StorageError.js"
import { NoGatewayAvailable } from "./Errors.js"
import * as GatewayCall from "./GatewayCall.js"
import { FraudRejected, type HookFailed, type HookRejected, Hooks, runAfterProcess } from "./Hooks.js"

const processedTotal = Metric.counter("aegispay_payments_processed_total", {
  description: "processPayment calls by the payment's state when the call returned"
})

/**
 * Settings of the payment service.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Retries of transient gateway errors (same idempotency key). */
  readonly retry?: RetryPolicy.RetrySettings | undefined
  /**
   * Longest wait for one gateway call; default 30 s. A money-moving call that times out is an
   * unknown outcome (it may have been applied); a read that times out is transient.
   */
  readonly callTimeout?: Duration.DurationInput | undefined
  /** Attempts (gateways) one payment may use, failovers included; default 3. */
  readonly maxAttempts?: number | undefined
  /** Decline codes after which the payment may fail over to another gateway; default none. */
  readonly failoverDeclineCodes?: ReadonlyArray<string> | undefined
}

/**
 * The former name of {@link Options}.
 *
 * @since 0.1.0
 * @deprecated use {@link Options}
 */
export type Config = Options

/**
 * The request of `getCustomerPayments`.
 *
 * @since 0.1.0
 */
export interface CustomerPaymentsRequest {
  readonly customerId: string
  /** Optional: the list is always the current tenant's; naming another tenant gives an empty page. */
  readonly tenantId?: string | undefined
  /** Page size, 1 to 100; default 20. */
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

/**
 * The request of `capturePayment`. Without `amount` the whole authorization is captured.
 *
 * @since 0.1.0
 */
export interface CapturePaymentRequest {
  readonly paymentId: string
  readonly amount?: typeof Money.AmountInput.Type | undefined
}

/**
 * The request of `cancelPayment`.
 *
 * @since 0.1.0
 */
export interface CancelPaymentRequest {
  readonly paymentId: string
  readonly reason?: string | undefined
}

/**
 * The decoded create request for the current `Tenant`: a request without `tenantId` is for the
 * current tenant; one naming another tenant is refused (`ValidationError` on `tenantId`), so a
 * request body can never choose a tenant other than the one its caller runs for.
 */
const forCurrentTenant = (explicit: string | undefined) => (input: Request.CreatePaymentInput) =>
  Effect.flatMap(Tenant.current, (tenantId): Effect.Effect<Request.CreatePaymentInput, ValidationError> => {
    if (explicit !== undefined) {
      return explicit === tenantId
        ? Effect.succeed(input)
        : Effect.fail(new ValidationError({ path: "tenantId", message: "tenantId differs from the tenant this operation runs for" }))
    }
    return Effect.map(Request.decode(TenantOnly, { tenantId }), () => ({ ...input, tenantId }))
  })

const TenantOnly = Schema.Struct({ tenantId: Request.TenantId })

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
  /** Cancels a payment not yet processed, or voids an authorization: → CANCELLED. */
  readonly cancelPayment: (
    request: CancelPaymentRequest
  ) => Effect.Effect<
    Payment.Payment,
    Common | InvalidTransition | GatewayNotFound | GatewayError | CircuitOpen | OperationPending
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
    const repository = yield* PaymentRepository
    const paymentLock = yield* PaymentLock
    const registry = yield* GatewayRegistry
    const vault = yield* CardVault
    const ids = yield* Ids
    const breakers = yield* CircuitBreakers
    const calls = yield* GatewayCall.make(config)
    const { moving, reading, withRetry } = calls
    const router = yield* Router
    const hooks = yield* Hooks
    const retrySchedule = RetryPolicy.schedule(config.retry ?? RetryPolicy.defaults)
    const maxAttempts = Math.max(1, config.maxAttempts ?? 3)
    const failoverDeclines = new Set(config.failoverDeclineCodes ?? [])

    const now = Commit.now

    /** `aegispay_payments_processed_total{state}`, built once per state. */
    const processedCounters = new Map<string, Metric.Metric.Counter<number>>()
    const processedCounter = (state: string) => {
      let counter = processedCounters.get(state)
      if (counter === undefined) processedCounters.set(state, counter = processedTotal.pipe(Metric.tagged("state", state)))
      return counter
    }

    /** The payment if it is the current tenant's; else the `PaymentNotFound` of a missing id. */
    const load = (paymentId: string) =>
      isStorable(paymentId)
        ? Effect.flatMap(repository.findById(paymentId), (found) => orNotFound(paymentId, found))
        : Effect.fail(new PaymentNotFound({ paymentId }))

    /**
     * Writes a decision guarded by the version it was made from. `last`: nothing else is written
     * and no gateway is called under the current payment lock after it (the storage may release
     * the lock with this write).
     */
    const commit = <E>(
      from: Payment.Payment,
      decide: (at: DateTime.Utc) => Either.Either<Payment.Decision, E>,
      last = false
    ) => Commit.commit(repository, from, decide, last)
    const commitLast = <E>(from: Payment.Payment, decide: (at: DateTime.Utc) => Either.Either<Payment.Decision, E>) =>
      commit(from, decide, true)

    /**
     * The gateways that may take this payment, best first: the required gateway alone if there
     * is one (`Payment.requiredGateway`: the gateway a gateway token is pinned to, or the one the
     * request named; `GatewayNotFound` when it is not registered), else every gateway of the
     * payment's tenant (`GatewayRegistry.forTenant`) that supports the currency and capture method; without those whose circuit would refuse the
     * call and those already tried for this payment, ordered by the `Router`. A payment with a
     * required gateway therefore never fails over: once that gateway was tried the list is empty.
     */
    const candidates = (payment: Payment.Payment) =>
      Effect.gen(function*() {
        const criteria = { currency: payment.amount.currency, manualCapture: payment.captureMethod === "manual" }
        const tried = new Set(payment.attempts.map((a) => a.gateway))
        const required = Payment.requiredGateway(payment)
        const gateways = registry.forTenant(payment.tenantId)
        const pool = required !== undefined ? [yield* gateways.get(required)] : yield* gateways.all
        const usable: Array<Gateway> = []
        for (const gateway of pool) {
          if (!supports(gateway, criteria) || tried.has(gateway.id)) continue
          if (!(yield* (yield* breakers.get(gateway.id)).permits)) continue
          usable.push(gateway)
        }
        // a required gateway is honoured as is; otherwise the routing strategy orders them
        const ranked = required !== undefined ? usable : yield* router.rank(payment, usable)
        // beforeRoute hooks may reorder or drop candidates, never add one
        const ids = yield* hooks.beforeRoute(payment, ranked.map((g) => g.id))
        return ids.flatMap((id) => ranked.filter((g) => g.id === id))
      })

    const noGateway = (payment: Payment.Payment) => {
      const pinned = pinnedGateway(payment.paymentMethod)
      const required = Payment.requiredGateway(payment)
      return new NoGatewayAvailable({
        paymentId: payment.id,
        reason: pinned !== undefined
          ? `the payment method is a token of ${pinned}, which cannot take this payment now (currency, capture method, open circuit or already tried); it is valid at no other gateway`
          : required !== undefined
          ? `${required} cannot take this payment now`
          : `no gateway with a closed circuit accepts ${payment.amount.currency}${
            payment.captureMethod === "manual" ? " with manual capture" : ""
          }`
      })
    }

    const selectGateway = (payment: Payment.Payment) =>
      Effect.flatMap(candidates(payment), (list) =>
        list[0] === undefined ? Effect.fail(noGateway(payment)) : Effect.succeed(list[0]))

    /**
     * Sends the current attempt's charge. Transient errors are retried with the same key; when
     * they outlive the retries, or the circuit is open, or the gateway is misconfigured, or it
     * declines with a code configured for failover, the payment fails over to the next candidate
     * as a new attempt (new id, new key). An unknown outcome never fails over. Its final write is
     * the last one under the payment lock (`commitLast`): every caller returns its result at once.
     *
     * `possiblySent`: a request for this attempt may already have left the process before this
     * call (it was found PROCESSING: an earlier send was interrupted, crashed or lost its answer),
     * so its gateway may still apply it, even after answering `not_found` to a status check. An
     * attempt is possibly sent from the moment a request for it may have left the process (a call
     * refused by the open circuit never left) until its gateway answers it definitely; one that
     * fails over (or fails) while possibly sent is marked `needsStatusCheck`, so the recovery
     * worker asks its gateway once more and compensation returns a late charge.
     */
    const charge = (gateway: Gateway, payment: Payment.Payment, possiblySent = false): Effect.Effect<
      Payment.Payment,
      VersionConflict | InvalidTransition | LockUnavailable | StorageError | GatewayNotFound | HookFailed
    > =>
      Effect.gen(function*() {
        const attempt = payment.currentAttempt
        if (attempt === undefined) return yield* Effect.dieMessage("charge without an attempt")
        const driver = yield* Schedule.driver(retrySchedule)
        let current = payment
        const request = {
          paymentId: payment.id,
          tenantId: payment.tenantId,
          idempotencyKey: attempt.idempotencyKey,
          amount: payment.amount,
          paymentMethod: payment.paymentMethod,
          capture: payment.captureMethod === "automatic",
          description: payment.description
        }
        /**
         * Whether a request of the current attempt may have left the process without a definite
         * answer: it was possibly sent before this call, or a call of ours ended in a transient
         * error (it may have been applied).
         */
        let mayHaveApplied = possiblySent
        /**
         * Fails over to the next candidate, or fails the payment when there is none. An attempt
         * whose outcome was ever unknown does neither: the gateway may still apply it, so the
         * payment stays PROCESSING for reconciliation.
         */
        const next = (reason: string, declineCode?: string) =>
          Effect.gen(function*() {
            const from = current
            if (from.currentAttempt?.uncertain === true) {
              return yield* commitLast(from, (at) => Payment.outcomeUnknown(from, reason, at))
            }
            const others = from.attempts.length < maxAttempts ? yield* candidates(from) : []
            const target = others[0]
            if (target === undefined) {
              return yield* commitLast(from, (at) => Payment.fail(from, reason, declineCode, at, mayHaveApplied))
            }
            const attemptId = yield* ids.next("att")
            const moved = yield* commit(from, (at) =>
              Payment.failover(from, reason, {
                id: attemptId,
                gateway: target.id,
                idempotencyKey: `${from.id}_${attemptId}`
              }, at, mayHaveApplied))
            return yield* charge(target, moved)
          })
        while (true) {
          const result = yield* moving(
            gateway,
            "process",
            Effect.zipRight(gateway.initiate(request), gateway.process(request))
          ).pipe(Effect.either)
          // the router learns from every charge the gateway answered (a circuit refusal is no call)
          if (Either.isRight(result) || result.left._tag !== "CircuitOpen") {
            yield* router.observe(
              current,
              gateway.id,
              Either.isRight(result) ? "approved" : result.left._tag === "GatewayDeclined" ? "declined" : "error"
            )
          }
          if (Either.isRight(result)) {
            const { status, transactionId } = result.right
            return yield* commitLast(current, (at) =>
              status === "succeeded"
                ? Payment.succeed(current, transactionId, at)
                : Payment.authorize(current, transactionId, at))
          }
          const error = result.left
          switch (error._tag) {
            case "GatewayDeclined":
              return failoverDeclines.has(error.code) && current.currentAttempt?.uncertain !== true
                ? yield* next(error.reason, error.code)
                : yield* commitLast(current, (at) => Payment.fail(current, error.reason, error.code, at))
            case "GatewayUnknownOutcome":
              return yield* commitLast(current, (at) => Payment.outcomeUnknown(current, error.reason, at))
            case "GatewayMisconfigured":
              return yield* next(`gateway misconfigured: ${error.reason}`)
            case "CircuitOpen":
              return yield* next(`circuit of ${error.gateway} is open`)
            case "GatewayTransientError": {
              mayHaveApplied = true
              const retry = yield* Effect.either(driver.next(error))
              if (Either.isLeft(retry)) return yield* next(`gateway unavailable: ${error.reason}`)
              const before = current
              current = yield* commit(before, (at) => Payment.recordRetry(before, error.reason, at))
            }
          }
        }
      })

    /** Resolves a payment found in PROCESSING from the gateway's own status. */
    const reconcile = (payment: Payment.Payment, gateway: Gateway, attempt: Payment.Attempt) =>
      Effect.gen(function*() {
        // Asked even when the circuit is open: reconciliation must be able to learn the truth.
        const status = yield* calls.status(gateway, attempt.idempotencyKey)
        const reconciled = yield* commit(payment, (at) => Payment.reconciled(payment, status.status, at))
        switch (status.status) {
          case "succeeded":
            return yield* commit(reconciled, (at) => Payment.succeed(reconciled, status.transactionId, at))
          case "authorized":
            return yield* commit(reconciled, (at) => Payment.authorize(reconciled, status.transactionId, at))
          case "failed":
            return yield* commit(reconciled, (at) => Payment.fail(reconciled, status.reason, status.code, at))
          case "not_found":
            // The gateway has not recorded the request: sending it now, with the same key, is
            // safe. An earlier send may still be on its way (an interrupted caller, a crash), so
            // the attempt stays possibly sent: if it fails over, its gateway is asked again later.
            return yield* charge(gateway, reconciled, true)
        }
      })

    /**
     * Commits `before` (if any) and a new attempt with its stable gateway idempotency key in one
     * write, then sends the charge.
     */
    const startAttempt = <E>(
      payment: Payment.Payment,
      gateway: Gateway,
      before: (payment: Payment.Payment, at: DateTime.Utc) => Either.Either<Payment.Decision, E>
    ) =>
      Effect.gen(function*() {
        const attemptId = yield* ids.next("att")
        const started = yield* commit(payment, (at) =>
          Either.flatMap(before(payment, at), (first) =>
            Payment.andThen(first, (current) =>
              Payment.startAttempt(current, {
                id: attemptId,
                gateway: gateway.id,
                idempotencyKey: `${payment.id}_${attemptId}`
              }, at))))
        return yield* charge(gateway, started)
      })

    const createPayment = Effect.fn("PaymentService.createPayment")(function*(raw: Request.CreatePaymentRequest) {
      // decoded first: `raw` is only read once it is known to be a well-formed request
      const input = yield* Effect.flatMap(
        Request.decode(Request.CreatePaymentRequest, raw),
        (decoded) => forCurrentTenant(raw.tenantId)(decoded)
      )
      const amount = yield* Money.fromInput(input.amount, input.currency).pipe(
        Effect.mapError((e) => new ValidationError({ path: "amount", message: e.message }))
      )
      if (!Money.isPositive(amount)) {
        return yield* new ValidationError({ path: "amount", message: "amount must be greater than zero" })
      }
      const method = input.paymentMethod
      if (method.type === "card") {
        const millis = yield* Clock.currentTimeMillis
        if (isExpired(method, millis)) {
          return yield* new ValidationError({ path: "paymentMethod.expiryYear", message: "the card has expired" })
        }
      } else if (input.gateway !== undefined && input.gateway !== method.gateway) {
        // a gateway token is valid only at its gateway: a payment cannot be sent anywhere else
        return yield* new ValidationError({
          path: "gateway",
          message: "gateway must be the gateway of the payment method's token (paymentMethod.gateway), or be left out"
        })
      }
      yield* hooks.beforeCreate(input)
      // the vault is called for cards only: a gateway token is the provider's, kept as it is
      const token: PaymentMethodToken = method.type === "card"
        ? yield* vault.tokenize(method, input.tenantId)
        : new GatewayToken({ type: "gateway_token", gateway: method.gateway, token: method.token }, true)
      const requestFingerprint = fingerprint({
        tenantId: input.tenantId,
        amount: { currency: amount.currency, minor: amount.minor },
        captureMethod: input.captureMethod,
        // a card's part is unchanged since before gateway tokens, so earlier payments still replay
        paymentMethod: token.type === "card"
          ? { fingerprint: token.fingerprint, expiryMonth: token.expiryMonth, expiryYear: token.expiryYear, holderName: token.holderName }
          : { type: token.type, gateway: token.gateway, token: token.token },
        customer: input.customer,
        metadata: input.metadata,
        description: input.description,
        gateway: input.gateway
      })
      const replay = (existing: Payment.Payment) =>
        existing.requestFingerprint === requestFingerprint
          ? Effect.succeed(existing)
          : Effect.fail(
            new IdempotencyKeyReused({ tenantId: input.tenantId, idempotencyKey: input.idempotencyKey, existingId: existing.id })
          )
      // No read first: the unique (tenant, idempotency key) insert decides; a loser reads the winner.
      const decision = Payment.initiate(
        {
          id: yield* ids.next("pay"),
          tenantId: input.tenantId,
          idempotencyKey: input.idempotencyKey,
          requestFingerprint,
          amount,
          captureMethod: input.captureMethod,
          paymentMethod: token,
          customer: new Customer(input.customer, true),
          metadata: input.metadata,
          description: input.description,
          gatewayPreference: input.gateway
        },
        yield* now
      )
      return yield* repository.insert(decision).pipe(
        Effect.as(decision.payment),
        Effect.catchTag("DuplicateIdempotencyKey", () =>
          // Lost a race with an identical (or conflicting) create: answer as the winner did.
          repository.findByIdempotencyKey(input.tenantId, input.idempotencyKey).pipe(
            Effect.flatMap(Option.match({
              onNone: () => Effect.dieMessage("idempotency key vanished after a duplicate insert"),
              onSome: replay
            }))
          ))
      )
    })

    const processPayment = Effect.fn("PaymentService.processPayment")(function*(paymentId: string) {
      const processed = yield* paymentLock.withPayment(
        paymentId,
        (payment) => Effect.gen(function*() {
          yield* Effect.annotateCurrentSpan("paymentId", paymentId)
          if (payment.state === "INITIATED") {
            const fraud = yield* hooks.fraudCheck(payment)
            if (fraud !== undefined) {
              const reason = fraud.verdict.reason ?? "rejected by fraud check"
              yield* commit(payment, (at) => Payment.fail(payment, `fraud check ${fraud.hook}: ${reason}`, "fraud_rejected", at))
              return yield* new FraudRejected({ paymentId, hook: fraud.hook, score: fraud.verdict.score, reason })
            }
            // Authenticate with the first candidate that answers; nothing moves money yet, so a
            // gateway that is down is simply skipped. Its failures count for its circuit.
            const options = yield* candidates(payment)
            if (options.length === 0) return yield* noGateway(payment)
            let lastError: GatewayTransientError | GatewayMisconfigured | CircuitOpen | undefined
            for (const gateway of options) {
              const authenticated = yield* Effect.either(withRetry(reading(
                gateway,
                "authenticate",
                gateway.authenticate({ paymentId, tenantId: payment.tenantId, amount: payment.amount, paymentMethod: payment.paymentMethod })
              )))
              if (Either.isRight(authenticated)) {
                // AUTHENTICATED and the new attempt (PROCESSING) commit together, before any money moves.
                return yield* startAttempt(payment, gateway, (current, at) => Payment.authenticate(current, gateway.id, at))
              }
              const error = authenticated.left
              if (error._tag === "GatewayDeclined") {
                return yield* commit(payment, (at) =>
                  Payment.fail(payment, `authentication failed: ${error.reason}`, error.code, at))
              }
              lastError = error
            }
            return yield* lastError ?? noGateway(payment)
          }
          if (payment.state === "AUTHENTICATED") {
            const gateway = yield* payment.gateway === undefined
              ? selectGateway(payment)
              : registry.forTenant(payment.tenantId).get(payment.gateway)
            return yield* startAttempt(payment, gateway, (current) => Either.right({ payment: current, events: [] }))
          }
          const attempt = payment.currentAttempt
          if (payment.state === "PROCESSING" && attempt !== undefined) {
            // Found in PROCESSING: a previous call crashed, timed out or is unresolved. Ask first.
            return yield* reconcile(payment, yield* registry.forTenant(payment.tenantId).get(attempt.gateway), attempt)
          }
          return yield* new InvalidTransition({ paymentId, from: payment.state, to: "PROCESSING" })
        })
      )
      processedCounter(processed.state).unsafeUpdate(1, [])
      // afterProcess hooks run from the committed terminal event (Hooks.runAfterProcess), never here
      return processed
    })

    /** The gateway, attempt and transaction of a payment that holds money (AUTHORIZED or SUCCESS). */
    const chargedAt = (payment: Payment.Payment) =>
      Effect.gen(function*() {
        const attempt = payment.currentAttempt
        const transactionId = payment.gatewayTransactionId
        if (attempt === undefined || transactionId === undefined) {
          return yield* Effect.dieMessage(`payment ${payment.id} holds money without an attempt`)
        }
        return { attempt, transactionId, gateway: yield* registry.forTenant(payment.tenantId).get(attempt.gateway) }
      })

    /**
     * Sends the pending capture or void (committed before this call) and settles it on a
     * definite answer: success captures or cancels, a decline or misconfiguration ends the
     * operation (the authorization stays). Anything else leaves it pending: calling again
     * resends the same operation with the same key.
     */
    const sendOperation = (payment: Payment.Payment, pending: Payment.PendingOperation, reason: string) =>
      Effect.gen(function*() {
        const { gateway, transactionId } = yield* chargedAt(payment)
        const result = yield* Effect.either(withRetry(
          pending.operation === "capture"
            ? Effect.asVoid(moving(gateway, "capture", gateway.capture({
              transactionId,
              idempotencyKey: pending.idempotencyKey,
              amount: pending.amount
            })))
            : moving(gateway, "void", gateway.void({ transactionId, idempotencyKey: pending.idempotencyKey }))
        ))
        if (Either.isRight(result)) {
          return yield* commit(payment, (at) =>
            pending.operation === "capture"
              ? Payment.capture(payment, pending.amount, at)
              : Payment.cancel(payment, reason, at))
        }
        const error = result.left
        if (error._tag === "GatewayDeclined" || error._tag === "GatewayMisconfigured") {
          yield* commit(payment, (at) => Payment.operationFailed(payment, error.message, at))
        }
        return yield* error
      })

    /** Commits a new capture or void, then sends it. */
    const startOperation = (payment: Payment.Payment, operation: "capture" | "void", amount: Money.Money, reason: string) =>
      Effect.gen(function*() {
        const opId = yield* ids.next("op")
        const requested = yield* commit(payment, (at) =>
          Payment.requestOperation(payment, operation, amount, `${payment.id}_${opId}_${operation}`, at))
        const pending = requested.pendingOperation
        if (pending === undefined) return yield* Effect.dieMessage("operation missing after commit")
        return yield* sendOperation(requested, pending, reason)
      })

    const capturePayment = Effect.fn("PaymentService.capturePayment")(function*(request: CapturePaymentRequest) {
      return yield* paymentLock.withPayment(
        request.paymentId,
        (payment) => Effect.gen(function*() {
          const amount = request.amount === undefined
            ? undefined
            : yield* Money.fromInput(request.amount, payment.amount.currency).pipe(
              Effect.mapError((e) => new ValidationError({ path: "amount", message: e.message })),
              Effect.flatMap((asked) => Payment.checkAmount(payment, asked))
            )
          const pending = payment.pendingOperation
          if (pending !== undefined) {
            // an earlier capture's answer was lost: resend exactly it; anything else must wait
            if (pending.operation !== "capture" || (amount !== undefined && !Money.equals(amount, pending.amount))) {
              return yield* new OperationPending({ paymentId: payment.id, operation: pending.operation, amount: pending.amount })
            }
            return yield* sendOperation(payment, pending, "")
          }
          return yield* startOperation(payment, "capture", amount ?? payment.authorizedAmount, "")
        })
      )
    })

    /** A void has no amount to exceed: that error cannot happen on this path. */
    const voidCannotExceed = <A, E, R>(self: Effect.Effect<A, E | CaptureExceedsAuthorized, R>) =>
      Effect.catchIf(
        self,
        (e): e is CaptureExceedsAuthorized => e instanceof CaptureExceedsAuthorized,
        () => Effect.dieMessage("a void cannot exceed the authorization")
      )

    const cancelPayment = Effect.fn("PaymentService.cancelPayment")(function*(request: CancelPaymentRequest) {
      return yield* paymentLock.withPayment(
        request.paymentId,
        (payment) => Effect.gen(function*() {
          const reason = request.reason ?? "cancelled by merchant"
          if (payment.state !== "AUTHORIZED") {
            // nothing held at a gateway: INITIATED / AUTHENTICATED cancel at once, others refuse
            return yield* commit(payment, (at) => Payment.cancel(payment, reason, at))
          }
          const pending = payment.pendingOperation
          if (pending !== undefined) {
            if (pending.operation !== "void") {
              return yield* new OperationPending({ paymentId: payment.id, operation: pending.operation, amount: pending.amount })
            }
            return yield* sendOperation(payment, pending, reason).pipe(voidCannotExceed)
          }
          return yield* startOperation(payment, "void", payment.authorizedAmount, reason).pipe(voidCannotExceed)
        })
      )
    })

    const resumeOperation = Effect.fn("PaymentService.resumeOperation")(function*(paymentId: string) {
      return yield* paymentLock.withPayment(paymentId, (payment) => {
        const pending = payment.pendingOperation
        return pending === undefined
          ? Effect.succeed(payment)
          : sendOperation(payment, pending, pending.operation === "void" ? "void resumed after a lost answer" : "")
      })
    })

    /**
     * Asks the gateway to refund. A first call settles the refund on success or a refusal (a
     * decline or misconfiguration); a transient error, an unknown outcome or an open circuit
     * leaves it PENDING, since a gateway may answer with an error after applying it. A
     * resumed call (the refund was already PENDING: an earlier answer was lost, so the gateway
     * may have applied it) settles it only on success; a decline sends it to MANUAL_REVIEW (it
     * may mean "already refunded"), anything else leaves it PENDING. Its reservation holds
     * until then, so no other refund can take the same money.
     */
    const sendRefund = (payment: Payment.Payment, refund: Payment.Refund, resumed: boolean) =>
      Effect.gen(function*() {
        const { gateway, transactionId } = yield* chargedAt(payment)
        const result = yield* Effect.either(withRetry(moving(gateway, "refund", gateway.refund({
          transactionId,
          idempotencyKey: refund.gatewayIdempotencyKey,
          amount: refund.amount
        }))))
        if (Either.isLeft(result)) {
          const error = result.left
          // Only a refusal is definite: a transient error may follow a refund the gateway applied
          // (a "500" after the work was done), and an open circuit may stop a retry of such a call.
          const definite = error._tag === "GatewayDeclined" || error._tag === "GatewayMisconfigured"
          if (!definite || (resumed && error._tag !== "GatewayDeclined")) {
            return refund // stays PENDING: asking again with the same key resolves it
          }
        }
        const updated = yield* commit(payment, (at) =>
          Either.right(
            Either.isRight(result)
              ? Payment.refundSucceeded(payment, refund.id, result.right.refundId, at)
              : resumed
              ? Payment.refundNeedsReview(payment, refund.id, `gateway declined a resumed refund: ${result.left.message}`, at)
              : Payment.refundFailed(payment, refund.id, result.left.message, at)
          ))
        const final = updated.refunds.find((r) => r.id === refund.id)
        return final ?? refund
      })

    const refundPayment = Effect.fn("PaymentService.refundPayment")(function*(raw: Request.RefundPaymentRequest) {
      const request = yield* Request.decode(Request.RefundPaymentRequest, raw)
      return yield* paymentLock.withPayment(
        request.paymentId,
        (payment) => Effect.gen(function*() {
          const amount = request.amount === undefined
            ? Option.none()
            : Option.some(
              yield* Money.fromInput(request.amount, payment.amount.currency).pipe(
                Effect.mapError((e) => new ValidationError({ path: "amount", message: e.message }))
              )
            )
          const existing = Payment.findRefundByKey(payment, request.idempotencyKey)
          if (Option.isSome(existing)) {
            const refund = existing.value
            if (Option.isSome(amount) && !Money.equals(amount.value, refund.amount)) {
              return yield* new IdempotencyKeyReused({
                tenantId: payment.tenantId,
                idempotencyKey: request.idempotencyKey,
                existingId: refund.id
              })
            }
            return refund.state === "PENDING" ? yield* sendRefund(payment, refund, true) : refund
          }
          const refundId = yield* ids.next("re")
          const updated = yield* commit(payment, (at) =>
            Payment.requestRefund(payment, {
              id: refundId,
              amount: Option.getOrUndefined(amount),
              idempotencyKey: request.idempotencyKey,
              gatewayIdempotencyKey: `${payment.id}_${refundId}`,
              reason: request.reason
            }, at))
          const refund = updated.refunds.find((r) => r.id === refundId)
          if (refund === undefined) return yield* Effect.dieMessage("refund missing after commit")
          return yield* sendRefund(updated, refund, false)
        })
      )
    })

    const getPayment = Effect.fn("PaymentService.getPayment")(function*(paymentId: string) {
      return yield* load(paymentId)
    })

    const getCustomerPayments = Effect.fn("PaymentService.getCustomerPayments")(
      function*(request: CustomerPaymentsRequest) {
        const limit = request.limit ?? 20
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
          return yield* new ValidationError({ path: "limit", message: "limit must be an integer from 1 to 100" })
        }
        const tenantId = yield* Tenant.current
        // another tenant's list looks, from here, like a customer without payments
        if (request.tenantId !== undefined && request.tenantId !== tenantId) return { items: [] }
        return yield* repository.findByCustomer(tenantId, request.customerId, {
          limit,
          cursor: request.cursor
        })
      }
    )

    return PaymentService.of({
      createPayment,
      processPayment,
      capturePayment,
      cancelPayment,
      resumeOperation,
      refundPayment,
      getPayment,
      getCustomerPayments
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

