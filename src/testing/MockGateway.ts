/**
 * A gateway simulator backed by a ledger: the ground truth of what was charged, captured, voided
 * and refunded, readable by tests.
 *
 * Outcomes are chosen by card number, in the style of gateway test cards ({@link TestCards}),
 * or, for a gateway token, by the token ({@link TestTokens}); the vault is called for cards only.
 * It honours idempotency like a real provider: the same key with the same request moves money
 * once and returns the first result (declines included); the same key with a different request
 * is a {@link GatewayMisconfigured}; transient failures are not remembered, so a retry may
 * succeed. Latency is slept on Effect's `Clock`, so TestClock drives it.
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { Context, DateTime, Duration, Effect, Either, Layer, Redacted, Schema } from "effect"
import * as Money from "../domain/Money.js"
import { Ids } from "../domain/Ids.js"
import type { PaymentMethodToken } from "../domain/PaymentMethod.js"
import { CardVault } from "../gateway/CardVault.js"
import { GatewayRegistry, make as makeRegistry } from "../gateway/GatewayRegistry.js"
import {
  type Capabilities,
  type Gateway,
  GatewayDeclined,
  GatewayMisconfigured,
  GatewayTransientError,
  GatewayUnknownOutcome,
  type ProcessResult,
  type StatusResult
} from "../gateway/Gateway.js"
import { GatewayNotification, WebhookRejected, type WebhookRequest } from "../gateway/Webhook.js"

/**
 * Test card numbers and what the mock does with them. Any other valid card succeeds.
 *
 * @since 0.1.0
 */
export const TestCards = {
  /** Succeeds. */
  success: "4242424242424242",
  /** Succeeds (Mastercard). */
  successMastercard: "5555555555554444",
  /** Succeeds (American Express). */
  successAmex: "378282246310005",
  /** Declined with `card_declined`. */
  declined: "4000000000000002",
  /** Declined with `insufficient_funds`. */
  insufficientFunds: "4000000000009995",
  /** Charges, then times out: the caller sees {@link GatewayUnknownOutcome}, the ledger a charge. */
  timeoutAfterCharge: "4000000000000259",
  /** Fails transiently on the first call of each idempotency key, then succeeds. */
  retryOnce: "4000000000000119",
  /**
   * Charges, then answers every call with a transient error (a gateway that says "500" after
   * charging): the orchestration fails over or fails the payment, the ledger holds a charge that
   * the recovery worker finds with a status check and refunds (compensation).
   */
  errorAfterCharge: "4000000000000127",
  /** Answers `action_required` with a redirect (3-D Secure page); `complete` charges. */
  actionRedirect: "4000002760003184",
  /** Answers `action_required` with a client secret (finished in the browser SDK); `complete` charges. */
  actionClientSecret: "4000002500003155",
  /**
   * Answers `action_required`; the customer finishes 3-D Secure just as the payment is being
   * cancelled: `cancel` answers the charge (a late success).
   */
  actionLateSuccess: "4000000000003220",
  /**
   * Answers `pending` when the request allows it (`checkout.allowPending`), else an unknown
   * outcome; settled by `settlePending`.
   */
  pending: "4000000000000077"
} as const

/**
 * Test gateway tokens (`{ type: "gateway_token", gateway: <the mock's id>, token }`) and what the
 * mock does with them: the same outcomes as the {@link TestCards} of the same name, without a
 * card or a vault. Any other token succeeds. A token of another gateway id is refused with
 * `GatewayMisconfigured` (a gateway token is valid only at its own gateway).
 *
 * @since 0.1.0
 */
export const TestTokens = {
  /** Succeeds. */
  success: "tok_success",
  /** Declined with `card_declined`. */
  declined: "tok_declined",
  /** Declined with `insufficient_funds`. */
  insufficientFunds: "tok_insufficient_funds",
  /** Charges, then times out: the caller sees {@link GatewayUnknownOutcome}, the ledger a charge. */
  timeoutAfterCharge: "tok_timeout_after_charge",
  /** Fails transiently on the first call of each idempotency key, then succeeds. */
  retryOnce: "tok_retry_once",
  /** Charges, then answers every call with a transient error (see `TestCards.errorAfterCharge`). */
  errorAfterCharge: "tok_error_after_charge",
  /** See `TestCards.actionRedirect`. */
  actionRedirect: "tok_action_redirect",
  /** See `TestCards.actionClientSecret`. */
  actionClientSecret: "tok_action_client_secret",
  /** See `TestCards.actionLateSuccess`. */
  actionLateSuccess: "tok_action_late_success",
  /** See `TestCards.pending`. */
  pending: "tok_pending"
} as const

