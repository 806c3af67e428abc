/**
 * Deterministic simulation: many payments driven concurrently through AegisPay under injected
 * faults and crashes, on memory layers with `TestClock` and a seeded `Random`, checked against
 * the library's invariants after every step.
 *
 * A run admits a batch of payments per step and moves every active payment one phase on per
 * step (create → process → capture or void → refunds → retries). The operations of a step run
 * as concurrent fibers, all forked before any starts; each gateway call and each storage write is
 * a yield point, so fibers interleave, and a share of them is interrupted at a random yield point
 * (a crash: before or after a gateway applied a call, before or after a local commit). A fifth
 * of the payments pay with a gateway token (`TestTokens`) pinned to one of the mock gateways, the
 * others with test cards. Faults injected:
 * - concurrent creates with the same idempotency key (same request), and the key reused with
 *   another request (must be refused with `IdempotencyKeyReused`);
 * - gateway transient errors, timeouts before the call is applied, charge-then-timeout (applied,
 *   then an unknown outcome) and error-after-charge (applied, then a transient error: after a
 *   failover a stray charge), through {@link Chaos.wrap};
 * - operations killed at random points, followed by the recovery worker (`Recovery.runOnce`,
 *   run every few steps after `stuckAfter` has passed on the `TestClock`, itself killable);
 * - a charge whose caller is interrupted while its request is on the wire (a client disconnect,
 *   a caller timeout, SIGTERM), the gateway's circuit opening meanwhile (an outage), and the
 *   request reaching the gateway late (after the next step's operations, before the clock next
 *   passes `stuckAfter`) or never: the next call
 *   finds the payment PROCESSING, the gateway answers `not_found`, and the resend meets the
 *   open circuit before the request arrives (issue 12, defect 1);
 * - gateway notifications built from the gateways' truth (charges and refunds in the ledgers,
 *   declines from `getStatus`), delayed, duplicated, reordered, some lost and some unverified,
 *   applied with `Notifications.apply` while other operations run;
 * - concurrent `processPayment` calls, manual captures (full and partial), voids racing
 *   captures, concurrent partial refunds, over-refunds (must be refused with
 *   `RefundExceedsCaptured`) and refund retries with the same key (must answer the same refund).
 *
 * Invariants checked after every step (each {@link Violation} names one):
 * - `no-double-charge`: every ledger charge belongs to an attempt of its payment; no payment
 *   holds more than one charge of its own, and every other live charge is being returned
 *   (a status check or a compensation is recorded for it);
 * - `refunds-within-captures`: locally and in the ledger, refunds never exceed captures;
 * - `fold-equals-snapshot`: every payment as stored equals the fold of its events;
 * - `idempotency`: duplicate creates answer one payment, a reused key with another request is
 *   refused, a refund retried with its key answers the same refund;
 * - `over-refund-refused`: a refund above the refundable amount fails with `RefundExceedsCaptured`;
 * - `no-defect`: no operation dies; `step-settles`: every step's operations finish;
 * - `pinned-to-gateway`: a gateway-token payment's attempts and ledger charges are all at the
 *   gateway of its token (never routed or failed over elsewhere).
 *
 * After the last step, faults are switched off, `TestClock` is moved past `stuckAfter` and
 * recovery runs until it finds nothing (at most a few rounds). Then, in addition:
 * - `nothing-stuck`: no payment has open work (`Payment.hasOpenWork`); items in manual review
 *   are not open work;
 * - `ledger-equals-local`: the payment's own charge in the ledger matches its state and
 *   amounts, every local SUCCEEDED refund is a ledger refund with the same key and amount and
 *   vice versa, and every other charge was returned by a compensation (or is in manual review).
 *
 * The same seed (with the same options and layer) gives the same run: the report's
 * `eventLogHash` (SHA-256 over every payment's events, in id order) is equal.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import {
  Cause,
  Chunk,
  Context,
  DateTime,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  LogLevel,
  Option,
  Random,
  Schema,
  TestClock,
  TestContext
} from "effect"
import type * as AegisPay from "../AegisPay.js"
import * as AegisPayTest from "./AegisPayTest.js"
import * as Money from "../domain/Money.js"
import * as Payment from "../domain/Payment.js"
import { PaymentEvent } from "../domain/PaymentEvent.js"
import { pinnedGateway } from "../domain/PaymentMethod.js"
import type { CreatePaymentRequest } from "../domain/PaymentRequest.js"
import * as Chaos from "./Chaos.js"
import type { Gateway, ProcessRequest } from "../gateway/Gateway.js"
import { GatewayRegistry } from "../gateway/GatewayRegistry.js"
import { type LedgerCharge, type LedgerRefund, MockGateways, TestCards, TestTokens } from "./MockGateway.js"
import type { Compensation } from "../orchestration/Compensation.js"
import { type GatewayNotification, Notifications } from "../orchestration/Notifications.js"
import { PaymentService } from "../orchestration/PaymentService.js"
import * as Recovery from "../orchestration/Recovery.js"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import { EventStore } from "../storage/EventStore.js"
import * as MemoryStorage from "../storage/MemoryStorage.js"
import { PaymentRepository } from "../storage/PaymentRepository.js"

/**
 * What a layer given to {@link run} must provide: the payment operations, compensation,
 * notifications and storage the simulation drives and inspects, the {@link GatewayRegistry}
 * (each gateway registered under the id of a mock is wrapped with the faults and registered
 * again) and the {@link MockGateways}, whose ledgers are the ground truth.
 *
 * @since 0.1.0
 */
export type Services =
  | PaymentService
  | Compensation
  | Notifications
  | PaymentRepository
  | EventStore
  | GatewayRegistry
  | MockGateways

/**
 * Fault rates (each 0–1). Gateway faults are rolled per gateway call; the others per payment,
 * operation or notification.
 *
 * @since 0.1.0
 */
export interface Faults {
  /** A payment's create is sent two or three times at once, same key, same request. */
  readonly duplicateCreate: number
  /** The create's key is reused later with another amount (must be refused). */
  readonly conflictingCreate: number
  /** A gateway call fails transiently before anything is applied. */
  readonly gatewayError: number
  /** A money-moving call times out before it is applied (an unknown outcome). */
  readonly timeoutBefore: number
  /** A money-moving call is applied, then times out (charge-then-timeout). */
  readonly timeoutAfter: number
  /** A money-moving call is applied, then answers with a transient error. */
  readonly errorAfter: number
  /** An operation's fiber is interrupted at a random yield point (a crash). */
  readonly crash: number
  /**
   * A charge's caller is interrupted while its request is on the wire; its gateway's circuit
   * opens meanwhile; the request is applied late (three times in four) or lost.
   */
  readonly interruptInFlight: number
  /** `processPayment` is called twice at once. */
  readonly concurrentProcess: number
  /** A captured payment gets two or three refunds at once (their sum may exceed the capture). */
  readonly concurrentRefund: number
  /** An authorization is captured and voided at once. */
  readonly captureVoidRace: number
  /** A ledger change is notified (the rest of the notifications are lost). */
  readonly notification: number
  /** A notification is delivered twice (same id). */
  readonly duplicateNotification: number
  /** A notification also arrives unverified (it only triggers a status check). */
  readonly unverifiedNotification: number
  /** A captured payment also gets a refund above its refundable amount. */
  readonly overRefund: number
  /**
   * A card payment waits for the customer (3-D Secure): the customer comes back
   * (`completePayment`), finishes at the provider without coming back, abandons it (expiry: the
   * provider cancels), or finishes just as the expired payment is cancelled (a late success).
   */
  readonly customerAction: number
}

