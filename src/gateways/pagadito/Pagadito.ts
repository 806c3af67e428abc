/**
 * The Pagadito adapter: Pagadito's hosted checkout (El Salvador, Central America) as a
 * {@link Gateway.Gateway}, on `@effect/platform`'s `HttpClient` against Pagadito's APIPG (no
 * vendor SDK). See `docs/gateways/PAGADITO.md`.
 *
 * The flow: `initiate` connects with the merchant's `uid`/`wsk` and gets the **transaction
 * token** (the attempt's reference); `process` registers the transaction (`exec_trans`: ERN,
 * exact amount, order lines, custom parameters, allow-pending) and answers `action_required`
 * with Pagadito's checkout URL; the customer pays on Pagadito's page and comes back to the
 * merchant's return URL (configured in Pagadito's panel, `{value}` = the token);
 * `customerAction.complete` reads the status (`get_status`) and settles: COMPLETED charged,
 * REGISTERED still waiting, VERIFYING pending at Pagadito, REVOKED/FAILED/CANCELED/EXPIRED
 * declined.
 *
 * Guarantees:
 * - **No call moves money**, so none is ever an unknown outcome and none is retried here: money
 *   moves only when the customer pays on Pagadito's page, and a checkout can only be paid by the
 *   customer holding the URL this adapter returned (see the error table, `table.ts`). The one
 *   unknown outcome: `complete` finding VERIFYING for a payment that did not allow pending results.
 * - **Exact amounts**: `amount` and every line's price are written from the `bigint` minor units
 *   (never a float); the lines must add up to the amount exactly or the call is refused before
 *   anything is sent.
 * - **Failed means nothing was charged**: a payment fails only on CANCELED, EXPIRED, FAILED,
 *   REVOKED (charge cancelled by Pagadito) or a transaction Pagadito never registered.
 * - **Typed errors**: every answer is decoded with Schema; a malformed, non-JSON or unexpected
 *   answer is a typed error, never a defect.
 * - **Secrets**: `uid` and `wsk` are `Redacted`, read only to build the request body and the
 *   webhook signature; never logged, never in an error.
 * - **Webhooks**: a notification signed with Pagadito's certificate is verified over its exact
 *   bytes; an unsigned one (or any, when no certificate can be trusted) is handed over
 *   unverified, which only makes AegisPay ask the status.
 *
 * @since 0.2.0
 */
import { HttpClient, HttpClientRequest, UrlParams } from "@effect/platform"
import type { ConfigError } from "effect"
import { Clock, Config, Context, DateTime, Duration, Effect, Either, Layer, Option, Redacted, Schema, SynchronizedRef } from "effect"
import type { KeyObject } from "node:crypto"
import type { CurrencyCode } from "../../domain/Currency.js"
import * as Money from "../../domain/Money.js"
import type {
  ActionRequired,
  CompleteRequest,
  Gateway,
  GatewayProvider,
  GatewayReadError,
  InitiateRequest,
  ProcessResult,
  StatusResult
} from "../../gateway/Gateway.js"
import {
  GatewayDeclined,
  GatewayMisconfigured,
  GatewayTransientError,
  GatewayUnknownOutcome
} from "../../gateway/Gateway.js"
import type { GatewayNotification, WebhookRequest } from "../../gateway/Webhook.js"
import { WebhookRejected } from "../../gateway/Webhook.js"
import * as Http from "../internal/http.js"
import * as Protocol from "./protocol.js"
import * as Table from "./table.js"
import * as Signature from "./webhook.js"
import * as Wire from "./wire.js"

/**
 * The currencies Pagadito accepts: USD, GTQ, HNL, NIO, CRC, PAB, DOP.
 *
 * @since 0.2.0
 */
export const currencies: ReadonlyArray<Protocol.PagaditoCurrency> = Protocol.currencies

/**
 * A currency Pagadito accepts.
 *
 * @since 0.2.0
 */
export type PagaditoCurrency = Protocol.PagaditoCurrency

/**
 * The settings of a Pagadito gateway.
 *
 * @since 0.2.0
 */
