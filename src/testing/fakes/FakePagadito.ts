/**
 * An in-process fake of Pagadito's APIPG (`charges.php`: connect, exec_trans, get_status) and of
 * its customer side, an `@effect/platform` `HttpRouter` app (serve it with {@link serve}),
 * reproducing what the Pagadito adapter depends on, as Pagadito documents it:
 *
 * - the `{ code, message, value, datetime }` answers and the published codes (PG1001–PG1003,
 *   PG2001/PG2002, PG3001–PG3009);
 * - connect with `uid`/`wsk` → a connection token; the token used for `exec_trans` is the
 *   transaction's token (its checkout URL and `get_status`'s `token_trans`); connection tokens
 *   can be expired ({@link FakePagadito.expireConnections}) → PG3007;
 * - exec_trans checks the details add up to the amount (PG3004), the currency (PG3008), the
 *   limits (PG3006/PG3009) and answers the URL-encoded checkout URL; the same token again with
 *   the same ERN and amount replays the first answer (UNCONFIRMED at Pagadito);
 * - the customer on Pagadito's page: pay (COMPLETED, or VERIFYING when pending payments were
 *   allowed, later approved or revoked), return without paying (CANCELED), run out of time
 *   (EXPIRED), fail (FAILED);
 * - webhooks signed as Pagadito signs them (RSA-SHA256 over
 *   `notification_id|timestamp|event_id|crc32(body)|wsk`, the certificate at a URL of the fake;
 *   the fake serves a PEM public key there);
 * - fault injection ({@link Fault}): an error code, an HTTP status, a hang, a timeout after
 *   applying, a reset connection, a body that is not JSON or not an answer;
 * - a ledger of the transactions and every request received.
 *
 * Not reproduced: exchange rates, recurring payments, the XML/PHP answer formats, Pagadito's
 * real minimum per currency.
 *
 * @since 0.2.0
 */
import type { HttpApp, HttpServerError } from "@effect/platform"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import type { Scope } from "effect"
import { DateTime, Effect, Either, Option } from "effect"
import { generateKeyPairSync, sign } from "node:crypto"
import type { KeyObject } from "node:crypto"
import { crc32 } from "node:zlib"
import { isCurrencyCode } from "../../domain/Currency.js"
import * as Money from "../../domain/Money.js"
import * as FakeServer from "./FakeServer.js"

/** The APIPG operation codes (Pagadito's PHP library). */
const ops = {
  connect: "f3f191ce3326905ff4403bb05b0de150",
  exec_trans: "41216f8caf94aaa598db137e36d4673e",
  get_status: "0b50820c65b0de71ce78f6221a5cf876"
} as const

/**
 * An APIPG operation of the fake.
 *
 * @since 0.2.0
 */
export type Operation = keyof typeof ops

/**
 * A fault for the next request of `operation` (any operation when absent):
 * - `code`: answer this Pagadito code, nothing applied;
 * - `http`: answer this HTTP status (empty body), nothing applied;
 * - `hang`: nothing applied, no answer ever;
 * - `timeoutAfterApply`: applied, no answer ever;
 * - `resetBeforeApply`: the connection is destroyed, nothing applied;
 * - `notJson` / `unexpectedJson`: applied, then a 200 that is HTML / JSON but not an answer.
 *
 * @since 0.2.0
 */
export type Fault =
  | { readonly _tag: "code"; readonly code: string; readonly message?: string | undefined }
  | { readonly _tag: "http"; readonly status: number }
  | { readonly _tag: "hang" }
  | { readonly _tag: "timeoutAfterApply" }
  | { readonly _tag: "resetBeforeApply" }
  | { readonly _tag: "notJson" }
  | { readonly _tag: "unexpectedJson" }

/**
 * A transaction as the fake holds it.
 *
 * @since 0.2.0
 */
export interface Transaction {
  readonly token: string
  readonly ern: string
  readonly amount: string
  readonly currency: string
  readonly details: ReadonlyArray<{ readonly quantity: number; readonly description: string; readonly price: string; readonly url_product: string }>
  readonly customParams: Readonly<Record<string, string>>
  readonly allowPending: boolean
  readonly url: string
  readonly status: "REGISTERED" | "COMPLETED" | "VERIFYING" | "REVOKED" | "FAILED" | "CANCELED" | "EXPIRED"
  /** The approval number, once paid. */
  readonly reference: string | undefined
}

