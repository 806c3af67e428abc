/**
 * An in-process fake of Stripe's PaymentIntents and Refunds API (an `@effect/platform`
 * `HttpRouter` app; serve it with `FakeServer.serve` or {@link serve}), reproducing the
 * documented behaviour the adapter depends on:
 *
 * - PaymentIntents: create, retrieve, list, search by metadata, confirm, capture (partial),
 *   cancel; the statuses of https://docs.stripe.com/payments/paymentintents/lifecycle and the
 *   `payment_intent_unexpected_state` error for a call the status does not allow;
 * - Refunds: create (partial, never above what was captured), retrieve;
 * - idempotency (https://docs.stripe.com/api/idempotent_requests): the first answer to a key
 *   (a 5xx included) is saved and replayed with `Idempotent-Replayed: true`; the same key with
 *   other parameters or on another endpoint is a 400 `idempotency_error`; a key in flight is a
 *   409; parameter-validation errors, 401 and 429 are not saved;
 * - test payment methods ({@link TestPaymentMethods}): declines, insufficient funds, 3-D Secure
 *   (`requires_action`: a redirect with a return URL, else `use_stripe_sdk` and the client
 *   secret); with raw card numbers, Stripe's test card numbers;
 * - Bearer authentication (401 `authentication_error` for any other key);
 * - fault injection ({@link Fault}): a 5xx before or after applying, a timeout after applying,
 *   a connection reset before or after applying, a 429, an answer that is not JSON or not the
 *   expected object;
 * - events signed exactly as Stripe signs webhooks (`Stripe-Signature: t=…,v1=HMAC-SHA256 hex of
 *   "t.body"`), including refunds made in the Dashboard and disputes;
 * - a ledger (charges, captures, refunds) to check that no payment was charged twice, and every
 *   request received, for checking against Stripe's OpenAPI description.
 *
 * Not reproduced: Stripe's search lag is opt-in ({@link Options.searchLag}), amounts limits,
 * currencies Stripe does not present, other payment-method types, Connect.
 *
 * @since 0.2.0
 */
import type { HttpApp, HttpServerError } from "@effect/platform"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import type { Scope } from "effect"
import { Clock, Effect, Option } from "effect"
import { createHmac } from "node:crypto"
import * as FakeServer from "./FakeServer.js"

/**
 * Stripe's test PaymentMethods the fake honours (any other `pm_…` succeeds).
 *
 * @since 0.2.0
 */
export const TestPaymentMethods = {
  /** Succeeds. */
  visa: "pm_card_visa",
  /** Declined: `card_declined` / `generic_decline`. */
  declined: "pm_card_chargeDeclined",
  /** Declined: `card_declined` / `insufficient_funds`. */
  insufficientFunds: "pm_card_chargeDeclinedInsufficientFunds",
  /** 3-D Secure required: `requires_action`. */
  threeDSecure: "pm_card_threeDSecure2Required",
  /** Fake only: the intent stays `processing` until {@link FakeStripe.settleProcessing}. */
  processing: "pm_fake_processing"
} as const

/**
 * Stripe's test card numbers the fake honours when raw card numbers are sent.
 *
 * @since 0.2.0
 */
export const TestCardNumbers = {
  declined: "4000000000000002",
  insufficientFunds: "4000000000009995",
  threeDSecure: "4000002760003184"
} as const

/**
 * A fault for the next matching request.
 * - `error500`: execution begins, nothing is applied, a 500 `api_error` is saved for the key;
 * - `error500AfterApply`: applied, then a 500 saved for the key (replayed for 24 h);
 * - `timeoutAfterApply`: applied (the real answer saved), the answer never sent;
 * - `hang`: nothing applied, no answer;
 * - `resetBeforeApply` / `resetAfterApply`: the connection is destroyed;
 * - `rateLimit`: 429, nothing applied or saved;
 * - `notJson` / `unexpectedJson`: applied (real answer saved), a garbled 200 sent.
 *
 * @since 0.2.0
 */
export type Fault =
  | "error500"
  | "error500AfterApply"
  | "timeoutAfterApply"
  | "hang"
  | "resetBeforeApply"
  | "resetAfterApply"
  | "rateLimit"
  | "notJson"
  | "unexpectedJson"

/**
 * Which requests a fault applies to (all given conditions must hold).
 *
 * @since 0.2.0
 */
export interface FaultMatch {
  readonly method?: "GET" | "POST" | undefined
  /** A path such as `/v1/payment_intents/{intent}/confirm` (the route's template) or a RegExp on the actual path. */
  readonly path?: string | RegExp | undefined
}

/**
 * A request the fake received.
 *
 * @since 0.2.0
 */
