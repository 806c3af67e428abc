/**
 * `new AegisPay(config)`: AegisPay for programs that do not write Effect. Every method returns a
 * Promise and rejects with an {@link Errors.AegisPayError} subclass; amounts are exact decimal
 * strings or minor units, never floats; nothing in its signatures is an Effect type.
 *
 * Underneath it is the production composition (`AegisPayEmbedded.layer` or `AegisPayPg.layer`)
 * in a `ManagedRuntime`: the same storage, idempotency, locks, recovery worker, outbox relay and
 * retention jobs as an Effect program, so a facade program and an Effect program can share one
 * database. `close()` releases all of it.
 *
 * @since 0.2.0
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Cause, Clock, Config, Duration, Effect, Either, Exit, FiberRef, Layer, Logger, LogLevel, ManagedRuntime, Option, Redacted } from "effect"
import * as AegisPayEmbedded from "../AegisPayEmbedded.js"
import * as AegisPayPg from "../AegisPayPg.js"
import * as Tenant from "../domain/Tenant.js"
import * as EventBus from "../events/EventBus.js"
import type * as CardVault from "../gateway/CardVault.js"
import type * as CoreGateway from "../gateway/Gateway.js"
import * as GatewayRegistry from "../gateway/GatewayRegistry.js"
import * as Pagadito from "../gateways/pagadito/Pagadito.js"
import * as PayPal from "../gateways/paypal/PayPal.js"
import * as Razorpay from "../gateways/razorpay/Razorpay.js"
import * as Stripe from "../gateways/stripe/Stripe.js"
import * as Health from "../observability/Health.js"
import * as Logging from "../observability/Logging.js"
import * as PaymentService from "../orchestration/PaymentService.js"
import * as Shutdown from "../orchestration/Shutdown.js"
import type * as Ids from "../domain/Ids.js"
import type * as CircuitBreaker from "../resilience/CircuitBreaker.js"
import type * as Router from "../routing/Router.js"
import type * as Rules from "../routing/Rules.js"
import type * as GatewayMetrics from "../observability/GatewayMetrics.js"
import * as KeyManagement from "../security/KeyManagement.js"
import * as OutboxSignal from "../storage/OutboxSignal.js"
import * as SqlCardVault from "../security/SqlCardVault.js"
import * as Convert from "./internal/convert.js"
import * as Errors from "./Errors.js"
import * as Dispatcher from "./internal/dispatcher.js"
import * as Adapter from "./internal/gateway.js"
import * as KeyResolution from "./internal/keys.js"
import type * as Keys from "./Keys.js"
import type * as PromiseGateway from "./PromiseGateway.js"
import type * as Types from "./Types.js"

/**
 * A routing rule (`RULE_BASED`): when every condition holds, `gatewayType` (or a split by weight)
 * comes first. Amount conditions compare exactly in the payment's currency: give them as decimal
 * strings or integers.
 *
 * @since 0.2.0
 */
export interface RoutingRule {
  readonly id: string
  /** Higher wins. */
  readonly priority: number
  /** Default true. */
  readonly enabled?: boolean | undefined
  readonly conditions: ReadonlyArray<{
    /** `amount`, `currency`, `paymentMethod`, `cardBrand`, `bin`, `customerCountry`, `metadata.<key>`. */
    readonly field: string
    readonly operator: "equals" | "notEquals" | "in" | "notIn" | "greaterThan" | "lessThan" | "between" | "startsWith"
    readonly value: string | number | boolean | ReadonlyArray<string | number | boolean>
  }>
  /** A registered gateway id, or a volume split. */
  readonly gatewayType: string | ReadonlyArray<{ readonly gateway: string; readonly weight: number }>
}

/**
 * The settings of `new AegisPay(config)`. Every field is optional.
 *
 * @since 0.2.0
 */
