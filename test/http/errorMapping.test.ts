/**
 * `ErrorMapping.fromDomain` follows `classOf` for every domain error (so `ApiErrorOf`, which the
 * endpoints' declared errors rely on, tells the truth): instances of every tag, generated from the
 * errors' own schemas.
 */
import { Arbitrary, FastCheck, type Schema } from "effect"
import { describe, expect, it } from "vitest"
import { ErrorMapping } from "aegispay/http"
import * as Gateway from "../../src/gateway/Gateway.js"
import { GatewayNotFound } from "../../src/gateway/GatewayRegistry.js"
import { NoGatewayAvailable } from "../../src/orchestration/Errors.js"
import { FraudRejected, HookFailed, HookRejected } from "../../src/orchestration/Hooks.js"
import * as PaymentError from "../../src/domain/PaymentError.js"
import { CircuitOpen } from "../../src/resilience/CircuitBreaker.js"
import { IdempotencyKeyInUse } from "../../src/storage/IdempotencyStore.js"
import { LockUnavailable } from "../../src/storage/LockManager.js"
import { StorageError } from "../../src/storage/StorageError.js"

const errors = [
  PaymentError.ValidationError,
  PaymentError.PaymentNotFound,
  PaymentError.InvalidTransition,
  PaymentError.IdempotencyKeyReused,
  PaymentError.VersionConflict,
  PaymentError.CaptureExceedsAuthorized,
  PaymentError.RefundExceedsCaptured,
  PaymentError.RefundLimitReached,
  PaymentError.OperationPending,
  PaymentError.CheckoutNotCancelled,
  IdempotencyKeyInUse,
  LockUnavailable,
  StorageError,
  NoGatewayAvailable,
  GatewayNotFound,
  Gateway.GatewayDeclined,
  Gateway.GatewayTransientError,
  Gateway.GatewayMisconfigured,
  Gateway.GatewayUnknownOutcome,
  CircuitOpen,
  FraudRejected,
  HookFailed,
  HookRejected
] as const

describe("ErrorMapping.fromDomain", () => {
  it("covers every domain error of classOf", () => {
    expect(errors.map((e) => e._tag).sort()).toEqual(Object.keys(ErrorMapping.classOf).sort())
  })

  it("answers the class of classOf for each (never the 500 fallback unless classOf says 500)", () => {
    for (const cls of errors) {
      const arbitrary = Arbitrary.make(cls as unknown as Schema.Schema<ErrorMapping.DomainError>)
      for (const error of FastCheck.sample(arbitrary, 2)) {
        const mapped = ErrorMapping.fromDomain(error, "pay_1")
        expect({ tag: error._tag, mapped: mapped.constructor.name }).toEqual({ tag: error._tag, mapped: ErrorMapping.classOf[error._tag].name })
      }
    }
  })
})
