/**
 * Everything the Pagadito adapter knows about Pagadito's wire protocol, in one place, each
 * item marked with where it comes from:
 *
 * - **confirmed**: Pagadito's own published material: the developer documentation at
 *   dev.pagadito.com (WSPG, configuration, webhooks pages), the official PHP library
 *   `Pagadito.php` 1.5.1/1.5.2 ("@author Pagadito.com", linked from dev.pagadito.com) and the
 *   official WooCommerce plugin ("@author Pagadito Developers").
 * - **UNCONFIRMED**: inferred from third-party integrations or chosen by us where Pagadito
 *   publishes nothing. Each is listed in `docs/gateways/PAGADITO.md` ("Not confirmed"); when one
 *   turns out wrong, this module is the only place to change.
 *
 * @internal
 */
import type { Duration } from "effect"

/** confirmed (PHP library `config()`): the APIPG endpoints, chosen by the sandbox flag. */
export const endpoints = {
  sandbox: "https://sandbox.pagadito.com/comercios/apipg/charges.php",
  production: "https://comercios.pagadito.com/apipg/charges.php"
} as const

/**
 * confirmed (PHP library `config()`): APIPG selects the operation by an opaque `operation`
 * form field. Only the three the adapter uses (plus the exchange-rate one, for reference).
 */
export const operations = {
  connect: "f3f191ce3326905ff4403bb05b0de150",
  execTrans: "41216f8caf94aaa598db137e36d4673e",
  getStatus: "0b50820c65b0de71ce78f6221a5cf876",
  getExchangeRate: "da6b597cfcd0daf129287758b3c73b76"
} as const

/**
 * confirmed (PHP library): form fields. Every request is `application/x-www-form-urlencoded`
 * POST with `format_return=json`; `details` and `custom_params` are JSON strings;
 * `allow_pending_payments` is the string `"true"` or `"false"`.
 */
export const fields = {
  operation: "operation",
  uid: "uid",
  wsk: "wsk",
  formatReturn: "format_return",
  token: "token",
  tokenTrans: "token_trans",
  ern: "ern",
  amount: "amount",
  details: "details",
  customParams: "custom_params",
  currency: "currency",
  allowPendingPayments: "allow_pending_payments"
} as const

/** confirmed: the answer format we ask for. */
export const formatReturn = "json"

/**
 * confirmed (WSPG documentation, "Respuestas del WSPG"): every answer is
 * `{ code, message, value, datetime }`; these are the codes published there.
 */
export const codes = {
  /** connect: connected; `value` is the connection token. */
  connected: "PG1001",
  /** exec_trans: registered; `value` is the (URL-encoded) checkout URL. */
  registered: "PG1002",
  /** get_status: `value` is `{ status, reference, date_trans }`. */
  status: "PG1003",
  /** get_exchange_rate. */
  exchangeRate: "PG1004",
  /** Incomplete data: a required parameter is missing. */
  incompleteData: "PG2001",
  /** Incorrect data format. */
  incorrectFormat: "PG2002",
  /** Connection could not be established: the credentials are not registered. */
  connectionRefused: "PG3001",
  /** "We're sorry. An error has occurred": an error Pagadito did not control; not processed. */
  providerError: "PG3002",
  /** Unregistered transaction. */
  unregisteredTransaction: "PG3003",
  /** The sum of quantity × price of the details is not the amount. */
  amountMismatch: "PG3004",
  /** The merchant was validated but its connection is disabled. */
  connectionDisabled: "PG3005",
  /** The amount exceeds the maximum per transaction. */
  amountAboveMaximum: "PG3006",
  /** Access denied: the token is not valid. */
  deniedAccess: "PG3007",
  /** The currency is not supported. */
  currencyNotSupported: "PG3008",
  /** The amount is below the minimum allowed. */
  amountBelowMinimum: "PG3009"
} as const

/**
 * confirmed (WSPG documentation, get_status; official WooCommerce plugin): the statuses of a
 * transaction.
 * - REGISTERED: registered, the customer has not paid; nothing charged.
 * - COMPLETED: charged.
 * - VERIFYING: paid but under Pagadito's administrative review (only with
 *   `allow_pending_payments`); later COMPLETED or REVOKED.
 * - REVOKED: a VERIFYING payment denied by Pagadito; the charge is cancelled.
 * - FAILED: registered but could not be processed; nothing charged.
 * - CANCELED: the customer chose "return to the merchant" on Pagadito's page.
 * - EXPIRED: the customer did not finish within Pagadito's time (see {@link checkoutLifetime})
 *   or left the payment page.
 */
export const statuses = ["REGISTERED", "COMPLETED", "VERIFYING", "REVOKED", "FAILED", "CANCELED", "EXPIRED"] as const

/** A transaction status. */
export type Status = typeof statuses[number]

/**
 * confirmed (PHP library `change_currency_*`, WooCommerce plugin `is_valid_for_use`): the
 * currencies Pagadito accepts. The merchant's account decides which are enabled (the
 * WooCommerce plugin offers only USD in sandbox).
 */
export const currencies = ["USD", "GTQ", "HNL", "NIO", "CRC", "PAB", "DOP"] as const

/** A currency Pagadito accepts. */
export type PagaditoCurrency = typeof currencies[number]