export interface AegisPayConfig {
  /**
   * `"production"` refuses to start without keys and refuses the `"mock"` gateway; `"development"`
   * lets the embedded database generate keys into its data directory (with a loud warning).
   * Default: `"production"` when `NODE_ENV` is `production`, else `"development"`.
   */
  readonly mode?: "development" | "production" | undefined
  /**
   * Where payments are kept. Default `{ kind: "embedded" }`: PostgreSQL in the process (PGlite),
   * in memory, or in `dataDir` to survive restarts (one process only). `{ kind: "postgres", url }`:
   * a PostgreSQL server (several processes may share it); `schema` default `aegispay`.
   */
  readonly storage?:
    | { readonly kind: "embedded"; readonly dataDir?: string | undefined }
    | { readonly kind: "postgres"; readonly url: string; readonly schema?: string | undefined; readonly maxConnections?: number | undefined }
    | undefined
  /**
   * The vault keys (see `KeysInput`); default from the environment (`AEGISPAY_KEK`,
   * `AEGISPAY_KEK_ID`, `AEGISPAY_FINGERPRINT_KEY`). Required in production and with PostgreSQL.
   */
  readonly keys?: Keys.KeysInput | undefined
  /** Routing; default: registration order. */
  readonly routing?: {
    readonly strategy: Types.RoutingStrategy
    readonly rules?: ReadonlyArray<RoutingRule> | undefined
    /** INTELLIGENT's weights; default success 0.6, latency 0.2, cost 0.2. */
    readonly weights?: { readonly success: number; readonly latency: number; readonly cost: number } | undefined
  } | undefined
  /**
   * Fees per gateway for COST_OPTIMIZED and INTELLIGENT: `fixedFee` in minor units of the
   * payment's currency, `percentageFee` as a decimal string of at most two decimals (`"2.9"`).
   */
  readonly gatewayCosts?: ReadonlyArray<{
    readonly gatewayType: string
    readonly fixedFee?: { readonly minor: bigint | number } | undefined
    readonly percentageFee?: string | number | undefined
  }> | undefined
  /** Retries of transient gateway errors, with the same idempotency key; default 2 retries from 100 ms, doubling, capped at 2 s. */
  readonly retry?: {
    readonly maxRetries?: number | undefined
    readonly initialDelayMs?: number | undefined
    readonly maxDelayMs?: number | undefined
    readonly backoffMultiplier?: number | undefined
    /** 0–1; default none. */
    readonly jitterFactor?: number | undefined
  } | undefined
  /** Circuit breakers, one per gateway; default 5 failures in 60 s open it, 60 s later a trial, 2 successes close it. */
  readonly circuitBreaker?: {
    readonly failureThreshold?: number | undefined
    readonly monitorWindowMs?: number | undefined
    readonly failureRateThreshold?: number | undefined
    readonly minimumVolume?: number | undefined
    readonly resetTimeoutMs?: number | undefined
    readonly halfOpenMaxCalls?: number | undefined
    readonly successThreshold?: number | undefined
  } | undefined
  /** Longest wait for one gateway call; default 30 s. A charge that times out is an unknown outcome, reconciled later. */
  readonly callTimeoutMs?: number | undefined
  /** Gateways one payment may try (failovers included); default 3. */
  readonly maxAttempts?: number | undefined
  /** Decline codes after which a payment may fail over to another gateway; default none. */
  readonly failoverDeclineCodes?: ReadonlyArray<string> | undefined
  /** The tenant every call runs for; default `"default"`. */
  readonly tenantId?: string | undefined
  /** The recovery worker and the retention jobs of this process (the outbox relay always runs); default true. */
  readonly workers?: boolean | undefined
  /** How long `close()` lets operations in flight finish; default 30 s. */
  readonly shutdownGraceMs?: number | undefined
  /**
   * The least level of the log lines written to the console (one per payment operation at
   * `info`, a failed one at `warning`; docs/OPERATIONS.md). Default: the environment's
   * `AEGISPAY_LOG_LEVEL` (`DEBUG`, `INFO`, `WARN`, `ERROR`, `OFF`, …), else `info`.
   */
  readonly logLevel?: "debug" | "info" | "warning" | "error" | "none" | undefined
}

const logLevels = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
} as const

/**
 * Credentials of the built-in adapters (`registerGateway(type, credentials)`). Secrets are held
 * `Redacted` from then on. `apiBase` points an adapter elsewhere (a fake in tests).
 *
 * @since 0.2.0
 */
export interface GatewayCredentials {
  readonly stripe: {
    readonly secretKey: string
    readonly webhookSecret?: string | undefined
    /** Send vault cards to Stripe (PCI-validated accounts only); default false: `pm_…` tokens only. */
    readonly rawCardAccess?: boolean | undefined
    readonly apiBase?: string | undefined
  }
  readonly paypal: {
    readonly clientId: string
    readonly clientSecret: string
    readonly environment: "sandbox" | "live"
    readonly webhookId?: string | undefined
    readonly apiBase?: string | undefined
  }
  readonly razorpay: {
    readonly keyId: string
    readonly keySecret: string
    readonly webhookSecret?: string | undefined
    readonly apiBase?: string | undefined
  }
  readonly pagadito: {
    readonly uid: string
    readonly wsk: string
    readonly sandbox?: boolean | undefined
    readonly apiBase?: string | undefined
  }
  /** The test kit's mock gateway takes no credentials (the seed's `apiKey`/`apiSecret` are ignored). Development only. */
  readonly mock: Readonly<Record<string, string>>
}

/**
 * Options of `registerGateway`.
 *
 * @since 0.2.0
 */
export interface RegisterOptions {
  /** The registry id; default the type (`"stripe"`). Two accounts of one provider need two ids. */
  readonly id?: string | undefined
}

/** What the facade runs its programs with. */
type Services =
  | PaymentService.PaymentService
  | GatewayRegistry.GatewayRegistry
  | EventBus.EventBus
  | CardVault.CardVault
  | Ids.Ids
  | CircuitBreaker.CircuitBreakers
  | GatewayMetrics.GatewayMetrics
  | NodeHttpClientTag
  | Shutdown.InFlight

