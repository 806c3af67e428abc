/**
 * The charge/reconcile core of `PaymentService`: the ordering that prevents double charges.
 *
 * @internal
 */
import type { DateTime } from "effect"
import { Effect, Either, Schedule } from "effect"
import * as Payment from "../../domain/Payment.js"
import * as Commit from "./commit.js"
import type { InvalidTransition, VersionConflict } from "../../domain/PaymentError.js"
import { pinnedGateway } from "../../domain/PaymentMethod.js"
import type { Gateway } from "../../gateway/Gateway.js"
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
  const { moving } = deps.calls
  const { commit, commitLast } = Commit.committer(deps.repository)

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
          const answer = result.right
          // TODO(issue 13): customer action and provider-pending results get their own states
          if (answer.status === "action_required" || answer.status === "pending") {
            return yield* commitLast(current, (at) => Payment.outcomeUnknown(current, `gateway answered ${answer.status}`, at))
          }
          return yield* commitLast(current, (at) =>
            answer.status === "succeeded"
              ? Payment.succeed(current, answer.transactionId, at)
              : Payment.authorize(current, answer.transactionId, at))
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
      // TODO(issue 13): waiting for the customer or pending at the provider: nothing to settle yet
      if (status.status === "action_required" || status.status === "pending") return payment
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

  return { candidates, noGateway, selectGateway, charge, reconcile, startAttempt }
}

/**
 * The charge/reconcile core of a payment service.
 */
export type ChargeCore = ReturnType<typeof make>