export interface RecordedRequest {
  readonly method: string
  /** The actual path, e.g. `/v1/payment_intents/pi_1/confirm`. */
  readonly path: string
  /** The route template, e.g. `/v1/payment_intents/{intent}/confirm`. */
  readonly route: string
  readonly query: ReadonlyArray<readonly [string, string]>
  readonly form: ReadonlyArray<readonly [string, string]>
  readonly idempotencyKey: string | undefined
  readonly stripeVersion: string | undefined
  readonly contentType: string | undefined
}

/**
 * A PaymentIntent as the fake holds it.
 *
 * @since 0.2.0
 */
export interface Intent {
  id: string
  amount: bigint
  currency: string
  captureMethod: string
  status: "requires_payment_method" | "requires_confirmation" | "requires_action" | "processing" | "requires_capture" | "canceled" | "succeeded"
  metadata: Record<string, string>
  description: string | undefined
  clientSecret: string
  paymentMethod: string | undefined
  returnUrl: string | undefined
  allowRedirects: string | undefined
  nextAction: { type: string; redirect_to_url?: { url: string; return_url: string } } | undefined
  lastPaymentError: { type: string; code: string; decline_code?: string; message: string } | undefined
  cancellationReason: string | undefined
  amountReceived: bigint
  amountCapturable: bigint
  latestCharge: string | undefined
  created: number
}

/**
 * The ledger: what moved. A charge is made when a confirm (or a finished 3-D Secure) authorizes
 * or captures; `captured` grows with captures; `voided` when an authorization is canceled.
 *
 * @since 0.2.0
 */
export interface Ledger {
  readonly charges: ReadonlyArray<{
    readonly id: string
    readonly intentId: string
    readonly paymentId: string | undefined
    readonly amount: bigint
    readonly currency: string
    readonly captured: bigint
    readonly refunded: bigint
    readonly voided: boolean
  }>
  readonly refunds: ReadonlyArray<{
    readonly id: string
    readonly intentId: string
    readonly amount: bigint
    readonly status: string
    readonly metadata: Readonly<Record<string, string>>
  }>
}

/**
 * A webhook request as Stripe would POST it: header names lower-cased, the exact body.
 *
 * @since 0.2.0
 */
export interface SignedWebhook {
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/**
 * A Stripe event the fake emitted.
 *
 * @since 0.2.0
 */
export interface StripeEvent {
  readonly id: string
  readonly object: "event"
  readonly type: string
  readonly created: number
  readonly livemode: boolean
  readonly api_version: string
  readonly data: { readonly object: unknown }
}

/**
 * Settings of the fake.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The only secret key accepted (default `sk_test_fake`). */
  readonly secretKey?: string | undefined
  /** The webhook signing secret (default `whsec_fake`). */
  readonly webhookSecret?: string | undefined
  /** When true, new PaymentIntents are missing from search until {@link FakeStripe.indexSearch}. */
  readonly searchLag?: boolean | undefined
}

/**
 * A running fake's controls and observations.
 *
 * @since 0.2.0
 */
export interface FakeStripe {
  readonly app: HttpApp.Default<never, never>
  readonly secretKey: string
  readonly webhookSecret: string
  /** Queues a fault for the next request matching `match` (FIFO among faults). */
  readonly inject: (fault: Fault, match?: FaultMatch) => Effect.Effect<void>
  /** Faults queued and not yet met. */
  readonly pendingFaults: Effect.Effect<number>
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly intent: (id: string) => Effect.Effect<Option.Option<Intent>>
  readonly intents: Effect.Effect<ReadonlyArray<Intent>>
  readonly ledger: Effect.Effect<Ledger>
  /** Every event emitted so far, in order. */
  readonly events: Effect.Effect<ReadonlyArray<StripeEvent>>
  /** The customer finishes (or fails) 3-D Secure for an intent in `requires_action`. */
  readonly finishAction: (intentId: string, outcome: "succeed" | "fail") => Effect.Effect<void>
  /** A `processing` intent settles (fake-only test method {@link TestPaymentMethods.processing}). */
  readonly settleProcessing: (intentId: string) => Effect.Effect<void>
  /** A refund made in the Dashboard (no AegisPay metadata); default: everything left. */
  readonly dashboardRefund: (intentId: string, amount?: bigint) => Effect.Effect<string>
  /** A dispute opened by the card holder on the intent's charge; answers the dispute id. */
  readonly openDispute: (intentId: string) => Effect.Effect<string>
  /** The dispute is closed (`won` or `lost`). */
  readonly closeDispute: (disputeId: string, status: "won" | "lost") => Effect.Effect<void>
  /** Makes every intent visible to search (see {@link Options.searchLag}). */
  readonly indexSearch: Effect.Effect<void>
  /** `event` as Stripe POSTs it to an endpoint, signed at `timestamp` (default now) with `secret` (default the fake's). */
  readonly sign: (event: unknown, options?: { readonly timestamp?: number; readonly secret?: string }) => Effect.Effect<SignedWebhook>
  /** The last emitted event of `type` (about `objectId`, when given), signed now. */
  readonly webhook: (type: string, objectId?: string) => Effect.Effect<SignedWebhook>
}