/**
 * The default fault rates.
 *
 * @since 0.1.0
 */
export const defaultFaults: Faults = {
  duplicateCreate: 0.15,
  conflictingCreate: 0.05,
  gatewayError: 0.04,
  timeoutBefore: 0.03,
  timeoutAfter: 0.03,
  errorAfter: 0.03,
  crash: 0.06,
  interruptInFlight: 0.02,
  concurrentProcess: 0.1,
  concurrentRefund: 0.2,
  captureVoidRace: 0.1,
  notification: 0.6,
  duplicateNotification: 0.3,
  unverifiedNotification: 0.15,
  overRefund: 0.1,
  customerAction: 0.12
}

/**
 * No faults at all: every operation runs once, to completion, on healthy gateways.
 *
 * @since 0.1.0
 */
export const noFaults: Faults = {
  duplicateCreate: 0,
  conflictingCreate: 0,
  gatewayError: 0,
  timeoutBefore: 0,
  timeoutAfter: 0,
  errorAfter: 0,
  crash: 0,
  interruptInFlight: 0,
  concurrentProcess: 0,
  concurrentRefund: 0,
  captureVoidRace: 0,
  notification: 0,
  duplicateNotification: 0,
  unverifiedNotification: 0,
  overRefund: 0,
  customerAction: 0
}

/**
 * Options of {@link run}.
 *
 * @since 0.1.0
 */
export interface Options<E = never> {
  readonly seed: number
  /** Payments to simulate. */
  readonly payments: number
  /** Fault rates; missing ones take {@link defaultFaults}. */
  readonly faults?: Partial<Faults> | undefined
  /** The composition under test; default {@link layerMemory}. Built fresh for the run. */
  readonly layer?: Layer.Layer<Services, E> | undefined
  /** The recovery worker's `stuckAfter`; default 1 minute. */
  readonly stuckAfter?: Duration.DurationInput | undefined
  /** Payments admitted per step; default 10. */
  readonly batch?: number | undefined
  /** Steps between two runs of the recovery worker; default 4. */
  readonly recoveryEvery?: number | undefined
  /** Log level inside the run; default none. */
  readonly logLevel?: LogLevel.LogLevel | undefined
  /** The command printed to replay a seed; default `npx tsx test/sim/sim.ts --seed S --payments P`. */
  readonly replayCommand?: ((seed: number, payments: number) => string) | undefined
}

/**
 * The invariants checked (see the module documentation).
 *
 * @since 0.1.0
 */
export const Invariant = Schema.Literal(
  "no-double-charge",
  "refunds-within-captures",
  "fold-equals-snapshot",
  "idempotency",
  "over-refund-refused",
  "no-defect",
  "step-settles",
  "nothing-stuck",
  "ledger-equals-local",
  "pinned-to-gateway"
)

/**
 * @since 0.1.0
 */
export type Invariant = typeof Invariant.Type

/**
 * One broken invariant, found after `step` (the last step + 1 for the checks after recovery).
 *
 * @since 0.1.0
 */
export class Violation extends Schema.Class<Violation>("Violation")({
  invariant: Invariant,
  paymentId: Schema.String,
  step: Schema.Int,
  detail: Schema.String
}) {}

/**
 * The faults a run injects, counted.
 *
 * @since 0.1.0
 */
export const FaultKind = Schema.Literal(
  "duplicateCreate",
  "conflictingCreate",
  "gatewayError",
  "timeoutBefore",
  "timeoutAfter",
  "errorAfter",
  "crash",
  "crashAfterGatewayApplied",
  "interruptInFlight",
  "inFlightAppliedLate",
  "concurrentProcess",
  "concurrentRefund",
  "captureVoidRace",
  "overRefund",
  "notificationDuplicated",
  "notificationReordered",
  "notificationUnverified",
  "notificationLost",
  "recoveryRun",
  "customerCompleted",
  "customerFinishedAtProvider",
  "customerAbandoned",
  "lateSuccess"
)

/**
 * @since 0.1.0
 */
export type FaultKind = typeof FaultKind.Type

/**
 * What one run did and found.
 *
 * @since 0.1.0
 */
export interface Report {
  readonly seed: number
  readonly payments: number
  readonly steps: number
  /** Faults injected, by kind. */
  readonly faults: Readonly<Record<FaultKind, number>>
  /** Operations run, by name. */
  readonly operations: Readonly<Record<string, number>>
  /** Typed errors operations answered (expected outcomes), by tag. */
  readonly errors: Readonly<Record<string, number>>
  /** Payments by final state. */
  readonly states: Readonly<Record<string, number>>
  /** Broken invariants; empty when the run is clean. */
  readonly violations: ReadonlyArray<Violation>
  /** SHA-256 (hex) over every payment's events in payment id order: equal for equal runs. */
  readonly eventLogHash: string
  /** The command that replays this seed. */
  readonly replayCommand: string
}

/**
 * A run found violations (see {@link assertClean}).
 *
 * @since 0.1.0
 */
export class SimulationFailed extends Schema.TaggedError<SimulationFailed>()("SimulationFailed", {
  seed: Schema.Number,
  violations: Schema.Array(Violation),
  replayCommand: Schema.String
}) {
  override get message(): string {
    const first = this.violations[0]
    return `simulation seed ${this.seed}: ${this.violations.length} violation(s)` +
      (first === undefined ? "" : `, first: ${first.invariant} ${first.paymentId}: ${first.detail}`) +
      `; replay: ${this.replayCommand}`
  }
}

/**
 * Fails with {@link SimulationFailed} when the report has violations.
 *
 * @since 0.1.0
 */
export const assertClean = (report: Report): Effect.Effect<Report, SimulationFailed> =>
  report.violations.length === 0
    ? Effect.succeed(report)
    : Effect.fail(
      new SimulationFailed({ seed: report.seed, violations: report.violations, replayCommand: report.replayCommand })
    )

/**
 * Memory storage whose writes are yield points (before and after the write), so that the
 * simulation's crashes can land between a gateway's answer and the local commit, or between
 * two commits.
 *
 * @since 0.1.0
 */
export const layerYieldingStorage: Layer.Layer<
  PaymentRepository | EventStore,
  never,
  Layer.Layer.Context<typeof MemoryStorage.layer>
> = Layer.effectContext(Effect.map(MemoryStorage.make, ({ eventStore, repository }) => {
  const around = <A, E>(write: Effect.Effect<A, E>) =>
    Effect.zipRight(Effect.yieldNow(), Effect.zipLeft(write, Effect.yieldNow()))
  return Context.make(PaymentRepository, {
    ...repository,
    insert: (decision) => around(repository.insert(decision)),
    update: (decision, expectedVersion, options) => around(repository.update(decision, expectedVersion, options))
  }).pipe(Context.add(EventStore, eventStore))
}))

