/**
 * The machinery every command shares: `emit` (numbered events applied in order), `guard` (the
 * state machine's transition check) and `andThen` (two decisions written as one).
 *
 * @internal
 */
import type { DateTime } from "effect"
import { Either } from "effect"
import { InvalidTransition } from "../PaymentError.js"
import * as Event from "../PaymentEvent.js"
import * as State from "../PaymentState.js"
import type { Decision, Payment } from "./entities.js"
import type { ChangeEvent } from "./evolve.js"
import { apply } from "./evolve.js"

type Draft = (base: Event.EventBase) => ChangeEvent

export const emit = (payment: Payment, now: DateTime.Utc, ...drafts: ReadonlyArray<Draft>): Decision => {
  let current = payment
  const events: Array<ChangeEvent> = []
  for (const draft of drafts) {
    const seq = current.version + 1
    const event = draft({
      eventId: Event.eventId(payment.id, seq),
      paymentId: payment.id,
      tenantId: payment.tenantId,
      seq,
      occurredAt: now
    })
    current = apply(current, event)
    events.push(event)
  }
  return { payment: current, events }
}

/**
 * Runs a second command on the payment a first decision produced; the events of both are written
 * together, in one atomic step.
 *
 * @since 0.1.0
 */
export const andThen = <E>(
  first: Decision,
  next: (payment: Payment) => Either.Either<Decision, E>
): Either.Either<Decision, E> =>
  Either.map(next(first.payment), (second) => ({
    payment: second.payment,
    events: [...first.events, ...second.events]
  }))

export const guard = (payment: Payment, to: State.PaymentState): Either.Either<void, InvalidTransition> =>
  State.canTransition(payment.state, to)
    ? Either.void
    : Either.left(new InvalidTransition({ paymentId: payment.id, from: payment.state, to }))
