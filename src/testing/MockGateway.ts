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
import { Context, Duration, Effect, Either, Layer, Redacted } from "effect"
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
  errorAfterCharge: "4000000000000127"
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
  errorAfterCharge: "tok_error_after_charge"
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
  [TestCards.errorAfterCharge, "errorAfterCharge"]
])

const tokenOutcomes: ReadonlyMap<string, TestOutcome> = new Map<string, TestOutcome>([
  [TestTokens.declined, "declined"],
  [TestTokens.insufficientFunds, "insufficientFunds"],
  [TestTokens.timeoutAfterCharge, "timeoutAfterCharge"],
  [TestTokens.retryOnce, "retryOnce"],
  [TestTokens.errorAfterCharge, "errorAfterCharge"]
])

/**
 * The outcome a test gateway gives a payment method: by card number (read from `vault`, for the
 * payment's tenant) or by gateway token (no vault call). A token made for another gateway than
 * `gatewayId`, or a card the vault cannot reveal, is a {@link GatewayMisconfigured}.
 *
 * @since 0.1.0
 */
export const outcomeOf = (
  gatewayId: string,
  vault: CardVault["Type"],
  method: PaymentMethodToken,
  tenantId: string | undefined
): Effect.Effect<TestOutcome, GatewayMisconfigured> =>
  method.type === "gateway_token"
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
  readonly capabilities?: Capabilities
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
}>() {}

interface Cached<A, E> {
  readonly request: string
  readonly result: Either.Either<A, E>
}

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

    const gateway: Gateway = {
      id,
      capabilities: options.capabilities ?? { currencies: "all", manualCapture: true },
      initiate: (request) => Effect.as(enter("initiate"), { reference: `pi_${request.idempotencyKey}` }),
      authenticate: (request) =>
        enter("authenticate").pipe(
          Effect.zipRight(outcomeOf(id, vault, request.paymentMethod, request.tenantId)),
          Effect.asVoid
        ),
      process: (request) =>
        Effect.gen(function*() {
          yield* enter("process")
          const outcome = yield* outcomeOf(id, vault, request.paymentMethod, request.tenantId)
          const key = request.idempotencyKey
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
            const previous = processed.get(request.idempotencyKey)
            if (previous === undefined) return { status: "not_found" }
            return Either.match(previous.result, {
              onLeft: (e): StatusResult => ({ status: "failed", code: e.code, reason: e.reason }),
              onRight: (r): StatusResult => r.status === "succeeded" || r.status === "authorized"
                ? { status: r.status, transactionId: r.transactionId }
                : r
            })
          })
        ),
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
      calls: Effect.sync(() => ({ ...callCounts }))
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
