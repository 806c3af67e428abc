/**
 * The charge/reconcile core of `PaymentService`: the ordering that prevents double charges.
 *
 * @internal
 */
import { type Duration, DateTime, Effect, Either, Schedule } from "effect"
import * as Payment from "../../domain/Payment.js"
import * as Commit from "./commit.js"
import type { InvalidTransition, VersionConflict } from "../../domain/PaymentError.js"
import { pinnedGateway } from "../../domain/PaymentMethod.js"
import type { CheckoutDetails, Gateway, GatewayError, ProcessResult, StatusResult } from "../../gateway/Gateway.js"
import { supports } from "../../gateway/Gateway.js"
import type { GatewayNotFound } from "../../gateway/GatewayRegistry.js"
import type { LockUnavailable } from "../../storage/LockManager.js"
import type { StorageError } from "../../storage/StorageError.js"
import { NoGatewayAvailable } from "../../orchestration/Errors.js"
import type { HookFailed } from "../../orchestration/Hooks.js"
import type { Dependencies } from "./dependencies.js"

/**
 * The no-double-charge core, built on the shared dependencies: `candidates` (gateways that may take
 * a payment, best first), `charge` (sends the committed attempt's charge: retries with the same
 * key, failover, unknown outcomes), `reconcile` (a payment found PROCESSING is settled from the
 * gateway's status before anything is sent again) and `startAttempt` (the attempt and its key
 * committed before any money moves).
 */