export interface Options {
  /** The gateway's id in AegisPay (default `"pagadito"`). */
  readonly id?: string | undefined
  /** The merchant's UID (Pagadito panel: Technical configuration → Integration parameters). */
  readonly uid: Redacted.Redacted<string>
  /** The merchant's WSK, the connection key: a secret. */
  readonly wsk: Redacted.Redacted<string>
  /** Pagadito SandBox (`sandbox.pagadito.com`) or production (`comercios.pagadito.com`). */
  readonly sandbox: boolean
  /** The APIPG endpoint to call instead of Pagadito's (a fake in tests, a proxy). */
  readonly apiBase?: string | undefined
  /** Per call (default 30 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
  /** The currencies the merchant's account has enabled (default: every Pagadito currency). */
  readonly currencies?: ReadonlyArray<PagaditoCurrency> | undefined
  /**
   * Whether to accept Pagadito's VERIFYING (paid, under review) for payments that do not say
   * (`checkout.allowPending` absent). Default false.
   */
  readonly allowPending?: boolean | undefined
  /**
   * Whether to send custom parameters (`param1` = the AegisPay payment id, `param2` = the
   * attempt's idempotency key, `param3`… = the payment's own parameters). They must be enabled
   * in Pagadito's panel; webhooks name the payment through them. Default true.
   */
  readonly customParams?: boolean | undefined
  /**
   * Pagadito's webhook certificate (PEM certificate or public key), pinned: notifications are
   * verified against it and the certificate URL they name is ignored. Recommended.
   */
  readonly webhookCertificate?: string | undefined
  /**
   * Which certificate URLs named by a notification may be fetched when no certificate is pinned
   * (default: `https:` on `pagadito.com` and its subdomains).
   */
  readonly trustCertificateUrl?: ((url: URL) => boolean) | undefined
  /** Refuse notifications without a signature instead of handing them over unverified. Default false. */
  readonly requireSignedWebhooks?: boolean | undefined
}

/**
 * The Pagadito gateway as a service, for `layer` / `layerConfig`. A `Context.Tag` is an effect
 * that yields its service, so it is itself a source for `GatewayRegistry.layerFrom`:
 * `GatewayRegistry.layerFrom([Pagadito.Pagadito])` with `Pagadito.layerConfig()` provided.
 *
 * @since 0.2.0
 */
export class Pagadito extends Context.Tag("aegispay/gateways/Pagadito")<Pagadito, Gateway>() {}

/** Process-local memory of what `exec_trans` answered, bounded. */
const rememberedLimit = 10_000

const remember = <V>(map: Map<string, V>, key: string, value: V): void => {
  map.delete(key)
  map.set(key, value)
  if (map.size > rememberedLimit) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
}

/** A status Pagadito answered for a transaction token. */
type Found =
  | { readonly _tag: "found"; readonly status: string; readonly reference: string | undefined }
  | { readonly _tag: "unregistered" }

/** What `exec_trans` needs, computed (and checked) from a charge request before anything is sent. */
interface Prepared {
  readonly ern: string
  readonly amount: string
  readonly currency: string
  readonly details: string
  readonly customParams: string
  readonly allowPending: boolean
}

type CallError = GatewayTransientError | GatewayMisconfigured

const isPagaditoCurrency = (code: string): code is PagaditoCurrency => Protocol.currencies.some((c) => c === code)

/**
 * Builds a Pagadito gateway. Fails with `GatewayMisconfigured` when a setting is unusable
 * (an empty uid or wsk, an `apiBase` that is not a URL, a currency Pagadito does not take, a
 * webhook certificate that is not PEM).
 *
 * @since 0.2.0
 */
