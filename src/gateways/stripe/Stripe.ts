/**
 * The Stripe adapter: a {@link Gateway} on Stripe's PaymentIntents API over `@effect/platform`'s
 * `HttpClient` (no vendor SDK), with 3-D Secure as a customer action and verified webhooks.
 *
 * How a charge goes (see docs/gateways/STRIPE.md):
 * - `initiate` creates a PaymentIntent (`POST /v1/payment_intents`, `Idempotency-Key:
 *   <key>:create`): amount in Stripe's exact units (zero- and three-decimal currencies handled,
 *   never rounded), `capture_method` automatic or manual, the payment id and attempt key as
 *   `metadata`. No money moves; its id is the attempt's reference.
 * - `process` confirms it (`POST /v1/payment_intents/{id}/confirm`, `Idempotency-Key:
 *   <key>:confirm`) with the payment's `pm_…` token (or, for accounts with raw card access, the
 *   vault's card) and the checkout's `return_url`. `succeeded` is a charge, `requires_capture`
 *   an authorization, `requires_action` a customer action (3-D Secure: a redirect URL when a
 *   return URL was given, else the client secret for Stripe.js), `processing` a provider-pending
 *   result (only with `allowPending`; otherwise an unknown outcome), a `card_error` a decline.
 * - `getStatus` reads the PaymentIntent by its id. Stripe replays a saved answer (a 5xx
 *   included) to the same key for 24 h, so asking again with the key learns nothing: the
 *   reference is the source of truth. Without a reference it searches by the attempt key in the
 *   metadata (Stripe's search is eventually consistent: an intent made in the last minute may be
 *   missing; the `not_found` answer is still safe, because the orchestration then re-sends with
 *   the same keys and Stripe answers with the intent it already has).
 *
 * Guarantees:
 * - every call that can move money carries an `Idempotency-Key` derived from the attempt's key,
 *   and no generic retry is ever applied (AegisPay's own retry decides);
 * - any doubt after a request may have reached Stripe (timeout, reset, 5xx, 409, an unreadable
 *   or unexpected answer) is a `GatewayUnknownOutcome` on a money-moving call, never a decline
 *   and never transient; a decline is only ever Stripe's own `card_error` or a PaymentIntent
 *   Stripe reports as failed;
 * - the secret key and the webhook secret are `Redacted`, sent only in the `Authorization`
 *   header and used only for the HMAC, never logged or put in an error; a card read from the
 *   vault is sent only in the confirm's form body and appears in no error or log.
 *
 * @since 0.2.0
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import type { ConfigError, Schema } from "effect"
import { Clock, Config, Context, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import * as CardVault from "../../gateway/CardVault.js"
import {
  type ActionRequired,
  type Capabilities,
  type Charged,
  type CheckoutDetails,
  type Gateway,
  GatewayDeclined,
  type GatewayError,
  GatewayMisconfigured,
  type GatewayProvider,
  type GatewayReadError,
  GatewayTransientError,
  type InitiateRequest,
  type ProcessRequest,
  type ProcessResult,
  type StatusResult
} from "../../gateway/Gateway.js"
import type { CustomerActionOperations, WebhookOperations } from "../../gateway/Gateway.js"
import type { Money } from "../../domain/Money.js"
import type { PaymentMethodToken } from "../../domain/PaymentMethod.js"
import * as Http from "../internal/http.js"
import { toStripe } from "./amount.js"
import { asRead, classify, errorOf } from "./errors.js"
import * as Form from "./form.js"
import * as Webhook from "./webhook.js"
import * as Wire from "./wire.js"

/**
 * The Stripe API version the adapter is written and tested against (the version of the vendored
 * OpenAPI description). Sent as `Stripe-Version` on every request, so the account's default
 * version never changes the shapes the adapter reads.
 *
 * @since 0.2.0
 */
export const defaultApiVersion = "2023-08-16"

/**
 * Stripe's API base URL.
 *
 * @since 0.2.0
 */
export const defaultApiBase = "https://api.stripe.com"

/**
 * Test mode (`sk_test_…`, `rk_test_…`) or live mode (`sk_live_…`, `rk_live_…`): Stripe has no
 * separate sandbox host, the key decides.
 *
 * @since 0.2.0
 */
export type Environment = "test" | "live"