/**
 * What a test card or test token makes the mock do.
 *
 * @since 0.1.0
 */
export type TestOutcome = "success" | Exclude<keyof typeof TestTokens, "success">

const cardOutcomes: ReadonlyMap<string, TestOutcome> = new Map<string, TestOutcome>([
  [TestCards.declined, "declined"],
  [TestCards.insufficientFunds, "insufficientFunds"],
  [TestCards.timeoutAfterCharge, "timeoutAfterCharge"],
  [TestCards.retryOnce, "retryOnce"],
  [TestCards.errorAfterCharge, "errorAfterCharge"],
  [TestCards.actionRedirect, "actionRedirect"],
  [TestCards.actionClientSecret, "actionClientSecret"],
  [TestCards.actionLateSuccess, "actionLateSuccess"],
  [TestCards.pending, "pending"]
])

const tokenOutcomes: ReadonlyMap<string, TestOutcome> = new Map<string, TestOutcome>([
  [TestTokens.declined, "declined"],
  [TestTokens.insufficientFunds, "insufficientFunds"],
  [TestTokens.timeoutAfterCharge, "timeoutAfterCharge"],
  [TestTokens.retryOnce, "retryOnce"],
  [TestTokens.errorAfterCharge, "errorAfterCharge"],
  [TestTokens.actionRedirect, "actionRedirect"],
  [TestTokens.actionClientSecret, "actionClientSecret"],
  [TestTokens.actionLateSuccess, "actionLateSuccess"],
  [TestTokens.pending, "pending"]
])

const outcomeNames: ReadonlyMap<string, TestOutcome> = new Map<string, TestOutcome>(
  [...tokenOutcomes.values(), "success" as const].map((o) => [o, o])
)

/**
 * The outcome a test gateway gives a payment method: by card number (read from `vault`, for the
 * payment's tenant) or by gateway token (no vault call); a checkout by its payment's metadata
 * `mock_outcome` (a {@link TestOutcome} name, passed as the checkout's custom parameters),
 * `actionRedirect` by default (a checkout waits for the customer). A token made for another
 * gateway than `gatewayId`, a checkout naming another gateway, or a card the vault cannot reveal,
 * is a {@link GatewayMisconfigured}.
 *
 * @since 0.1.0
 */
export const outcomeOf = (
  gatewayId: string,
  vault: CardVault["Type"],
  method: PaymentMethodToken,
  tenantId: string | undefined,
  customParams?: Readonly<Record<string, string>> | undefined
): Effect.Effect<TestOutcome, GatewayMisconfigured> =>
  method.type === "checkout"
    ? method.gateway === undefined || method.gateway === gatewayId
      ? Effect.succeed(outcomeNames.get(customParams?.["mock_outcome"] ?? "") ?? "actionRedirect")
      : Effect.fail(new GatewayMisconfigured({ gateway: gatewayId, reason: `the checkout names gateway ${JSON.stringify(method.gateway)}` }))
    : method.type === "gateway_token"
    ? method.gateway === gatewayId
      ? Effect.succeed(tokenOutcomes.get(method.token) ?? "success")
      : Effect.fail(new GatewayMisconfigured({
        gateway: gatewayId,
        reason: `the payment method is a token of gateway ${JSON.stringify(method.gateway)}, not of this one`
      }))
    : vault.reveal(method.vaultToken, tenantId).pipe(
      Effect.mapError((e) => new GatewayMisconfigured({ gateway: gatewayId, reason: e.message })),
      Effect.map((card) => cardOutcomes.get(Redacted.value(card.number)) ?? "success")
    )

const waitingOutcomes: ReadonlySet<TestOutcome> = new Set<TestOutcome>([
  "actionRedirect",
  "actionClientSecret",
  "actionLateSuccess",
  "pending"
])

/**
 * One charge in the ledger.
 *
 * @since 0.1.0
 */
