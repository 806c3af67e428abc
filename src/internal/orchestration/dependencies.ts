/**
 * What every part of `PaymentService.make` shares: its services and settings, built once.
 *
 * @internal
 */
import type { Schedule } from "effect"
import { Duration, Effect } from "effect"
import type { GatewayError } from "../../gateway/Gateway.js"
import { Ids } from "../../domain/Ids.js"
import { CardVault } from "../../gateway/CardVault.js"
import { GatewayRegistry } from "../../gateway/GatewayRegistry.js"
import { CircuitBreakers } from "../../resilience/CircuitBreaker.js"
import * as RetryPolicy from "../../resilience/RetryPolicy.js"
import { Router } from "../../routing/Router.js"
import { PaymentLock } from "../../storage/PaymentLock.js"
import { PaymentRepository } from "../../storage/PaymentRepository.js"
import * as GatewayCall from "../../orchestration/GatewayCall.js"
import { Hooks } from "../../orchestration/Hooks.js"
import type { Config } from "./options.js"

/**
 * The shared dependencies record of the payment service's parts.
 */
export interface Dependencies {
  readonly repository: PaymentRepository["Type"]
  readonly paymentLock: PaymentLock["Type"]
  readonly registry: GatewayRegistry["Type"]
  readonly vault: CardVault["Type"]
  readonly ids: Ids["Type"]
  readonly breakers: CircuitBreakers["Type"]
  /** Every gateway call goes through these (breaker, timeout, metrics, retry). */
  readonly calls: Effect.Effect.Success<ReturnType<typeof GatewayCall.make>>
  readonly router: Router["Type"]
  readonly hooks: Hooks["Type"]
  /** Retries of transient gateway errors (same idempotency key). */
  readonly retrySchedule: Schedule.Schedule<Duration.Duration, GatewayError>
  /** Attempts (gateways) one payment may use, failovers included. */
  readonly maxAttempts: number
  /** Decline codes after which the payment may fail over. */
  readonly failoverDeclines: ReadonlySet<string>
  /** How long a payment waits for the customer when the gateway gives no expiry (ms). */
  readonly customerActionTimeoutMillis: number
  /** How long a provider-pending payment waits before the provider is asked to cancel it (ms). */
  readonly providerPendingTimeoutMillis: number
}

/**
 * Builds the dependencies record from the services in context and the service's settings.
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
  const router = yield* Router
  const hooks = yield* Hooks
  const retrySchedule = RetryPolicy.schedule(config.retry ?? RetryPolicy.defaults)
  const maxAttempts = Math.max(1, config.maxAttempts ?? 3)
  const failoverDeclines = new Set(config.failoverDeclineCodes ?? [])
  const customerActionTimeoutMillis = Duration.toMillis(Duration.decode(config.customerActionTimeout ?? "1 hour"))
  const providerPendingTimeoutMillis = Duration.toMillis(Duration.decode(config.providerPendingTimeout ?? "24 hours"))
    const dependencies: Dependencies = {
      repository,
      paymentLock,
      registry,
      vault,
      ids,
      breakers,
      calls,
      router,
      hooks,
      retrySchedule,
      maxAttempts,
      failoverDeclines,
      customerActionTimeoutMillis,
      providerPendingTimeoutMillis
    }
    return dependencies
  })