/**
 * The mode of a Stripe secret or restricted key, or `undefined` when it is not one.
 *
 * @since 0.2.0
 */
export const environmentOf = (secretKey: Redacted.Redacted<string>): Environment | undefined => {
  const key = Redacted.value(secretKey)
  if (/^(sk|rk)_test_[A-Za-z0-9]+$/.test(key)) return "test"
  if (/^(sk|rk)_live_[A-Za-z0-9]+$/.test(key)) return "live"
  return undefined
}

/**
 * Settings of {@link make}.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The gateway's registry id (default `"stripe"`). Gateway tokens name it. */
  readonly id?: string | undefined
  /** The secret (or restricted) key: `sk_test_…` for test mode, `sk_live_…` for live mode. */
  readonly secretKey: Redacted.Redacted<string>
  /** The webhook endpoint's signing secret (`whsec_…`); without it `webhooks.parse` refuses (`not_configured`). */
  readonly webhookSecret?: Redacted.Redacted<string> | undefined
  /** Default `https://api.stripe.com`; a fake's URL in tests. */
  readonly apiBase?: string | undefined
  /** Per-call timeout (default 30 seconds). A timeout after sending is an unknown outcome. */
  readonly timeout?: Duration.DurationInput | undefined
  /** How far a webhook's signed timestamp may be from now (default 300 seconds, Stripe's). */
  readonly webhookTolerance?: Duration.DurationInput | undefined
  /**
   * Whether the Stripe account may send raw card numbers (Stripe grants this to PCI-validated
   * merchants only). Then `card` payments are accepted: the card is read from the vault with
   * `CardVault.reveal` and sent as `payment_method_data[card][…]`. Default false: only
   * `gateway_token` (`pm_…` from Stripe.js) payments.
   */
  readonly rawCardAccess?: boolean | undefined
  /** The `Stripe-Version` header (default {@link defaultApiVersion}). */
  readonly apiVersion?: string | undefined
}

/**
 * A Stripe gateway: the {@link Gateway} contract with its customer-action and webhook parts, and
 * the mode its key is for (`undefined`: the key is not a Stripe key; every call is refused with
 * `GatewayMisconfigured`).
 *
 * @since 0.2.0
 */
export interface StripeGateway extends Gateway {
  readonly environment: Environment | undefined
  readonly customerAction: CustomerActionOperations
  readonly webhooks: WebhookOperations
}

/**
 * The capabilities of a Stripe gateway: every currency (Stripe refuses the ones it does not
 * present with a 400, a `GatewayMisconfigured`), manual capture, `pm_…` gateway tokens (and
 * vault cards with raw card access), status by the PaymentIntent's id.
 *
 * @since 0.2.0
 */
export const capabilities = (rawCardAccess: boolean): Capabilities => ({
  currencies: "all",
  manualCapture: true,
  paymentMethods: rawCardAccess ? ["gateway_token", "card"] : ["gateway_token"],
  statusLookup: "reference"
})

type Method = "GET" | "POST"

interface Call<A, I> {
  readonly method: Method
  readonly path: string
  readonly operation: string
  readonly moneyMoving: boolean
  readonly schema: Schema.Schema<A, I>
  readonly form?: Form.Form | undefined
  readonly query?: Readonly<Record<string, string>> | undefined
  readonly idempotencyKey?: string | undefined
}

/** What a call answered: the decoded object, or a non-2xx answer (already classified). */
type Outcome<A> = Either.Either<A, { readonly answer: Http.Answer; readonly error: GatewayError }>

const metadataLimits = { keys: 50, keyLength: 40, valueLength: 500 } as const

/**
 * Builds a Stripe gateway. Needs an `HttpClient` (e.g. `NodeHttpClient.layerUndici`); reads the
 * card vault from the context when it is there (only used with `rawCardAccess`).
 *
 * @since 0.2.0
 */