type NodeHttpClientTag = Layer.Layer.Success<typeof NodeHttpClient.layerUndici>

/** The gateway `processPayment({ gatewayType })` asked for, read by the facade's `beforeRoute` hook. */
const requestedGateway = FiberRef.unsafeMake<string | undefined>(undefined)

const fail = (field: string, reason: string): never => {
  throw new Errors.ConfigurationError({ field, reason })
}

const nonNegativeInt = (field: string, value: number | undefined): number | undefined => {
  if (value === undefined) return undefined
  return Number.isSafeInteger(value) && value >= 0 ? value : fail(field, "must be a non-negative integer")
}

const millis = (field: string, value: number | undefined): Duration.Duration | undefined => {
  const ms = nonNegativeInt(field, value)
  return ms === undefined ? undefined : Duration.millis(ms)
}

/** A fee from the facade's exact form. */
const feeOf = (cost: NonNullable<AegisPayConfig["gatewayCosts"]>[number], index: number): Router.Fee => {
  const field = `gatewayCosts[${index}]`
  const fixed = cost.fixedFee === undefined ? Either.right(0n) : Convert.amountInput(`${field}.fixedFee`, cost.fixedFee)
  if (Either.isLeft(fixed) || typeof fixed.right !== "bigint") return fail(`${field}.fixedFee`, "give minor units: { minor: 30 }")
  const percentage = cost.percentageFee ?? "0"
  if (typeof percentage === "number" && !Number.isSafeInteger(percentage)) {
    return fail(`${field}.percentageFee`, "a float is not exact: give a decimal string such as \"2.9\"")
  }
  const text = String(percentage)
  const match = /^(\d{1,4})(?:\.(\d{1,2}))?$/.exec(text)
  if (match === null) return fail(`${field}.percentageFee`, "must be a decimal string of at most two decimals, such as \"2.9\"")
  const basisPoints = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"))
  return { fixedMinor: fixed.right, basisPoints }
}

/** A rule in the core's form; float amount thresholds refused. */
const ruleOf = (rule: RoutingRule, index: number): Rules.Rule => {
  for (const condition of rule.conditions) {
    const values = Array.isArray(condition.value) ? condition.value : [condition.value]
    if (condition.field === "amount" && values.some((v) => typeof v === "number" && !Number.isSafeInteger(v))) {
      fail(`routing.rules[${index}]`, "an amount condition with a float is not exact: give a decimal string such as \"999.99\"")
    }
  }
  return {
    id: rule.id,
    priority: rule.priority,
    enabled: rule.enabled ?? true,
    conditions: rule.conditions,
    target: rule.gatewayType
  }
}

const builtIn = new Set(["stripe", "paypal", "razorpay", "pagadito", "mock"])

const stringField = (gateway: string, credentials: Readonly<Record<string, unknown>>, name: string): string => {
  const value = credentials[name]
  if (typeof value !== "string" || value.length === 0) {
    throw new Errors.GatewayMisconfiguredError({ gateway, reason: `credential ${name} is missing` })
  }
  return value
}

const optionalString = (credentials: Readonly<Record<string, unknown>>, name: string): string | undefined => {
  const value = credentials[name]
  return typeof value === "string" && value.length > 0 ? value : undefined
}

/**
 * AegisPay with Promises.
 *
 * ```ts
 * const aegisPay = new AegisPay({ routing: { strategy: "HIGHEST_SUCCESS_RATE" } })
 * await aegisPay.registerGateway("stripe", { secretKey: process.env.STRIPE_SECRET_KEY! })
 * const payment = await aegisPay.createPayment({ idempotencyKey: "order_123", amount: "100.00", currency: "USD", … })
 * const result = await aegisPay.processPayment({ paymentId: payment.id })
 * await aegisPay.close()
 * ```
 *
 * Guarantees: the constructor validates the configuration synchronously (`ConfigurationError`)
 * and starts nothing; the database opens (and migrates) on the first call, or on `ready()`.
 * Calls made after `registerGateway` wait for it. After `close()` every call rejects with
 * `AegisPayClosedError`.
 *
 * @since 0.2.0
 */
export class AegisPay {
  readonly #mode: "development" | "production"
  readonly #tenant: string
  readonly #runtime: ManagedRuntime.ManagedRuntime<Services, never>
  readonly #handlers = new Map<string, Set<Types.EventHandler>>()
  readonly #pending = new Set<Promise<unknown>>()
  /** Calls under way (their runs in the runtime): `close()` lets them finish. */
  readonly #calls = new Set<Promise<unknown>>()
  #started: Promise<void> | undefined
  readonly #grace: Duration.Duration
  /** The dispatcher of `on` handlers, once the runtime is built. */
  #dispatcher: Dispatcher.Dispatcher | undefined
  #closing = false
  #closed: Promise<void> | undefined

