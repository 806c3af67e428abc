/**
 * A merchant's own gateway, written against the public `Gateway` contract only: what a consumer
 * of the package would write for an in-house processor. It honours idempotency keys (the same key
 * moves money once) and answers status by key.
 */
import { Effect } from "effect"
import { Gateway } from "aegispay"

export const make = Effect.sync((): Gateway.Gateway => {
  const charges = new Map<string, { readonly transactionId: string }>()
  const refunds = new Map<string, { readonly refundId: string }>()
  const unsupported = (operation: string) =>
    Effect.fail(new Gateway.GatewayMisconfigured({ gateway: "inhouse", reason: `${operation} is not supported` }))
  return {
    id: "inhouse",
    capabilities: { currencies: "all", manualCapture: false },
    initiate: ({ paymentId }) => Effect.succeed({ reference: `ref_${paymentId}` }),
    authenticate: () => Effect.void,
    process: (request) =>
      Effect.sync(() => {
        const prior = charges.get(request.idempotencyKey)
        const charge = prior ?? { transactionId: `tx_${charges.size + 1}` }
        charges.set(request.idempotencyKey, charge)
        return { transactionId: charge.transactionId, status: "succeeded" as const }
      }),
    capture: () => unsupported("capture"),
    void: () => unsupported("void"),
    refund: (request) =>
      Effect.sync(() => {
        const refund = refunds.get(request.idempotencyKey) ?? { refundId: `re_${refunds.size + 1}` }
        refunds.set(request.idempotencyKey, refund)
        return refund
      }),
    getStatus: ({ idempotencyKey }) =>
      Effect.sync((): Gateway.StatusResult => {
        const charge = charges.get(idempotencyKey)
        return charge === undefined ? { status: "not_found" } : { status: "succeeded", transactionId: charge.transactionId }
      }),
    healthCheck: Effect.succeed({ healthy: true, latencyMillis: 0 })
  }
})