export const make = (options: Options): Effect.Effect<StripeGateway, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const vault = yield* Effect.serviceOption(CardVault.CardVault)
    const id = options.id ?? "stripe"
    const base = (options.apiBase ?? defaultApiBase).replace(/\/+$/, "")
    const timeout = options.timeout ?? Duration.seconds(30)
    const rawCardAccess = options.rawCardAccess ?? false
    const apiVersion = options.apiVersion ?? defaultApiVersion
    const environment = environmentOf(options.secretKey)
    const misconfigured = (reason: string) => new GatewayMisconfigured({ gateway: id, reason })

    const callOptions = (operation: string, moneyMoving: boolean): Http.CallOptions => ({ gateway: id, operation, moneyMoving, timeout })

    /** Sends one request; a 2xx is decoded with `schema`, anything else classified. */
    const exchange = <A, I>(call: Call<A, I>): Effect.Effect<Outcome<A>, GatewayError> =>
      Effect.gen(function*() {
        const opts = callOptions(call.operation, call.moneyMoving)
        if (environment === undefined) {
          return yield* misconfigured("the secret key is not a Stripe secret key (sk_test_…, sk_live_…, rk_…)")
        }
        const query = call.query === undefined ? "" : `?${new URLSearchParams(Object.entries(call.query)).toString()}`
        let request = (call.method === "GET" ? HttpClientRequest.get : HttpClientRequest.post)(`${base}${call.path}${query}`).pipe(
          HttpClientRequest.setHeader("Authorization", `Bearer ${Redacted.value(options.secretKey)}`),
          HttpClientRequest.setHeader("Stripe-Version", apiVersion),
          HttpClientRequest.acceptJson
        )
        if (call.idempotencyKey !== undefined) request = HttpClientRequest.setHeader(request, "Idempotency-Key", call.idempotencyKey)
        if (call.method === "POST") request = HttpClientRequest.bodyText(request, Form.encode(call.form ?? []), "application/x-www-form-urlencoded")
        const answer = yield* Http.call(client, request, opts)
        if (answer.status >= 200 && answer.status < 300) {
          return Either.right(yield* Http.decode(call.schema, answer, opts))
        }
        return Either.left({ answer, error: classify(answer, opts) })
      })

    /** {@link exchange}, with every non-2xx answer as its error. */
    const expect = <A, I>(call: Call<A, I>): Effect.Effect<A, GatewayError> =>
      Effect.flatMap(exchange(call), Either.match({ onLeft: ({ error }) => Effect.fail(error), onRight: Effect.succeed }))

    /** Whether an answer is Stripe saying the intent is not in a state for this call. */
    const unexpectedState = (answer: Http.Answer) => errorOf(answer)?.code === "payment_intent_unexpected_state"

    const retrieve = (intentId: string, operation: string): Effect.Effect<Wire.PaymentIntent, GatewayReadError> =>
      expect({
        method: "GET",
        path: `/v1/payment_intents/${encodeURIComponent(intentId)}`,
        operation,
        moneyMoving: false,
        schema: Wire.PaymentIntent
      }).pipe(Effect.mapError(asRead))

    const amountOf = (money: Money): Effect.Effect<bigint, GatewayMisconfigured> =>
      Either.match(toStripe(money), { onLeft: (reason) => Effect.fail(misconfigured(reason)), onRight: Effect.succeed })

    const checkMethod = (method: PaymentMethodToken): Effect.Effect<void, GatewayMisconfigured> => {
      if (method.type === "gateway_token") {
        return method.gateway === id ? Effect.void : Effect.fail(misconfigured(`a gateway token of ${method.gateway} cannot be used at ${id}`))
      }
      if (method.type === "card") {
        return rawCardAccess ? Effect.void : Effect.fail(misconfigured("card numbers need raw card access (rawCardAccess); send a pm_… token from Stripe.js"))
      }
      return Effect.fail(misconfigured("unsupported payment method"))
    }

    /** The confirm's payment-method fields: the token, or the vault's card (raw card access). */
    const methodForm = (method: PaymentMethodToken, tenantId: string | undefined): Effect.Effect<Form.Form, GatewayMisconfigured | GatewayTransientError> =>
      Effect.gen(function*() {
        yield* checkMethod(method)
        if (method.type === "gateway_token") return [["payment_method", method.token]] as const
        // a checkout (0.2 payment method) never reaches here: checkMethod refused it
        if (method.type !== "card") return yield* misconfigured("unsupported payment method")
        if (Option.isNone(vault)) return yield* misconfigured("raw card access needs the card vault in the context")
        const card = yield* vault.value.reveal(method.vaultToken, tenantId).pipe(
          Effect.catchTags({
            CardNotInVault: () => Effect.fail(misconfigured("the payment's card is not in the vault")),
            CardUnreadable: (e) => Effect.fail(misconfigured(`the payment's card cannot be read (${e.reason})`)),
            StorageError: () => Effect.fail(new GatewayTransientError({ gateway: id, operation: "process", reason: "the card vault is unavailable" }))
          })
        )
        return [
          ["payment_method_data[type]", "card"],
          ["payment_method_data[card][number]", Redacted.value(card.number)],
          ["payment_method_data[card][exp_month]", BigInt(card.expiryMonth)],
          ["payment_method_data[card][exp_year]", BigInt(card.expiryYear)],
          ["payment_method_data[billing_details][name]", card.holderName === "" ? undefined : card.holderName]
        ] as const
      })

    /** The merchant's parameters that fit Stripe's metadata limits (others are left out). */
    const customMetadata = (checkout: CheckoutDetails | undefined): Form.Form =>
      Object.entries(checkout?.customParams ?? {})
        .filter(([key, value]) =>
          key.length > 0 && key.length <= metadataLimits.keyLength && value.length <= metadataLimits.valueLength &&
          !key.startsWith("aegispay_") && !/[[\]]/.test(key)
        )
        .slice(0, metadataLimits.keys - 2)
        .map(([key, value]) => [`metadata[${key}]`, value] as const)

    const initiate = (request: InitiateRequest): Effect.Effect<{ readonly reference: string }, GatewayReadError> =>
      Effect.gen(function*() {
        yield* checkMethod(request.paymentMethod)
        const amount = yield* amountOf(request.amount)
        const returnUrl = request.checkout?.returnUrl
        const intent = yield* expect({
          method: "POST",
          path: "/v1/payment_intents",
          operation: "initiate",
          moneyMoving: false,
          schema: Wire.PaymentIntent,
          idempotencyKey: `${request.idempotencyKey}:create`,
          form: [
            ["amount", amount],
            ["currency", request.amount.currency.toLowerCase()],
            ["capture_method", request.capture ? "automatic" : "manual"],
            ["automatic_payment_methods[enabled]", true],
            // without a return URL nothing may redirect the customer (3-D Secure still runs in Stripe.js)
            ["automatic_payment_methods[allow_redirects]", returnUrl === undefined ? "never" : undefined],
            ["description", request.description],
            ["metadata[aegispay_payment_id]", request.paymentId],
            ["metadata[aegispay_idempotency_key]", request.idempotencyKey],
            ...customMetadata(request.checkout)
          ]
        }).pipe(Effect.mapError(asRead))
        if (intent.metadata?.[Wire.metadataKeys.idempotencyKey] !== request.idempotencyKey) {
          return yield* misconfigured("Stripe answered a PaymentIntent of another attempt")
        }
        return { reference: intent.id }
      })

    /** A PaymentIntent after confirm or on the customer's return, as a process result. */
    const resultOf = (intent: Wire.PaymentIntent, operation: string, allowPending: boolean): Effect.Effect<ProcessResult, GatewayError> => {
      const opts = callOptions(operation, true)
      switch (intent.status) {
        case "succeeded":
          return Effect.succeed<Charged>({ status: "succeeded", transactionId: intent.id })
        case "requires_capture":
          return Effect.succeed<Charged>({ status: "authorized", transactionId: intent.id })
        case "requires_action":
          return Option.match(actionOf(intent), {
            onNone: () => Effect.fail(Http.doubt(opts, "requires_action without a redirect URL or client secret")),
            onSome: Effect.succeed
          })
        case "processing":
          return allowPending
            ? Effect.succeed({ status: "pending", reference: intent.id, reason: "processing at Stripe" })
            : Effect.fail(Http.doubt(opts, "the PaymentIntent is processing at Stripe"))
        case "canceled":
          return Effect.fail(new GatewayDeclined({ gateway: id, code: "canceled", reason: `the PaymentIntent was canceled${intent.cancellation_reason ? ` (${intent.cancellation_reason})` : ""}` }))
        case "requires_payment_method": {
          const error = intent.last_payment_error
          if (error != null) {
            const code = error.decline_code ?? error.code ?? "payment_failed"
            return Effect.fail(new GatewayDeclined({ gateway: id, code, reason: bounded(error.message ?? code) }))
          }
          return Effect.fail(Http.doubt(opts, "the PaymentIntent still requires a payment method"))
        }
        case "requires_confirmation":
          return Effect.fail(Http.doubt(opts, "the PaymentIntent is not confirmed"))
      }
    }

    const process = (request: ProcessRequest): Effect.Effect<ProcessResult, GatewayError> =>
      Effect.gen(function*() {
        const reference = request.reference ?? (yield* initiate(request)).reference
        const method = yield* methodForm(request.paymentMethod, request.tenantId)
        const allowPending = request.checkout?.allowPending ?? false
        const confirm = (idempotencyKey: string) =>
          exchange({
            method: "POST",
            path: `/v1/payment_intents/${encodeURIComponent(reference)}/confirm`,
            operation: "process",
            moneyMoving: true,
            schema: Wire.PaymentIntent,
            idempotencyKey,
            form: [...method, ["return_url", request.checkout?.returnUrl]]
          })
        const first = yield* confirm(`${request.idempotencyKey}:confirm`)
        if (Either.isRight(first)) return yield* resultOf(first.right, "process", allowPending)
        const { answer, error } = first.left
        // already confirmed (a key pruned after 24 h, or another confirm won): the intent says what happened
        if (unexpectedState(answer)) return yield* resultOf(yield* retrieve(reference, "process"), "process", allowPending)
        if (answer.status >= 500 && Http.header(answer.headers, "idempotent-replayed") === "true") {
          // Stripe replays a saved 5xx to the same key for 24 h: the key can never succeed. The
          // intent decides: a result is answered; an intent never confirmed is confirmed once more
          // under a second key (a PaymentIntent is charged at most once, whatever the key).
          const intent = yield* retrieve(reference, "process")
          if (Option.isSome(unconfirmed(intent))) {
            const second = yield* confirm(`${request.idempotencyKey}:confirm:after-5xx`)
            if (Either.isRight(second)) return yield* resultOf(second.right, "process", allowPending)
            if (unexpectedState(second.left.answer)) return yield* resultOf(yield* retrieve(reference, "process"), "process", allowPending)
            return yield* second.left.error
          }
          return yield* resultOf(intent, "process", allowPending)
        }
        return yield* error
      })

    /** An intent that was never confirmed (nothing charged, no failure recorded). */
    const unconfirmed = (intent: Wire.PaymentIntent): Option.Option<Wire.PaymentIntent> =>
      (intent.status === "requires_payment_method" || intent.status === "requires_confirmation") && intent.last_payment_error == null
        ? Option.some(intent)
        : Option.none()

    /** A PaymentIntent as a status: where it is now, and `not_found` when it was never confirmed. */
    const statusOf = (intent: Wire.PaymentIntent): StatusResult => {
      switch (intent.status) {
        case "succeeded":
          return { status: "succeeded", transactionId: intent.id }
        case "requires_capture":
          return { status: "authorized", transactionId: intent.id }
        case "requires_action":
          return Option.getOrElse(actionOf(intent), (): StatusResult => ({ status: "pending", reference: intent.id, reason: "requires_action" }))
        case "processing":
          return { status: "pending", reference: intent.id, reason: "processing at Stripe" }
        case "canceled":
          return { status: "failed", code: "canceled", reason: `canceled at Stripe${intent.cancellation_reason ? ` (${intent.cancellation_reason})` : ""}` }
        case "requires_payment_method":
        case "requires_confirmation": {
          const error = intent.last_payment_error
          if (error != null) {
            const code = error.decline_code ?? error.code ?? "payment_failed"
            return { status: "failed", code, reason: bounded(error.message ?? code) }
          }
          // created but never confirmed: nothing was charged; re-sending with the same keys is safe
          return { status: "not_found" }
        }
      }
    }

    const actionOf = (intent: Wire.PaymentIntent): Option.Option<ActionRequired> => {
      const url = intent.next_action?.redirect_to_url?.url
      if (url !== undefined && url !== null && url !== "") {
        return Option.some({ status: "action_required", reference: intent.id, action: { type: "redirect", url } })
      }
      const secret = intent.client_secret
      if (secret !== undefined && secret !== null && secret !== "") {
        return Option.some({ status: "action_required", reference: intent.id, action: { type: "client_secret", clientSecret: secret } })
      }
      return Option.none()
    }

    /** Stripe's search query for the intents of an attempt key (quotes and backslashes escaped). */
    const searchQuery = (key: string) => `metadata['${Wire.metadataKeys.idempotencyKey}']:'${key.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

    const getStatus = (request: { readonly idempotencyKey: string; readonly reference?: string | undefined }): Effect.Effect<StatusResult, GatewayReadError> =>
      Effect.gen(function*() {
        if (request.reference !== undefined) return statusOf(yield* retrieve(request.reference, "getStatus"))
        const page = yield* expect({
          method: "GET",
          path: "/v1/payment_intents/search",
          operation: "getStatus",
          moneyMoving: false,
          schema: Wire.IntentPage,
          query: { query: searchQuery(request.idempotencyKey), limit: "10" }
        }).pipe(Effect.mapError(asRead))
        const found = page.data.filter((intent) => intent.metadata?.[Wire.metadataKeys.idempotencyKey] === request.idempotencyKey)
        const first = found[0]
        if (first === undefined) return { status: "not_found" } as const
        // the search index may lag the intent's status: read the intent itself
        return statusOf(yield* retrieve(first.id, "getStatus"))
      })

    /** Whether an answer is Stripe replaying a saved 5xx: the key can never succeed again. */
    const replayed5xx = (answer: Http.Answer) =>
      answer.status >= 500 && Http.header(answer.headers, "idempotent-replayed") === "true"

    /**
     * A POST on a PaymentIntent that its status guards (capture, cancel): Stripe applies it at
     * most once whatever the key. An answer that the intent is not in a state for it, or a
     * replayed 5xx, is resolved by reading the intent; an intent still `waiting` for the call
     * after a replayed 5xx gets it once more under a second key.
     */
    const onIntent = (call: {
      readonly intentId: string
      readonly action: "capture" | "cancel"
      readonly operation: string
      readonly idempotencyKey: string
      readonly form: Form.Form
      readonly waiting: (intent: Wire.PaymentIntent) => boolean
    }): Effect.Effect<Wire.PaymentIntent, GatewayError> =>
      Effect.gen(function*() {
        const send = (idempotencyKey: string) =>
          exchange({
            method: "POST",
            path: `/v1/payment_intents/${encodeURIComponent(call.intentId)}/${call.action}`,
            operation: call.operation,
            moneyMoving: true,
            schema: Wire.PaymentIntent,
            idempotencyKey,
            form: call.form
          })
        const first = yield* send(call.idempotencyKey)
        if (Either.isRight(first)) return first.right
        if (unexpectedState(first.left.answer)) return yield* retrieve(call.intentId, call.operation)
        if (!replayed5xx(first.left.answer)) return yield* first.left.error
        const intent = yield* retrieve(call.intentId, call.operation)
        if (!call.waiting(intent)) return intent
        const second = yield* send(`${call.idempotencyKey}:after-5xx`)
        if (Either.isRight(second)) return second.right
        if (unexpectedState(second.left.answer)) return yield* retrieve(call.intentId, call.operation)
        return yield* second.left.error
      })

    const capture = (request: { readonly transactionId: string; readonly idempotencyKey: string; readonly amount: Money }) =>
      Effect.gen(function*() {
        const amount = yield* amountOf(request.amount)
        const intent = yield* onIntent({
          intentId: request.transactionId,
          action: "capture",
          operation: "capture",
          idempotencyKey: request.idempotencyKey,
          form: [["amount_to_capture", amount]],
          waiting: (i) => i.status === "requires_capture"
        })
        if (intent.status === "succeeded") return { transactionId: intent.id }
        if (intent.status === "requires_capture") return yield* Http.doubt(callOptions("capture", true), "the PaymentIntent still requires capture")
        return yield* misconfigured(`a PaymentIntent in status ${intent.status} cannot be captured`)
      })

    const voidAuthorization = (request: { readonly transactionId: string; readonly idempotencyKey: string }) =>
      Effect.gen(function*() {
        const intent = yield* onIntent({
          intentId: request.transactionId,
          action: "cancel",
          operation: "void",
          idempotencyKey: request.idempotencyKey,
          form: [],
          waiting: (i) => i.status === "requires_capture"
        })
        if (intent.status === "canceled") return
        if (intent.status === "succeeded") return yield* misconfigured("the PaymentIntent is captured: it cannot be voided (refund it)")
        return yield* Http.doubt(callOptions("void", true), `cancel left the PaymentIntent in status ${intent.status}`)
      })

    const refund = (request: { readonly transactionId: string; readonly idempotencyKey: string; readonly amount: Money }) =>
      Effect.gen(function*() {
        const amount = yield* amountOf(request.amount)
        const send = (idempotencyKey: string) =>
          exchange({
            method: "POST",
            path: "/v1/refunds",
            operation: "refund",
            moneyMoving: true,
            schema: Wire.Refund,
            idempotencyKey,
            form: [
              ["payment_intent", request.transactionId],
              ["amount", amount],
              ["metadata[aegispay_idempotency_key]", request.idempotencyKey]
            ]
          })
        let outcome = yield* send(request.idempotencyKey)
        if (Either.isLeft(outcome) && replayed5xx(outcome.left.answer)) {
          // a refund is not guarded by a status: look for the refund of this key first (the list
          // is strongly consistent), and only when there is none send it under a second key
          const page = yield* expect({
            method: "GET",
            path: "/v1/refunds",
            operation: "refund",
            moneyMoving: false,
            schema: Wire.RefundPage,
            query: { payment_intent: request.transactionId, limit: "100" }
          }).pipe(Effect.mapError(asRead))
          const made = page.data.find((r) => r.metadata?.[Wire.metadataKeys.idempotencyKey] === request.idempotencyKey)
          outcome = made !== undefined ? Either.right(made) : yield* send(`${request.idempotencyKey}:after-5xx`)
        }
        if (Either.isLeft(outcome)) return yield* outcome.left.error
        const refund = outcome.right
        if (refund.status === "failed" || refund.status === "canceled") {
          return yield* new GatewayDeclined({ gateway: id, code: `refund_${refund.status}`, reason: refund.failure_reason ?? `refund ${refund.status}` })
        }
        // succeeded, or pending (card refunds settle in the background; a later failure arrives as refund.failed)
        return { refundId: refund.id }
      })

    const complete: CustomerActionOperations["complete"] = (request) =>
      Effect.gen(function*() {
        const intent = yield* retrieve(request.reference, "complete")
        if (intent.metadata?.[Wire.metadataKeys.idempotencyKey] !== request.idempotencyKey) {
          return yield* misconfigured("the PaymentIntent belongs to another attempt")
        }
        return yield* resultOf(intent, "complete", false)
      })

    const cancel: CustomerActionOperations["cancel"] = (request) =>
      Effect.gen(function*() {
        yield* onIntent({
          intentId: request.reference,
          action: "cancel",
          operation: "cancel",
          idempotencyKey: `${request.idempotencyKey}:cancel`,
          form: [["cancellation_reason", "abandoned"]],
          waiting: (i) => i.status !== "succeeded" && i.status !== "canceled" && i.status !== "processing"
        })
        // canceled now, or not cancelable (succeeded late, already canceled): the intent says which
        return statusOf(yield* retrieve(request.reference, "cancel"))
      })

    const healthCheck = Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const healthy = yield* expect({
        method: "GET",
        path: "/v1/payment_intents",
        operation: "healthCheck",
        moneyMoving: false,
        schema: Wire.IntentPage,
        query: { limit: "1" }
      }).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
      const end = yield* Clock.currentTimeMillis
      return { healthy, latencyMillis: end - start }
    })

    const webhookContext: Webhook.Context = {
      gateway: id,
      secret: options.webhookSecret,
      tolerance: Duration.decode(options.webhookTolerance ?? Duration.seconds(300)),
      livemode: environment === undefined ? undefined : environment === "live",
      intentMetadata: (intentId) => Effect.map(retrieve(intentId, "webhook"), (intent) => intent.metadata ?? {})
    }

    const gateway: StripeGateway = {
      id,
      environment,
      capabilities: capabilities(rawCardAccess),
      initiate: (request) => initiate(request).pipe(Effect.withSpan("Stripe.initiate")),
      authenticate: (request) => checkMethod(request.paymentMethod),
      process: (request) => process(request).pipe(Effect.withSpan("Stripe.process")),
      capture: (request) => capture(request).pipe(Effect.withSpan("Stripe.capture")),
      void: (request) => voidAuthorization(request).pipe(Effect.withSpan("Stripe.void")),
      refund: (request) => refund(request).pipe(Effect.withSpan("Stripe.refund")),
      getStatus: (request) => getStatus(request).pipe(Effect.withSpan("Stripe.getStatus")),
      healthCheck,
      customerAction: {
        complete: (request) => complete(request).pipe(Effect.withSpan("Stripe.complete")),
        cancel: (request) => cancel(request).pipe(Effect.withSpan("Stripe.cancel"))
      },
      webhooks: {
        parse: (request) => Webhook.parse(webhookContext, request).pipe(Effect.withSpan("Stripe.webhooks.parse"))
      }
    }
    return gateway
  })

const bounded = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}…` : text)