  constructor(config: AegisPayConfig = {}) {
    const env = Effect.runSync(Config.string("NODE_ENV").pipe(Config.withDefault("")))
    const mode = config.mode ?? (env === "production" ? "production" : "development")
    if (mode !== "development" && mode !== "production") fail("mode", "must be \"development\" or \"production\"")
    this.#mode = mode
    this.#tenant = config.tenantId ?? Tenant.defaultId
    this.#grace = millis("shutdownGraceMs", config.shutdownGraceMs) ?? Duration.seconds(30)
    const storage = config.storage ?? { kind: "embedded" as const }
    if (storage.kind !== "embedded" && storage.kind !== "postgres") fail("storage.kind", "must be \"embedded\" or \"postgres\"")
    if (storage.kind === "postgres" && (typeof storage.url !== "string" || storage.url.length === 0)) fail("storage.url", "a PostgreSQL URL is required")
    const resolved = KeyResolution.resolve({
      keys: config.keys,
      mode,
      storage: storage.kind,
      dataDir: storage.kind === "embedded" ? storage.dataDir : undefined
    })
    if (resolved.warning !== undefined) process.emitWarning(resolved.warning, { code: "AEGISPAY_DEV_KEYS" })

    const retry = config.retry === undefined ? undefined : {
      maxRetries: nonNegativeInt("retry.maxRetries", config.retry.maxRetries) ?? 2,
      initialDelayMs: nonNegativeInt("retry.initialDelayMs", config.retry.initialDelayMs) ?? 100,
      maxDelayMs: nonNegativeInt("retry.maxDelayMs", config.retry.maxDelayMs) ?? 2_000,
      backoffMultiplier: config.retry.backoffMultiplier ?? 2,
      ...(config.retry.jitterFactor === undefined ? {} : { jitterFactor: config.retry.jitterFactor })
    }
    const cb = config.circuitBreaker
    const breaker: CircuitBreaker.Options | undefined = cb === undefined ? undefined : {
      failureThreshold: nonNegativeInt("circuitBreaker.failureThreshold", cb.failureThreshold),
      monitorWindow: millis("circuitBreaker.monitorWindowMs", cb.monitorWindowMs),
      failureRateThreshold: cb.failureRateThreshold,
      minimumVolume: nonNegativeInt("circuitBreaker.minimumVolume", cb.minimumVolume),
      resetTimeout: millis("circuitBreaker.resetTimeoutMs", cb.resetTimeoutMs),
      halfOpenMaxCalls: nonNegativeInt("circuitBreaker.halfOpenMaxCalls", cb.halfOpenMaxCalls),
      successThreshold: nonNegativeInt("circuitBreaker.successThreshold", cb.successThreshold)
    }
    const fees: Record<string, Router.Fee> = {}
    ;(config.gatewayCosts ?? []).forEach((cost, i) => {
      fees[cost.gatewayType] = feeOf(cost, i)
    })
    const routing: Router.Options | undefined = config.routing === undefined ? undefined : {
      strategy: config.routing.strategy,
      fees,
      rules: (config.routing.rules ?? []).map(ruleOf),
      ...(config.routing.weights === undefined ? {} : { weights: config.routing.weights })
    }
    const workers = config.workers ?? true
    const common = {
      gateways: GatewayRegistry.layerFrom([]),
      vault: SqlCardVault.layer.pipe(Layer.provide(KeyManagement.layer(resolved.keys))),
      service: {
        retry,
        callTimeout: millis("callTimeoutMs", config.callTimeoutMs),
        maxAttempts: nonNegativeInt("maxAttempts", config.maxAttempts),
        failoverDeclineCodes: config.failoverDeclineCodes
      },
      breaker,
      routing,
      hooks: {
        beforeRoute: [{
          name: "aegispay/facade:gatewayType",
          priority: Number.MAX_SAFE_INTEGER,
          run: (_payment: unknown, candidates: ReadonlyArray<string>) =>
            Effect.map(FiberRef.get(requestedGateway), (wanted) => wanted === undefined ? candidates : candidates.filter((c) => c === wanted))
        }]
      },
      recovery: workers ? {} : false,
      retention: workers ? {} : false,
      shutdown: { gracePeriod: this.#grace }
    } as const
    const composition = storage.kind === "postgres"
      ? AegisPayPg.layer({
        ...common,
        url: Redacted.make(storage.url),
        ...(storage.schema === undefined ? {} : { schema: storage.schema }),
        ...(storage.maxConnections === undefined ? {} : { maxConnections: storage.maxConnections })
      })
      : AegisPayEmbedded.layer({ ...common, dataDir: storage.dataDir })
    const dispatcher = Layer.scopedDiscard(Effect.gen(this.#dispatch.bind(this)))
    // a start-up failure (database, migrations, keys) is a defect of the build: #start reports it
    const logging = config.logLevel === undefined
      ? Layer.unwrapEffect(Effect.map(Logging.levelConfig, Logger.minimumLogLevel))
      : Logger.minimumLogLevel(logLevels[config.logLevel])
    const layer: Layer.Layer<Services> = dispatcher.pipe(
      Layer.provideMerge(composition),
      Layer.provideMerge(NodeHttpClient.layerUndici),
      Layer.provide(logging),
      Layer.orDie
    )
    this.#runtime = ManagedRuntime.make(layer)
  }

  /** The subscription feeding `on` handlers, for the runtime's lifetime. */
  *#dispatch() {
    const bus = yield* EventBus.EventBus
    const events = yield* bus.subscribeQueue
    const dispatcher = Dispatcher.make(events, (event) => {
      const handlers = [...(this.#handlers.get(event._tag) ?? []), ...(this.#handlers.get("*") ?? [])]
      if (handlers.length === 0) return Effect.void
      const view = Convert.eventOf(event)
      return Effect.forEach(handlers, (handler) =>
        Effect.tryPromise(async () => handler(view)).pipe(
          Effect.catchAll((error) =>
            Effect.logError("an AegisPay event handler failed").pipe(
              Effect.annotateLogs({ event: view.type, eventId: view.eventId, error: Convert.describe(error.error) })
            )
          )
        ), { discard: true })
    })
    this.#dispatcher = dispatcher
    yield* Effect.forkScoped(dispatcher.run)
  }

  /**
   * What `close()` does before the runtime stops, within one grace period: calls under way
   * finish (money-moving operations still running at the deadline are interrupted, as at any
   * shutdown), then the outbox relay publishes what they committed and the handlers finish it.
   * Events not published in time stay in the outbox for the next relay; events published but not
   * yet handled at the deadline are not handed to these handlers.
   */
  #finish(): Effect.Effect<void, never, Shutdown.InFlight> {
    const calls = [...this.#calls]
    const dispatcher = this.#dispatcher
    const grace = Duration.toMillis(this.#grace)
    return Effect.gen(function*() {
      const deadline = (yield* Clock.currentTimeMillis) + grace
      const left = Effect.map(Clock.currentTimeMillis, (now) => Duration.millis(Math.max(0, deadline - now)))
      yield* Effect.promise(() => Promise.allSettled(calls)).pipe(Effect.timeoutOption(yield* left))
      yield* (yield* Shutdown.InFlight).shutdown(yield* left)
      const signal = yield* Effect.serviceOption(OutboxSignal.OutboxSignal)
      const delivered = yield* Effect.gen(function*() {
        const flushed = Option.isNone(signal) || (yield* signal.value.flush)
        if (dispatcher !== undefined) yield* dispatcher.drained
        return flushed
      }).pipe(Effect.timeoutOption(yield* left))
      if (Option.isNone(delivered) || !delivered.value) {
        yield* Effect.logWarning(
          "close: the events committed before it may not all have reached the handlers " +
            "(those not published stay in the outbox for the next relay on the database)"
        )
      }
    })
  }

  /** Starts the runtime once; a failure is the `StartupFailedError` of every later call. */
  #start(): Promise<void> {
    if (this.#started === undefined) {
      this.#started = Effect.runPromiseExit(this.#runtime.runtimeEffect).then((exit) => {
        if (Exit.isFailure(exit)) throw new Errors.StartupFailedError({ reason: Convert.describe(Cause.squash(exit.cause)) })
      })
    }
    return this.#started
  }

  /** Runs an operation for this instance's tenant: after pending registrations, mapped to facade errors. */
  async #run<A>(operation: Effect.Effect<A, Convert.CoreError, Services>): Promise<A> {
    if (this.#closing) throw new Errors.AegisPayClosedError()
    if (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
    await this.#start()
    if (this.#closing) throw new Errors.AegisPayClosedError()
    const running = this.#runtime.runPromiseExit(operation.pipe(Tenant.with(this.#tenant)))
    this.#calls.add(running)
    const exit = await running.finally(() => this.#calls.delete(running))
    if (Exit.isSuccess(exit)) return exit.value
    throw Convert.causeError(exit.cause, this.#closing)
  }

  /** An operation on the payment service. */
  #payments<A>(f: (service: PaymentService.PaymentService["Type"]) => Effect.Effect<A, Convert.CoreError>): Promise<A> {
    return this.#run(Effect.flatMap(PaymentService.PaymentService, f))
  }

  /**
   * Opens the database (migrating it) and starts the workers now rather than at the first call.
   * Rejects with `StartupFailedError` when that fails.
   */
  ready(): Promise<void> {
    if (this.#closing) return Promise.reject(new Errors.AegisPayClosedError())
    return this.#start()
  }

  /**
   * Registers a built-in adapter (`"stripe"`, `"paypal"`, `"razorpay"`, `"pagadito"`; `"mock"` in
   * development) with its credentials, or your own Promise gateway under an id. A gateway
   * registered again under the same id replaces the first in its place. Calls made after this
   * one wait for it; await it to see its errors (`ConfigurationError`, `GatewayMisconfiguredError`).
   */
  registerGateway(id: string, gateway: PromiseGateway.PaymentGateway): Promise<void>
  registerGateway<T extends Exclude<keyof GatewayCredentials, "mock">>(type: T, credentials: GatewayCredentials[T], options?: RegisterOptions): Promise<void>
  registerGateway(type: "mock", credentials?: GatewayCredentials["mock"], options?: RegisterOptions): Promise<void>
  registerGateway(
    typeOrId: string,
    second?: PromiseGateway.PaymentGateway | Readonly<Record<string, unknown>>,
    options?: RegisterOptions
  ): Promise<void> {
    if (this.#closing) return Promise.reject(new Errors.AegisPayClosedError())
    const registration = (async () => {
      const gateway = this.#gatewayOf(typeOrId, second, options)
      await this.#start()
      if (this.#closing) throw new Errors.AegisPayClosedError()
      const exit = await this.#runtime.runPromiseExit(
        Effect.flatMap(gateway, (g) => Effect.flatMap(GatewayRegistry.GatewayRegistry, (registry) => registry.register(g)))
      )
      if (Exit.isFailure(exit)) throw Convert.causeError(exit.cause, this.#closing)
    })()
    this.#pending.add(registration)
    const forget = () => {
      this.#pending.delete(registration)
    }
    registration.then(forget, forget)
    return registration
  }

  /** The effect building the gateway of a registration; throws for what can be told at once. */
  #gatewayOf(
    typeOrId: string,
    second: PromiseGateway.PaymentGateway | Readonly<Record<string, unknown>> | undefined,
    options: RegisterOptions | undefined
  ): Effect.Effect<CoreGateway.Gateway, Convert.CoreError, Services> {
    if (typeof typeOrId !== "string" || typeOrId.length === 0 || typeOrId.length > 255) {
      return fail("registerGateway", "the gateway type or id must be a non-empty string of at most 255 characters")
    }
    if (typeof second === "object" && second !== null && "process" in second) {
      const problem = Adapter.problemOf(second)
      if (problem !== undefined) return fail("registerGateway", problem)
      if (!isPaymentGateway(second)) return fail("registerGateway", "the gateway has no process method")
      return Adapter.make(typeOrId, second)
    }
    if (!builtIn.has(typeOrId)) {
      return fail(
        "registerGateway",
        `${JSON.stringify(typeOrId.slice(0, 40))} is not a built-in gateway type (stripe, paypal, razorpay, pagadito, mock); for your own gateway pass an object with process, refund and getStatus`
      )
    }
    const id = options?.id ?? typeOrId
    const credentials: Readonly<Record<string, unknown>> = second ?? {}
    switch (typeOrId) {
      case "mock": {
        if (this.#mode === "production") return fail("registerGateway", "the mock gateway is for development only: production mode refuses it")
        return Effect.flatMap(
          Effect.promise(() => import("../testing/MockGateway.js")),
          (MockGateway) => Effect.map(MockGateway.make({ id }), (mock) => mock.gateway)
        )
      }
      case "stripe": {
        const secretKey = Redacted.make(stringField(id, credentials, "secretKey"))
        if (Stripe.environmentOf(secretKey) === undefined) {
          throw new Errors.GatewayMisconfiguredError({ gateway: id, reason: "the Stripe secret key is not sk_test_…, sk_live_…, rk_test_… or rk_live_…" })
        }
        const webhookSecret = optionalString(credentials, "webhookSecret")
        const apiBase = optionalString(credentials, "apiBase")
        return Stripe.make({
          id,
          secretKey,
          ...(webhookSecret === undefined ? {} : { webhookSecret: Redacted.make(webhookSecret) }),
          ...(apiBase === undefined ? {} : { apiBase }),
          rawCardAccess: credentials["rawCardAccess"] === true
        })
      }
      case "paypal": {
        const environment = credentials["environment"]
        if (environment !== "sandbox" && environment !== "live") {
          throw new Errors.GatewayMisconfiguredError({ gateway: id, reason: "PayPal environment must be sandbox or live" })
        }
        const webhookId = optionalString(credentials, "webhookId")
        const apiBase = optionalString(credentials, "apiBase")
        return PayPal.make({
          id,
          clientId: Redacted.make(stringField(id, credentials, "clientId")),
          clientSecret: Redacted.make(stringField(id, credentials, "clientSecret")),
          environment,
          ...(webhookId === undefined ? {} : { webhookId }),
          ...(apiBase === undefined ? {} : { apiBase })
        })
      }
      case "razorpay": {
        const webhookSecret = optionalString(credentials, "webhookSecret")
        const apiBase = optionalString(credentials, "apiBase")
        return Razorpay.make({
          id,
          keyId: Redacted.make(stringField(id, credentials, "keyId")),
          keySecret: Redacted.make(stringField(id, credentials, "keySecret")),
          ...(webhookSecret === undefined ? {} : { webhookSecret: Redacted.make(webhookSecret) }),
          ...(apiBase === undefined ? {} : { apiBase })
        })
      }
      default: {
        const apiBase = optionalString(credentials, "apiBase")
        return Pagadito.make({
          id,
          uid: Redacted.make(stringField(id, credentials, "uid")),
          wsk: Redacted.make(stringField(id, credentials, "wsk")),
          sandbox: credentials["sandbox"] === true,
          ...(apiBase === undefined ? {} : { apiBase })
        })
      }
    }
  }

  /**
   * Creates a payment in INITIATED, idempotently: the same `idempotencyKey` with the same request
   * returns the same payment (no second charge); with a different request it rejects with
   * `IdempotencyKeyReusedError`. The card goes to the encrypted vault; the payment keeps its
   * brand, last four and expiry only.
   */
  createPayment(request: Types.CreatePaymentRequest): Promise<Types.Payment> {
    const amount = Convert.amountInput("amount", isObject(request) ? request.amount : undefined)
    if (Either.isLeft(amount)) return this.#reject(amount.left)
    if (!isObject(request)) return this.#reject(new Errors.ValidationError({ path: "", message: "the request must be an object" }))
    const { gatewayType, ...rest } = request
    return this.#payments((service) =>
      service.createPayment({ ...rest, amount: amount.right, ...(gatewayType === undefined ? {} : { gateway: gatewayType }) })
    ).then(Convert.paymentOf)
  }

  /**
   * Drives the payment to SUCCESS, FAILURE, AUTHORIZED (manual capture) or ACTION_REQUIRED, with
   * retries and failover. `gatewayType`: this call uses that registered gateway only (no
   * failover to others). An unknown outcome leaves it PROCESSING with `requiresReconciliation`:
   * call again to reconcile (never a second charge).
   */
  processPayment(request: { readonly paymentId: string; readonly gatewayType?: string | undefined }): Promise<Types.Payment> {
    if (!isObject(request)) return this.#reject(new Errors.ValidationError({ path: "", message: "the request must be an object" }))
    const { gatewayType, paymentId } = request
    return this.#run(Effect.gen(function*() {
      const service = yield* PaymentService.PaymentService
      if (gatewayType === undefined) return yield* service.processPayment(paymentId)
      yield* (yield* GatewayRegistry.GatewayRegistry).get(gatewayType)
      return yield* Effect.locally(service.processPayment(paymentId), requestedGateway, gatewayType)
    })).then(Convert.paymentOf)
  }

  /**
   * The customer is back from the provider (a redirect, an approval page): finishes the payment
   * waiting in ACTION_REQUIRED with what the provider appended to the return URL.
   */
  completePayment(request: { readonly paymentId: string; readonly params?: Readonly<Record<string, string>> | undefined }): Promise<Types.Payment> {
    if (!isObject(request)) return this.#reject(new Errors.ValidationError({ path: "", message: "the request must be an object" }))
    return this.#payments((service) => service.completePayment(request.paymentId, request.params)).then(Convert.paymentOf)
  }

  /** Captures all (no `amount`) or part of an authorization: AUTHORIZED → SUCCESS. */
  capturePayment(request: { readonly paymentId: string; readonly amount?: Types.AmountInput | undefined }): Promise<Types.Payment> {
    if (!isObject(request)) return this.#reject(new Errors.ValidationError({ path: "", message: "the request must be an object" }))
    const amount = request.amount === undefined ? undefined : Convert.amountInput("amount", request.amount)
    if (amount !== undefined && Either.isLeft(amount)) return this.#reject(amount.left)
    return this.#payments((service) =>
      service.capturePayment({ paymentId: request.paymentId, ...(amount === undefined ? {} : { amount: amount.right }) })
    ).then(Convert.paymentOf)
  }

  /** Cancels a payment not yet processed, or voids an authorization: → CANCELLED. */
  cancelPayment(request: { readonly paymentId: string; readonly reason?: string | undefined }): Promise<Types.Payment> {
    if (!isObject(request)) return this.#reject(new Errors.ValidationError({ path: "", message: "the request must be an object" }))
    return this.#payments((service) =>
      service.cancelPayment({ paymentId: request.paymentId, ...(request.reason === undefined ? {} : { reason: request.reason }) })
    ).then(Convert.paymentOf)
  }

  /**
   * Refunds part (`amount`) or all of a captured payment, idempotently per `idempotencyKey`.
   * Resolves with the refund: SUCCEEDED, FAILED (nothing moved) or PENDING (the gateway's answer
   * was lost: call again with the same key, or leave it to the recovery worker).
   */
  refundPayment(request: {
    readonly paymentId: string
    readonly idempotencyKey: string
    readonly amount?: Types.AmountInput | undefined
    readonly reason?: string | undefined
  }): Promise<Types.Refund> {
    if (!isObject(request)) return this.#reject(new Errors.ValidationError({ path: "", message: "the request must be an object" }))
    const amount = request.amount === undefined ? undefined : Convert.amountInput("amount", request.amount)
    if (amount !== undefined && Either.isLeft(amount)) return this.#reject(amount.left)
    return this.#payments((service) =>
      service.refundPayment({
        paymentId: request.paymentId,
        idempotencyKey: request.idempotencyKey,
        ...(amount === undefined ? {} : { amount: amount.right }),
        ...(request.reason === undefined ? {} : { reason: request.reason })
      })
    ).then(Convert.refundOf)
  }

  /** The payment; `PaymentNotFoundError` when there is none (for this instance's tenant). */
  getPayment(paymentId: string): Promise<Types.Payment> {
    return this.#payments((service) => service.getPayment(paymentId)).then(Convert.paymentOf)
  }

  /** A customer's payments, newest first, `limit` (1–100, default 20) at a time. */
  getCustomerPayments(
    customerId: string,
    options: { readonly limit?: number | undefined; readonly cursor?: string | undefined } = {}
  ): Promise<Types.PaymentPage> {
    return this.#payments((service) =>
      service.getCustomerPayments({
        customerId,
        ...(options.limit === undefined ? {} : { limit: options.limit }),
        ...(options.cursor === undefined ? {} : { cursor: options.cursor })
      })
    ).then((page) => ({
      items: page.items.map(Convert.paymentOf),
      ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor })
    }))
  }

  /**
   * Calls `handler` with every committed event of `type` (`"*"`: every event), in order per
   * payment, at least once (dedupe by `eventId`). Handlers run one after another; one that throws
   * is logged and does not stop the others. Events committed before the instance started are not
   * replayed.
   */
  on(type: Types.PaymentEventType | "*", handler: Types.EventHandler): this {
    if (typeof handler !== "function") fail("on", "the handler must be a function")
    let set = this.#handlers.get(type)
    if (set === undefined) this.#handlers.set(type, set = new Set())
    set.add(handler)
    return this
  }

  /** Removes a handler added with `on` (the same function and type). */
  off(type: Types.PaymentEventType | "*", handler: Types.EventHandler): this {
    this.#handlers.get(type)?.delete(handler)
    return this
  }

  /** The health of every registered gateway, in registration order. */
  getHealthSummary(): Promise<ReadonlyArray<Types.GatewayHealth>> {
    return this.#run(Health.getHealthSummary).then((all) => all.map(healthOf))
  }

  /** The health of one gateway; `GatewayNotFoundError` when none is registered under `id`. */
  getGatewayMetrics(id: string): Promise<Types.GatewayHealth> {
    return this.#run(Effect.zipRight(
      Effect.flatMap(GatewayRegistry.GatewayRegistry, (registry) => registry.get(id)),
      Health.getGatewayMetrics(id)
    )).then(healthOf)
  }

  /** A snapshot of AegisPay's metrics (`aegispay_*`) of this process. */
  getMetrics(): Promise<Types.MetricsSnapshot> {
    return this.#run(Health.getMetrics)
  }

  /**
   * Stops taking calls; lets calls under way finish; hands the `on` handlers every event
   * committed by then and waits for them; all of it within `shutdownGraceMs` (money-moving
   * operations still running then are interrupted and settled later by recovery; events not yet
   * published stay in the outbox for the next relay on the database). Then stops the workers and
   * closes the database (the pool, or the embedded database). Idempotent: every call returns the
   * same promise. Calls made from now on, handlers' included, reject with `AegisPayClosedError`.
   */
  close(): Promise<void> {
    if (this.#closed === undefined) {
      this.#closing = true
      const started = this.#started
      this.#closed = (async () => {
        await Promise.allSettled([...this.#pending])
        // only a runtime that was built has calls, a relay and a dispatcher to let finish
        const built = started !== undefined && await started.then(() => true, () => false)
        try {
          if (built) await this.#runtime.runPromise(this.#finish())
        } finally {
          await this.#runtime.dispose()
        }
      })()
    }
    return this.#closed
  }

  #reject<A>(error: Errors.AegisPayError): Promise<A> {
    return Promise.reject(this.#closing ? new Errors.AegisPayClosedError() : error)
  }
}

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> & object => typeof value === "object" && value !== null

const isPaymentGateway = (value: object): value is PromiseGateway.PaymentGateway =>
  "process" in value && typeof value.process === "function"

const healthOf = (health: Health.GatewayHealth): Types.GatewayHealth => ({
  gateway: health.gateway,
  circuit: health.circuit,
  score: health.score,
  requests: health.requests,
  successRate: health.successRate,
  p50: health.p50,
  p95: health.p95,
  p99: health.p99
})
