/**
 * The payment lifecycle and its transition table.
 *
 * `INITIATED → AUTHENTICATED → PROCESSING → SUCCESS | FAILURE`, extended with `AUTHORIZED`
 * (manual capture: `PROCESSING → AUTHORIZED → SUCCESS` by capture) and `CANCELLED` (a payment
 * abandoned before processing, or the void of an authorization). SUCCESS, FAILURE and CANCELLED
 * are terminal. The table {@link transitions} is the single source of truth: the type-level
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
 * @since 0.1.0
 */
export const transitions = {
  INITIATED: ["AUTHENTICATED", "FAILURE", "CANCELLED"],
  AUTHENTICATED: ["PROCESSING", "FAILURE", "CANCELLED"],
  PROCESSING: ["SUCCESS", "FAILURE", "AUTHORIZED"],
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