/**
 * The settings read by {@link fromConfig}: `STRIPE_SECRET_KEY` (required, `Redacted`, must be a
 * Stripe secret key), `STRIPE_WEBHOOK_SECRET` (optional, `Redacted`), `STRIPE_API_BASE`
 * (default `https://api.stripe.com`). No default for a secret.
 *
 * @since 0.2.0
 */
export const config: Config.Config<Pick<Options, "secretKey" | "webhookSecret" | "apiBase">> = Config.all({
  secretKey: Config.redacted("STRIPE_SECRET_KEY").pipe(
    Config.validate({ message: "STRIPE_SECRET_KEY is not a Stripe secret key (sk_test_…, sk_live_…, rk_test_…, rk_live_…)", validation: (key) => environmentOf(key) !== undefined })
  ),
  webhookSecret: Config.option(Config.redacted("STRIPE_WEBHOOK_SECRET")).pipe(Config.map(Option.getOrUndefined)),
  apiBase: Config.string("STRIPE_API_BASE").pipe(Config.withDefault(defaultApiBase))
})

/**
 * A Stripe gateway with its credentials from `Config` ({@link config}); the other settings from
 * `options`. A missing or malformed key is a `ConfigError` when the gateway is built. Usable as a
 * source of `GatewayRegistry.layerFrom([Stripe.fromConfig()])`.
 *
 * @since 0.2.0
 */