export const make = (options: Options): Effect.Effect<Gateway, GatewayMisconfigured, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const id = options.id ?? "pagadito"
    const misconfigured = (reason: string) => new GatewayMisconfigured({ gateway: id, reason })
    if (Redacted.value(options.uid).trim() === "") return yield* misconfigured("uid is empty")
    if (Redacted.value(options.wsk).trim() === "") return yield* misconfigured("wsk is empty")
    const endpoint = options.apiBase ?? (options.sandbox ? Protocol.endpoints.sandbox : Protocol.endpoints.production)
    if (!URL.canParse(endpoint)) return yield* misconfigured("apiBase is not a URL")
    const accepted: ReadonlyArray<CurrencyCode> = options.currencies ?? Protocol.currencies
    const unknownCurrency = accepted.find((code) => !isPagaditoCurrency(code))
    if (unknownCurrency !== undefined) return yield* misconfigured(`Pagadito does not take ${unknownCurrency}`)
    let pinnedKey: KeyObject | undefined
    if (options.webhookCertificate !== undefined) {
      pinnedKey = Signature.publicKeyOf(options.webhookCertificate)
      if (pinnedKey === undefined) return yield* misconfigured("webhookCertificate is not a PEM certificate or public key")
    }
    const timeout = options.timeout ?? "30 seconds"
    const sendCustomParams = options.customParams ?? true
    const trustCertificateUrl = options.trustCertificateUrl ?? Protocol.isPagaditoCertificateUrl
    const client = yield* HttpClient.HttpClient
    const readToken = yield* SynchronizedRef.make(Option.none<{ readonly token: string; readonly expiresAt: number }>())
    const readTokenTtl = Duration.toMillis(Duration.decode(Protocol.readTokenTtl))
    /** token → checkout URL and allow-pending, as `exec_trans` was asked and answered. */
    const checkouts = new Map<string, { readonly url: string; readonly allowPending: boolean }>()
    const certificates = new Map<string, KeyObject>()

    // ---------------------------------------------------------------- the wire

    const transient = (operation: string, reason: string) => new GatewayTransientError({ gateway: id, operation, reason })

    /** A verdict of the table as an error (reads never decline: the table says so). */
    const errorOf = (verdict: Table.Verdict, operation: string, detail: string): CallError | GatewayDeclined => {
      switch (verdict.kind) {
        case "misconfigured":
          return misconfigured(`${operation}: ${detail}`)
        case "declined":
          return new GatewayDeclined({ gateway: id, code: verdict.code, reason: detail })
        default:
          return transient(operation, detail)
      }
    }
    const readErrorOf = (verdict: Table.Verdict, operation: string, detail: string): CallError => {
      const error = errorOf(verdict, operation, detail)
      return error._tag === "GatewayDeclined" ? misconfigured(`${operation}: ${detail}`) : error
    }
    const described = (envelope: Wire.Envelope) =>
      `${envelope.code}${envelope.message === undefined || envelope.message === null ? "" : `: ${envelope.message}`}`

    /**
     * One APIPG call: a form POST under the timeout, its HTTP status and JSON envelope checked.
     * Never money-moving (see `table.ts`): any doubt is transient.
     */
    const post = (
      operation: Table.Operation,
      contractOperation: string,
      form: Readonly<Record<string, string>>
    ): Effect.Effect<Wire.Envelope, CallError> => {
      const callOptions: Http.CallOptions = { gateway: id, operation: contractOperation, moneyMoving: false, timeout }
      const request = HttpClientRequest.post(endpoint).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUrlParams(UrlParams.fromInput(form))
      )
      return Effect.gen(function*() {
        const answer = yield* Http.call(client, request, callOptions)
        if (answer.status < 200 || answer.status >= 300) {
          return yield* readErrorOf(Table.httpVerdict(answer.status), contractOperation, `${operation}: HTTP ${answer.status}`)
        }
        return yield* Http.decode(Wire.Envelope, answer, callOptions)
      }).pipe(Effect.catchTag("GatewayUnknownOutcome", (e) => Effect.fail(transient(contractOperation, e.reason))))
    }

    const decodeValue = <A, I>(schema: Schema.Schema<A, I>, envelope: Wire.Envelope, operation: string) =>
      Either.match(Schema.decodeUnknownEither(schema)(envelope.value), {
        onLeft: () => Effect.fail(transient(operation, `${envelope.code}: unexpected value in Pagadito's answer`)),
        onRight: (value) => Effect.succeed(value)
      })

    /** connect: a new connection token (for a transaction, or for reads). */
    const connect = (contractOperation: string): Effect.Effect<string, CallError> =>
      post("connect", contractOperation, {
        [Protocol.fields.operation]: Protocol.operations.connect,
        [Protocol.fields.uid]: Redacted.value(options.uid),
        [Protocol.fields.wsk]: Redacted.value(options.wsk),
        [Protocol.fields.formatReturn]: Protocol.formatReturn
      }).pipe(
        Effect.flatMap((envelope) =>
          envelope.code === Protocol.codes.connected
            ? decodeValue(Wire.Token, envelope, contractOperation)
            : Effect.fail(readErrorOf(Table.verdictOf("connect", envelope.code), contractOperation, `connect: ${described(envelope)}`))
        )
      )

    /** The cached connection token for reads: one connect under concurrency, renewed after its TTL. */
    const readTokenFor = (contractOperation: string) =>
      SynchronizedRef.modifyEffect(readToken, (current) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          if (Option.isSome(current) && current.value.expiresAt > now) return [current.value.token, current] as const
          const token = yield* connect(contractOperation)
          return [token, Option.some({ token, expiresAt: now + readTokenTtl })] as const
        }))

    const dropReadToken = (token: string) =>
      SynchronizedRef.update(readToken, (current) => Option.isSome(current) && current.value.token === token ? Option.none() : current)

    /** get_status of a transaction token, with the cached read token (renewed once if refused). */
    const lookup = (tokenTrans: string, contractOperation: string): Effect.Effect<Found, CallError> => {
      const attempt = (retried: boolean): Effect.Effect<Found, CallError> =>
        Effect.gen(function*() {
          const token = yield* readTokenFor(contractOperation)
          const envelope = yield* post("get_status", contractOperation, {
            [Protocol.fields.operation]: Protocol.operations.getStatus,
            [Protocol.fields.token]: token,
            [Protocol.fields.tokenTrans]: tokenTrans,
            [Protocol.fields.formatReturn]: Protocol.formatReturn
          })
          if (envelope.code === Protocol.codes.status) {
            const value = yield* decodeValue(Wire.StatusValue, envelope, contractOperation)
            const reference = value.reference === undefined || value.reference === null || value.reference === ""
              ? undefined
              : value.reference
            return { _tag: "found", status: value.status, reference } satisfies Found
          }
          const verdict = Table.verdictOf("get_status", envelope.code)
          if (verdict.kind === "not_found") return { _tag: "unregistered" } satisfies Found
          if (verdict.kind === "reconnect") {
            yield* dropReadToken(token)
            if (!retried) return yield* attempt(true)
          }
          return yield* readErrorOf(verdict, contractOperation, `get_status: ${described(envelope)}`)
        })
      return attempt(false)
    }

    // ---------------------------------------------------------------- the request

    /** The exec_trans parameters of a charge, checked: nothing is sent for a request Pagadito would refuse. */
    const prepare = (request: InitiateRequest): Either.Either<Prepared, GatewayMisconfigured> => {
      const method: string = request.paymentMethod.type
      if (method !== "checkout") {
        return Either.left(misconfigured(`Pagadito takes only checkout payments (the customer pays on Pagadito's page), not ${method}`))
      }
      if (!request.capture) return Either.left(misconfigured("Pagadito has no separate authorization and capture"))
      const amount = request.amount
      if (!accepted.includes(amount.currency)) {
        return Either.left(misconfigured(`currency ${amount.currency} is not enabled for this Pagadito gateway`))
      }
      if (!Money.isPositive(amount)) return Either.left(misconfigured("the amount must be positive"))
      const checkout = request.checkout
      const items = checkout?.lineItems !== undefined && checkout.lineItems.length > 0
        ? checkout.lineItems
        : [{ quantity: 1, description: request.description ?? `Payment ${request.paymentId}`, price: amount, url: undefined }]
      let total = 0n
      const lines: Array<string> = []
      for (const item of items) {
        if (!Number.isSafeInteger(item.quantity) || item.quantity <= 0) {
          return Either.left(misconfigured(`line item quantity must be a positive integer (got ${item.quantity})`))
        }
        if (item.price.currency !== amount.currency) {
          return Either.left(misconfigured(`line item price in ${item.price.currency}, payment in ${amount.currency}`))
        }
        if (item.description.trim() === "") return Either.left(misconfigured("line item description is empty"))
        total += BigInt(item.quantity) * item.price.minor
        // the price is a JSON number written from the exact decimal string: no float ever holds it
        lines.push(
          `{"quantity":${item.quantity},"description":${JSON.stringify(item.description)},"price":${
            Money.toDecimalString(item.price)
          },"url_product":${JSON.stringify(item.url ?? "")}}`
        )
      }
      if (total !== amount.minor) {
        return Either.left(
          misconfigured(
            `the line items add up to ${Money.toDecimalString(Money.fromMinor(amount.currency, total))}, the payment is ${
              Money.toDecimalString(amount)
            } ${amount.currency} (Pagadito requires them equal)`
          )
        )
      }
      const params: Record<string, string> = {}
      if (sendCustomParams) {
        params[Protocol.customParams.paymentId] = request.paymentId
        params[Protocol.customParams.idempotencyKey] = request.idempotencyKey
        const free = Protocol.customParams.names.filter((name) => params[name] === undefined)
        // the payment's own parameters where Pagadito has room, in their order; the rest stay in AegisPay
        Object.values(checkout?.customParams ?? {}).slice(0, free.length).forEach((value, i) => {
          const name = free[i]
          if (name !== undefined) params[name] = value
        })
      }
      const ern = checkout?.externalReference ?? request.paymentId
      if (ern.trim() === "") return Either.left(misconfigured("the external reference (ERN) is empty"))
      return Either.right({
        ern,
        amount: Money.toDecimalString(amount),
        currency: amount.currency,
        details: `[${lines.join(",")}]`,
        // PHP's json_encode of an empty array, as Pagadito's own library sends it
        customParams: Object.keys(params).length === 0 ? "[]" : JSON.stringify(params),
        allowPending: checkout?.allowPending ?? options.allowPending ?? false
      })
    }

    /** exec_trans: registers the transaction under `token`; the checkout URL. */
    const execTrans = (token: string, prepared: Prepared): Effect.Effect<string, CallError | GatewayDeclined> =>
      post("exec_trans", "process", {
        [Protocol.fields.operation]: Protocol.operations.execTrans,
        [Protocol.fields.token]: token,
        [Protocol.fields.ern]: prepared.ern,
        [Protocol.fields.amount]: prepared.amount,
        [Protocol.fields.details]: prepared.details,
        [Protocol.fields.customParams]: prepared.customParams,
        [Protocol.fields.currency]: prepared.currency,
        [Protocol.fields.formatReturn]: Protocol.formatReturn,
        [Protocol.fields.allowPendingPayments]: prepared.allowPending ? "true" : "false"
      }).pipe(
        Effect.flatMap((envelope) => {
          if (envelope.code !== Protocol.codes.registered) {
            return Effect.fail(errorOf(Table.verdictOf("exec_trans", envelope.code), "process", `exec_trans: ${described(envelope)}`))
          }
          return Effect.flatMap(decodeValue(Wire.CheckoutUrl, envelope, "process"), (raw) => {
            // Pagadito's library URL-decodes the value before redirecting
            let url = raw
            try {
              url = decodeURIComponent(raw)
            } catch {
              url = raw
            }
            return URL.canParse(url) && /^https?:/i.test(url)
              ? Effect.succeed(url)
              : Effect.fail(transient("process", `${envelope.code}: the checkout URL is not a URL`))
          })
        })
      )

    const redirectFor = (token: string) => ({
      type: "redirect" as const,
      url: checkouts.get(token)?.url ?? Protocol.checkoutUrlOf(options.sandbox, token)
    })

    /** What a status means as a `StatusResult` (getStatus, cancel). */
    const statusResult = (token: string, found: Found, operation: string): Effect.Effect<StatusResult, CallError> => {
      if (found._tag === "unregistered") return Effect.succeed({ status: "not_found" })
      const meaning = Table.statusMeaning(found.status)
      if (meaning === undefined) return Effect.fail(transient(operation, `get_status: unexpected status ${found.status}`))
      switch (meaning.outcome) {
        case "charged":
          return Effect.succeed({ status: "succeeded", transactionId: found.reference ?? token })
        case "waiting":
          return Effect.succeed({ status: "action_required", reference: token, action: redirectFor(token) })
        case "pending":
          return Effect.succeed({ status: "pending", reference: token, reason: "VERIFYING: under Pagadito's review" })
        case "failed":
          return Effect.succeed({ status: "failed", code: meaning.code, reason: `${found.status}: ${meaning.reason}` })
      }
    }

    // ---------------------------------------------------------------- the contract

    const initiate = (request: InitiateRequest): Effect.Effect<{ readonly reference: string }, GatewayReadError> =>
      Either.match(prepare(request), {
        onLeft: Effect.fail,
        // the transaction token: one connection per transaction (see protocol.ts)
        onRight: () => Effect.map(connect("initiate"), (reference) => ({ reference }))
      })

    const process = Effect.fn("Pagadito.process")(function*(request: Parameters<Gateway["process"]>[0]) {
      const prepared = yield* prepare(request)
      const token = request.reference ?? (yield* connect("process"))
      const url = yield* execTrans(token, prepared)
      yield* Effect.sync(() => remember(checkouts, token, { url, allowPending: prepared.allowPending }))
      const now = yield* DateTime.now
      const answer: ActionRequired = {
        status: "action_required",
        reference: token,
        action: { type: "redirect", url },
        expiresAt: DateTime.addDuration(now, Protocol.actionExpiry)
      }
      return answer
    })

    const complete = Effect.fn("Pagadito.complete")(function*(request: CompleteRequest) {
      // the recorded reference is authoritative: a token in the return URL is the customer's word
      const token = request.reference
      const found = yield* lookup(token, "complete")
      if (found._tag === "unregistered") {
        return yield* new GatewayDeclined({ gateway: id, code: "not_registered", reason: "Pagadito never registered this transaction" })
      }
      const meaning = Table.statusMeaning(found.status)
      if (meaning === undefined) return yield* transient("complete", `get_status: unexpected status ${found.status}`)
      switch (meaning.outcome) {
        case "charged": {
          const charged: ProcessResult = { status: "succeeded", transactionId: found.reference ?? token, reference: token }
          return charged
        }
        case "waiting": {
          const waiting: ProcessResult = { status: "action_required", reference: token, action: redirectFor(token) }
          return waiting
        }
        case "pending": {
          if (!(checkouts.get(token)?.allowPending ?? options.allowPending ?? false)) {
            return yield* new GatewayUnknownOutcome({
              gateway: id,
              operation: "complete",
              reason: "VERIFYING at Pagadito although pending payments were not allowed: ask the status again later"
            })
          }
          const pending: ProcessResult = { status: "pending", reference: token, reason: "VERIFYING: under Pagadito's review" }
          return pending
        }
        case "failed":
          return yield* new GatewayDeclined({ gateway: id, code: meaning.code, reason: `${found.status}: ${meaning.reason}` })
      }
    })

    const getStatus = (request: { readonly idempotencyKey: string; readonly reference?: string | undefined }) =>
      request.reference === undefined
        // without its token no transaction was ever registered for this attempt (process needs it)
        ? Effect.succeed<StatusResult>({ status: "not_found" })
        : Effect.flatMap(lookup(request.reference, "getStatus"), (found) => statusResult(request.reference ?? "", found, "getStatus"))

    // Pagadito has no operation to cancel a checkout: it expires on its own (checkoutLifetime).
    // Cancelling re-reads the status; `failed` / `not_found` only when Pagadito says so.
    const cancel = (request: { readonly reference: string }) =>
      Effect.flatMap(lookup(request.reference, "cancel"), (found) => statusResult(request.reference, found, "cancel"))

    const healthCheck = Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const healthy = yield* connect("healthCheck").pipe(Effect.as(true), Effect.orElseSucceed(() => false))
      const end = yield* Clock.currentTimeMillis
      return { healthy, latencyMillis: end - start }
    })

    // ---------------------------------------------------------------- webhooks

    const rejected = (reason: typeof WebhookRejected.fields.reason.Type, detail: string) =>
      new WebhookRejected({ gateway: id, reason, detail })

    const fetchCertificate = (url: string): Effect.Effect<KeyObject, CallError | WebhookRejected> => {
      const cached = certificates.get(url)
      if (cached !== undefined) return Effect.succeed(cached)
      const callOptions: Http.CallOptions = { gateway: id, operation: "webhooks.parse", moneyMoving: false, timeout }
      return Effect.gen(function*() {
        // the whole body (Http.read bounds its text for error messages)
        const answer = yield* Effect.scoped(Effect.flatMap(Http.send(client, HttpClientRequest.get(url), callOptions), (response) =>
          response.text.pipe(
            Effect.timeoutFail({ duration: timeout, onTimeout: () => transient("webhooks.parse", "timed out reading the certificate") }),
            Effect.catchTag("ResponseError", () => Effect.fail(transient("webhooks.parse", "the certificate could not be read"))),
            Effect.map((text) => ({ status: response.status, text }))
          )))
        if (answer.status < 200 || answer.status >= 300) {
          return yield* transient("webhooks.parse", `certificate: HTTP ${answer.status}`)
        }
        if (answer.text.length > 65_536) return yield* rejected("bad_signature", "the certificate is too large")
        const key = Signature.publicKeyOf(answer.text)
        if (key === undefined) return yield* rejected("bad_signature", "the certificate is not PEM")
        yield* Effect.sync(() => remember(certificates, url, key))
        return key
      }).pipe(Effect.catchTag("GatewayUnknownOutcome", (e) => Effect.fail(transient("webhooks.parse", e.reason))))
    }

    const parse = Effect.fn("Pagadito.webhooks.parse")(function*(request: WebhookRequest) {
      const body = Wire.Notification.pipe(Schema.decodeUnknownEither)(Http.parseJson(Http.utf8(request.body)))
      if (Either.isLeft(body)) return yield* rejected("malformed", "the body is not a Pagadito notification")
      const notification = body.right
      const headers = Signature.signatureHeaders(request.headers)
      let verified = false
      if (headers !== undefined) {
        let key = pinnedKey
        if (key === undefined) {
          if (!URL.canParse(headers.certUrl) || !trustCertificateUrl(new URL(headers.certUrl))) {
            return yield* rejected("bad_signature", "the certificate URL is not Pagadito's")
          }
          key = yield* fetchCertificate(headers.certUrl)
        }
        const checked = Signature.check({ headers, body: request.body, eventId: notification.id, wsk: options.wsk, key })
        if (!checked.ok) return yield* rejected("bad_signature", checked.reason)
        verified = true
      } else if (Signature.hasAnySignatureHeader(request.headers)) {
        return yield* rejected("bad_signature", "incomplete signature headers")
      } else if (options.requireSignedWebhooks === true) {
        return yield* rejected("bad_signature", "the notification is not signed")
      }
      if (notification.event_type !== Protocol.statusChangeEvent) {
        return yield* rejected("unknown_event", `event type ${notification.event_type}`)
      }
      const resource = notification.resource
      const status = resource.status ?? ""
      const meaning = Table.statusMeaning(status)
      if (meaning === undefined) return yield* rejected("unknown_event", `transaction status ${status}`)
      if (meaning.outcome === "waiting" || meaning.outcome === "pending") return []
      const params = resource.custom_params
      const param = (name: string): string | undefined => {
        if (params === undefined || params === null) return undefined
        const value = Object.entries(params).find(([key]) => key === name)?.[1]
        return value === undefined || value === null || value.trim() === "" ? undefined : value
      }
      const paymentId = param(Protocol.customParams.paymentId)
      const idempotencyKey = param(Protocol.customParams.idempotencyKey)
      if (paymentId === undefined || idempotencyKey === undefined) {
        return yield* rejected(
          "malformed",
          `the notification does not name the AegisPay payment (custom parameters ${Protocol.customParams.paymentId}/${Protocol.customParams.idempotencyKey})`
        )
      }
      const base = { id: notification.id, gateway: id, paymentId, idempotencyKey, verified }
      if (meaning.outcome === "charged") {
        const transactionId = resource.reference ?? resource.token ?? undefined
        if (transactionId === undefined || transactionId === "") {
          return yield* rejected("malformed", "a completed transaction without its reference")
        }
        const charged: GatewayNotification = { ...base, type: "charge.succeeded", transactionId }
        return [charged]
      }
      const failed: GatewayNotification = { ...base, type: "charge.failed", code: meaning.code, reason: `${status}: ${meaning.reason}` }
      return [failed]
    })

    const unsupported = (what: string) => Effect.fail(misconfigured(what))

    const gateway: Gateway = {
      id,
      capabilities: {
        currencies: accepted,
        manualCapture: false,
        paymentMethods: ["checkout"],
        statusLookup: "reference"
      },
      initiate,
      authenticate: (request) => {
        const method: string = request.paymentMethod.type
        // the customer authenticates on Pagadito's page
        return method === "checkout" ? Effect.void : unsupported(`Pagadito takes only checkout payments, not ${method}`)
      },
      process,
      capture: () => unsupported("Pagadito has no separate authorization and capture"),
      void: () => unsupported("Pagadito has no separate authorization to void"),
      refund: () => unsupported("refunds are made in the Pagadito panel"),
      getStatus,
      healthCheck,
      customerAction: { complete, cancel },
      webhooks: { parse }
    }
    return gateway
  })