/**
 * The options of the default composition: sequential ids, three mock gateways (`alpha`,
 * `beta`, `gamma`) with failover across them, retries without delay, no call timeout (timeouts
 * are injected faults) and circuit breakers that open on a failure rate of one half. Use them
 * with `AegisPayTest.layerWith` to simulate your own storage.
 *
 * @since 0.1.0
 */
export const layerOptions: AegisPayTest.Options = {
  ids: "sequential",
  // a crash interrupts the operation itself wherever it is, as a process dying does (with graceful
  // shutdown on, interrupting a caller would only stop its wait)
  shutdown: false,
  // no metrics subscriber: one fiber fewer in every interleaving, and less work per event
  metrics: false,
  mockGateways: [{ id: "alpha" }, { id: "beta" }, { id: "gamma" }],
  service: {
    callTimeout: Duration.infinity,
    // short enough that abandoned customer actions expire within the run's recovery rounds
    customerActionTimeout: "2 minutes",
    maxAttempts: 3,
    retry: { maxRetries: 2, initialDelayMs: 0, maxDelayMs: 0, backoffMultiplier: 1 }
  },
  breaker: {
    failureThreshold: 1_000_000,
    failureRateThreshold: 0.5,
    minimumVolume: 20,
    monitorWindow: "60 seconds",
    resetTimeout: "30 seconds",
    halfOpenMaxCalls: 1,
    successThreshold: 2
  }
}

/**
 * The default composition: every AegisPay service on memory storage whose writes are yield
 * points ({@link layerYieldingStorage}), with {@link layerOptions}.
 *
 * @since 0.1.0
 */
export const layerMemory = (): Layer.Layer<AegisPay.Services | MockGateways> =>
  AegisPayTest.layerWith(layerYieldingStorage, layerOptions)

/**
 * The replay command of a seed, as `npm run sim` prints it.
 *
 * @since 0.1.0
 */
export const defaultReplayCommand = (seed: number, payments: number): string =>
  `npx tsx test/sim/sim.ts --seed ${seed} --payments ${payments}`

// ------------------------------------------------------------------------------------------------
// internals

/** What the driver knows of one simulated payment. */
interface Track {
  readonly index: number
  readonly key: string
  readonly request: CreatePaymentRequest
  readonly amountMinor: bigint
  readonly manual: boolean
  readonly copies: number
  readonly conflicting: boolean
  readonly settle: "capture" | "partial" | "void" | "race" | "leave"
  readonly refunds: number
  readonly overRefund: boolean
  readonly concurrentProcess: boolean
  /** What the customer does when the payment waits for them. */
  readonly customer: "complete" | "provider" | "abandon" | "late" | undefined
  phase: number
  paymentId: string | undefined
  readonly refundResults: Map<string, { readonly amount: bigint; refundId: string | undefined }>
}

interface Op {
  readonly name: string
  readonly effect: Effect.Effect<unknown, { readonly _tag: string }>
  readonly paymentId: string | undefined
  readonly killable: boolean
}

interface Queued {
  readonly notification: GatewayNotification
  readonly due: number
  readonly seq: number
}

interface Charge extends LedgerCharge {
  readonly gateway: string
}

/**
 * What the observations and checks after a step read, once for all of them: the mock gateways'
 * ledgers and every payment the driver knows of or the ledgers name (`undefined`: not stored).
 * Nothing runs between these reads and their use (the notifications' status calls read only).
 */
interface Moment {
  readonly ledger: { readonly charges: ReadonlyArray<Charge>; readonly refunds: ReadonlyArray<LedgerRefund & { readonly gateway: string }> }
  readonly payments: ReadonlyMap<string, Payment.Payment | undefined>
}

/** Rounds of yields after which a step's operations count as stuck. */
const MAX_ROUNDS = 20_000
/** Recovery rounds after the last step. */
const FINAL_RECOVERY_ROUNDS = 6
/** Steps after the last admitted payment before the run stops waiting for notifications. */
const MAX_DRAIN_STEPS = 10

const encodeEvent = Schema.encodeSync(PaymentEvent)

const phases = (t: Track): ReadonlyArray<"create" | "process" | "settle" | "refund" | "retry"> =>
  t.manual ? ["create", "process", "settle", "refund", "retry"] : ["create", "process", "refund", "retry"]

const card = (number: string) => ({
  type: "card" as const,
  number,
  expiryMonth: 12,
  expiryYear: 2099,
  cvv: "123",
  holderName: "Sim Ulation"
})

/** The test token with the outcome of a test card (see `TestTokens`). */
const tokenFor = (number: string): string =>
  number === TestCards.declined
    ? TestTokens.declined
    : number === TestCards.insufficientFunds
    ? TestTokens.insufficientFunds
    : number === TestCards.retryOnce
    ? TestTokens.retryOnce
    : TestTokens.success

/** The share of simulated payments paid with a gateway token (pinned to one mock gateway). */
const GATEWAY_TOKEN_SHARE = 0.2

/**
 * Deep equality of two values built from the same schema (what `Schema.encode` would compare,
 * without encoding): same prototype, same defined fields, equal leaves; times by their instant.
 */
const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (DateTime.isDateTime(a) || DateTime.isDateTime(b)) {
    return DateTime.isDateTime(a) && DateTime.isDateTime(b) && DateTime.Equivalence(a, b)
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  // a's defined keys all equal in b, and b has as many defined keys (so no other)
  let defined = 0
  for (const k of Object.keys(a)) {
    const value = Reflect.get(a, k)
    if (value === undefined) continue
    defined++
    if (!sameValue(value, Reflect.get(b, k))) return false
  }
  for (const k of Object.keys(b)) if (Reflect.get(b, k) !== undefined) defined--
  return defined === 0
}

const isLive = (c: LedgerCharge) =>
  c.status === "authorized" || (c.status === "captured" && c.refunded.minor < c.captured.minor)

/**
 * Runs one simulation (see the module documentation). Builds `options.layer` (default
 * {@link layerMemory}) fresh under its own `TestContext` with `Random` seeded by `options.seed`;
 * fails only if that layer fails to build.
 *
 * @since 0.1.0
 */
export const run = <E = never>(options: Options<E>): Effect.Effect<Report, E> =>
  Effect.scoped(Effect.flatMap(
    Layer.build(options.layer ?? layerMemory()),
    (context) => Effect.provide(simulate(options), context)
  )).pipe(
    Effect.withRandom(Random.make(options.seed)),
    Logger.withMinimumLogLevel(options.logLevel ?? LogLevel.None),
    Effect.provide(TestContext.TestContext)
  )

/**
 * {@link run} as a `Promise` (for scripts).
 *
 * @since 0.1.0
 */
export const runPromise = <E = never>(options: Options<E>): Promise<Report> => Effect.runPromise(run(options))