interface Answer {
  readonly status: number
  readonly body: unknown
  /** Whether Stripe would save this answer for the key (false for validation errors, 401, 429). */
  readonly save: boolean
}

interface Saved {
  readonly fingerprint: string
  readonly route: string
  readonly status: number
  readonly body: string
}

interface State {
  readonly intents: Map<string, Intent>
  readonly refunds: Map<string, { id: string; intentId: string; amount: bigint; status: string; metadata: Record<string, string>; created: number }>
  readonly charges: Map<string, { id: string; intentId: string; paymentId: string | undefined; amount: bigint; currency: string; captured: bigint; refunded: bigint; voided: boolean }>
  readonly disputes: Map<string, { id: string; intentId: string; chargeId: string; amount: bigint; status: string }>
  readonly saved: Map<string, Saved>
  readonly inFlight: Set<string>
  readonly hidden: Set<string>
  readonly faults: Array<{ readonly fault: Fault; readonly match: FaultMatch }>
  readonly requests: Array<RecordedRequest>
  readonly events: Array<StripeEvent>
  seq: number
}

const apiVersion = "2023-08-16"

const error = (status: number, type: string, message: string, extra: Record<string, unknown> = {}, save = true): Answer => ({
  status,
  body: { error: { type, message, ...extra } },
  save
})

const invalid = (message: string, param?: string): Answer =>
  error(400, "invalid_request_error", message, param === undefined ? {} : { param, code: "parameter_invalid" }, false)

const matches = (match: FaultMatch, method: string, route: string, path: string) =>
  (match.method === undefined || match.method === method) &&
  (match.path === undefined || (typeof match.path === "string" ? match.path === route || match.path === path : match.path.test(path)))

/**
 * Stripe's webhook signature: HMAC-SHA256, keyed with the endpoint secret, of
 * `${timestamp}.${body}` over the body's exact bytes, hex encoded (the `v1` of `Stripe-Signature`).
 *
 * @since 0.2.0
 */
export const signature = (secret: string, timestamp: number, body: Uint8Array): string =>
  createHmac("sha256", secret).update(Buffer.concat([Buffer.from(`${timestamp}.`, "utf8"), body])).digest("hex")

/**
 * Builds a fake Stripe.
 *
 * @since 0.2.0
 */