export interface LedgerCharge {
  readonly transactionId: string
  readonly idempotencyKey: string
  readonly paymentId: string
  readonly amount: Money.Money
  readonly status: "authorized" | "captured" | "voided"
  /** What was actually taken from the customer: the captured amount (zero while authorized). */
  readonly captured: Money.Money
  readonly refunded: Money.Money
}

/**
 * One refund in the ledger.
 *
 * @since 0.1.0
 */
export interface LedgerRefund {
  readonly refundId: string
  readonly transactionId: string
  readonly idempotencyKey: string
  readonly amount: Money.Money
}

/**
 * A snapshot of the ledger.
 *
 * @since 0.1.0
 */
export interface Ledger {
  readonly charges: ReadonlyArray<LedgerCharge>
  readonly refunds: ReadonlyArray<LedgerRefund>
}

/**
 * Mock gateway options.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Registry id; default `"mock"`. */
  readonly id?: string
  /** Latency of every call, slept on `Clock`; default zero. */
  readonly latency?: Duration.DurationInput
  /**
   * Default: every currency, manual capture, cards, gateway tokens and checkouts, status by key
   * (or by reference with `statusLookup`).
   */
  readonly capabilities?: Capabilities
  /**
   * `"reference"`: status, complete and cancel find an attempt only by the reference `initiate`
   * returned (like Stripe's PaymentIntents), so the orchestration must record it first. Default
   * `"key"`.
   */
  readonly statusLookup?: "key" | "reference"
  /** How long an `action_required` answer says the action lasts; default: no expiry given. */
  readonly actionExpiresIn?: Duration.DurationInput
  /** The secret of the mock webhook signature; default `"mock_whsec"`. */
  readonly webhookSecret?: string
}

/**
 * A mock gateway and its ledger.
 *
 * @since 0.1.0
 */
export class MockGateway extends Context.Tag("aegispay/MockGateway")<MockGateway, {
  readonly gateway: Gateway
  /** A snapshot of everything that moved money. */
  readonly ledger: Effect.Effect<Ledger>
  /**
   * Takes the gateway down (`false`: every call, or every call of the listed operations, fails
   * with a transient "service unavailable" before anything is applied) or brings it back up.
   */
  readonly setAvailable: (available: boolean, operations?: ReadonlyArray<string>) => Effect.Effect<void>
  /** How many calls each operation received (including failed ones). */
  readonly calls: Effect.Effect<Readonly<Record<string, number>>>
  /**
   * The customer finishes the action at the provider without coming back (3-D Secure done, the
   * provider charges by itself): the waiting attempt with this reference is charged. `false`
   * when no attempt waits under it.
   */
  readonly customerCompletes: (reference: string) => Effect.Effect<boolean>
  /** The provider settles a pending attempt: charged (`succeeded`) or `failed`. */
  readonly settlePending: (reference: string, outcome: "succeeded" | "failed") => Effect.Effect<boolean>
  /** A webhook request for `notification`, signed as this mock's `webhooks.parse` expects. */
  readonly signWebhook: (notification: Omit<GatewayNotification, "verified" | "gateway">) => WebhookRequest
}>() {}

interface Cached<A, E> {
  readonly request: string
  readonly result: Either.Either<A, E>
}

interface Waiting {
  readonly paymentId: string
  readonly key: string
  readonly reference: string
  readonly amount: Money.Money
  readonly capture: boolean
  readonly outcome: TestOutcome
  /** `canceled`: the checkout was cancelled (nothing charged, nothing will be). */
  readonly status: "action_required" | "pending" | "canceled" | "charged"
}

const mockSignature = (secret: string, body: Uint8Array): string =>
  createHmac("sha256", secret).update(body).digest("hex")

