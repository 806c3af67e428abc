/**
 * Reads: `PaymentService.getPayment` and `getCustomerPayments`.
 *
 * @internal
 */
import { Effect, LogLevel } from "effect"
import { PaymentNotFound, ValidationError } from "../../domain/PaymentError.js"
import { isStorable } from "../../domain/Sanitize.js"
import * as Tenant from "../../domain/Tenant.js"
import { orNotFound } from "../../storage/PaymentLock.js"
import type { CustomerPaymentsRequest } from "./options.js"
import type { Dependencies } from "./dependencies.js"
import * as OperationLog from "../../observability/OperationLog.js"

/**
 * `PaymentService.getPayment` and `getCustomerPayments`: reads scoped to the current tenant.
 */
export const make = (deps: Dependencies) => {
  const { repository } = deps

  /** The payment if it is the current tenant's; else the `PaymentNotFound` of a missing id. */
  const load = (paymentId: string) =>
    isStorable(paymentId)
      ? Effect.flatMap(repository.findById(paymentId), (found) => orNotFound(paymentId, found))
      : Effect.fail(new PaymentNotFound({ paymentId }))

  const getPayment = Effect.fn("PaymentService.getPayment")(function*(paymentId: string) {
    return yield* load(paymentId)
  }, OperationLog.traced("get", {
    paymentIdOf: (paymentId: string) => paymentId,
    subjectOf: OperationLog.ofPayment,
    level: LogLevel.Debug,
    expectedErrors: ["PaymentNotFound"]
  }))

  const getCustomerPayments = Effect.fn("PaymentService.getCustomerPayments")(
    function*(request: CustomerPaymentsRequest) {
      const limit = request.limit ?? 20
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        return yield* new ValidationError({ path: "limit", message: "limit must be an integer from 1 to 100" })
      }
      const tenantId = yield* Tenant.current
      // another tenant's list looks, from here, like a customer without payments
      if (request.tenantId !== undefined && request.tenantId !== tenantId) return { items: [] }
      return yield* repository.findByCustomer(tenantId, request.customerId, {
        limit,
        cursor: request.cursor
      })
    },
    OperationLog.traced("list", { level: LogLevel.Debug })
  )

  return { getPayment, getCustomerPayments }
}