export const fromConfig = (
  options: Omit<Options, "secretKey" | "webhookSecret" | "apiBase"> = {}
): Effect.Effect<StripeGateway, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.flatMap(config, (settings) => make({ ...options, ...settings }))

/**
 * The Stripe gateway of a composition, built by {@link layerConfig}.
 *
 * @since 0.2.0
 */
export class Stripe extends Context.Tag("aegispay/gateways/Stripe")<Stripe, StripeGateway>() {}

/**
 * A layer holding the {@link Stripe} gateway built from `Config` ({@link fromConfig}). Register
 * it with `GatewayRegistry.layerFrom([Stripe.Stripe])` (a tag is an effect that yields it).
 *
 * @since 0.2.0
 */
export const layerConfig = (
  options: Omit<Options, "secretKey" | "webhookSecret" | "apiBase"> = {}
): Layer.Layer<Stripe, ConfigError.ConfigError, HttpClient.HttpClient> => Layer.effect(Stripe, fromConfig(options))

/**
 * Builds a Stripe gateway from one tenant's stored credentials: `secretKey` (required) and
 * `webhookSecret` (optional). A missing or malformed key is a `GatewayMisconfigured`.
 *
 * @since 0.2.0
 */
export const provider: GatewayProvider<HttpClient.HttpClient> = {
  provider: "stripe",
  fields: [
    { name: "secretKey", secret: true },
    { name: "webhookSecret", secret: true, optional: true }
  ],
  make: (credentials, { id }) => {
    const secretKey = credentials["secretKey"]
    if (secretKey === undefined) return Effect.fail(new GatewayMisconfigured({ gateway: id, reason: "the Stripe secret key is missing" }))
    if (environmentOf(secretKey) === undefined) {
      return Effect.fail(new GatewayMisconfigured({ gateway: id, reason: "the Stripe secret key is not sk_test_…, sk_live_…, rk_test_… or rk_live_…" }))
    }
    return make({ id, secretKey, webhookSecret: credentials["webhookSecret"] })
  }
}
