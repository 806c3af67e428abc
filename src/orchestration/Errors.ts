/**
 * Errors raised by orchestration itself.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * No registered gateway can take this payment (currency, capture method, or the requested
 * gateway's capabilities). The payment is unchanged.
 *
 * @since 0.1.0
 */
export class NoGatewayAvailable extends Schema.TaggedError<NoGatewayAvailable>()("NoGatewayAvailable", {
  paymentId: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `no gateway available for payment ${this.paymentId}: ${this.reason}`
  }
}