export const make = (options: Options = {}): Effect.Effect<FakeStripe> =>
  Effect.gen(function*() {
    const secretKey = options.secretKey ?? "sk_test_fake"
    const webhookSecret = options.webhookSecret ?? "whsec_fake"
    const state: State = {
      intents: new Map(),
      refunds: new Map(),
      charges: new Map(),
      disputes: new Map(),
      saved: new Map(),
      inFlight: new Set(),
      hidden: new Set(),
      faults: [],
      requests: [],
      events: [],
      seq: 0
    }
    // every state change runs under this lock: the fake is one consistent "Stripe"
    const lock = yield* Effect.makeSemaphore(1)
    const locked = <A, E, R>(effect: Effect.Effect<A, E, R>) => lock.withPermits(1)(effect)
    const nextId = (prefix: string) => `${prefix}_${String(++state.seq).padStart(6, "0")}`
    const nowSeconds = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))

    const intentJson = (intent: Intent) => ({
      id: intent.id,
      object: "payment_intent",
      amount: Number(intent.amount),
      amount_capturable: Number(intent.amountCapturable),
      amount_received: Number(intent.amountReceived),
      capture_method: intent.captureMethod,
      client_secret: intent.clientSecret,
      confirmation_method: "automatic",
      created: intent.created,
      currency: intent.currency,
      description: intent.description ?? null,
      last_payment_error: intent.lastPaymentError ?? null,
      latest_charge: intent.latestCharge ?? null,
      livemode: false,
      metadata: intent.metadata,
      next_action: intent.nextAction ?? null,
      payment_method: intent.paymentMethod ?? null,
      payment_method_types: ["card"],
      cancellation_reason: intent.cancellationReason ?? null,
      status: intent.status
    })

    const refundJson = (refund: State["refunds"] extends Map<string, infer R> ? R : never) => ({
      id: refund.id,
      object: "refund",
      amount: Number(refund.amount),
      charge: state.intents.get(refund.intentId)?.latestCharge ?? null,
      created: refund.created,
      currency: state.intents.get(refund.intentId)?.currency ?? "usd",
      metadata: refund.metadata,
      payment_intent: refund.intentId,
      status: refund.status
    })

    const emit = (type: string, object: unknown) =>
      Effect.map(nowSeconds, (created) => {
        state.events.push({ id: nextId("evt"), object: "event", type, created, livemode: false, api_version: apiVersion, data: { object } })
      })

    /** Moves money: the intent is authorized (manual) or captured (automatic). */
    const charge = (intent: Intent) =>
      Effect.gen(function*() {
        const chargeId = nextId("ch")
        intent.latestCharge = chargeId
        intent.nextAction = undefined
        intent.lastPaymentError = undefined
        const manual = intent.captureMethod === "manual"
        state.charges.set(chargeId, {
          id: chargeId,
          intentId: intent.id,
          paymentId: intent.metadata["aegispay_payment_id"],
          amount: intent.amount,
          currency: intent.currency,
          captured: manual ? 0n : intent.amount,
          refunded: 0n,
          voided: false
        })
        if (manual) {
          intent.status = "requires_capture"
          intent.amountCapturable = intent.amount
          yield* emit("payment_intent.amount_capturable_updated", intentJson(intent))
        } else {
          intent.status = "succeeded"
          intent.amountReceived = intent.amount
          yield* emit("charge.succeeded", { id: chargeId, object: "charge", payment_intent: intent.id })
          yield* emit("payment_intent.succeeded", intentJson(intent))
        }
      })

    const decline = (intent: Intent, code: string, declineCode: string, message: string) =>
      Effect.gen(function*() {
        intent.status = "requires_payment_method"
        intent.nextAction = undefined
        intent.lastPaymentError = { type: "card_error", code, decline_code: declineCode, message }
        yield* emit("payment_intent.payment_failed", intentJson(intent))
        return error(402, "card_error", message, { code, decline_code: declineCode, payment_intent: intentJson(intent) })
      })

    const unexpectedState = (intent: Intent, action: string) =>
      error(400, "invalid_request_error", `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}.`, {
        code: "payment_intent_unexpected_state",
        payment_intent: intentJson(intent)
      })

    const missing = (id: string) => error(404, "invalid_request_error", `No such payment_intent: '${id}'`, { code: "resource_missing", param: "intent" })

    type Form = ReadonlyMap<string, string>
    const integer = (form: Form, name: string): bigint | undefined | Answer => {
      const value = form.get(name)
      if (value === undefined) return undefined
      return /^\d+$/.test(value) ? BigInt(value) : invalid(`Invalid integer: ${value}`, name)
    }
    const isAnswer = (value: unknown): value is Answer => typeof value === "object" && value !== null && "status" in value && "save" in value

    // ---- the routes' effects (run under the lock) ----

    const createIntent = (form: Form) =>
      Effect.gen(function*() {
        const amount = integer(form, "amount")
        if (isAnswer(amount)) return amount
        if (amount === undefined || amount <= 0n) return invalid("Missing required param: amount.", "amount")
        const currency = form.get("currency")
        if (currency === undefined || !/^[a-z]{3}$/.test(currency)) return invalid("Invalid currency", "currency")
        if (["bhd", "jod", "kwd", "omr", "tnd"].includes(currency) && amount % 10n !== 0n) {
          return invalid("Invalid amount: the last digit of a three-decimal currency amount must be 0", "amount")
        }
        const captureMethod = form.get("capture_method") ?? "automatic"
        if (!["automatic", "automatic_async", "manual"].includes(captureMethod)) return invalid("Invalid capture_method", "capture_method")
        const metadata: Record<string, string> = {}
        for (const [key, value] of form) {
          const m = /^metadata\[(.+)\]$/.exec(key)
          if (m?.[1] !== undefined) metadata[m[1]] = value
        }
        const id = nextId("pi")
        const intent: Intent = {
          id,
          amount,
          currency,
          captureMethod,
          status: "requires_payment_method",
          metadata,
          description: form.get("description"),
          clientSecret: `${id}_secret_fake`,
          paymentMethod: undefined,
          returnUrl: undefined,
          allowRedirects: form.get("automatic_payment_methods[allow_redirects]"),
          nextAction: undefined,
          lastPaymentError: undefined,
          cancellationReason: undefined,
          amountReceived: 0n,
          amountCapturable: 0n,
          latestCharge: undefined,
          created: yield* nowSeconds
        }
        state.intents.set(id, intent)
        if (options.searchLag === true) state.hidden.add(id)
        yield* emit("payment_intent.created", intentJson(intent))
        return { status: 200, body: intentJson(intent), save: true }
      })

    const confirmIntent = (id: string, form: Form) =>
      Effect.gen(function*() {
        const intent = state.intents.get(id)
        if (intent === undefined) return missing(id)
        if (intent.status !== "requires_payment_method" && intent.status !== "requires_confirmation") return unexpectedState(intent, "confirm")
        const pm = form.get("payment_method")
        const number = form.get("payment_method_data[card][number]")
        if (pm === undefined && number === undefined) {
          return invalid("You must provide a payment_method or payment_method_data to confirm.", "payment_method")
        }
        const returnUrl = form.get("return_url")
        intent.paymentMethod = pm ?? nextId("pm")
        intent.returnUrl = returnUrl
        intent.lastPaymentError = undefined
        const kind = pm === TestPaymentMethods.declined || number === TestCardNumbers.declined
          ? "declined"
          : pm === TestPaymentMethods.insufficientFunds || number === TestCardNumbers.insufficientFunds
          ? "insufficient"
          : pm === TestPaymentMethods.threeDSecure || number === TestCardNumbers.threeDSecure
          ? "3ds"
          : pm === TestPaymentMethods.processing
          ? "processing"
          : "success"
        switch (kind) {
          case "declined":
            return yield* decline(intent, "card_declined", "generic_decline", "Your card was declined.")
          case "insufficient":
            return yield* decline(intent, "card_declined", "insufficient_funds", "Your card has insufficient funds.")
          case "3ds": {
            intent.status = "requires_action"
            intent.nextAction = returnUrl !== undefined
              ? { type: "redirect_to_url", redirect_to_url: { url: `https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=${id}`, return_url: returnUrl } }
              : { type: "use_stripe_sdk" }
            yield* emit("payment_intent.requires_action", intentJson(intent))
            break
          }
          case "processing":
            intent.status = "processing"
            yield* emit("payment_intent.processing", intentJson(intent))
            break
          case "success":
            yield* charge(intent)
        }
        return { status: 200, body: intentJson(intent), save: true }
      })

    const captureIntent = (id: string, form: Form) =>
      Effect.gen(function*() {
        const intent = state.intents.get(id)
        if (intent === undefined) return missing(id)
        if (intent.status !== "requires_capture") return unexpectedState(intent, "capture")
        const requested = integer(form, "amount_to_capture")
        if (isAnswer(requested)) return requested
        const amount = requested ?? intent.amountCapturable
        if (amount <= 0n || amount > intent.amountCapturable) return invalid("amount_to_capture must be at most the amount capturable", "amount_to_capture")
        const chargeRecord = intent.latestCharge === undefined ? undefined : state.charges.get(intent.latestCharge)
        if (chargeRecord !== undefined) chargeRecord.captured = amount
        intent.status = "succeeded"
        intent.amountReceived = amount
        intent.amountCapturable = 0n
        yield* emit("payment_intent.succeeded", intentJson(intent))
        return { status: 200, body: intentJson(intent), save: true }
      })

    const cancelIntent = (id: string, form: Form) =>
      Effect.gen(function*() {
        const intent = state.intents.get(id)
        if (intent === undefined) return missing(id)
        if (intent.status === "succeeded" || intent.status === "canceled") return unexpectedState(intent, "cancel")
        const reason = form.get("cancellation_reason")
        if (reason !== undefined && !["abandoned", "duplicate", "fraudulent", "requested_by_customer"].includes(reason)) {
          return invalid("Invalid cancellation_reason", "cancellation_reason")
        }
        if (intent.status === "requires_capture" && intent.latestCharge !== undefined) {
          const chargeRecord = state.charges.get(intent.latestCharge)
          if (chargeRecord !== undefined) chargeRecord.voided = true
        }
        intent.status = "canceled"
        intent.nextAction = undefined
        intent.amountCapturable = 0n
        intent.cancellationReason = reason ?? "requested_by_customer"
        yield* emit("payment_intent.canceled", intentJson(intent))
        return { status: 200, body: intentJson(intent), save: true }
      })

    const refundOf = (intent: Intent, amount: bigint | undefined, metadata: Record<string, string>) =>
      Effect.gen(function*() {
        if (intent.status !== "succeeded") return invalid(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, "payment_intent")
        const chargeRecord = intent.latestCharge === undefined ? undefined : state.charges.get(intent.latestCharge)
        if (chargeRecord === undefined) return invalid("No charge to refund", "payment_intent")
        const left = chargeRecord.captured - chargeRecord.refunded
        const value = amount ?? left
        if (value <= 0n || value > left) {
          return error(400, "invalid_request_error", `Refund amount (${value}) is greater than unrefunded amount on charge (${left})`, { code: "amount_too_large", param: "amount" }, false)
        }
        chargeRecord.refunded += value
        const refund = { id: nextId("re"), intentId: intent.id, amount: value, status: "succeeded", metadata, created: yield* nowSeconds }
        state.refunds.set(refund.id, refund)
        yield* emit("refund.created", refundJson(refund))
        yield* emit("charge.refunded", { id: chargeRecord.id, object: "charge", payment_intent: intent.id, amount_refunded: Number(chargeRecord.refunded), metadata: {} })
        return { status: 200, body: refundJson(refund), save: true } satisfies Answer
      })

    const createRefund = (form: Form) =>
      Effect.gen(function*() {
        const id = form.get("payment_intent")
        if (id === undefined) return invalid("Missing payment_intent", "payment_intent")
        const intent = state.intents.get(id)
        if (intent === undefined) return error(404, "invalid_request_error", `No such payment_intent: '${id}'`, { code: "resource_missing", param: "payment_intent" }, false)
        const amount = integer(form, "amount")
        if (isAnswer(amount)) return amount
        const metadata: Record<string, string> = {}
        for (const [key, value] of form) {
          const m = /^metadata\[(.+)\]$/.exec(key)
          if (m?.[1] !== undefined) metadata[m[1]] = value
        }
        return yield* refundOf(intent, amount, metadata)
      })

    const search = (query: string): Answer => {
      const m = /^metadata\['([^']+)'\]:'((?:[^'\\]|\\.)*)'$/.exec(query)
      if (m === null) return invalid("Unsupported search query (the fake supports metadata['key']:'value')", "query")
      const key = m[1] ?? ""
      const value = (m[2] ?? "").replace(/\\(.)/g, "$1")
      const data = [...state.intents.values()].filter((i) => !state.hidden.has(i.id) && i.metadata[key] === value).map(intentJson)
      return { status: 200, body: { object: "search_result", data, has_more: false, next_page: null, url: "/v1/payment_intents/search" }, save: false }
    }

    // ---- request handling: record, authenticate, faults, idempotency ----

    type Handler = (input: { readonly params: Readonly<Record<string, string | undefined>>; readonly form: Form; readonly query: URLSearchParams }) => Effect.Effect<Answer>

    const respond = (answer: { readonly status: number; readonly body: string }, replayed: boolean) =>
      HttpServerResponse.text(answer.body, {
        status: answer.status,
        contentType: "application/json",
        headers: replayed ? { "idempotent-replayed": "true", "request-id": nextId("req") } : { "request-id": nextId("req") }
      })

    const never = Effect.never

    const route = (method: "GET" | "POST", template: string, handler: Handler) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const params = yield* HttpRouter.params
        const url = new URL(request.url, "http://fake.stripe")
        const body = method === "POST" ? yield* Effect.orElseSucceed(request.text, () => "") : ""
        const form = [...new URLSearchParams(body).entries()]
        const key = request.headers["idempotency-key"]
        const path = url.pathname
        const prepared = yield* locked(Effect.sync(() => {
          state.requests.push({
            method,
            path,
            route: template,
            query: [...url.searchParams.entries()],
            form,
            idempotencyKey: key,
            stripeVersion: request.headers["stripe-version"],
            contentType: request.headers["content-type"]
          })
          const faultAt = state.faults.findIndex((f) => matches(f.match, method, template, path))
          const fault = faultAt >= 0 ? state.faults.splice(faultAt, 1)[0]?.fault : undefined
          // a hung request holds its key, as a request Stripe is still executing does
          if (fault === "hang" && method === "POST" && key !== undefined && !state.saved.has(key)) state.inFlight.add(key)
          return { fault }
        }))
        const fault = prepared.fault
        if (request.headers["authorization"] !== `Bearer ${secretKey}`) {
          return respond({ status: 401, body: JSON.stringify({ error: { type: "invalid_request_error", code: "api_key_invalid", message: "Invalid API Key provided." } }) }, false)
        }
        if (fault === "resetBeforeApply") {
          NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
          return yield* never
        }
        if (fault === "hang") {
          return yield* Effect.ensuring(never, locked(Effect.sync(() => key !== undefined && state.inFlight.delete(key))))
        }
        if (fault === "rateLimit") {
          return respond({ status: 429, body: JSON.stringify({ error: { type: "invalid_request_error", code: "rate_limit", message: "Too many requests." } }) }, false)
        }
        const fingerprint = `${method} ${template} ${[...form].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join("&")}`
        const outcome = yield* locked(Effect.gen(function*() {
          if (method === "POST" && key !== undefined) {
            const saved = state.saved.get(key)
            if (saved !== undefined) {
              if (saved.route !== template) {
                return { kind: "answer" as const, replayed: false, answer: { status: 400, body: JSON.stringify({ error: { type: "idempotency_error", message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${saved.route}' vs '${template}').` } }) } }
              }
              if (saved.fingerprint !== fingerprint) {
                return { kind: "answer" as const, replayed: false, answer: { status: 400, body: JSON.stringify({ error: { type: "idempotency_error", message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` } }) } }
              }
              return { kind: "answer" as const, replayed: true, answer: { status: saved.status, body: saved.body } }
            }
            if (state.inFlight.has(key)) {
              return { kind: "answer" as const, replayed: false, answer: { status: 409, body: JSON.stringify({ error: { type: "idempotency_error", code: "idempotency_key_in_use", message: "There is currently another in-progress request using this Idempotent Key." } }) } }
            }
          }
          if (fault === "error500") {
            const answer = { status: 500, body: JSON.stringify({ error: { type: "api_error", message: "An unknown error occurred." } }) }
            if (method === "POST" && key !== undefined) state.saved.set(key, { fingerprint, route: template, ...answer })
            return { kind: "answer" as const, replayed: false, answer }
          }
          const applied = yield* handler({ params, form: new Map(form), query: url.searchParams })
          const text = { status: applied.status, body: JSON.stringify(applied.body) }
          const stored = fault === "error500AfterApply"
            ? { status: 500, body: JSON.stringify({ error: { type: "api_error", message: "An unknown error occurred." } }) }
            : text
          if (method === "POST" && key !== undefined && applied.save) state.saved.set(key, { fingerprint, route: template, ...stored })
          return { kind: "applied" as const, replayed: false, answer: stored }
        }))
        switch (fault) {
          case "timeoutAfterApply":
            if (outcome.kind === "applied") return yield* never
            break
          case "resetAfterApply":
            if (outcome.kind === "applied") {
              NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
              return yield* never
            }
            break
          case "notJson":
            if (outcome.kind === "applied") return HttpServerResponse.text("<html><body>502 Bad Gateway</body></html>", { status: 200, contentType: "text/html" })
            break
          case "unexpectedJson":
            if (outcome.kind === "applied") return HttpServerResponse.text(JSON.stringify({ object: "payment_intent", status: "teleported" }), { status: 200, contentType: "application/json" })
            break
        }
        return respond(outcome.answer, outcome.replayed)
      })

    const param = (params: Readonly<Record<string, string | undefined>>, name: string) => params[name] ?? ""

    const router = HttpRouter.empty.pipe(
      HttpRouter.post("/v1/payment_intents", route("POST", "/v1/payment_intents", ({ form }) => createIntent(form))),
      HttpRouter.get("/v1/payment_intents", route("GET", "/v1/payment_intents", ({ query }) =>
        Effect.sync(() => {
          const limit = Number(query.get("limit") ?? "10")
          const data = [...state.intents.values()].reverse().slice(0, Math.max(1, Math.min(100, limit))).map(intentJson)
          return { status: 200, body: { object: "list", data, has_more: false, url: "/v1/payment_intents" }, save: false }
        }))),
      HttpRouter.get("/v1/payment_intents/search", route("GET", "/v1/payment_intents/search", ({ query }) => Effect.sync(() => search(query.get("query") ?? "")))),
      HttpRouter.get("/v1/payment_intents/:intent", route("GET", "/v1/payment_intents/{intent}", ({ params }) =>
        Effect.sync(() => {
          const intent = state.intents.get(param(params, "intent"))
          return intent === undefined ? { ...missing(param(params, "intent")), save: false } : { status: 200, body: intentJson(intent), save: false }
        }))),
      HttpRouter.post("/v1/payment_intents/:intent/confirm", route("POST", "/v1/payment_intents/{intent}/confirm", ({ form, params }) => confirmIntent(param(params, "intent"), form))),
      HttpRouter.post("/v1/payment_intents/:intent/capture", route("POST", "/v1/payment_intents/{intent}/capture", ({ form, params }) => captureIntent(param(params, "intent"), form))),
      HttpRouter.post("/v1/payment_intents/:intent/cancel", route("POST", "/v1/payment_intents/{intent}/cancel", ({ form, params }) => cancelIntent(param(params, "intent"), form))),
      HttpRouter.post("/v1/refunds", route("POST", "/v1/refunds", ({ form }) => createRefund(form))),
      HttpRouter.get("/v1/refunds", route("GET", "/v1/refunds", ({ query }) =>
        Effect.sync(() => {
          const intent = query.get("payment_intent")
          const limit = Math.max(1, Math.min(100, Number(query.get("limit") ?? "10")))
          const data = [...state.refunds.values()].filter((r) => intent === null || r.intentId === intent).reverse().slice(0, limit).map(refundJson)
          return { status: 200, body: { object: "list", data, has_more: false, url: "/v1/refunds" }, save: false }
        }))),
      HttpRouter.get("/v1/refunds/:refund", route("GET", "/v1/refunds/{refund}", ({ params }) =>
        Effect.sync(() => {
          const refund = state.refunds.get(param(params, "refund"))
          return refund === undefined
            ? error(404, "invalid_request_error", "No such refund", { code: "resource_missing" }, false)
            : { status: 200, body: refundJson(refund), save: false }
        })))
    )
    const app: HttpApp.Default<never, never> = router.pipe(
      Effect.catchAll(() =>
        Effect.succeed(HttpServerResponse.text(JSON.stringify({ error: { type: "invalid_request_error", message: "Unrecognized request URL." } }), { status: 404, contentType: "application/json" }))
      )
    )

    const sign: FakeStripe["sign"] = (event, signOptions) =>
      Effect.gen(function*() {
        const timestamp = signOptions?.timestamp ?? (yield* nowSeconds)
        const body = new TextEncoder().encode(JSON.stringify(event))
        const signed = signature(signOptions?.secret ?? webhookSecret, timestamp, body)
        return { headers: { "stripe-signature": `t=${timestamp},v1=${signed}`, "content-type": "application/json; charset=utf-8" }, body }
      })

    const objectId = (event: StripeEvent): string | undefined => {
      const object = event.data.object
      if (typeof object !== "object" || object === null) return undefined
      const value: unknown = Reflect.get(object, "id")
      return typeof value === "string" ? value : undefined
    }

    const fake: FakeStripe = {
      app,
      secretKey,
      webhookSecret,
      inject: (fault, match = {}) => locked(Effect.sync(() => void state.faults.push({ fault, match }))),
      pendingFaults: locked(Effect.sync(() => state.faults.length)),
      requests: locked(Effect.sync(() => [...state.requests])),
      intent: (id) => locked(Effect.sync(() => Option.fromNullable(state.intents.get(id)).pipe(Option.map((i) => ({ ...i }))))),
      intents: locked(Effect.sync(() => [...state.intents.values()].map((i) => ({ ...i })))),
      ledger: locked(Effect.sync(() => ({
        charges: [...state.charges.values()].map((c) => ({ ...c })),
        refunds: [...state.refunds.values()].map((r) => ({ id: r.id, intentId: r.intentId, amount: r.amount, status: r.status, metadata: { ...r.metadata } }))
      }))),
      events: locked(Effect.sync(() => [...state.events])),
      finishAction: (intentId, outcome) =>
        locked(Effect.gen(function*() {
          const intent = state.intents.get(intentId)
          if (intent === undefined || intent.status !== "requires_action") return yield* Effect.dieMessage(`${intentId} is not waiting for the customer`)
          if (outcome === "succeed") return yield* charge(intent)
          intent.status = "requires_payment_method"
          intent.nextAction = undefined
          intent.lastPaymentError = {
            type: "invalid_request_error",
            code: "payment_intent_authentication_failure",
            message: "The provided PaymentMethod has failed authentication."
          }
          yield* emit("payment_intent.payment_failed", intentJson(intent))
        })),
      settleProcessing: (intentId) =>
        locked(Effect.gen(function*() {
          const intent = state.intents.get(intentId)
          if (intent === undefined || intent.status !== "processing") return yield* Effect.dieMessage(`${intentId} is not processing`)
          yield* charge(intent)
        })),
      dashboardRefund: (intentId, amount) =>
        locked(Effect.gen(function*() {
          const intent = state.intents.get(intentId)
          if (intent === undefined) return yield* Effect.dieMessage(`no intent ${intentId}`)
          const answer = yield* refundOf(intent, amount, {})
          if (answer.status !== 200) return yield* Effect.dieMessage(`dashboard refund refused: ${JSON.stringify(answer.body)}`)
          return [...state.refunds.keys()].at(-1) ?? ""
        })),
      openDispute: (intentId) =>
        locked(Effect.gen(function*() {
          const intent = state.intents.get(intentId)
          if (intent?.latestCharge === undefined) return yield* Effect.dieMessage(`no charge on ${intentId}`)
          const dispute = { id: nextId("dp"), intentId, chargeId: intent.latestCharge, amount: intent.amountReceived, status: "needs_response" }
          state.disputes.set(dispute.id, dispute)
          yield* emit("charge.dispute.created", { id: dispute.id, object: "dispute", amount: Number(dispute.amount), charge: dispute.chargeId, payment_intent: intentId, reason: "fraudulent", status: dispute.status, currency: intent.currency })
          return dispute.id
        })),
      closeDispute: (disputeId, status) =>
        locked(Effect.gen(function*() {
          const dispute = state.disputes.get(disputeId)
          if (dispute === undefined) return yield* Effect.dieMessage(`no dispute ${disputeId}`)
          dispute.status = status
          const currency = state.intents.get(dispute.intentId)?.currency ?? "usd"
          yield* emit("charge.dispute.closed", { id: dispute.id, object: "dispute", amount: Number(dispute.amount), charge: dispute.chargeId, payment_intent: dispute.intentId, reason: "fraudulent", status, currency })
        })),
      indexSearch: locked(Effect.sync(() => state.hidden.clear())),
      sign,
      webhook: (type, id) =>
        Effect.gen(function*() {
          const events = yield* locked(Effect.sync(() => [...state.events]))
          const event = events.filter((e) => e.type === type && (id === undefined || objectId(e) === id)).at(-1)
          if (event === undefined) return yield* Effect.dieMessage(`no ${type} event${id === undefined ? "" : ` about ${id}`}`)
          return yield* sign(event)
        })
    }
    return fake
  })

/**
 * A fake Stripe served on a loopback port for the scope: its controls and its base URL (pass it
 * as the adapter's `apiBase`).
 *
 * @since 0.2.0
 */
export const serve = (
  options: Options = {}
): Effect.Effect<{ readonly fake: FakeStripe; readonly url: string }, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const fake = yield* make(options)
    const running = yield* FakeServer.serve(fake.app)
    return { fake, url: running.url }
  })
