/**
 * The payment lifecycle and its transition table.
 *
 * `INITIATED → AUTHENTICATED → PROCESSING → SUCCESS | FAILURE`, extended with `AUTHORIZED`
 * (manual capture: `PROCESSING → AUTHORIZED → SUCCESS` by capture), `CANCELLED` (a payment
 * abandoned before processing, or the void of an authorization) and `ACTION_REQUIRED` (the
 * provider waits for the customer: 3-D Secure, an approval page, a hosted checkout;
 * `PROCESSING → ACTION_REQUIRED → SUCCESS | AUTHORIZED | FAILURE | CANCELLED`). SUCCESS, FAILURE and
 * CANCELLED are terminal. The table has no cycle: every path ends in a terminal state (or waits
 * in AUTHORIZED for a capture or void). The table {@link transitions} is the single source of truth: the type-level
 * {@link CanTransition} and the runtime {@link canTransition} both read it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Every state a payment can be in.
 *
 * @since 0.1.0
 */
export const states = [
  "INITIATED",
  "AUTHENTICATED",
  "PROCESSING",
  "ACTION_REQUIRED",
  "AUTHORIZED",
  "SUCCESS",
  "FAILURE",
  "CANCELLED"
] as const

/**
 * @since 0.1.0
 */
export type PaymentState = (typeof states)[number]

/**
 * Schema of a payment state.
 *
 * @since 0.1.0
 */
export const PaymentState = Schema.Literal(...states)

/**
 * The transition table: for each state, the states it may move to. A state with no successor is
 * terminal.
 *
 * `ACTION_REQUIRED` is left for the charge the customer finished (`SUCCESS`, or `AUTHORIZED`
 * with manual capture) or for a definite "nothing was charged" (`FAILURE`: declined, or
 * cancelled at the provider after the expiry). When the customer finished and the provider has
 * not settled yet (provider-pending), the payment stays ACTION_REQUIRED with `providerPending`
 * (no way back to PROCESSING: no cycle). It is left for `CANCELLED` only when the merchant
 * cancels and the provider has confirmed that nothing was charged and nothing will be (the
 * checkout cancelled at the provider), and never for another gateway: the provider may still
 * charge until it says otherwise.
 *
 * @since 0.1.0
 */
export const transitions = {
  INITIATED: ["AUTHENTICATED", "FAILURE", "CANCELLED"],
  AUTHENTICATED: ["PROCESSING", "FAILURE", "CANCELLED"],
  PROCESSING: ["SUCCESS", "FAILURE", "AUTHORIZED", "ACTION_REQUIRED"],
  ACTION_REQUIRED: ["SUCCESS", "AUTHORIZED", "FAILURE", "CANCELLED"],
  AUTHORIZED: ["SUCCESS", "CANCELLED"],
  SUCCESS: [],
  FAILURE: [],
  CANCELLED: []
} as const satisfies { readonly [S in PaymentState]: ReadonlyArray<PaymentState> }

/**
 * The states reachable in one step from `S`.
 *
 * @since 0.1.0
 */
export type NextState<S extends PaymentState> = (typeof transitions)[S][number]

/**
 * `true` when `From → To` is in the transition table, checked by the compiler.
 *
 * @since 0.1.0
 */
export type CanTransition<From extends PaymentState, To extends PaymentState> = To extends NextState<From> ? true
  : false

/**
 * The terminal states: no transition leaves them.
 *
 * @since 0.1.0
 */
export type TerminalState = { [S in PaymentState]: NextState<S> extends never ? S : never }[PaymentState]

/**
 * Runtime check of the transition table.
 *
 * @since 0.1.0
 */
export const canTransition = (from: PaymentState, to: PaymentState): boolean => {
  const next: ReadonlyArray<PaymentState> = transitions[from]
  return next.includes(to)
}

/**
 * Tells whether a state is terminal (SUCCESS, FAILURE, CANCELLED).
 *
 * @since 0.1.0
 */
export const isTerminal = (state: PaymentState): state is TerminalState => transitions[state].length === 0

/**
 * A compile-time checked transition: `transition("INITIATED", "SUCCESS")` does not compile.
 * Returns the target state.
 *
 * @since 0.1.0
 */
export const transition = <From extends PaymentState, To extends NextState<From>>(_from: From, to: To): To => to