/**
 * A request the fake received: its operation (by code) and form fields (`wsk` masked).
 *
 * @since 0.2.0
 */
export interface Request {
  readonly operation: Operation | "unknown"
  readonly form: Readonly<Record<string, string>>
}

/**
 * Settings of the fake.
 *
 * @since 0.2.0
 */
export interface Options {
  readonly uid?: string | undefined
  readonly wsk?: string | undefined
  /** Currencies the merchant has enabled (default Pagadito's seven). */
  readonly currencies?: ReadonlyArray<string> | undefined
  /** Per transaction, decimal strings (defaults "1.00" and "10000.00"). */
  readonly minAmount?: string | undefined
  readonly maxAmount?: string | undefined
}

/**
 * A signed webhook notification, as Pagadito would POST it.
 *
 * @since 0.2.0
 */
export interface SignedNotification {
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/**
 * The fake's controls.
 *
 * @since 0.2.0
 */
export interface FakePagadito {
  readonly app: HttpApp.Default<never, never>
  readonly uid: string
  readonly wsk: string
  /** The endpoint to pass as the adapter's `apiBase` (after {@link serve}). */
  readonly endpoint: Effect.Effect<string>
  /** The URL of the webhook certificate (a PEM public key) and its content. */
  readonly certificateUrl: Effect.Effect<string>
  readonly certificatePem: string
  readonly inject: (fault: Fault, operation?: Operation) => Effect.Effect<void>
  readonly requests: Effect.Effect<ReadonlyArray<Request>>
  readonly transaction: (token: string) => Effect.Effect<Option.Option<Transaction>>
  readonly transactions: Effect.Effect<ReadonlyArray<Transaction>>
  /** Every connection token stops being valid (Pagadito answers PG3007 to it). */
  readonly expireConnections: Effect.Effect<void>
  /** The customer pays: COMPLETED, or VERIFYING with `pending` (only when pending payments were allowed). */
  readonly pay: (token: string, options?: { readonly pending?: boolean | undefined }) => Effect.Effect<void>
  /** Pagadito's review ends: VERIFYING → COMPLETED, or → REVOKED. */
  readonly approve: (token: string) => Effect.Effect<void>
  readonly revoke: (token: string) => Effect.Effect<void>
  /** The customer returns to the merchant without paying: CANCELED. */
  readonly cancel: (token: string) => Effect.Effect<void>
  /** The customer runs out of time: EXPIRED. */
  readonly expire: (token: string) => Effect.Effect<void>
  /** Pagadito could not process the payment: FAILED. */
  readonly fail: (token: string) => Effect.Effect<void>
  /** What Pagadito appends to the merchant's return URL (`{value}`, `{ern_value}`). */
  readonly returnParams: (token: string) => Effect.Effect<{ readonly token: string; readonly ern: string }>
  /** A TRANSACTION.STATUS.CHANGE notification of the transaction's current status, signed. */
  readonly notification: (token: string, options?: {
    readonly eventId?: string | undefined
    /** Leave the custom parameters out of the resource (default: included). */
    readonly withoutCustomParams?: boolean | undefined
  }) => Effect.Effect<SignedNotification>
}

const defaultCurrencies = ["USD", "GTQ", "HNL", "NIO", "CRC", "PAB", "DOP"]

const messages: Readonly<Record<string, string>> = {
  PG1001: "Connection successful.",
  PG1002: "Transaction register successful.",
  PG1003: "Transaction status.",
  PG2001: "Incomplete data.",
  PG2002: "Incorrect format data.",
  PG3001: "Connection couldn't be established.",
  PG3002: "We're sorry. An error has occurred.",
  PG3003: "Unregistered transaction.",
  PG3004: "Transaction amount doesn't match with calculated amount.",
  PG3005: "Connection is disabled.",
  PG3006: "Amount has exceeded the maximum.",
  PG3007: "Denied access.",
  PG3008: "Currency not supported.",
  PG3009: "Amount is lower than the minimum allowed."
}

/** One signing key for every fake of the process (an RSA key takes a while to make). */
let signingKeyPair: { readonly privateKey: KeyObject; readonly certificatePem: string } | undefined
const signingKey = () => {
  if (signingKeyPair === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
    signingKeyPair = { privateKey, certificatePem: publicKey.export({ type: "spki", format: "pem" }).toString() }
  }
  return signingKeyPair
}

const hex32 = (prefix: string, n: number) => `${prefix}${n.toString(16)}`.padStart(32, "0")

/**
 * Builds the fake (not yet served: see {@link serve}).
 *
 * @since 0.2.0
 */
export const make = (options: Options = {}): Effect.Effect<FakePagadito> => Effect.map(build(options), ({ fake }) => fake)

const build = (options: Options) =>
  Effect.gen(function*() {
    const uid = options.uid ?? "fake-uid"
    const wsk = options.wsk ?? "fake-wsk"
    const currencies = options.currencies ?? defaultCurrencies
    const { privateKey, certificatePem } = yield* Effect.sync(signingKey)
    const lock = yield* Effect.makeSemaphore(1)
    const locked = <A, E, R>(effect: Effect.Effect<A, E, R>) => lock.withPermits(1)(effect)
    const faults: Array<{ readonly fault: Fault; readonly operation: Operation | undefined }> = []
    const requests: Array<Request> = []
    const state = {
      base: "http://127.0.0.1",
      counter: 0,
      connections: new Map<string, { expired: boolean }>(),
      transactions: new Map<string, Transaction>(),
      faults,
      requests,
      notifications: 0
    }
    const next = () => ++state.counter

    const answer = (code: string, value: unknown) =>
      Effect.map(DateTime.now, (now) => ({
        code,
        message: messages[code] ?? "Unknown.",
        value,
        datetime: DateTime.formatIso(now).replace("T", " ").slice(0, 19)
      }))
    const failure = (code: string) => answer(code, null)

    const minorOf = (currency: string, decimal: string): bigint | undefined =>
      isCurrencyCode(currency)
        ? Either.match(Money.fromDecimalString(decimal, currency), { onLeft: () => undefined, onRight: (m) => m.minor })
        : undefined

    const live = (token: string | undefined) => token !== undefined && state.connections.get(token)?.expired === false

    type Answer = Effect.Effect.Success<ReturnType<typeof answer>>

    const connect = (form: Readonly<Record<string, string>>): Effect.Effect<Answer> => {
      if (form["uid"] === undefined || form["wsk"] === undefined) return failure("PG2001")
      if (form["uid"] !== uid || form["wsk"] !== wsk) return failure("PG3001")
      const token = hex32("c", next())
      state.connections.set(token, { expired: false })
      return answer("PG1001", token)
    }

    const parseDetails = (text: string) => {
      try {
        const parsed: unknown = JSON.parse(text)
        if (!Array.isArray(parsed) || parsed.length === 0) return undefined
        const details: Array<Transaction["details"][number]> = []
        for (const item of parsed) {
          if (typeof item !== "object" || item === null) return undefined
          const quantity: unknown = Reflect.get(item, "quantity")
          const description: unknown = Reflect.get(item, "description")
          const price: unknown = Reflect.get(item, "price")
          const url: unknown = Reflect.get(item, "url_product")
          if (typeof quantity !== "number" || typeof description !== "string" || (typeof price !== "number" && typeof price !== "string")) {
            return undefined
          }
          details.push({ quantity, description, price: String(price), url_product: typeof url === "string" ? url : "" })
        }
        return details
      } catch {
        return undefined
      }
    }

    const parseParams = (text: string | undefined): Record<string, string> | undefined => {
      if (text === undefined || text === "" || text === "[]") return {}
      try {
        const parsed: unknown = JSON.parse(text)
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined
        const out: Record<string, string> = {}
        for (const [key, value] of Object.entries(parsed)) {
          if (typeof value !== "string") return undefined
          out[key] = value
        }
        return out
      } catch {
        return undefined
      }
    }

    const execTrans = (form: Readonly<Record<string, string>>): Effect.Effect<Answer> => {
      const token = form["token"]
      const ern = form["ern"]
      const amount = form["amount"]
      const detailsText = form["details"]
      if (token === undefined || ern === undefined || ern === "" || amount === undefined || detailsText === undefined) return failure("PG2001")
      if (!live(token)) return failure("PG3007")
      const existing = state.transactions.get(token)
      if (existing !== undefined) {
        return existing.ern === ern && existing.amount === amount ? answer("PG1002", encodeURIComponent(existing.url)) : failure("PG3007")
      }
      const currency = form["currency"] ?? "USD"
      if (!currencies.includes(currency)) return failure("PG3008")
      const details = parseDetails(detailsText)
      const customParams = parseParams(form["custom_params"])
      if (details === undefined || customParams === undefined) return failure("PG2002")
      const total = minorOf(currency, amount)
      if (total === undefined) return failure("PG2002")
      let sum = 0n
      for (const d of details) {
        const price = minorOf(currency, d.price)
        if (price === undefined || !Number.isSafeInteger(d.quantity)) return failure("PG2002")
        sum += BigInt(d.quantity) * price
      }
      if (sum !== total) return failure("PG3004")
      const min = minorOf(currency, options.minAmount ?? "1.00") ?? 0n
      const max = minorOf(currency, options.maxAmount ?? "10000.00") ?? total
      if (total > max) return failure("PG3006")
      if (total < min) return failure("PG3009")
      const url = `${state.base}/comercios/index.php?mod=login&token=${token}`
      state.transactions.set(token, {
        token,
        ern,
        amount,
        currency,
        details,
        customParams,
        allowPending: form["allow_pending_payments"] === "true",
        url,
        status: "REGISTERED",
        reference: undefined
      })
      // Pagadito answers the URL encoded (its PHP library URL-decodes it)
      return answer("PG1002", encodeURIComponent(url))
    }

    const getStatus = (form: Readonly<Record<string, string>>): Effect.Effect<Answer> => {
      const tokenTrans = form["token_trans"]
      if (form["token"] === undefined || tokenTrans === undefined) return failure("PG2001")
      if (!live(form["token"])) return failure("PG3007")
      const transaction = state.transactions.get(tokenTrans)
      if (transaction === undefined) return failure("PG3003")
      return Effect.flatMap(DateTime.now, (now) =>
        answer("PG1003", {
          status: transaction.status,
          reference: transaction.reference ?? null,
          date_trans: DateTime.formatIso(now).replace("T", " ").slice(0, 19)
        }))
    }

    const json = (body: unknown, status = 200) => HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json" })

    const charges = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const text = yield* Effect.orElseSucceed(request.text, () => "")
      const form: Record<string, string> = {}
      for (const [key, value] of new URLSearchParams(text)) form[key] = value
      const operation: Operation | "unknown" = form["operation"] === ops.connect
        ? "connect"
        : form["operation"] === ops.exec_trans
        ? "exec_trans"
        : form["operation"] === ops.get_status
        ? "get_status"
        : "unknown"
      const fault = yield* locked(Effect.sync(() => {
        state.requests.push({ operation, form: { ...form, ...(form["wsk"] === undefined ? {} : { wsk: "***" }) } })
        const at = state.faults.findIndex((f) => f.operation === undefined || f.operation === operation)
        return at >= 0 ? state.faults.splice(at, 1)[0]?.fault : undefined
      }))
      if (fault !== undefined) {
        switch (fault._tag) {
          case "code":
            return json({ ...(yield* failure(fault.code)), ...(fault.message === undefined ? {} : { message: fault.message }) })
          case "http":
            return HttpServerResponse.empty({ status: fault.status })
          case "hang":
            return yield* Effect.never
          case "resetBeforeApply":
            NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
            return yield* Effect.never
          default:
            break
        }
      }
      const applied = yield* locked(
        operation === "connect"
          ? connect(form)
          : operation === "exec_trans"
          ? execTrans(form)
          : operation === "get_status"
          ? getStatus(form)
          : failure("PG2001")
      )
      switch (fault?._tag) {
        case "timeoutAfterApply":
          return yield* Effect.never
        case "notJson":
          return HttpServerResponse.text("<html><body>Mantenimiento</body></html>", { status: 200, contentType: "text/html" })
        case "unexpectedJson":
          return json({ ok: true, result: "registered" })
        default:
          return json(applied)
      }
    })

