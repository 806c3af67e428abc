/**
 * The Pagadito error and status table: what every response code means for each operation, and
 * what every transaction status means for the payment. The only place these decisions are made
 * (the adapter's doc, `docs/gateways/PAGADITO.md`, shows the same table).
 *
 * Why no Pagadito call is ever an unknown outcome: none of them moves money. `connect` and
 * `get_status` only read; `exec_trans` only registers a checkout, and a registered checkout can
 * only be paid by a customer holding its URL, which reaches the customer only through the
 * adapter's successful answer. A failed or doubtful `exec_trans` (timeout, reset, 5xx,
 * unreadable answer) leaves at most an orphan checkout that nobody can pay and that Pagadito
 * expires after {@link Protocol.checkoutLifetime}: retrying it, or failing over, cannot charge
 * twice. Money moves only when the customer pays on Pagadito's page; the adapter learns of it
 * by `get_status` (complete, status, expiry) or a webhook.
 *
 * @internal
 */
import * as Protocol from "./protocol.js"

/** The operations the adapter calls. */
export type Operation = "connect" | "exec_trans" | "get_status"

/** What an answer code means for the operation that received it. */
export type Verdict =
  /** A person must fix something: credentials, account, parameters. Never retried. */
  | { readonly kind: "misconfigured" }
  /** Nothing happened; safe to retry (or to fail over). */
  | { readonly kind: "transient" }
  /** Pagadito refused this payment (not the customer's card: its limits). */
  | { readonly kind: "declined"; readonly code: string }
  /** get_status: Pagadito never registered this transaction. */
  | { readonly kind: "not_found" }
  /** The connection token is no longer valid: connect again (reads only) and retry once. */
  | { readonly kind: "reconnect" }

const misconfigured: Verdict = { kind: "misconfigured" }
const transient: Verdict = { kind: "transient" }
const declined = (code: string): Verdict => ({ kind: "declined", code })

/** One row of the table: the code, what Pagadito says it means, and the verdict per operation. */
export interface Row {
  readonly code: string
  readonly meaning: string
  readonly verdicts: Readonly<Record<Operation, Verdict>>
}

const all = (verdict: Verdict): Readonly<Record<Operation, Verdict>> => ({ connect: verdict, exec_trans: verdict, get_status: verdict })

/**
 * Every published error code. A code not listed here (or a success code answered to the wrong
 * operation) is transient: Pagadito said something we do not know, and since no call moves
 * money, asking again is harmless.
 */
export const rows: ReadonlyArray<Row> = [
  { code: Protocol.codes.incompleteData, meaning: "incomplete data: a required parameter is missing", verdicts: all(misconfigured) },
  { code: Protocol.codes.incorrectFormat, meaning: "incorrect data format", verdicts: all(misconfigured) },
  { code: Protocol.codes.connectionRefused, meaning: "connection could not be established: uid/wsk not registered", verdicts: all(misconfigured) },
  { code: Protocol.codes.providerError, meaning: "an error Pagadito did not control; the request was not processed", verdicts: all(transient) },
  {
    code: Protocol.codes.unregisteredTransaction,
    meaning: "unregistered transaction",
    verdicts: { connect: transient, exec_trans: transient, get_status: { kind: "not_found" } }
  },
  {
    code: Protocol.codes.amountMismatch,
    meaning: "the sum of quantity × price of the details is not the amount",
    verdicts: all(misconfigured)
  },
  { code: Protocol.codes.connectionDisabled, meaning: "the merchant's connection is disabled", verdicts: all(misconfigured) },
  {
    code: Protocol.codes.amountAboveMaximum,
    meaning: "the amount exceeds the maximum per transaction",
    verdicts: { connect: transient, exec_trans: declined("amount_above_maximum"), get_status: transient }
  },
  {
    code: Protocol.codes.deniedAccess,
    meaning: "access denied: the token is not valid",
    // exec_trans: the attempt's own token expired or was used; the attempt cannot go on with it,
    // nothing was registered: transient (AegisPay's retry, then failover, decide)
    verdicts: { connect: misconfigured, exec_trans: transient, get_status: { kind: "reconnect" } }
  },
  { code: Protocol.codes.currencyNotSupported, meaning: "the currency is not supported", verdicts: all(misconfigured) },
  {
    code: Protocol.codes.amountBelowMinimum,
    meaning: "the amount is below the minimum allowed",
    verdicts: { connect: transient, exec_trans: declined("amount_below_minimum"), get_status: transient }
  }
]

const byCode = new Map(rows.map((row) => [row.code, row]))

/** The verdict on `code` answered to `operation` (unknown codes: transient). */
export const verdictOf = (operation: Operation, code: string): Verdict => byCode.get(code)?.verdicts[operation] ?? transient

/**
 * What an HTTP status other than 2xx means (Pagadito answers 200 with a code; these are the
 * proxies and outages in front of it): 408, 429 and 5xx transient; anything else misconfigured
 * (a wrong `apiBase`, a blocked account).
 */
export const httpVerdict = (status: number): Verdict =>
  status === 408 || status === 429 || status >= 500 ? transient : misconfigured

/** What a transaction status means for the payment. */
export type StatusMeaning =
  | { readonly outcome: "charged" }
  | { readonly outcome: "waiting" }
  | { readonly outcome: "pending" }
  | { readonly outcome: "failed"; readonly code: string; readonly reason: string }

/** The status table: every status Pagadito publishes. */
export const statusTable: Readonly<Record<Protocol.Status, StatusMeaning>> = {
  COMPLETED: { outcome: "charged" },
  REGISTERED: { outcome: "waiting" },
  VERIFYING: { outcome: "pending" },
  REVOKED: { outcome: "failed", code: "revoked", reason: "Pagadito denied the payment after verification; the charge was cancelled" },
  FAILED: { outcome: "failed", code: "failed", reason: "Pagadito could not process the payment; nothing was charged" },
  CANCELED: { outcome: "failed", code: "canceled", reason: "the customer returned to the merchant without paying" },
  EXPIRED: { outcome: "failed", code: "expired", reason: "the customer did not pay in time" }
}

/** The meaning of a status string, or `undefined` for one Pagadito does not publish. */
export const statusMeaning = (status: string): StatusMeaning | undefined => {
  for (const known of Protocol.statuses) {
    if (known === status) return statusTable[known]
  }
  return undefined
}
