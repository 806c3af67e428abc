/**
 * The adaptation of a user's Promise gateway (`PaymentGateway`) to the Effect `Gateway`
 * contract, with the error convention of `PromiseGateway`.
 *
 * @internal
 */
import { Clock, DateTime, Effect, Redacted, Runtime } from "effect"
import type { CustomerAction as CoreCustomerAction } from "../../domain/CustomerAction.js"
import * as Currency from "../../domain/Currency.js"
import type { PaymentMethodToken } from "../../domain/PaymentMethod.js"
import { CardVault } from "../../gateway/CardVault.js"
import * as Gateway from "../../gateway/Gateway.js"
import * as Errors from "../Errors.js"
import type { GatewayPaymentMethod, PaymentGateway } from "../PromiseGateway.js"
import { amountOf, describe } from "./convert.js"

type Classified = Gateway.GatewayError

/** Classifies what a user's method threw (see the module's documentation). */
const classify = (gateway: string, operation: string, moneyMoving: boolean) => (thrown: unknown): Classified => {
  if (thrown instanceof Errors.GatewayDeclinedError) {
    return new Gateway.GatewayDeclined({ gateway, code: thrown.declineCode, reason: thrown.reason })
  }
  if (thrown instanceof Errors.GatewayTransientError) return new Gateway.GatewayTransientError({ gateway, operation, reason: thrown.reason })
  if (thrown instanceof Errors.GatewayUnknownOutcomeError) return new Gateway.GatewayUnknownOutcome({ gateway, operation, reason: thrown.reason })
  if (thrown instanceof Errors.GatewayMisconfiguredError) return new Gateway.GatewayMisconfigured({ gateway, reason: thrown.reason })
  const reason = `threw ${describe(thrown)}`
  return moneyMoving
    ? new Gateway.GatewayUnknownOutcome({ gateway, operation, reason })
    : new Gateway.GatewayTransientError({ gateway, operation, reason })
}

/** Reads may only fail transiently or as misconfigured: a decline or unknown outcome of a read is transient. */
const asRead = (error: Classified): Gateway.GatewayReadError =>
  error._tag === "GatewayTransientError" || error._tag === "GatewayMisconfigured"
    ? error
    : new Gateway.GatewayTransientError({ gateway: error.gateway, operation: "read", reason: error.reason })

const call = <A>(
  gateway: string,
  operation: string,
  moneyMoving: boolean,
  run: (signal: AbortSignal) => Promise<A>
): Effect.Effect<A, Classified> =>
  Effect.tryPromise({ try: run, catch: classify(gateway, operation, moneyMoving) })

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === "object" && value !== null

const nonEmpty = (value: unknown): value is string => typeof value === "string" && value.length > 0

const actionOf = (value: unknown): CoreCustomerAction | undefined => {
  if (!isObject(value)) return undefined
  if (value["type"] === "redirect" && nonEmpty(value["url"])) return { type: "redirect", url: value["url"] }
  if (value["type"] === "client_secret" && nonEmpty(value["clientSecret"])) return { type: "client_secret", clientSecret: value["clientSecret"] }
  if (value["type"] === "checkout" && isObject(value["params"])) {
    const params: Record<string, string> = {}
    for (const [k, v] of Object.entries(value["params"])) if (typeof v === "string") params[k] = v
    return { type: "checkout", params }
  }
  return undefined
}

const expiryOf = (value: unknown): { readonly expiresAt?: DateTime.Utc } =>
  value instanceof Date && !Number.isNaN(value.getTime()) ? { expiresAt: DateTime.unsafeFromDate(value) } : {}

/** A user's `process` answer, checked; anything malformed is `undefined`. */
const processResultOf = (value: unknown): Gateway.ProcessResult | undefined => {
  if (!isObject(value)) return undefined
  const status = value["status"]
  if ((status === "succeeded" || status === "authorized") && nonEmpty(value["transactionId"])) {
    return { status, transactionId: value["transactionId"], ...(nonEmpty(value["reference"]) ? { reference: value["reference"] } : {}) }
  }
  if (status === "action_required" && nonEmpty(value["reference"])) {
    const action = actionOf(value["action"])
    return action === undefined ? undefined : { status, reference: value["reference"], action, ...expiryOf(value["expiresAt"]) }
  }
  if (status === "pending" && nonEmpty(value["reference"])) {
    return { status, reference: value["reference"], ...(typeof value["reason"] === "string" ? { reason: value["reason"] } : {}) }
  }
  return undefined
}