export const make = (deps: Dependencies) => {
  const { registry, ids, breakers, calls, router, hooks, retrySchedule, maxAttempts, failoverDeclines } = deps
  const { moving, reading } = deps.calls
  const { commit, commitLast } = Commit.committer(deps.repository)

  /** Whether the gateway finds attempts by the provider's reference (recorded before `process`). */
  const byReference = (gateway: Gateway) => gateway.capabilities.statusLookup === "reference"

  /** What the provider needs besides the amount: the payment's checkout fields, its metadata as custom parameters. */
  const checkoutOf = (payment: Payment.Payment): CheckoutDetails => {
    const info = payment.checkout
    const customParams: Record<string, string> = {}
    for (const [key, value] of Object.entries(payment.metadata)) customParams[key] = String(value)
    return {
      ...(info?.returnUrl === undefined ? {} : { returnUrl: info.returnUrl }),
      ...(info?.cancelUrl === undefined ? {} : { cancelUrl: info.cancelUrl }),
      ...(info?.lineItems === undefined ? {} : { lineItems: info.lineItems }),
      ...(info?.allowPending === undefined ? {} : { allowPending: info.allowPending }),
      ...(info?.externalReference === undefined ? {} : { externalReference: info.externalReference }),
      customParams
    }
  }

  /**
   * The decision a gateway's answer about the attempt in flight (of `process`, `complete`, or a
   * status or cancel call) makes: charged → SUCCESS or AUTHORIZED (with the provider's reference
   * when it gave one); waiting for the customer → ACTION_REQUIRED until the gateway's expiry, or
   * the expiry already set, or `customerActionTimeout` from now; pending at the provider →
   * provider-pending (PROCESSING, or ACTION_REQUIRED when the customer finished), until the
   * expiry already set or `providerPendingTimeout` from now. `failed` and `not_found` are not
   * answered here (see `reconcile`).
   */
  const settleWith = (
    payment: Payment.Payment,
    answer: ProcessResult | Exclude<StatusResult, { readonly status: "failed" | "not_found" }>,
    at: DateTime.Utc
  ): Either.Either<Payment.Decision, InvalidTransition> => {
    switch (answer.status) {
      case "succeeded":
      case "authorized": {
        const reference = "reference" in answer ? answer.reference : undefined
        const first = reference === undefined
          ? Either.right<Payment.Decision>({ payment, events: [] })
          : Payment.recordReference(payment, reference, at)
        return Either.flatMap(first, (recorded) =>
          Payment.andThen(recorded, (current) =>
            answer.status === "succeeded"
              ? Payment.succeed(current, answer.transactionId, at)
              : Payment.authorize(current, answer.transactionId, at)))
      }
      case "action_required":
        return Payment.requireAction(payment, {
          reference: answer.reference,
          action: answer.action,
          expiresAt: answer.expiresAt ??
            (payment.state === "ACTION_REQUIRED" && payment.actionExpiresAt !== undefined
              ? payment.actionExpiresAt
              : DateTime.add(at, { millis: deps.customerActionTimeoutMillis }))
        }, at)
      case "pending":
        return Payment.pendingAtProvider(payment, {
          reference: answer.reference,
          reason: answer.reason,
          expiresAt: payment.providerPending === true && payment.actionExpiresAt !== undefined
            ? payment.actionExpiresAt
            : DateTime.add(at, { millis: deps.providerPendingTimeoutMillis })
        }, at)
    }
  }

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
      const criteria = {
        currency: payment.amount.currency,
        manualCapture: payment.captureMethod === "manual",
        // only gateways able to take the payment's method: a card, a gateway token or a checkout
        paymentMethod: payment.paymentMethod.type
      }
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
        ? `${required} cannot take this payment now (currency, capture method, payment method ${payment.paymentMethod.type}, open circuit or already tried)`
        : `no gateway with a closed circuit accepts ${payment.amount.currency}${
          payment.captureMethod === "manual" ? " with manual capture" : ""
        } and the payment method ${payment.paymentMethod.type}`
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
      // the retry schedule's state for this charge, made at its first transient error (most charges have none)
      let driver: Schedule.ScheduleDriver<Duration.Duration, GatewayError, never> | undefined
      const retryAfter = (error: GatewayError) =>
        Effect.either(Effect.suspend(() =>
          driver === undefined
            ? Effect.flatMap(Schedule.driver(retrySchedule), (made) => {
              driver = made
              return made.next(error)
            })
            : driver.next(error)
        ))
      let current = payment
      const request = {
        paymentId: payment.id,
        tenantId: payment.tenantId,
        idempotencyKey: attempt.idempotencyKey,
        amount: payment.amount,
        paymentMethod: payment.paymentMethod,
        capture: payment.captureMethod === "automatic",
        description: payment.description,
        checkout: checkoutOf(payment)
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
        let reference = current.currentAttempt?.reference
        if (reference === undefined && byReference(gateway)) {
          // A gateway that finds attempts by its own reference: `initiate` (no money moves,
          // idempotent by the key) and the reference committed on its own, before `process`, so
          // every later status, complete or cancel of the attempt can find it. A crash before
          // this commit re-initiates with the same key and gets the same reference.
          const initiated = yield* reading(gateway, "initiate", gateway.initiate(request)).pipe(Effect.either)
          if (Either.isLeft(initiated)) {
            const error = initiated.left
            switch (error._tag) {
              case "CircuitOpen":
                return yield* next(`circuit of ${error.gateway} is open`)
              case "GatewayMisconfigured":
                return yield* next(`gateway misconfigured: ${error.reason}`)
              case "GatewayTransientError": {
                const retry = yield* retryAfter(error)
                if (Either.isLeft(retry)) return yield* next(`gateway unavailable: ${error.reason}`)
                const before = current
                current = yield* commit(before, (at) => Payment.recordRetry(before, error.reason, at))
                continue
              }
            }
          }
          const before = current
          reference = initiated.right.reference
          current = yield* commit(before, (at) => Payment.recordReference(before, initiated.right.reference, at))
        }
        const result = yield* moving(
          gateway,
          "process",
          reference !== undefined
            ? gateway.process({ ...request, reference })
            : Effect.zipRight(gateway.initiate(request), gateway.process(request))
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
          const answer = result.right
          // charged, waiting for the customer (ACTION_REQUIRED) or pending at the provider
          const from = current
          return yield* commitLast(from, (at) => settleWith(from, answer, at))
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
            const retry = yield* retryAfter(error)
            if (Either.isLeft(retry)) return yield* next(`gateway unavailable: ${error.reason}`)
            const before = current
            current = yield* commit(before, (at) => Payment.recordRetry(before, error.reason, at))
          }
        }
      }
    })

  /**
   * Cancels a waiting payment's checkout at the provider (past its expiry) and answers what the
   * provider says now; when the cancel call fails or the gateway has no customer-action calls,
   * the provider's status instead (a late charge must still be found).
   */
  const cancelOrStatus = (payment: Payment.Payment, gateway: Gateway, attempt: Payment.Attempt) =>
    Effect.gen(function*() {
      const cancel = gateway.customerAction?.cancel
      const reference = attempt.reference
      if (cancel !== undefined && reference !== undefined) {
        const cancelled = yield* reading(
          gateway,
          "cancel",
          cancel({ paymentId: payment.id, tenantId: payment.tenantId, idempotencyKey: attempt.idempotencyKey, reference })
        ).pipe(Effect.either)
        if (Either.isRight(cancelled)) return cancelled.right
        yield* Effect.logWarning("cancel of an expired payment failed: asking its status").pipe(
          Effect.annotateLogs({ paymentId: payment.id, gateway: gateway.id, error: cancelled.left._tag })
        )
      }
      return yield* calls.status(gateway, attempt.idempotencyKey, reference)
    })

  /**
   * Resolves a payment found in flight (PROCESSING, or waiting: ACTION_REQUIRED or
   * provider-pending) from the gateway's own answer: its status, or, for a waiting payment past
   * its expiry, its answer to a cancel (see `CustomerActionOperations.cancel`).
   *
   * - charged → SUCCESS or AUTHORIZED, whatever the payment was waiting for (a late 3-D Secure
   *   success is the payment's charge);
   * - `failed` → FAILURE (a definite "nothing was charged and nothing will be");
   * - `not_found` → sent again with the same key (PROCESSING), or, for a waiting payment, FAILURE
   *   past its expiry (the provider cancelled and never charged) and no change before it;
   * - still waiting (`action_required`, `pending`) → the payment keeps (or moves to) that wait;
   *   past its expiry it is asked again on the next call or recovery round.
   *
   * Nothing is written when nothing changed, so polling a waiting payment adds no events.
   */
  const reconcile = (payment: Payment.Payment, gateway: Gateway, attempt: Payment.Attempt) =>
    Effect.gen(function*() {
      const now = yield* Commit.now
      const expired = payment.waiting && payment.actionExpiresAt !== undefined &&
        DateTime.lessThanOrEqualTo(payment.actionExpiresAt, now)
      // Asked even when the circuit is open: reconciliation must be able to learn the truth.
      const status = expired
        ? yield* cancelOrStatus(payment, gateway, attempt)
        : yield* calls.status(gateway, attempt.idempotencyKey, attempt.reference)
      const recorded = (at: DateTime.Utc) => Payment.reconciled(payment, status.status, at)
      switch (status.status) {
        case "action_required":
          if (payment.state === "ACTION_REQUIRED" && payment.providerPending !== true && !payment.requiresReconciliation) return payment
          return yield* commit(payment, (at) =>
            Either.flatMap(recorded(at), (first) => Payment.andThen(first, (current) => settleWith(current, status, at))))
        case "pending":
          if (payment.providerPending === true && !payment.requiresReconciliation) return payment
          return yield* commit(payment, (at) =>
            Either.flatMap(recorded(at), (first) => Payment.andThen(first, (current) => settleWith(current, status, at))))
        case "succeeded":
        case "authorized":
          return yield* commit(payment, (at) =>
            Either.flatMap(recorded(at), (first) => Payment.andThen(first, (current) => settleWith(current, status, at))))
        case "failed": {
          const reason = expired ? `expired: ${status.reason}` : status.reason
          return yield* commit(payment, (at) =>
            Either.flatMap(recorded(at), (first) => Payment.andThen(first, (current) => Payment.fail(current, reason, status.code, at))))
        }
        case "not_found": {
          if (payment.waiting) {
            // The provider gave a reference and now does not know it: only the cancel past the
            // expiry is taken as definite ("cancelled, nothing charged"); before it, wait.
            if (!expired) return payment
            return yield* commit(payment, (at) =>
              Either.flatMap(recorded(at), (first) =>
                Payment.andThen(first, (current) => Payment.fail(current, "expired: the provider has no such payment", "expired", at))))
          }
          const reconciled = yield* commit(payment, recorded)
          // The gateway has not recorded the request: sending it now, with the same key, is
          // safe. An earlier send may still be on its way (an interrupted caller, a crash), so
          // the attempt stays possibly sent: if it fails over, its gateway is asked again later.
          return yield* charge(gateway, reconciled, true)
        }
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

  return { candidates, noGateway, selectGateway, charge, reconcile, startAttempt, settleWith }
}

/**
 * The charge/reconcile core of a payment service.
 */
export type ChargeCore = ReturnType<typeof make>