/**
 * Creates a mock gateway. Needs the {@link CardVault} to read the card behind a token and
 * {@link Ids} for transaction and refund ids.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const id = options.id ?? "mock"
    const latency = Duration.decode(options.latency ?? Duration.zero)
    const vault = yield* CardVault
    // Plain maps mutated inside Effect.sync: each step is atomic on the JS thread, O(1) per call.
    const charges = new Map<string, LedgerCharge>()
    const refunds: Array<LedgerRefund> = []
    const processed = new Map<string, Cached<ProcessResult, GatewayDeclined>>()
    const captured = new Map<string, Cached<{ readonly transactionId: string }, GatewayDeclined>>()
    const voided = new Map<string, Cached<void, GatewayDeclined>>()
    const refunded = new Map<string, Cached<{ readonly refundId: string }, GatewayDeclined>>()
    const transientSeen = new Set<string>()
    /** Attempts the provider holds open (waiting for the customer, or pending), by idempotency key. */
    const waiting = new Map<string, Waiting>()
    /** Idempotency key of each reference `initiate` handed out. */
    const keyOfReference = new Map<string, string>()
    const referenceOf = (key: string) => `pi_${key}`
    const statusLookup = options.statusLookup ?? options.capabilities?.statusLookup ?? "key"
    const webhookSecret = options.webhookSecret ?? "mock_whsec"
    const actionExpiresIn = options.actionExpiresIn === undefined ? undefined : Duration.decode(options.actionExpiresIn)
    let down: ReadonlySet<string> | "all" = new Set()
    const callCounts: Record<string, number> = {}
    const ids = yield* Ids

    const sleep = Duration.toMillis(latency) > 0 ? Effect.sleep(latency) : Effect.void
    /** Latency, then the availability check: a down gateway applies nothing. */
    const enter = (operation: string) =>
      Effect.zipRight(
        sleep,
        Effect.suspend(() => {
          callCounts[operation] = (callCounts[operation] ?? 0) + 1
          return down === "all" || down.has(operation)
            ? Effect.fail(new GatewayTransientError({ gateway: id, operation, reason: "service unavailable" }))
            : Effect.void
        })
      )
    const declined = (code: string, reason: string) => new GatewayDeclined({ gateway: id, code, reason })

    /** Replays the cached result of `key`, or runs `apply` once and caches it. */
    const idempotent = <A>(
      cache: Map<string, Cached<A, GatewayDeclined>>,
      key: string,
      request: string,
      apply: () => Either.Either<A, GatewayDeclined>
    ): Effect.Effect<A, GatewayDeclined | GatewayMisconfigured> =>
      Effect.suspend((): Effect.Effect<A, GatewayDeclined | GatewayMisconfigured> => {
        const previous = cache.get(key)
        if (previous !== undefined) {
          return previous.request === request
            ? previous.result
            : Effect.fail(
              new GatewayMisconfigured({
                gateway: id,
                reason: `idempotency key ${key} was used with different parameters`
              })
            )
        }
        const result = apply()
        cache.set(key, { request, result })
        return result
      })

    const charge = (
      transactionId: string,
      paymentId: string,
      key: string,
      amount: Money.Money,
      capture: boolean
    ): ProcessResult => {
      const zero = Money.zero(amount.currency)
      charges.set(transactionId, {
        transactionId,
        idempotencyKey: key,
        paymentId,
        amount,
        status: capture ? "captured" : "authorized",
        captured: capture ? amount : zero,
        refunded: zero
      })
      return { transactionId, status: capture ? "succeeded" : "authorized" }
    }

    /** What the provider says about an attempt it knows by `key`. */
    const statusOf = (key: string): StatusResult => {
      const held = waiting.get(key)
      const previous = processed.get(key)
      if (previous !== undefined) {
        return Either.match(previous.result, {
          onLeft: (e): StatusResult => ({ status: "failed", code: e.code, reason: e.reason }),
          onRight: (r): StatusResult =>
            r.status === "succeeded" || r.status === "authorized" ? { status: r.status, transactionId: r.transactionId } : r
        })
      }
      if (held === undefined) return { status: "not_found" }
      if (held.status === "canceled") return { status: "failed", code: "canceled", reason: "the checkout was cancelled" }
      return held.status === "pending"
        ? { status: "pending", reference: held.reference }
        : { status: "action_required", reference: held.reference, action: actionOf(held) }
    }

    const actionOf = (held: Waiting) =>
      held.outcome === "actionClientSecret"
        ? { type: "client_secret" as const, clientSecret: `${held.reference}_secret` }
        : { type: "redirect" as const, url: `https://mock.aegispay.test/${id}/action/${held.reference}` }

    /** The answer to `process` or `complete` for a held attempt. */
    const answerOf = (held: Waiting): Effect.Effect<ProcessResult, GatewayDeclined> =>
      Effect.gen(function*() {
        const status = statusOf(held.key)
        switch (status.status) {
          case "succeeded":
          case "authorized":
            return { status: status.status, transactionId: status.transactionId, reference: held.reference }
          case "failed":
            return yield* declined(status.code, status.reason)
          case "pending":
            return status
          case "action_required": {
            if (actionExpiresIn === undefined) return status
            const now = yield* DateTime.now
            return { ...status, expiresAt: DateTime.addDuration(now, actionExpiresIn) }
          }
          case "not_found":
            return yield* declined("resource_missing", "no such checkout")
        }
      })

    /** The provider charges a held attempt (the customer finished, or the provider settled it). */
    const chargeHeld = (held: Waiting) =>
      Effect.gen(function*() {
        if (held.status === "charged" || held.status === "canceled") return
        const transactionId = yield* ids.next(`txn_${id}`)
        processed.set(held.key, {
          request: `${held.paymentId}|${held.amount.currency}|${held.amount.minor}|${held.capture}`,
          result: Either.right(charge(transactionId, held.paymentId, held.key, held.amount, held.capture))
        })
        waiting.set(held.key, { ...held, status: "charged" })
      })

    const gateway: Gateway = {
      id,
      capabilities: {
        ...(options.capabilities ??
          { currencies: "all", manualCapture: true, paymentMethods: ["card", "gateway_token", "checkout"] }),
        statusLookup
      },
      initiate: (request) =>
        Effect.as(
          Effect.tap(enter("initiate"), () => Effect.sync(() => keyOfReference.set(referenceOf(request.idempotencyKey), request.idempotencyKey))),
          { reference: referenceOf(request.idempotencyKey) }
        ),
      authenticate: (request) =>
        enter("authenticate").pipe(
          Effect.zipRight(outcomeOf(id, vault, request.paymentMethod, request.tenantId, undefined)),
          Effect.asVoid
        ),
      process: (request) =>
        Effect.gen(function*() {
          yield* enter("process")
          const outcome = yield* outcomeOf(id, vault, request.paymentMethod, request.tenantId, request.checkout?.customParams)
          const key = request.idempotencyKey
          if (statusLookup === "reference" && request.reference !== referenceOf(key)) {
            return yield* new GatewayMisconfigured({ gateway: id, reason: "process needs the reference initiate returned" })
          }
          if (waitingOutcomes.has(outcome) && !processed.has(key)) {
            const held = waiting.get(key) ?? {
              paymentId: request.paymentId,
              key,
              reference: referenceOf(key),
              amount: request.amount,
              capture: request.capture,
              outcome,
              status: outcome === "pending" ? "pending" as const : "action_required" as const
            }
            waiting.set(key, held)
            keyOfReference.set(held.reference, key)
            if (held.status === "pending" && request.checkout?.allowPending !== true) {
              return yield* new GatewayUnknownOutcome({ gateway: id, operation: "process", reason: "pending, and the request does not allow pending results" })
            }
            return yield* answerOf(held)
          }
          if (outcome === "retryOnce" && !processed.has(key) && !transientSeen.has(key)) {
            transientSeen.add(key)
            return yield* new GatewayTransientError({ gateway: id, operation: "process", reason: "processing_error" })
          }
          const fingerprint = `${request.paymentId}|${request.amount.currency}|${request.amount.minor}|${request.capture}`
          const transactionId = yield* ids.next(`txn_${id}`)
          const result = yield* idempotent(processed, key, fingerprint, () => {
            if (outcome === "declined") return Either.left(declined("card_declined", "the card was declined"))
            if (outcome === "insufficientFunds") {
              return Either.left(declined("insufficient_funds", "the card has insufficient funds"))
            }
            return Either.right(charge(transactionId, request.paymentId, key, request.amount, request.capture))
          })
          if (outcome === "errorAfterCharge") {
            return yield* new GatewayTransientError({ gateway: id, operation: "process", reason: "internal error after the charge was applied" })
          }
          if (outcome === "timeoutAfterCharge") {
            return yield* new GatewayUnknownOutcome({
              gateway: id,
              operation: "process",
              reason: "timed out after the charge was applied"
            })
          }
          return result
        }),
      capture: (request) =>
        Effect.zipRight(
          enter("capture"),
          idempotent(captured, request.idempotencyKey, `${request.transactionId}|${request.amount.minor}`, () => {
            const c = charges.get(request.transactionId)
            if (c === undefined) return Either.left(declined("resource_missing", "no such charge"))
            if (c.status !== "authorized") return Either.left(declined("charge_already_captured", `charge is ${c.status}`))
            if (request.amount.currency !== c.amount.currency || request.amount.minor > c.amount.minor) {
              return Either.left(declined("amount_too_large", "capture exceeds the authorization"))
            }
            charges.set(c.transactionId, { ...c, status: "captured", captured: request.amount })
            return Either.right({ transactionId: c.transactionId })
          })
        ),
      void: (request) =>
        Effect.zipRight(
          enter("void"),
          idempotent(voided, request.idempotencyKey, request.transactionId, () => {
            const c = charges.get(request.transactionId)
            if (c === undefined) return Either.left(declined("resource_missing", "no such charge"))
            if (c.status !== "authorized") return Either.left(declined("charge_not_voidable", `charge is ${c.status}`))
            charges.set(c.transactionId, { ...c, status: "voided" })
            return Either.void
          })
        ),
      refund: (request) =>
        Effect.flatMap(
          Effect.zipRight(enter("refund"), ids.next(`re_${id}`)),
          (refundId) => idempotent(refunded, request.idempotencyKey, `${request.transactionId}|${request.amount.minor}`, () => {
            const c = charges.get(request.transactionId)
            if (c === undefined) return Either.left(declined("resource_missing", "no such charge"))
            if (c.status !== "captured") return Either.left(declined("charge_not_refundable", `charge is ${c.status}`))
            if (
              request.amount.currency !== c.amount.currency || request.amount.minor <= 0n ||
              c.refunded.minor + request.amount.minor > c.captured.minor
            ) {
              return Either.left(declined("amount_too_large", "refund exceeds the captured amount"))
            }
            charges.set(c.transactionId, {
              ...c,
              refunded: Money.fromMinor(c.amount.currency, c.refunded.minor + request.amount.minor)
            })
            refunds.push({
              refundId,
              transactionId: c.transactionId,
              idempotencyKey: request.idempotencyKey,
              amount: request.amount
            })
            return Either.right({ refundId })
          })
        ),
      getStatus: (request) =>
        Effect.zipRight(
          enter("getStatus"),
          Effect.sync((): StatusResult => {
            const key = statusLookup === "reference"
              ? request.reference === undefined ? undefined : keyOfReference.get(request.reference)
              : request.idempotencyKey
            return key === undefined ? { status: "not_found" } : statusOf(key)
          })
        ),
      customerAction: {
        complete: (request) =>
          Effect.gen(function*() {
            yield* enter("complete")
            const key = keyOfReference.get(request.reference)
            const held = key === undefined ? undefined : waiting.get(key)
            if (key === undefined || held === undefined || key !== request.idempotencyKey) {
              const known = key === undefined ? undefined : processed.get(key)
              if (known !== undefined) return yield* known.result
              return yield* declined("resource_missing", "no such checkout")
            }
            if (held.status === "canceled") return yield* declined("checkout_canceled", "the checkout was cancelled")
            if (held.status === "action_required") {
              const result = request.params["result"]
              if (result === "not_finished") return yield* answerOf(held)
              if (result === "declined") {
                waiting.set(key, { ...held, status: "canceled" })
                processed.set(key, { request: "", result: Either.left(declined("authentication_failed", "3-D Secure failed")) })
                return yield* declined("authentication_failed", "3-D Secure failed")
              }
              yield* chargeHeld(held)
            }
            return yield* answerOf(waiting.get(key) ?? held)
          }),
        cancel: (request) =>
          Effect.gen(function*() {
            yield* enter("cancel")
            const key = keyOfReference.get(request.reference)
            const held = key === undefined ? undefined : waiting.get(key)
            if (key === undefined) return { status: "not_found" as const }
            if (held !== undefined && held.status === "action_required") {
              if (held.outcome === "actionLateSuccess") {
                // the customer finished 3-D Secure just before the cancel reached the provider
                yield* chargeHeld(held)
              } else {
                waiting.set(key, { ...held, status: "canceled" })
              }
            }
            return statusOf(key)
          })
      },
      webhooks: {
        parse: (request) =>
          Effect.gen(function*() {
            const signature = request.headers["x-mock-signature"]
            const expected = Buffer.from(mockSignature(webhookSecret, request.body), "utf8")
            if (signature === undefined || signature.length !== expected.length || !timingSafeEqual(Buffer.from(signature, "utf8"), expected)) {
              return yield* new WebhookRejected({ gateway: id, reason: "bad_signature", detail: "the mock signature does not match" })
            }
            const json = yield* Schema.decodeUnknown(Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })))(
              new TextDecoder().decode(request.body)
            ).pipe(Effect.mapError(() => new WebhookRejected({ gateway: id, reason: "malformed", detail: "the body is not a JSON object" })))
            const notification = yield* Schema.decodeUnknown(GatewayNotification)({ ...json, gateway: id, verified: true }).pipe(
              Effect.mapError(() => new WebhookRejected({ gateway: id, reason: "malformed", detail: "not a mock notification" }))
            )
            return [notification]
          })
      },
      healthCheck: Effect.zipRight(
        sleep,
        Effect.sync(() => ({ healthy: down !== "all", latencyMillis: Duration.toMillis(latency) }))
      )
    }

    return MockGateway.of({
      gateway,
      ledger: Effect.sync(() => ({ charges: [...charges.values()], refunds: [...refunds] })),
      setAvailable: (up, operations) =>
        Effect.sync(() => {
          down = up ? new Set() : operations === undefined ? "all" : new Set(operations)
        }),
      calls: Effect.sync(() => ({ ...callCounts })),
      customerCompletes: (reference) =>
        Effect.suspend(() => {
          const key = keyOfReference.get(reference)
          const held = key === undefined ? undefined : waiting.get(key)
          return held === undefined || held.status !== "action_required" ? Effect.succeed(false) : Effect.as(chargeHeld(held), true)
        }),
      settlePending: (reference, outcome) =>
        Effect.suspend(() => {
          const key = keyOfReference.get(reference)
          const held = key === undefined ? undefined : waiting.get(key)
          if (key === undefined || held === undefined || held.status !== "pending") return Effect.succeed(false)
          if (outcome === "succeeded") return Effect.as(chargeHeld(held), true)
          return Effect.sync(() => {
            waiting.set(key, { ...held, status: "canceled" })
            processed.set(key, { request: "", result: Either.left(declined("payment_failed", "the provider did not accept the payment")) })
            return true
          })
        }),
      signWebhook: (notification) => {
        const body = new TextEncoder().encode(JSON.stringify(notification))
        return { headers: { "x-mock-signature": mockSignature(webhookSecret, body) }, body }
      }
    })
  })