const statusResultOf = (value: unknown): Gateway.StatusResult | undefined => {
  if (!isObject(value)) return undefined
  const status = value["status"]
  if (status === "not_found") return { status }
  if (status === "failed") {
    return { status, code: typeof value["code"] === "string" ? value["code"] : "failed", reason: typeof value["reason"] === "string" ? value["reason"] : "failed" }
  }
  const result = processResultOf(value)
  if (result === undefined) return undefined
  return result.status === "succeeded" || result.status === "authorized"
    ? { status: result.status, transactionId: result.transactionId }
    : result
}

/** The methods a gateway object must have, checked when it is registered. */
export const problemOf = (gateway: unknown): string | undefined => {
  if (!isObject(gateway)) return "a gateway must be an object with process, refund and getStatus methods"
  for (const method of ["process", "refund", "getStatus"]) {
    if (typeof gateway[method] !== "function") return `the gateway has no ${method} method`
  }
  const capabilities = gateway["capabilities"]
  if (isObject(capabilities)) {
    const currencies = capabilities["currencies"]
    if (Array.isArray(currencies)) {
      const unknown = currencies.find((c: unknown) => typeof c !== "string" || !Currency.isCurrencyCode(c))
      if (unknown !== undefined) return `capabilities.currencies: ${JSON.stringify(String(unknown).slice(0, 20))} is not an ISO 4217 code AegisPay knows`
    }
  }
  return undefined
}

/**
 * The Effect `Gateway` of a user's Promise gateway, registered as `id`. Reads the card vault of
 * the composition (for `reveal`).
 *
 * @internal
 */