const simulate = <E>(options: Options<E>) =>
  Effect.gen(function*() {
    const faults: Faults = { ...defaultFaults, ...options.faults }
    const stuckAfter = Duration.decode(options.stuckAfter ?? "1 minute")
    const batch = Math.max(1, Math.floor(options.batch ?? 10))
    const recoveryEvery = Math.max(1, Math.floor(options.recoveryEvery ?? 4))
    const total = Math.max(0, Math.floor(options.payments))

    const payments = yield* PaymentService
    const notifications = yield* Notifications
    const repository = yield* PaymentRepository
    const eventStore = yield* EventStore
    const registry = yield* GatewayRegistry
    const mocks = yield* MockGateways
    /** The mock gateways' ids, in registration order: what gateway tokens are pinned to. */
    const mockIds = [...mocks.keys()]
    const recovery = yield* Recovery.make({ stuckAfter, batchSize: 100_000, concurrency: 4 })
    // the composition's circuit breakers, when it has them (for the in-flight interruption fault)
    const breakers = yield* Effect.serviceOption(CircuitBreakers)

    const faultCounts: Record<FaultKind, number> = {
      duplicateCreate: 0,
      conflictingCreate: 0,
      gatewayError: 0,
      timeoutBefore: 0,
      timeoutAfter: 0,
      errorAfter: 0,
      crash: 0,
      crashAfterGatewayApplied: 0,
      interruptInFlight: 0,
      inFlightAppliedLate: 0,
      concurrentProcess: 0,
      concurrentRefund: 0,
      captureVoidRace: 0,
      overRefund: 0,
      notificationDuplicated: 0,
      notificationReordered: 0,
      notificationUnverified: 0,
      notificationLost: 0,
      recoveryRun: 0,
      customerCompleted: 0,
      customerFinishedAtProvider: 0,
      customerAbandoned: 0,
      lateSuccess: 0
    }
    const count = (kind: FaultKind, n = 1) => {
      faultCounts[kind] += n
    }
    const operations: Record<string, number> = {}
    const errors: Record<string, number> = {}
    const violations: Array<Violation> = []
    let step = 0
    const violate = (invariant: Invariant, paymentId: string, detail: string) => {
      violations.push(new Violation({ invariant, paymentId, step, detail }))
    }

    // -------------------------------------------------------------------------- gateway faults
    const network = { faultsOn: true }
    /**
     * Charge requests on the wire whose caller was interrupted: applied late or lost, after the
     * operations of step `due` (the next one: a resend of the same payment may meet the open
     * circuit first), and at the latest before the clock next moves past `stuckAfter` (a request
     * arrives within that bound, so the recovery worker's status check comes after it).
     */
    const wire: Array<{ readonly due: number; readonly deliver: Effect.Effect<void> }> = []
    /** An outage: the gateway's circuit opens (failures recorded until it does). */
    const openCircuit = (gateway: string) =>
      Option.match(breakers, {
        onNone: () => Effect.void,
        onSome: (all) =>
          Effect.gen(function*() {
            const breaker = yield* all.get(gateway)
            for (let i = 0; i < 1_000 && (yield* breaker.state) !== "OPEN"; i++) {
              yield* Effect.ignore(breaker.protect(Effect.fail("outage"), () => true))
            }
          })
      })
    /**
     * The caller of a charge is interrupted while the request is on the wire (its fiber is
     * interrupted from outside, as by a client disconnect or SIGTERM; nothing is written); the
     * gateway's circuit opens meanwhile, and the request reaches the gateway late or never.
     */
    const interruptedInFlight = (gateway: string, inner: Gateway, request: ProcessRequest) =>
      Effect.gen(function*() {
        count("interruptInFlight")
        yield* Effect.yieldNow()
        const late = yield* chance(0.75)
        wire.push({
          due: step + 1,
          deliver: late
            ? Effect.zipRight(Effect.sync(() => count("inFlightAppliedLate")), Effect.ignore(inner.process(request)))
            : Effect.void
        })
        yield* openCircuit(gateway)
        const self = Fiber.getCurrentFiber()
        if (Option.isSome(self)) yield* Fiber.interruptFork(self.value)
        return yield* Effect.never
      })
    /** Delivers the requests on the wire that are due (all of them with `all`). */
    const deliverWire = (all: boolean) =>
      Effect.suspend(() => {
        const due = wire.filter((w) => all || w.due <= step)
        const rest = wire.filter((w) => !all && w.due > step)
        wire.length = 0
        wire.push(...rest)
        return Effect.forEach(due, (w) => w.deliver, { discard: true })
      })
    const classify = (error: { readonly _tag: string; readonly reason: string }) => {
      switch (error.reason) {
        case Chaos.reasons.error:
          return count("gatewayError")
        case Chaos.reasons.timeoutBefore:
          return count("timeoutBefore")
        case Chaos.reasons.timeoutAfter:
          return count("timeoutAfter")
        case Chaos.reasons.errorAfter:
          return count("errorAfter")
      }
    }
    for (const id of mocks.keys()) {
      const inner = yield* registry.get(id)
      const chaos = Chaos.wrap(inner, {
        errorRate: faults.gatewayError,
        timeoutBeforeRate: faults.timeoutBefore,
        timeoutAfterRate: faults.timeoutAfter,
        errorAfterRate: faults.errorAfter
      })
      /** A call over the network: a yield on the way there and back; a crash on the way back loses the answer. */
      const call = <A, Err extends { readonly _tag: string; readonly reason: string }>(
        f: (g: Gateway) => Effect.Effect<A, Err>,
        moving: boolean
      ): Effect.Effect<A, Err> =>
        Effect.zipRight(
          Effect.yieldNow(),
          Effect.flatMap(
            Effect.exit(Effect.tapError(Effect.suspend(() => f(network.faultsOn ? chaos : inner)), (e) =>
              Effect.sync(() => classify(e)))),
            (exit) =>
              Effect.zipRight(
                moving
                  ? Effect.onInterrupt(Effect.yieldNow(), () => Effect.sync(() => count("crashAfterGatewayApplied")))
                  : Effect.yieldNow(),
                exit
              )
          )
        )
      const customerAction = inner.customerAction
      yield* registry.register({
        id: inner.id,
        capabilities: inner.capabilities,
        initiate: (r) => call((g) => g.initiate(r), false),
        authenticate: (r) => call((g) => g.authenticate(r), false),
        process: (r) =>
          Effect.flatMap(
            network.faultsOn ? chance(faults.interruptInFlight) : Effect.succeed(false),
            (interrupted) => interrupted ? interruptedInFlight(id, inner, r) : call((g) => g.process(r), true)
          ),
        capture: (r) => call((g) => g.capture(r), true),
        void: (r) => call((g) => g.void(r), true),
        refund: (r) => call((g) => g.refund(r), true),
        getStatus: (r) => call((g) => g.getStatus(r), false),
        healthCheck: inner.healthCheck,
        // the customer-action calls go over the same network (a crash on the way back loses the answer)
        ...(customerAction === undefined ? {} : {
          customerAction: {
            complete: (r) => call(() => customerAction.complete(r), true),
            cancel: (r) => call(() => customerAction.cancel(r), false)
          }
        })
      })
    }

    // -------------------------------------------------------------------------- the ledger
    const ledger = Effect.gen(function*() {
      const charges: Array<Charge> = []
      const refunds: Array<LedgerRefund & { readonly gateway: string }> = []
      for (const [gateway, mock] of mocks) {
        const l = yield* mock.ledger
        for (const c of l.charges) charges.push({ ...c, gateway })
        for (const r of l.refunds) refunds.push({ ...r, gateway })
      }
      return { charges, refunds }
    })

    // -------------------------------------------------------------------------- the plan
    const chance = (rate: number) => rate <= 0 ? Effect.succeed(false) : Effect.map(Random.next, (u) => u < rate)
    const tracks: Array<Track> = []
    const newTrack = (index: number) =>
      Effect.gen(function*() {
        const amountMinor = BigInt(yield* Random.nextIntBetween(100, 100_000))
        const roll = yield* Random.next
        const number = roll < 0.05
          ? TestCards.declined
          : roll < 0.09
          ? TestCards.insufficientFunds
          : roll < 0.12
          ? TestCards.retryOnce
          : roll < 0.56
          ? TestCards.success
          : TestCards.successMastercard
        // a share pays with a gateway token, pinned to one of the mock gateways
        const pinned = mockIds.length > 0 && (yield* chance(GATEWAY_TOKEN_SHARE))
          ? mockIds[yield* Random.nextIntBetween(0, mockIds.length)]
          : undefined
        // a share of card payments waits for the customer (3-D Secure)
        const customerRoll = pinned === undefined && (yield* chance(faults.customerAction)) ? yield* Random.next : undefined
        const customer = customerRoll === undefined
          ? undefined
          : customerRoll < 0.4
          ? "complete" as const
          : customerRoll < 0.6
          ? "provider" as const
          : customerRoll < 0.85
          ? "abandon" as const
          : "late" as const
        if (customer !== undefined) {
          count(
            customer === "complete"
              ? "customerCompleted"
              : customer === "provider"
              ? "customerFinishedAtProvider"
              : customer === "abandon"
              ? "customerAbandoned"
              : "lateSuccess"
          )
        }
        const manual = yield* chance(0.3)
        const race = yield* chance(faults.captureVoidRace)
        const settleRoll = yield* Random.next
        const key = `sim-${options.seed}-${index}`
        const track: Track = {
          index,
          key,
          amountMinor,
          manual,
          request: {
            idempotencyKey: key,
            amount: amountMinor,
            currency: "USD",
            captureMethod: manual ? "manual" : "automatic",
            paymentMethod: pinned === undefined
              ? card(customer === undefined ? number : customer === "late" ? TestCards.actionLateSuccess : TestCards.actionRedirect)
              : { type: "gateway_token", gateway: pinned, token: tokenFor(number) },
            customer: { id: `cus_${index % 17}`, email: `c${index % 17}@example.com` }
          },
          copies: (yield* chance(faults.duplicateCreate)) ? yield* Random.nextIntBetween(2, 4) : 1,
          conflicting: yield* chance(faults.conflictingCreate),
          settle: race
            ? "race"
            : settleRoll < 0.5
            ? "capture"
            : settleRoll < 0.75
            ? "partial"
            : settleRoll < 0.9
            ? "void"
            : "leave",
          refunds: (yield* chance(faults.concurrentRefund))
            ? yield* Random.nextIntBetween(2, 4)
            : yield* Random.nextIntBetween(0, 2),
          overRefund: yield* chance(faults.overRefund),
          concurrentProcess: yield* chance(faults.concurrentProcess),
          customer,
          phase: 0,
          paymentId: undefined,
          refundResults: new Map()
        }
        tracks.push(track)
        return track
      })

    // -------------------------------------------------------------------------- operations
    const tagged = <A, Err extends { readonly _tag: string }>(
      name: string,
      paymentId: string | undefined,
      effect: Effect.Effect<A, Err>,
      killable = true
    ): Op => ({ name, paymentId, effect, killable })

    const learn = (track: Track, payment: Payment.Payment) =>
      Effect.sync(() => {
        if (track.paymentId !== undefined && track.paymentId !== payment.id) {
          violate("idempotency", payment.id, `key ${track.key} answered ${payment.id} after ${track.paymentId}`)
        }
        track.paymentId = payment.id
      })

    const create = (track: Track) =>
      Effect.flatMap(payments.createPayment(track.request), (p) => learn(track, p))

    const lookup = (track: Track) =>
      Effect.gen(function*() {
        if (track.paymentId === undefined) {
          const found = yield* repository.findByIdempotencyKey("default", track.key)
          if (Option.isSome(found)) track.paymentId = found.value.id
        }
        return track.paymentId === undefined ? undefined : yield* repository.findById(track.paymentId).pipe(
          Effect.map(Option.getOrUndefined)
        )
      })

    /** The customer of a payment waiting for them: comes back, or finishes at the provider (no return). */
    const customerOps = (track: Track, payment: Payment.Payment): ReadonlyArray<Op> => {
      if (payment.state !== "ACTION_REQUIRED" || payment.providerPending === true) return []
      const attempt = payment.currentAttempt
      const mock = attempt === undefined ? undefined : mocks.get(attempt.gateway)
      switch (track.customer) {
        case "complete":
          return [tagged("complete", payment.id, payments.completePayment(payment.id, { from: "return-page" }))]
        case "provider":
          return mock === undefined || payment.reference === undefined
            ? []
            : [tagged("customer-finishes", payment.id, mock.customerCompletes(payment.reference), false)]
        default:
          return []
      }
    }

    const opsFor = (track: Track) =>
      Effect.gen(function*() {
        const phase = phases(track)[track.phase]
        track.phase++
        const ops: Array<Op> = []
        if (phase === "create") {
          if (track.copies > 1) count("duplicateCreate", track.copies - 1)
          for (let i = 0; i < track.copies; i++) ops.push(tagged("create", undefined, create(track)))
          return ops
        }
        const payment = yield* lookup(track)
        if (payment === undefined) {
          // every create crashed: the client sends it again, then processes
          if (phase === "process") ops.push(tagged("create", undefined, create(track)))
          return ops
        }
        const id = payment.id
        switch (phase) {
          case "process": {
            if (track.conflicting) {
              count("conflictingCreate")
              ops.push(tagged(
                "create",
                id,
                payments.createPayment({ ...track.request, amount: track.amountMinor + 1n }).pipe(
                  Effect.flatMap((p) =>
                    Effect.sync(() =>
                      violate("idempotency", p.id, `key ${track.key} reused with another amount was accepted`)
                    )
                  ),
                  Effect.catchTag("IdempotencyKeyReused", () => Effect.void)
                )
              ))
            }
            if (payment.state === "INITIATED" || payment.state === "AUTHENTICATED" || payment.state === "PROCESSING") {
              ops.push(tagged("process", id, payments.processPayment(id)))
              if (track.concurrentProcess) {
                count("concurrentProcess")
                ops.push(tagged("process", id, payments.processPayment(id)))
              }
            }
            return ops
          }
          case "settle": {
            if (payment.state === "PROCESSING") ops.push(tagged("process", id, payments.processPayment(id)))
            ops.push(...customerOps(track, payment))
            if (payment.state !== "AUTHORIZED") return ops
            const partial = BigInt(yield* Random.nextIntBetween(1, Number(payment.authorizedAmount.minor)))
            switch (track.settle) {
              case "capture":
                ops.push(tagged("capture", id, payments.capturePayment({ paymentId: id })))
                break
              case "partial":
                ops.push(tagged("capture", id, payments.capturePayment({ paymentId: id, amount: partial })))
                break
              case "void":
                ops.push(tagged("void", id, payments.cancelPayment({ paymentId: id })))
                break
              case "race":
                count("captureVoidRace")
                ops.push(tagged("capture", id, payments.capturePayment({ paymentId: id, amount: partial })))
                ops.push(tagged("void", id, payments.cancelPayment({ paymentId: id })))
                break
              case "leave":
                break
            }
            return ops
          }
          case "refund": {
            if (payment.state === "PROCESSING") ops.push(tagged("process", id, payments.processPayment(id)))
            ops.push(...customerOps(track, payment))
            if (payment.state !== "SUCCESS" || payment.capturedAmount.minor <= 0n) return ops
            const captured = payment.capturedAmount.minor
            if (track.refunds > 1) count("concurrentRefund")
            for (let i = 0; i < track.refunds; i++) {
              const amount = BigInt(yield* Random.nextIntBetween(1, Number(captured) + 1))
              const key = `${track.key}-r${i}`
              const entry: { readonly amount: bigint; refundId: string | undefined } = { amount, refundId: undefined }
              track.refundResults.set(key, entry)
              ops.push(tagged(
                "refund",
                id,
                Effect.tap(payments.refundPayment({ paymentId: id, idempotencyKey: key, amount }), (refund) =>
                  Effect.sync(() => {
                    entry.refundId = refund.id
                  }))
              ))
            }
            if (track.overRefund) {
              count("overRefund")
              const amount = captured + 1n
              ops.push(tagged(
                "refund",
                id,
                payments.refundPayment({ paymentId: id, idempotencyKey: `${track.key}-over`, amount }).pipe(
                  Effect.exit,
                  Effect.flatMap((exit) =>
                    Effect.sync(() => {
                      if (Exit.isSuccess(exit)) {
                        violate("over-refund-refused", id, `refund of ${amount} above captured ${captured} answered ${exit.value.state}`)
                      } else if (Cause.isFailType(exit.cause) && exit.cause.error._tag !== "RefundExceedsCaptured") {
                        violate("over-refund-refused", id, `refund of ${amount} above captured ${captured} failed with ${exit.cause.error._tag}`)
                      } else if (Cause.isDie(exit.cause)) {
                        violate("no-defect", id, `refund died: ${Cause.pretty(exit.cause)}`)
                      }
                    })
                  )
                )
              ))
            }
            return ops
          }
          case "retry": {
            if (payment.state === "PROCESSING") ops.push(tagged("process", id, payments.processPayment(id)))
            ops.push(...customerOps(track, payment))
            for (const [key, entry] of track.refundResults) {
              ops.push(tagged(
                "refund",
                id,
                Effect.tap(payments.refundPayment({ paymentId: id, idempotencyKey: key, amount: entry.amount }), (refund) =>
                  Effect.sync(() => {
                    if (entry.refundId !== undefined && entry.refundId !== refund.id) {
                      violate("idempotency", id, `refund key ${key} answered ${refund.id} after ${entry.refundId}`)
                    }
                    entry.refundId = refund.id
                  }))
              ))
            }
            return ops
          }
          default:
            return ops
        }
      })

    // -------------------------------------------------------------------------- notifications
    const queue: Array<Queued> = []
    let queueSeq = 0
    let lastDelivered = -1
    const notified = new Map<string, string>() // ledger entry → last status notified
    const enqueue = (notification: GatewayNotification) =>
      Effect.gen(function*() {
        if (!(yield* chance(faults.notification))) return count("notificationLost")
        const seq = queueSeq++
        queue.push({ notification, due: step + 1 + (yield* Random.nextIntBetween(0, 4)), seq })
        if (yield* chance(faults.duplicateNotification)) {
          count("notificationDuplicated")
          queue.push({ notification, due: step + 1 + (yield* Random.nextIntBetween(0, 6)), seq })
        }
        if (yield* chance(faults.unverifiedNotification)) {
          count("notificationUnverified")
          queue.push({
            notification: { ...notification, verified: false },
            due: step + 1 + (yield* Random.nextIntBetween(0, 4)),
            seq
          })
        }
      })
    /** New ledger facts become notifications (when the notification faults are on). */
    const observeLedger = (moment: Moment) => Effect.gen(function*() {
      if (faults.notification <= 0) return
      const l = moment.ledger
      const chargeById = new Map(l.charges.map((c) => [c.transactionId, c]))
      for (const c of l.charges) {
        const status = c.status === "captured" ? "charge.succeeded" : "charge.authorized"
        const seen = notified.get(c.transactionId)
        if (seen === status || (seen !== undefined && c.status === "voided")) continue
        notified.set(c.transactionId, status)
        yield* enqueue({
          id: `evt_${c.transactionId}_${status}`,
          gateway: c.gateway,
          paymentId: c.paymentId,
          type: status,
          idempotencyKey: c.idempotencyKey,
          transactionId: c.transactionId,
          verified: true
        })
      }
      // declines: the gateway's own status of each attempt that failed locally
      for (const t of tracks) {
        if (t.paymentId === undefined) continue
        const p = moment.payments.get(t.paymentId)
        if (p === undefined) continue
        for (const a of p.attempts) {
          if (a.status !== "failed" || notified.has(a.idempotencyKey)) continue
          notified.set(a.idempotencyKey, "charge.failed")
          const mock = mocks.get(a.gateway)
          if (mock === undefined) continue
          const status = yield* Effect.either(mock.gateway.getStatus({ idempotencyKey: a.idempotencyKey }))
          if (status._tag === "Left" || status.right.status !== "failed") continue
          yield* enqueue({
            id: `evt_${a.idempotencyKey}_failed`,
            gateway: a.gateway,
            paymentId: p.id,
            type: "charge.failed",
            idempotencyKey: a.idempotencyKey,
            code: status.right.code,
            reason: status.right.reason,
            verified: true
          })
        }
      }
      for (const r of l.refunds) {
        if (notified.has(r.refundId)) continue
        notified.set(r.refundId, "refund.succeeded")
        const charge = chargeById.get(r.transactionId)
        if (charge === undefined) continue
        yield* enqueue({
          id: `evt_${r.refundId}`,
          gateway: r.gateway,
          paymentId: charge.paymentId,
          type: "refund.succeeded",
          idempotencyKey: r.idempotencyKey,
          refundId: r.refundId,
          verified: true
        })
      }
    })
    const dueNotifications = Effect.gen(function*() {
      const due = queue.filter((q) => q.due <= step)
      if (due.length === 0) return []
      const rest = queue.filter((q) => q.due > step)
      queue.length = 0
      queue.push(...rest)
      const shuffled = [...(yield* Random.shuffle(due))]
      return shuffled.map((q) => {
        if (q.seq < lastDelivered) count("notificationReordered")
        lastDelivered = Math.max(lastDelivered, q.seq)
        return tagged("notification", q.notification.paymentId, notifications.apply(q.notification))
      })
    })

    // -------------------------------------------------------------------------- running a step
    const runOps = (ops: ReadonlyArray<Op>) =>
      Effect.gen(function*() {
        const running: Array<{ readonly op: Op; readonly fiber: Fiber.RuntimeFiber<unknown, { readonly _tag: string }>; readonly killAt: number | undefined }> = []
        // The driver starts forking with a fresh budget of the runtime's operations before it yields
        // (nothing else is running here): every operation of the step is forked before any starts,
        // and where the runtime's automatic yield falls no longer depends on how many effects the
        // driver's planning and checks took since its last yield (which made any edit of the checker
        // change the interleavings of every seed).
        yield* Effect.yieldNow()
        for (const op of ops) {
          operations[op.name] = (operations[op.name] ?? 0) + 1
          const killAt = op.killable && (yield* chance(faults.crash)) ? yield* Random.nextIntBetween(1, 16) : undefined
          running.push({ op, killAt, fiber: yield* Effect.fork(op.effect) })
        }
        let round = 0
        while (running.some((r) => r.fiber.unsafePoll() === null)) {
          yield* Effect.yieldNow()
          round++
          for (const r of running) {
            if (r.killAt === round && r.fiber.unsafePoll() === null) {
              count("crash")
              yield* Fiber.interrupt(r.fiber)
            }
          }
          if (round > MAX_ROUNDS) {
            for (const r of running) {
              if (r.fiber.unsafePoll() === null) {
                violate("step-settles", r.op.paymentId ?? "-", `${r.op.name} still running after ${MAX_ROUNDS} rounds`)
                yield* Fiber.interrupt(r.fiber)
              }
            }
          }
        }
        for (const r of running) {
          const exit = r.fiber.unsafePoll()
          if (exit === null || Exit.isSuccess(exit)) continue
          const failure = Cause.failureOption(exit.cause)
          if (Option.isSome(failure)) {
            errors[failure.value._tag] = (errors[failure.value._tag] ?? 0) + 1
          } else if (!Cause.isInterruptedOnly(exit.cause)) {
            violate("no-defect", r.op.paymentId ?? "-", `${r.op.name} died: ${Cause.pretty(exit.cause)}`)
          }
        }
      })

    // -------------------------------------------------------------------------- invariants
    const checkedVersions = new Map<string, number>()
    const knownIds = () => {
      const ids = new Set<string>()
      for (const t of tracks) if (t.paymentId !== undefined) ids.add(t.paymentId)
      return ids
    }

    /** Reads the {@link Moment} the observations and checks after a step share. */
    const readMoment = Effect.gen(function*() {
      const l = yield* ledger
      const ids = knownIds()
      for (const c of l.charges) ids.add(c.paymentId)
      const payments = new Map<string, Payment.Payment | undefined>()
      for (const id of ids) payments.set(id, Option.getOrUndefined(yield* repository.findById(id)))
      const moment: Moment = { ledger: l, payments }
      return moment
    })

    const check = (final: boolean, moment: Moment) =>
      Effect.gen(function*() {
        const l = moment.ledger
        const chargesOf = new Map<string, Array<Charge>>()
        for (const c of l.charges) {
          let list = chargesOf.get(c.paymentId)
          if (list === undefined) chargesOf.set(c.paymentId, list = [])
          list.push(c)
        }
        const refundsOf = new Map<string, Array<LedgerRefund>>()
        for (const r of l.refunds) {
          let list = refundsOf.get(r.transactionId)
          if (list === undefined) refundsOf.set(r.transactionId, list = [])
          list.push(r)
        }
        for (const id of [...moment.payments.keys()].sort()) {
          const p = moment.payments.get(id)
          if (p === undefined) {
            violate("no-double-charge", id, "the ledger charged a payment that does not exist")
            continue
          }
          // events fold to the snapshot
          if (final || checkedVersions.get(id) !== p.version) {
            checkedVersions.set(id, p.version)
            const rebuilt = yield* Effect.either(eventStore.rebuild(id))
            if (rebuilt._tag === "Left" || Option.isNone(rebuilt.right)) {
              violate("fold-equals-snapshot", id, `events do not fold: ${rebuilt._tag === "Left" ? rebuilt.left.message : "no events"}`)
            } else if (!sameValue(rebuilt.right.value, p)) {
              violate("fold-equals-snapshot", id, `snapshot v${p.version} differs from the fold of its events`)
            }
          }
          // refunds within captures
          const reserved = p.refunds.reduce(
            (sum, r) => r.state === "FAILED" ? sum : sum + r.amount.minor,
            0n
          )
          if (p.refundedAmount.minor > p.capturedAmount.minor || reserved > p.capturedAmount.minor) {
            violate(
              "refunds-within-captures",
              id,
              `refunded ${p.refundedAmount.minor} / reserved ${reserved} above captured ${p.capturedAmount.minor}`
            )
          }
          const charges = chargesOf.get(id) ?? []
          for (const c of charges) {
            if (c.refunded.minor > c.captured.minor) {
              violate("refunds-within-captures", id, `ledger ${c.transactionId}: refunded ${c.refunded.minor} above captured ${c.captured.minor}`)
            }
          }
          // no double charge
          let own = 0
          for (const c of charges) {
            const attempt = p.attempts.find((a) => a.idempotencyKey === c.idempotencyKey && a.gateway === c.gateway)
            if (attempt === undefined) {
              violate("no-double-charge", id, `ledger charge ${c.transactionId} at ${c.gateway} (key ${c.idempotencyKey}) belongs to no attempt`)
              continue
            }
            if (!isLive(c)) continue
            // the attempt in flight (PROCESSING, or waiting for the customer) owns the charge that completes it
            const isOwn = c.transactionId === p.gatewayTransactionId ||
              ((p.state === "PROCESSING" || p.state === "ACTION_REQUIRED") && p.currentAttempt?.id === attempt.id)
            if (isOwn) {
              own++
              continue
            }
            const compensation = p.compensations.find((x) => x.attemptId === attempt.id)
            const returning = attempt.needsStatusCheck || compensation !== undefined
            if (!returning || (final && compensation?.state === "REFUNDED")) {
              violate(
                "no-double-charge",
                id,
                `stray ${c.status} charge ${c.transactionId} at ${c.gateway} (attempt ${attempt.id}, ${attempt.status}) ` +
                  (compensation === undefined ? "is not being returned" : `still live after compensation ${compensation.state}`)
              )
            }
          }
          if (own > 1) violate("no-double-charge", id, `${own} live charges of its own in the ledger`)
          // a gateway-token payment is sent to its gateway only: attempts and charges
          const pin = pinnedGateway(p.paymentMethod)
          if (pin !== undefined) {
            for (const a of p.attempts) {
              if (a.gateway !== pin) violate("pinned-to-gateway", id, `attempt ${a.id} at ${a.gateway}, pinned to ${pin}`)
            }
            for (const c of charges) {
              if (c.gateway !== pin) violate("pinned-to-gateway", id, `ledger charge ${c.transactionId} at ${c.gateway}, pinned to ${pin}`)
            }
          }
          if (final) {
            if (Payment.hasOpenWork(p)) {
              violate("nothing-stuck", id, `still open after recovery: ${openWork(p)}`)
            }
            ledgerEqualsLocal(p, charges, refundsOf)
          }
        }
      })

    const openWork = (p: Payment.Payment) =>
      [
        p.state === "AUTHENTICATED" || p.state === "PROCESSING" || p.state === "ACTION_REQUIRED" ? p.state : undefined,
        p.requiresReconciliation ? "requiresReconciliation" : undefined,
        p.pendingOperation === undefined ? undefined : `pending ${p.pendingOperation.operation}`,
        p.refunds.some((r) => r.state === "PENDING") ? "refund PENDING" : undefined,
        p.compensations.some((c) => c.state === "PENDING") ? "compensation PENDING" : undefined,
        p.attempts.some((a) => a.needsStatusCheck) ? "status check" : undefined
      ].filter((s) => s !== undefined).join(", ")

    const ledgerEqualsLocal = (
      p: Payment.Payment,
      charges: ReadonlyArray<Charge>,
      refundsOf: ReadonlyMap<string, ReadonlyArray<LedgerRefund>>
    ) => {
      const id = p.id
      const ownCharge = p.gatewayTransactionId === undefined
        ? undefined
        : charges.find((c) => c.transactionId === p.gatewayTransactionId)
      if (p.gatewayTransactionId !== undefined && ownCharge === undefined) {
        violate("ledger-equals-local", id, `${p.state} with transaction ${p.gatewayTransactionId} the ledger does not hold`)
      }
      if (ownCharge !== undefined) {
        const expected = p.state === "SUCCESS"
          ? { status: "captured", captured: p.capturedAmount.minor }
          : p.state === "AUTHORIZED"
          ? { status: "authorized", captured: 0n }
          : p.state === "CANCELLED"
          ? { status: "voided", captured: 0n }
          : undefined
        if (expected === undefined) {
          violate("ledger-equals-local", id, `${p.state} yet holds transaction ${ownCharge.transactionId}`)
        } else if (ownCharge.status !== expected.status || ownCharge.captured.minor !== expected.captured) {
          violate(
            "ledger-equals-local",
            id,
            `${p.state} (captured ${p.capturedAmount.minor}) but the ledger charge is ${ownCharge.status} (captured ${ownCharge.captured.minor})`
          )
        }
        if (p.state === "AUTHORIZED" && !Money.equals(ownCharge.amount, p.authorizedAmount)) {
          violate("ledger-equals-local", id, `authorized ${p.authorizedAmount.minor}, ledger ${ownCharge.amount.minor}`)
        }
        // refunds, both ways
        const ledgerRefunds = refundsOf.get(ownCharge.transactionId) ?? []
        const byKey = new Map(ledgerRefunds.map((r) => [r.idempotencyKey, r]))
        let succeeded = 0n
        for (const r of p.refunds) {
          const inLedger = byKey.get(r.gatewayIdempotencyKey)
          if (r.state === "SUCCEEDED") {
            succeeded += r.amount.minor
            if (inLedger === undefined) violate("ledger-equals-local", id, `refund ${r.id} SUCCEEDED locally, absent from the ledger`)
            else if (inLedger.amount.minor !== r.amount.minor) {
              violate("ledger-equals-local", id, `refund ${r.id}: ${r.amount.minor} locally, ${inLedger.amount.minor} in the ledger`)
            }
          } else if (r.state === "FAILED" && inLedger !== undefined) {
            violate("ledger-equals-local", id, `refund ${r.id} FAILED locally, applied in the ledger (${inLedger.refundId})`)
          }
        }
        const localKeys = new Set(p.refunds.filter((r) => r.state !== "FAILED").map((r) => r.gatewayIdempotencyKey))
        for (const r of ledgerRefunds) {
          if (!localKeys.has(r.idempotencyKey)) {
            violate("ledger-equals-local", id, `ledger refund ${r.refundId} (key ${r.idempotencyKey}) unknown locally`)
          }
        }
        if (p.refundedAmount.minor !== succeeded) {
          violate("ledger-equals-local", id, `refunded ${p.refundedAmount.minor}, its SUCCEEDED refunds sum to ${succeeded}`)
        }
      }
      // every other charge was returned, or a person holds it
      for (const c of charges) {
        if (c === ownCharge) continue
        const attempt = p.attempts.find((a) => a.idempotencyKey === c.idempotencyKey && a.gateway === c.gateway)
        const compensation = attempt === undefined ? undefined : p.compensations.find((x) => x.attemptId === attempt.id)
        if (compensation?.state === "MANUAL_REVIEW" || compensation?.state === "KEPT") continue
        if (isLive(c)) {
          violate("ledger-equals-local", id, `charge ${c.transactionId} at ${c.gateway} is ${c.status} but not the payment's own`)
        } else if (c.status === "captured" && compensation === undefined) {
          violate("ledger-equals-local", id, `charge ${c.transactionId} at ${c.gateway} was refunded without a compensation`)
        }
      }
    }

    // -------------------------------------------------------------------------- the run
    const advance = TestClock.adjust(Duration.sum(stuckAfter, Duration.seconds(1)))
    let admitted = 0
    let drain = 0
    while (admitted < total || tracks.some((t) => t.phase < phases(t).length) || (queue.length > 0 && drain < MAX_DRAIN_STEPS)) {
      step++
      if (admitted >= total && !tracks.some((t) => t.phase < phases(t).length)) drain++
      const ops: Array<Op> = []
      for (let i = 0; i < batch && admitted < total; i++) yield* newTrack(admitted++)
      for (const t of tracks) if (t.phase < phases(t).length) ops.push(...(yield* opsFor(t)))
      ops.push(...(yield* dueNotifications))
      if (step % recoveryEvery === 0) {
        // a request on the wire arrives before the clock moves past stuckAfter
        yield* deliverWire(true)
        yield* advance
        count("recoveryRun")
        ops.push(tagged("recovery", undefined, recovery.runOnce))
      }
      yield* runOps(Chunk.toReadonlyArray(yield* Random.shuffle(ops)))
      yield* deliverWire(false)
      const moment = yield* readMoment
      yield* observeLedger(moment)
      yield* check(false, moment)
    }

    // the end: faults off, what is still on the wire arrives, recovery until it finds nothing
    network.faultsOn = false
    step++
    yield* deliverWire(true)
    for (let round = 0; round < FINAL_RECOVERY_ROUNDS; round++) {
      yield* advance
      let report: Recovery.Report | undefined
      yield* runOps([tagged("recovery", undefined, Effect.tap(recovery.runOnce, (r) => Effect.sync(() => {
        report = r
      })), false)])
      if (report === undefined || report.examined === 0) break
    }
    for (const t of tracks) yield* lookup(t)
    yield* check(true, yield* readMoment)

    // the event log hash and the final states
    const hash = createHash("sha256")
    const states: Record<string, number> = {}
    for (const id of [...knownIds()].sort()) {
      const p = yield* repository.findById(id)
      if (Option.isSome(p)) states[p.value.state] = (states[p.value.state] ?? 0) + 1
      hash.update(id).update("\n")
      for (const event of yield* eventStore.read(id)) hash.update(JSON.stringify(encodeEvent(event))).update("\n")
    }
    const report: Report = {
      seed: options.seed,
      payments: total,
      steps: step,
      faults: faultCounts,
      operations,
      errors,
      states,
      violations,
      eventLogHash: hash.digest("hex"),
      replayCommand: (options.replayCommand ?? defaultReplayCommand)(options.seed, total)
    }
    return report
  }).pipe(Effect.orDie)