/**
 * Several mock gateways by id, in registration order (the first is also the {@link MockGateway}).
 *
 * @since 0.1.0
 */
export class MockGateways extends Context.Tag("aegispay/MockGateways")<
  MockGateways,
  ReadonlyMap<string, MockGateway["Type"]>
>() {}

/**
 * Mock gateways from `options` (one per entry, distinct ids), as {@link MockGateways} and, for
 * the first, {@link MockGateway}.
 *
 * @since 0.1.0
 */
export const layerMany = (
  options: ReadonlyArray<Options>
): Layer.Layer<MockGateway | MockGateways, never, CardVault | Ids> =>
  Layer.effectContext(Effect.gen(function*() {
    const all = new Map<string, MockGateway["Type"]>()
    for (const option of options.length === 0 ? [{}] : options) {
      const mock = yield* make(option)
      all.set(mock.gateway.id, mock)
    }
    const first = all.values().next()
    if (first.done === true) return yield* Effect.dieMessage("no mock gateway")
    return Context.make(MockGateway, first.value).pipe(Context.add(MockGateways, all))
  }))

/**
 * A mock gateway layer.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<MockGateway, never, CardVault | Ids> =>
  Layer.effect(MockGateway, make(options))

/**
 * Mock gateways from `options` (default: one) registered in a {@link GatewayRegistry} in this
 * order, with {@link MockGateways} and {@link MockGateway} (the first) to reach their ledgers:
 * pass it as the `gateways` of any composition.
 *
 * @since 0.1.0
 */
export const layerRegistry = (
  options: ReadonlyArray<Options> = [{}]
): Layer.Layer<GatewayRegistry | MockGateway | MockGateways, never, CardVault | Ids> =>
  Layer.effect(
    GatewayRegistry,
    Effect.flatMap(MockGateways, (all) => makeRegistry([...all.values()].map((m) => m.gateway)))
  ).pipe(Layer.provideMerge(layerMany(options)))