/**
 * The settings read from `Config`: `PAGADITO_UID`, `PAGADITO_WSK` (secrets, `Redacted`) and
 * `PAGADITO_SANDBOX` (default false: production).
 *
 * @since 0.2.0
 */
export const config: Config.Config<Pick<Options, "uid" | "wsk" | "sandbox">> = Config.all({
  uid: Config.redacted("PAGADITO_UID"),
  wsk: Config.redacted("PAGADITO_WSK"),
  sandbox: Config.boolean("PAGADITO_SANDBOX").pipe(Config.withDefault(false))
})

/**
 * Settings besides the credentials, for {@link fromConfig} and {@link layerConfig}.
 *
 * @since 0.2.0
 */
export type Overrides = Omit<Options, "uid" | "wsk" | "sandbox">

/**
 * A Pagadito gateway from `Config` (see {@link config}); a missing credential is a
 * `ConfigError`. A source for `GatewayRegistry.layerFrom`.
 *
 * @since 0.2.0
 */
export const fromConfig = (
  overrides: Overrides = {}
): Effect.Effect<Gateway, ConfigError.ConfigError | GatewayMisconfigured, HttpClient.HttpClient> =>
  Effect.flatMap(config, (settings) => make({ ...overrides, ...settings }))

/**
 * The {@link Pagadito} service from explicit settings.
 *
 * @since 0.2.0
 */