/**
 * confirmed (WSPG documentation, EXPIRED): the customer has 10 minutes to finish on Pagadito's
 * page. UNCONFIRMED: whether the 10 minutes run from registration (assumed) or from the
 * customer's arrival.
 */
export const checkoutLifetime: Duration.DurationInput = "10 minutes"

/**
 * Ours: how long after registration the adapter tells the orchestration the customer action
 * expires: Pagadito's lifetime plus a margin, so the expiry check finds the transaction already
 * final at Pagadito (EXPIRED, or paid late).
 */
export const actionExpiry: Duration.DurationInput = "15 minutes"

/**
 * UNCONFIRMED: how long a connection token may be reused for status reads. Pagadito publishes no
 * validity; the adapter reconnects after this, and at once when Pagadito answers
 * {@link codes.deniedAccess} (the token is no longer valid).
 */
export const readTokenTtl: Duration.DurationInput = "2 minutes"

/**
 * UNCONFIRMED (strong evidence): the connection token used for `exec_trans` is the
 * **transaction token**: the token Pagadito puts in the return URL (`{value}`) and the one
 * `get_status` takes as `token_trans` (the PHP library documents `token_trans` as "the
 * identifier of the connection to query"; the official WooCommerce plugin stores the connect
 * token with the order and checks it equals the return URL's token). The adapter therefore
 * connects once per transaction and uses that token as the attempt's reference.
 */
export const transactionTokenIsConnectToken = true

/**
 * UNCONFIRMED: the checkout URL of a transaction token, used only when `get_status` says a
 * transaction still waits for the customer and this process no longer holds the URL
 * `exec_trans` returned (after a restart). Seen in third-party examples of exec_trans answers:
 * `https://sandbox.pagadito.com/comercios/index.php?mod=login&token=<token>`.
 */
export const checkoutUrlOf = (sandbox: boolean, token: string): string =>
  `${sandbox ? "https://sandbox.pagadito.com/comercios" : "https://comercios.pagadito.com"}/index.php?mod=login&token=${encodeURIComponent(token)}`

/**
 * UNCONFIRMED: custom parameters are named `param1` … `param5` and must be enabled in the
 * merchant's panel (Technical configuration). The adapter sends the AegisPay payment id as
 * `param1` and the attempt's idempotency key as `param2`, then the merchant's own parameters.
 */
export const customParams = {
  names: ["param1", "param2", "param3", "param4", "param5"],
  paymentId: "param1",
  idempotencyKey: "param2"
} as const

/**
 * confirmed by several integrations, including the official WooCommerce plugin (the webhook
 * page of dev.pagadito.com describes the events but we could not read its signature section):
 * the headers of a webhook notification. Signature: base64 of an RSA signature, by the
 * certificate at `certUrl`, with the algorithm named in `authAlgo`, over
 * {@link signedString}.
 */
export const webhookHeaders = {
  notificationId: "pagadito-notification-id",
  timestamp: "pagadito-notification-timestamp",
  authAlgo: "pagadito-auth-algo",
  certUrl: "pagadito-cert-url",
  signature: "pagadito-signature"
} as const

/**
 * confirmed by the same integrations: the string Pagadito signs:
 * `notification_id|timestamp|event_id|crc32(body)|wsk`, where `event_id` is the body's `id` and
 * `crc32(body)` the unsigned decimal CRC-32 of the exact bytes (PHP `crc32`).
 */
export const signedString = (input: {
  readonly notificationId: string
  readonly timestamp: string
  readonly eventId: string
  readonly crc32: number
  readonly wsk: string
}): string => `${input.notificationId}|${input.timestamp}|${input.eventId}|${input.crc32}|${input.wsk}`

/**
 * UNCONFIRMED: the value of `PAGADITO-AUTH-ALGO` (PHP integrations pass it to `openssl_verify`,
 * a .NET one verifies SHA-256 with PKCS#1 v1.5). Accepted: any value naming SHA-256, SHA-384 or
 * SHA-512 (`sha256WithRSAEncryption`, `SHA256`, …); anything else is refused.
 */
export const signatureAlgorithm = (authAlgo: string): "sha256" | "sha384" | "sha512" | undefined => {
  const normalised = authAlgo.toLowerCase().replace(/[^a-z0-9]/g, "")
  if (normalised.includes("sha256")) return "sha256"
  if (normalised.includes("sha384")) return "sha384"
  if (normalised.includes("sha512")) return "sha512"
  return undefined
}

/**
 * UNCONFIRMED (the official WooCommerce plugin checks only that the host's second-level label is
 * `pagadito`): a certificate URL is trusted when it is `https:` on `pagadito.com` or one of its
 * subdomains.
 */
export const isPagaditoCertificateUrl = (url: URL): boolean =>
  url.protocol === "https:" && (url.hostname === "pagadito.com" || url.hostname.endsWith(".pagadito.com"))

/**
 * confirmed (webhook page, WooCommerce plugin): the event type of a status change, and where the
 * resource carries the transaction's ERN, status and reference (the approval number).
 * UNCONFIRMED: whether the resource also carries the custom parameters (looked for as
 * `resource.custom_params.param1`) and the transaction token (`resource.token`).
 */
export const statusChangeEvent = "TRANSACTION.STATUS.CHANGE"