    const router = HttpRouter.empty.pipe(
      HttpRouter.post("/comercios/apipg/charges.php", charges),
      HttpRouter.get("/cert.pem", Effect.succeed(HttpServerResponse.text(certificatePem, { contentType: "application/x-pem-file" })))
    )
    const app: HttpApp.Default<never, never> = router.pipe(
      Effect.catchAll(() => Effect.succeed(HttpServerResponse.text("Not found", { status: 404 })))
    )

    const transition = (token: string, from: ReadonlyArray<Transaction["status"]>, to: (t: Transaction) => Transaction) =>
      locked(Effect.gen(function*() {
        const transaction = state.transactions.get(token)
        if (transaction === undefined) return yield* Effect.dieMessage(`no transaction ${token}`)
        if (!from.includes(transaction.status)) {
          return yield* Effect.dieMessage(`transaction ${token} is ${transaction.status}, not ${from.join(" or ")}`)
        }
        state.transactions.set(token, to(transaction))
      }))

    const reference = () => String(700000 + next())

    const fake: FakePagadito = {
      app,
      uid,
      wsk,
      endpoint: Effect.sync(() => `${state.base}/comercios/apipg/charges.php`),
      certificateUrl: Effect.sync(() => `${state.base}/cert.pem`),
      certificatePem,
      inject: (fault, operation) => locked(Effect.sync(() => void state.faults.push({ fault, operation }))),
      requests: locked(Effect.sync(() => [...state.requests])),
      transaction: (token) => locked(Effect.sync(() => Option.fromNullable(state.transactions.get(token)))),
      transactions: locked(Effect.sync(() => [...state.transactions.values()])),
      expireConnections: locked(Effect.sync(() => {
        for (const connection of state.connections.values()) connection.expired = true
      })),
      pay: (token, payOptions) =>
        Effect.gen(function*() {
          const pending = payOptions?.pending === true
          if (pending) {
            const t = yield* locked(Effect.sync(() => state.transactions.get(token)))
            if (t !== undefined && !t.allowPending) return yield* Effect.dieMessage(`transaction ${token} does not allow pending payments`)
          }
          const ref = reference()
          yield* transition(token, ["REGISTERED"], (t) => ({ ...t, status: pending ? "VERIFYING" : "COMPLETED", reference: ref }))
        }),
      approve: (token) => transition(token, ["VERIFYING"], (t) => ({ ...t, status: "COMPLETED" })),
      revoke: (token) => transition(token, ["VERIFYING"], (t) => ({ ...t, status: "REVOKED" })),
      cancel: (token) => transition(token, ["REGISTERED"], (t) => ({ ...t, status: "CANCELED" })),
      expire: (token) => transition(token, ["REGISTERED"], (t) => ({ ...t, status: "EXPIRED" })),
      fail: (token) => transition(token, ["REGISTERED"], (t) => ({ ...t, status: "FAILED" })),
      returnParams: (token) =>
        locked(Effect.gen(function*() {
          const transaction = state.transactions.get(token)
          if (transaction === undefined) return yield* Effect.dieMessage(`no transaction ${token}`)
          return { token, ern: transaction.ern }
        })),
      notification: (token, notificationOptions) =>
        Effect.gen(function*() {
          const transaction = yield* locked(Effect.sync(() => state.transactions.get(token)))
          if (transaction === undefined) return yield* Effect.dieMessage(`no transaction ${token}`)
          const number = yield* locked(Effect.sync(() => ++state.notifications))
          const eventId = notificationOptions?.eventId ?? `EVT-${number}`
          const now = yield* DateTime.now
          const event = {
            id: eventId,
            event_type: "TRANSACTION.STATUS.CHANGE",
            create_time: DateTime.formatIso(now),
            resource: {
              token: transaction.token,
              ern: transaction.ern,
              reference: transaction.reference ?? null,
              status: transaction.status,
              amount: { total: transaction.amount, currency: transaction.currency },
              ...(notificationOptions?.withoutCustomParams === true ? {} : { custom_params: transaction.customParams })
            }
          }
          const body = new TextEncoder().encode(JSON.stringify(event))
          const notificationId = `WH-${number}`
          const timestamp = DateTime.formatIso(now)
          const signed = `${notificationId}|${timestamp}|${eventId}|${crc32(body)}|${wsk}`
          const signature = sign("sha256", Buffer.from(signed, "utf8"), privateKey).toString("base64")
          const base = yield* Effect.sync(() => state.base)
          return {
            headers: {
              "content-type": "application/json",
              "pagadito-notification-id": notificationId,
              "pagadito-notification-timestamp": timestamp,
              "pagadito-auth-algo": "sha256WithRSAEncryption",
              "pagadito-cert-url": `${base}/cert.pem`,
              "pagadito-signature": signature
            },
            body
          }
        })
    }
    return { fake, setBase: (base: string) => Effect.sync(() => void (state.base = base)) }
  })

/**
 * A fake Pagadito served on a loopback port for the scope; pass `yield* fake.endpoint` as the
 * adapter's `apiBase`.
 *
 * @since 0.2.0
 */
export const serve = (options: Options = {}): Effect.Effect<FakePagadito, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const built = yield* build(options)
    const running = yield* FakeServer.serve(built.fake.app)
    yield* built.setBase(running.url)
    return built.fake
  })