export const make = (id: string, user: PaymentGateway) =>
  Effect.gen(function*() {
    const vault = yield* CardVault
    const runtime = yield* Effect.runtime<never>()
    const methodOf = (token: PaymentMethodToken, tenantId: string): GatewayPaymentMethod => {
      switch (token.type) {
        case "card":
          return {
            type: "card",
            brand: token.brand,
            last4: token.last4,
            expiryMonth: token.expiryMonth,
            expiryYear: token.expiryYear,
            holderName: token.holderName,
            reveal: () =>
              Runtime.runPromise(runtime)(
                vault.reveal(token.vaultToken, tenantId).pipe(
                  Effect.map((card) => ({
                    number: Redacted.value(card.number),
                    expiryMonth: card.expiryMonth,
                    expiryYear: card.expiryYear,
                    holderName: card.holderName
                  })),
                  Effect.mapError((e) => new Errors.GatewayTransientError({ gateway: id, operation: "reveal", reason: `the card could not be read from the vault (${e._tag})` }))
                )
              )
          }
        case "gateway_token":
          return { type: "gateway_token", gateway: token.gateway, token: token.token }
        case "checkout":
          return { type: "checkout" }
      }
    }
    const supportsManual = typeof user.capture === "function" && typeof user.void === "function"
    const declared = user.capabilities
    const currencies = declared?.currencies === undefined || declared.currencies === "all"
      ? "all" as const
      : declared.currencies.filter(Currency.isCurrencyCode)
    const malformed = (operation: string, moneyMoving: boolean) =>
      moneyMoving
        ? new Gateway.GatewayUnknownOutcome({ gateway: id, operation, reason: "the gateway answered something that is not a result" })
        : new Gateway.GatewayTransientError({ gateway: id, operation, reason: "the gateway answered something that is not a result" })
    const noManual = (operation: string) =>
      Effect.fail(new Gateway.GatewayMisconfigured({ gateway: id, reason: `the gateway has no ${operation} method` }))

    const gateway: Gateway.Gateway = {
      id,
      capabilities: {
        currencies,
        manualCapture: declared?.manualCapture ?? supportsManual,
        ...(declared?.paymentMethods === undefined ? {} : { paymentMethods: declared.paymentMethods }),
        ...(declared?.statusLookup === undefined ? {} : { statusLookup: declared.statusLookup })
      },
      initiate: (request) => {
        const initiate = user.initiate
        if (initiate === undefined) return Effect.succeed({ reference: request.paymentId })
        return call(id, "initiate", false, (signal) =>
          initiate.call(user, {
            paymentId: request.paymentId,
            tenantId: request.tenantId ?? "default",
            idempotencyKey: request.idempotencyKey,
            amount: amountOf(request.amount),
            capture: request.capture,
            paymentMethod: methodOf(request.paymentMethod, request.tenantId ?? "default"),
            ...(request.description === undefined ? {} : { description: request.description }),
            signal
          })).pipe(
            Effect.mapError(asRead),
            Effect.flatMap((r) => isObject(r) && nonEmpty(r["reference"]) ? Effect.succeed({ reference: r["reference"] }) : Effect.fail(asRead(malformed("initiate", false))))
          )
      },
      authenticate: (request) => {
        const authenticate = user.authenticate
        if (authenticate === undefined) return Effect.void
        return call(id, "authenticate", false, (signal) =>
          authenticate.call(user, {
            paymentId: request.paymentId,
            amount: amountOf(request.amount),
            paymentMethod: methodOf(request.paymentMethod, request.tenantId ?? "default"),
            signal
          })).pipe(Effect.mapError((e): Gateway.GatewayDeclined | Gateway.GatewayReadError => e._tag === "GatewayDeclined" ? e : asRead(e)), Effect.asVoid)
      },
      process: (request) =>
        call(id, "process", true, (signal) =>
          user.process({
            paymentId: request.paymentId,
            tenantId: request.tenantId ?? "default",
            idempotencyKey: request.idempotencyKey,
            amount: amountOf(request.amount),
            capture: request.capture,
            paymentMethod: methodOf(request.paymentMethod, request.tenantId ?? "default"),
            ...(request.description === undefined ? {} : { description: request.description }),
            ...(request.reference === undefined ? {} : { reference: request.reference }),
            signal
          })).pipe(Effect.flatMap((r) => {
            const result = processResultOf(r)
            return result === undefined ? Effect.fail(malformed("process", true)) : Effect.succeed(result)
          })),
      capture: (request) => {
        const capture = user.capture
        if (capture === undefined) return noManual("capture")
        return call(id, "capture", true, (signal) =>
          capture.call(user, { transactionId: request.transactionId, idempotencyKey: request.idempotencyKey, amount: amountOf(request.amount), signal })
        ).pipe(Effect.flatMap((r) =>
          isObject(r) && nonEmpty(r["transactionId"]) ? Effect.succeed({ transactionId: r["transactionId"] }) : Effect.fail(malformed("capture", true))
        ))
      },
      void: (request) => {
        const release = user.void
        if (release === undefined) return noManual("void")
        return call(id, "void", true, (signal) =>
          release.call(user, { transactionId: request.transactionId, idempotencyKey: request.idempotencyKey, signal })).pipe(Effect.asVoid)
      },
      refund: (request) =>
        call(id, "refund", true, (signal) =>
          user.refund({ transactionId: request.transactionId, idempotencyKey: request.idempotencyKey, amount: amountOf(request.amount), signal })
        ).pipe(Effect.flatMap((r) =>
          isObject(r) && nonEmpty(r["refundId"]) ? Effect.succeed({ refundId: r["refundId"] }) : Effect.fail(malformed("refund", true))
        )),
      getStatus: (request) =>
        call(id, "getStatus", false, (signal) =>
          user.getStatus({
            idempotencyKey: request.idempotencyKey,
            ...(request.reference === undefined ? {} : { reference: request.reference }),
            signal
          })).pipe(
            Effect.mapError(asRead),
            Effect.flatMap((r) => {
              const result = statusResultOf(r)
              return result === undefined ? Effect.fail(asRead(malformed("getStatus", false))) : Effect.succeed(result)
            })
          ),
      healthCheck: Effect.gen(function*() {
        const check = user.healthCheck
        if (check === undefined) return { healthy: true, latencyMillis: 0 }
        const start = yield* Clock.currentTimeMillis
        const healthy = yield* Effect.tryPromise(() => check.call(user)).pipe(
          Effect.map((r) => isObject(r) && r["healthy"] === true),
          Effect.orElseSucceed(() => false)
        )
        const end = yield* Clock.currentTimeMillis
        return { healthy, latencyMillis: end - start }
      })
    }
    return gateway
  })
