/**
 * Helpers of the facade tests: fresh keys, a card request, and a Promise gateway with a ledger.
 */
import { randomBytes } from "node:crypto"
import {
  type GatewayChargeRequest,
  type GatewayChargeResult,
  GatewayDeclinedError,
  type GatewayStatus,
  GatewayTransientError,
  type KeysInput,
  type PaymentGateway
} from "aegispay/facade"

export const freshKeys = (): KeysInput => ({
  kekId: "kek-test-1",
  kek: randomBytes(32).toString("base64"),
  fingerprintKey: randomBytes(32).toString("base64")
})

export const cardRequest = (idempotencyKey: string, overrides: Record<string, unknown> = {}) => ({
  idempotencyKey,
  amount: "49.99",
  currency: "USD",
  paymentMethod: {
    type: "card" as const,
    number: "4242424242424242",
    expiryMonth: 12,
    expiryYear: 2030,
    cvv: "123",
    holderName: "Ada Lovelace"
  },
  customer: { id: "cus_ada", email: "ada@example.com", name: "Ada Lovelace" },
  ...overrides
})

/** What the test gateway does with a charge, chosen per call. */
export type Behaviour = "succeed" | "decline" | "transient" | "crash" | "transientOnce"

/**
 * A Promise gateway honouring idempotency keys: charges by key, refunds by key, status by key.
 * `behaviour(request)` picks the outcome of each `process` call; `calls` counts them.
 */
export const ledgerGateway = (behaviour: (request: GatewayChargeRequest) => Behaviour = () => "succeed") => {
  const charges = new Map<string, { readonly transactionId: string; readonly minor: bigint; readonly cardNumber?: string }>()
  const refunds = new Map<string, string>()
  const seen = new Map<string, number>()
  let calls = 0
  const gateway: PaymentGateway = {
    capabilities: { currencies: ["USD", "EUR", "SEK"] },
    async process(request): Promise<GatewayChargeResult> {
      calls++
      const count = (seen.get(request.idempotencyKey) ?? 0) + 1
      seen.set(request.idempotencyKey, count)
      const existing = charges.get(request.idempotencyKey)
      if (existing !== undefined) return { status: "succeeded", transactionId: existing.transactionId }
      const what = behaviour(request)
      if (what === "decline") throw new GatewayDeclinedError({ declineCode: "insufficient_funds", reason: "not enough money" })
      if (what === "transient" || (what === "transientOnce" && count === 1)) {
        throw new GatewayTransientError({ reason: "connection refused" })
      }
      const cardNumber = request.paymentMethod.type === "card" ? (await request.paymentMethod.reveal()).number : undefined
      const transactionId = `txn_${charges.size + 1}`
      charges.set(request.idempotencyKey, { transactionId, minor: request.amount.minor, ...(cardNumber === undefined ? {} : { cardNumber }) })
      if (what === "crash") throw new Error("socket hang up")
      return { status: "succeeded", transactionId }
    },
    async refund(request) {
      const id = refunds.get(request.idempotencyKey) ?? `re_${refunds.size + 1}`
      refunds.set(request.idempotencyKey, id)
      return { refundId: id }
    },
    async getStatus(request): Promise<GatewayStatus> {
      const charge = charges.get(request.idempotencyKey)
      return charge === undefined ? { status: "not_found" } : { status: "succeeded", transactionId: charge.transactionId }
    }
  }
  return { gateway, charges, refunds, calls: () => calls }
}

/** A promise and its resolver. */
export const deferred = <A>() => {
  let resolve!: (value: A) => void
  const promise = new Promise<A>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
