/**
 * Recording a verified gateway notification with the changes it caused.
 *
 * @internal
 */
import type { DateTime } from "effect"
import * as Event from "../PaymentEvent.js"
import { emit } from "./command.js"
import type { Decision } from "./entities.js"

/**
 * Records a verified gateway notification after the changes it caused (`decision`, possibly
 * empty), in one decision.
 *
 * @since 0.1.0
 */
export const recordNotification = (
  decision: Decision,
  notification: {
    readonly notificationId: string
    readonly gateway: string
    readonly notificationType: Event.NotificationReceived["notificationType"]
    readonly outcome: "applied" | "ignored"
    readonly detail: string
  },
  now: DateTime.Utc
): Decision => {
  const recorded = emit(decision.payment, now, (base) => new Event.NotificationReceived({ ...base, ...notification }, true))
  return { payment: recorded.payment, events: [...decision.events, ...recorded.events] }
}