export const layer = (options: Options): Layer.Layer<Pagadito, GatewayMisconfigured, HttpClient.HttpClient> =>
  Layer.effect(Pagadito, make(options))

/**
 * The {@link Pagadito} service from `Config` (`PAGADITO_UID`, `PAGADITO_WSK`, `PAGADITO_SANDBOX`).
 *
 * @since 0.2.0
 */
export const layerConfig = (
  overrides: Overrides = {}
): Layer.Layer<Pagadito, ConfigError.ConfigError | GatewayMisconfigured, HttpClient.HttpClient> =>
  Layer.effect(Pagadito, fromConfig(overrides))

/**
 * How to build a Pagadito gateway from one tenant's stored credentials: `uid`, `wsk` (secret)
 * and `sandbox` (`"true"` / `"false"`, optional, default false).
 *
 * @since 0.2.0
 */
export const provider: GatewayProvider<HttpClient.HttpClient> = {
  provider: "pagadito",
  fields: [
    { name: "uid", secret: false },
    { name: "wsk", secret: true },
    { name: "sandbox", secret: false, optional: true }
  ],
  make: (credentials, { id }) =>
    Effect.gen(function*() {
      const entries: ReadonlyArray<readonly [string, Redacted.Redacted<string>]> = Object.entries(credentials)
      const get = (name: string) => entries.find(([key]) => key === name)?.[1]
      const uid = get("uid")
      const wsk = get("wsk")
      if (uid === undefined) return yield* new GatewayMisconfigured({ gateway: id, reason: "credential uid is missing" })
      if (wsk === undefined) return yield* new GatewayMisconfigured({ gateway: id, reason: "credential wsk is missing" })
      const sandboxValue = get("sandbox")
      const sandboxText = sandboxValue === undefined ? "false" : Redacted.value(sandboxValue).trim().toLowerCase()
      if (!["true", "false", "1", "0", "yes", "no"].includes(sandboxText)) {
        return yield* new GatewayMisconfigured({ gateway: id, reason: "credential sandbox must be true or false" })
      }
      return yield* make({ id, uid, wsk, sandbox: ["true", "1", "yes"].includes(sandboxText) })
    })
}

