/**
 * Issue 12, input defects 11–15: card numbers echoed in errors, metadata keys dropped, strings a
 * database cannot store, trimmed idempotency keys, refunds and captures of zero or less.
 */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Either, HashMap, Layer, Logger, Redacted, Ref, Schema } from "effect"
import * as fc from "fast-check"
import type { AegisPay} from "aegispay";
import { Customer, GatewayRegistry, IdempotencyStore, Ids, Money, Payment, PaymentError, PaymentMethod, PaymentRequest, PaymentService, Sanitize, StorageError } from "aegispay"
import { AegisPayPg } from "aegispay/pg"
import { AegisPayTest } from "aegispay/testing"
import { card, request, TestLayer } from "../helpers.js"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"

const decode = (input: unknown) => PaymentRequest.decode(PaymentRequest.CreatePaymentRequest, input)

/** The Luhn check digit that completes `body`. */
const checkDigit = (body: string): string => {
  for (let d = 0; d <= 9; d++) if (PaymentMethod.luhn(body + d)) return String(d)
  throw new Error("unreachable")
}

/** Luhn-valid card numbers of 13 to 19 digits. */
const cardDigits = fc.integer({ min: 13, max: 19 }).chain((length) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: length - 1, maxLength: length - 1 })
    .map((ds) => ds.join(""))
    .map((body) => body + checkDigit(body))
)

/** A card number as a person may type it: digits with spaces or dashes anywhere between them. */
const typedCard = cardDigits.chain((digits) =>
  fc.array(fc.constantFrom("", "", "", " ", "-", "  ", " - "), { minLength: digits.length - 1, maxLength: digits.length - 1 })
    .map((seps) => ({ digits, typed: digits.split("").map((d, i) => (i === 0 ? d : seps[i - 1] + d)).join("") }))
)

/** Places `text` into one string field of an otherwise valid create request. */
const placements: ReadonlyArray<readonly [string, (text: string) => unknown]> = [
  ["currency", (text) => request({ currency: text })],
  ["customer.email", (text) => request({ customer: { id: "c", email: `${text}@example` } })],
  ["customer.email (local part)", (text) => request({ customer: { id: "c", email: `a ${text}@example.com` } })],
  ["customer.country", (text) => request({ customer: { id: "c", email: "a@example.com", country: text } })],
  ["customer.name", (text) => request({ customer: { id: "c", email: "a@example.com", name: text.padEnd(201, "x") } })],
  ["customer.id", (text) => request({ customer: { id: text.padEnd(256, "x"), email: "a@example.com" } })],
  ["amount", (text) => request({ amount: text })],
  ["amount (decimals)", (text) => request({ amount: `1.${text}` })],
  ["tenantId", (text) => request({ tenantId: text.padEnd(65, "x") })],
  ["idempotencyKey", (text) => request({ idempotencyKey: text.padEnd(256, "x") })],
  ["description", (text) => request({ description: text.padEnd(1001, "x") })],
  ["paymentMethod.holderName", (text) => request({ paymentMethod: { ...card(), holderName: text.padEnd(201, "x") } })],
  ["paymentMethod.type", (text) => ({ ...request(), paymentMethod: { ...card(), type: text } })],
  ["metadata key", (text) => request({ metadata: { [text]: "1" } })],
  ["metadata value", (text) => request({ metadata: { note: text.padEnd(1001, "x") } })],
  ["metadata key (valid) with a bad value", (text) => ({ ...request(), metadata: { [text.replace(/\D/g, "")]: [1] } })],
  ["unknown field", (text) => ({ ...request(), [text]: 1 })],
  ["customer unknown field", (text) => ({ ...request(), customer: { id: "c", email: "a@example.com", [text]: 1 } })]
]

const leaks = (error: PaymentError.ValidationError, card: { readonly digits: string; readonly typed: string }) => {
  const texts = [error.message, error.path, JSON.stringify(error), String(error), error.stack ?? ""]
  return texts.some((text) => text.includes(card.digits) || text.includes(card.typed))
}

describe("defect 11: a card number typed into the wrong field is never echoed", () => {
  it("in any string field, with any separators, the error never shows it", () => {
    fc.assert(
      fc.property(typedCard, fc.constantFrom(...placements), fc.string({ maxLength: 3 }), (cardNumber, [, place], prefix) => {
        const result = decode(place(prefix.replace(/\d/g, "") + cardNumber.typed))
        if (Either.isRight(result)) return
        expect(leaks(result.left, cardNumber), `${result.left.path}: ${result.left.message}`).toBe(false)
      }),
      { numRuns: 400 }
    )
  })

  it("the known cases: currency, email, amount", () => {
    const visa = { digits: "4242424242424242", typed: "4242 4242 4242 4242" }
    for (const [field, place] of placements.filter(([f]) => ["currency", "customer.email"].includes(f))) {
      const result = decode(place(visa.typed))
      expect(Either.isLeft(result), field).toBe(true)
      if (Either.isLeft(result)) expect(leaks(result.left, visa), field).toBe(false)
    }
    const amount = Money.fromDecimalString(visa.typed, "USD")
    expect(Either.isLeft(amount)).toBe(true)
    if (Either.isLeft(amount)) expect(`${amount.left.message} ${JSON.stringify(amount.left)}`).not.toContain(visa.typed)
  })

  it("a card number cut short by a truncated echo leaves no 13 of its digits", () => {
    const visa = "4242424242424242"
    const pieces = Array.from({ length: visa.length - 12 }, (_, i) => visa.slice(i, i + 13))
    for (let pad = 0; pad < 160; pad++) {
      for (const input of [
        { ...request(), ["x".repeat(pad) + visa]: 1 },
        request({ metadata: { ["k".repeat(pad) + visa]: "1" } }),
        request({ metadata: { ["k-".repeat(pad) + visa]: "1" } })
      ]) {
        const result = decode(input)
        if (Either.isRight(result)) continue
        const text = `${result.left.message} ${JSON.stringify(result.left)}`
        for (const piece of pieces) expect(text, `pad ${pad}: ${text}`).not.toContain(piece)
      }
    }
  })

  it("masking is structural: any ValidationError masks its fields", () => {
    const error = new PaymentError.ValidationError({
      path: "metadata.4111111111111111",
      message: "bad value 4111-1111-1111-1111 here"
    })
    expect(JSON.stringify(error)).not.toMatch(/4111.?1111.?1111.?1111/)
    expect(error.message).toContain("bad value")
    expect(String(error)).not.toMatch(/4111.?1111.?1111.?1111/)
    // numbers that are not card numbers are kept
    const other = new PaymentError.ValidationError({ path: "amount", message: "order 123456789012 of 1234567890123" })
    expect(other.message).toBe("order 123456789012 of 1234567890123")
  })

  it("other errors echoing caller strings mask them too", () => {
    const reused = new PaymentError.IdempotencyKeyReused({ tenantId: "t", idempotencyKey: "4242424242424242", existingId: "pay_1" })
    expect(JSON.stringify(reused)).not.toContain("4242424242424242")
    expect(reused.message).not.toContain("4242424242424242")
    const notFound = new PaymentError.PaymentNotFound({ paymentId: "5555 5555 5555 4444" })
    expect(`${notFound.message}${JSON.stringify(notFound)}`).not.toContain("5555 5555 5555 4444")
    const amount = new Money.InvalidAmount({ input: "4242-4242-4242-4242", currency: "USD", reason: "not a decimal number" })
    expect(`${amount.message}${JSON.stringify(amount)}`).not.toContain("4242-4242-4242-4242")
  })

  it("maskCardNumbers: no card number survives in any text; idempotent", () => {
    fc.assert(
      fc.property(fc.string(), typedCard, fc.string(), (before, cardNumber, after) => {
        const masked = Sanitize.maskCardNumbers(before + cardNumber.typed + after)
        expect(masked.includes(cardNumber.digits) || masked.includes(cardNumber.typed)).toBe(false)
        expect(Sanitize.maskCardNumbers(masked)).toBe(masked)
      }),
      { numRuns: 500 }
    )
    expect(Sanitize.maskCardNumbers("order 12345, 2026-12-01, pay_000001")).toBe("order 12345, 2026-12-01, pay_000001")
  })

  it("errors outside the domain that may quote a caller's text mask it too", () => {
    const storage = new StorageError.StorageError({ operation: "insert", reason: "invalid input \"4242 4242 4242 4242\"" })
    expect(`${storage.message} ${JSON.stringify(storage)}`).not.toContain("4242 4242 4242 4242")
    const gateway = new GatewayRegistry.GatewayNotFound({ gateway: "4242-4242-4242-4242" })
    expect(`${gateway.message} ${JSON.stringify(gateway)}`).not.toContain("4242-4242-4242-4242")
  })

  it.effect("log lines through maskLogger never show a card number", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ annotations, message }) => {
        lines.push(JSON.stringify({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }))
      })
      yield* Effect.logWarning("hook failed open", "card 4242 4242 4242 4242").pipe(
        Effect.annotateLogs({ reason: "email 4242424242424242@example.com is invalid", count: 3 }),
        Effect.provide(Logger.replace(Logger.defaultLogger, Sanitize.maskLogger(capture)))
      )
      expect(lines.length).toBe(1)
      expect(lines[0]).not.toMatch(/4242.?4242.?4242.?4242/)
      expect(lines[0]).toContain("hook failed open")
      expect(lines[0]).toContain("\"count\":3")
    }))

  it.effect("end to end through createPayment on memory layers", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      for (const [field, place] of placements) {
        const raw = place("4242 4242 4242 4242")
        const error = yield* Effect.flip(payments.createPayment(raw as PaymentRequest.CreatePaymentRequest))
        const text = `${error.message} ${JSON.stringify(error)} ${String(error)}`
        expect(text, field).not.toContain("4242 4242 4242 4242")
        expect(text, field).not.toContain("4242424242424242")
      }
      // a card number used as an idempotency key is not echoed when the key is reused
      yield* payments.createPayment(request({ idempotencyKey: "4242424242424242" }))
      const reused = yield* Effect.flip(payments.createPayment(request({ idempotencyKey: "4242424242424242", amount: "1.00" })))
      expect(reused._tag).toBe("IdempotencyKeyReused")
      expect(`${reused.message} ${JSON.stringify(reused)}`).not.toContain("4242424242424242")
    }).pipe(Effect.provide(TestLayer)))
})

const SPECIAL_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "__defineGetter__",
  "__lookupGetter__",
  "isPrototypeOf"
]

describe("defect 12: metadata keys are stored exactly or refused, never dropped", () => {
  it("any key is either kept with its value or refused with a ValidationError naming it", () => {
    const key = fc.oneof(fc.constantFrom(...SPECIAL_KEYS), fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/))
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, fc.string({ maxLength: 5 })), { selector: ([k]) => k, maxLength: 6 }), (entries) => {
        const metadata: Record<string, string> = JSON.parse(
          `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`
        )
        const result = decode({ ...request(), metadata })
        if (Either.isLeft(result)) {
          expect(result.left._tag).toBe("ValidationError")
          expect(result.left.path.startsWith("metadata")).toBe(true)
          return
        }
        const stored = result.right.metadata
        expect(Object.keys(stored).sort()).toEqual(entries.map(([k]) => k).sort())
        for (const [k, v] of entries) expect(Object.getOwnPropertyDescriptor(stored, k)?.value).toBe(v)
      }),
      { numRuns: 300 }
    )
  })

  it("__proto__ is refused", () => {
    const result = decode({ ...request(), metadata: JSON.parse(`{"__proto__":"x","orderId":"1"}`) })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left.path).toBe("metadata.__proto__")
      expect(result.left.message).toContain("__proto__")
    }
  })

  it.effect("two requests differing only in such a key are not replayed as one payment", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const first = yield* payments.createPayment(request({ idempotencyKey: "meta", metadata: { orderId: "1" } }))
      for (const key of SPECIAL_KEYS) {
        const metadata = JSON.parse(`{"orderId":"1",${JSON.stringify(key)}:"x"}`)
        const second = yield* Effect.either(payments.createPayment(request({ idempotencyKey: "meta", metadata })))
        if (Either.isRight(second)) expect.unreachable(`${key}: replayed as ${second.right.id}`)
        else expect(["ValidationError", "IdempotencyKeyReused"], key).toContain(second.left._tag)
        const fresh = yield* Effect.either(payments.createPayment(request({ idempotencyKey: `meta-${key}`, metadata })))
        if (Either.isRight(fresh)) {
          const stored = yield* payments.getPayment(fresh.right.id)
          expect(Object.getOwnPropertyDescriptor(stored.metadata, key)?.value, key).toBe("x")
        } else {
          expect(fresh.left._tag).toBe("ValidationError")
        }
      }
      expect(first.metadata).toEqual({ orderId: "1" })
    }).pipe(Effect.provide(TestLayer)))
})

/** Strings PostgreSQL cannot store: NUL, and UTF-16 surrogates without their pair. */
const UNSTORABLE = ["\u0000", "\ud800", "\udfff", "\ud83d", "\ude00x"]

/** Every string field of the create request, set to `text` (valid apart from `text`). */
const createFields: ReadonlyArray<readonly [string, (text: string) => PaymentRequest.CreatePaymentRequest]> = [
  ["tenantId", (t) => request({ tenantId: `acme${t}a` })],
  ["idempotencyKey", (t) => request({ idempotencyKey: `key${t}a` })],
  ["customer.id", (t) => request({ customer: { id: `cus${t}a`, email: "a@example.com" } })],
  ["customer.email", (t) => request({ customer: { id: "c", email: `a${t}b@example.com` } })],
  ["customer.name", (t) => request({ customer: { id: "c", email: "a@example.com", name: `Ada${t}a` } })],
  ["paymentMethod.holderName", (t) => request({ paymentMethod: { ...card(), holderName: `Ada${t}a` } })],
  ["description", (t) => request({ description: `desc${t}a` })],
  ["metadata.note", (t) => request({ metadata: { note: `n${t}a` } })],
  ["metadata", (t) => request({ metadata: { [`k${t}a`]: "1" } })],
  ["gateway", (t) => request({ gateway: `mock${t}a` })]
]

/** Every string field of the refund request, for a payment `id`. */
const refundFields: ReadonlyArray<readonly [string, (id: string, text: string) => PaymentRequest.RefundPaymentRequest]> = [
  ["idempotencyKey", (id, t) => ({ paymentId: id, idempotencyKey: `r${t}a`, amount: "1.00" })],
  ["reason", (id, t) => ({ paymentId: id, idempotencyKey: "r", amount: "1.00", reason: `why${t}a` })],
  ["paymentId", (id, t) => ({ paymentId: `${id}${t}`, idempotencyKey: "r", amount: "1.00" })]
]

type Services = AegisPay.Services

/** Defect 13 on one backend: every layer answers the same ValidationError, naming the field. */
const unstorableSuite = (name: string, layer: () => Layer.Layer<Services, unknown>) =>
  it(`${name}: unstorable strings are a ValidationError naming the field, never a StorageError`, () =>
    Effect.runPromise(Effect.scoped(Effect.provide(
      Effect.gen(function*() {
        const payments = yield* PaymentService.PaymentService
        for (const bad of UNSTORABLE) {
          for (const [field, make] of createFields) {
            const result = yield* Effect.either(payments.createPayment(make(bad)))
            const label = `${field} with ${JSON.stringify(bad)}`
            expect(Either.isLeft(result) ? result.left._tag : "created", label).toBe("ValidationError")
            if (Either.isLeft(result) && result.left._tag === "ValidationError") {
              expect(result.left.path.startsWith(field), `${label}: ${result.left.path}`).toBe(true)
            }
          }
        }
        const paid = yield* payments.processPayment((yield* payments.createPayment(request({ idempotencyKey: "ok" }))).id)
        expect(paid.state).toBe("SUCCESS")
        for (const bad of UNSTORABLE) {
          for (const [field, make] of refundFields) {
            const result = yield* Effect.either(payments.refundPayment(make(paid.id, bad)))
            const label = `refund ${field} with ${JSON.stringify(bad)}`
            expect(Either.isLeft(result) ? result.left._tag : "refunded", label).toBe("ValidationError")
            if (Either.isLeft(result) && result.left._tag === "ValidationError") expect(result.left.path, label).toBe(field)
          }
        }
        // an id no layer can store names no payment: PaymentNotFound / nothing, never a StorageError
        // or LockUnavailable (which tell the caller to retry)
        for (const bad of UNSTORABLE) {
          const id = `${paid.id}${bad}`
          const runs: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>> = [
            payments.getPayment(id),
            payments.capturePayment({ paymentId: id }),
            payments.cancelPayment({ paymentId: id }),
            payments.processPayment(id)
          ]
          for (const run of runs) {
            const result = yield* Effect.either(run)
            expect(Either.isLeft(result) ? result.left._tag : "found", `${JSON.stringify(bad)}`).toBe("PaymentNotFound")
          }
          const page = yield* payments.getCustomerPayments({ customerId: `cus_1${bad}` })
          expect(page.items).toEqual([])
          const otherTenant = yield* payments.getCustomerPayments({ customerId: "cus_1", tenantId: `default${bad}` })
          expect(otherTenant.items).toEqual([])
        }
        // well-formed text outside the BMP and other control characters in free text are fine
        const fine = yield* payments.createPayment(request({
          idempotencyKey: "emoji-😀",
          description: "line 1\nline 2 😀",
          customer: { id: "c", email: "a@example.com", name: "Zoë 😀" },
          metadata: { note: "tab\there 😀" }
        }))
        expect((yield* payments.getPayment(fine.id)).description).toBe("line 1\nline 2 😀")
      }),
      layer()
    ))))

describe("defect 13: strings PostgreSQL cannot store are refused the same on every layer", () => {
  it("the schema refuses them in every string field", () => {
    for (const bad of UNSTORABLE) {
      for (const [field, make] of createFields) {
        const result = decode(make(bad))
        expect(Either.isLeft(result), `${field} ${JSON.stringify(bad)}`).toBe(true)
        if (Either.isLeft(result)) expect(result.left.path.startsWith(field), result.left.path).toBe(true)
      }
    }
  })

  unstorableSuite("memory", () => AegisPayTest.layerMemory({ ids: "sequential" }))

  describe.skipIf(databaseUrl === undefined)("postgres", () => {
    const url = useTestDatabase("input")
    unstorableSuite("postgres", () => AegisPayPg.layer({ ...AegisPayTest.parts(), ids: "random", url: Redacted.make(url()) }))
  })
})

describe("defect 14: idempotency keys are compared exactly", () => {
  const badKeys = [" k", "k ", "k\t", "\nk", "k\u00a0", "k\u0001k", "k\u007fk", "k\u0085k", "", "k".repeat(256)]

  it("refuses keys with surrounding whitespace, control characters or over 255 characters", () => {
    for (const key of badKeys) {
      const result = decode(request({ idempotencyKey: key }))
      expect(Either.isLeft(result) ? result.left.path : "accepted", JSON.stringify(key)).toBe("idempotencyKey")
      const refund = PaymentRequest.decode(PaymentRequest.RefundPaymentRequest, { paymentId: "p", idempotencyKey: key })
      expect(Either.isLeft(refund) ? refund.left.path : "accepted", JSON.stringify(key)).toBe("idempotencyKey")
    }
    for (const key of ["k", "k".repeat(255), "order 1", "ключ-😀", "a\u00a0b"]) {
      const result = decode(request({ idempotencyKey: key }))
      expect(Either.isRight(result) && result.right.idempotencyKey, JSON.stringify(key)).toBe(key)
    }
  })

  it("any accepted key is kept exactly as sent", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: "binary" }), (key) => {
        const result = decode(request({ idempotencyKey: key }))
        if (Either.isRight(result)) expect(result.right.idempotencyKey).toBe(key)
        else expect(result.left.path).toBe("idempotencyKey")
      }),
      { numRuns: 500 }
    )
  })

  it.effect("\"k \" is not \"k\": createPayment and refundPayment", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const first = yield* payments.createPayment(request({ idempotencyKey: "k" }))
      const padded = yield* Effect.flip(payments.createPayment(request({ idempotencyKey: "k ", amount: "5.00" })))
      expect(padded._tag).toBe("ValidationError")
      const replay = yield* payments.createPayment(request({ idempotencyKey: "k" }))
      expect(replay.id).toBe(first.id)
      const paid = yield* payments.processPayment(first.id)
      yield* payments.refundPayment({ paymentId: paid.id, idempotencyKey: "r", amount: "1.00" })
      const paddedRefund = yield* Effect.flip(payments.refundPayment({ paymentId: paid.id, idempotencyKey: "r ", amount: "2.00" }))
      expect(paddedRefund._tag).toBe("ValidationError")
      expect(paddedRefund._tag === "ValidationError" && paddedRefund.path).toBe("idempotencyKey")
    }).pipe(Effect.provide(TestLayer)))
})

describe("defect 14: the generic IdempotencyStore.run takes keys by the same rules", () => {
  const Result = Schema.Struct({ n: Schema.Number })
  const storeLayer = IdempotencyStore.layerMemory.pipe(Layer.provide(Ids.layerSequential))

  it.effect("a padded, control-character or overlong key is a ValidationError; the operation does not run", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make(0)
      const op = Effect.as(Ref.update(runs, (n) => n + 1), { n: 1 })
      const pairs: ReadonlyArray<readonly [string, string]> = [
        ["t", "k "], ["t", " k"], ["t", "k\u0000"], ["t", "k".repeat(256)], ["t ", "k"], ["t\u0001", "k"]
      ]
      for (const [tenantId, key] of pairs) {
        const error = yield* Effect.flip(IdempotencyStore.run({ tenantId, key, request: {}, success: Result }, op))
        expect(error._tag, JSON.stringify([tenantId, key])).toBe("ValidationError")
      }
      expect(yield* Ref.get(runs)).toBe(0)
      expect(yield* IdempotencyStore.run({ tenantId: "t", key: "k", request: {}, success: Result }, op)).toEqual({ n: 1 })
    }).pipe(Effect.provide(storeLayer)))

  it.effect("(tenant, key) pairs never collide: ('a\\0b', 'c') is not ('a', 'b\\0c')", () =>
    Effect.gen(function*() {
      const store = yield* IdempotencyStore.IdempotencyStore
      const first = yield* store.begin("a\u0000b", "c", "fp1", "60 seconds")
      expect(first._tag).toBe("Started")
      const second = yield* Effect.either(store.begin("a", "b\u0000c", "fp2", "60 seconds"))
      expect(Either.isRight(second) && second.right._tag).toBe("Started")
    }).pipe(Effect.provide(storeLayer)))
})

describe("defect 15: refunds and captures of zero or less are ValidationErrors", () => {
  const customer = new Customer.Customer({ id: "c", email: Schema.decodeSync(Customer.Email)("a@example.com") })
  const paid = (captureMethod: "automatic" | "manual") => {
    const at = DateTime.unsafeMake(0)
    const token = new PaymentMethod.CardToken({
      type: "card", brand: "visa", bin: "424242", last4: "4242", expiryMonth: 12, expiryYear: 2099,
      holderName: "Ada", fingerprint: "fp", vaultToken: "card_x"
    })
    let p = Payment.initiate({
      id: "pay_1", tenantId: "t", idempotencyKey: "k", requestFingerprint: "f",
      amount: Money.fromMinor("USD", 10_000n), captureMethod, paymentMethod: token, customer, metadata: {}
    }, at).payment
    p = Either.getOrThrow(Payment.authenticate(p, "mock", at)).payment
    p = Either.getOrThrow(Payment.startAttempt(p, { id: "att_1", gateway: "mock", idempotencyKey: "g1" }, at)).payment
    return Either.getOrThrow(captureMethod === "manual" ? Payment.authorize(p, "txn", at) : Payment.succeed(p, "txn", at)).payment
  }

  it("the domain refund rule", () => {
    const payment = paid("automatic")
    for (const minor of [0n, -1n, -10_000n]) {
      const result = Payment.requestRefund(payment, {
        id: "re_1", amount: Money.fromMinor("USD", minor), idempotencyKey: "r", gatewayIdempotencyKey: "g"
      }, DateTime.unsafeMake(1))
      expect(Either.isLeft(result) && result.left._tag, String(minor)).toBe("ValidationError")
    }
    const over = Payment.requestRefund(payment, {
      id: "re_1", amount: Money.fromMinor("USD", 10_001n), idempotencyKey: "r", gatewayIdempotencyKey: "g"
    }, DateTime.unsafeMake(1))
    expect(Either.isLeft(over) && over.left._tag).toBe("RefundExceedsCaptured")
  })

  it.effect("refundPayment and capturePayment end to end", () =>
    Effect.gen(function*() {
      const payments = yield* PaymentService.PaymentService
      const payment = yield* payments.processPayment((yield* payments.createPayment(request())).id)
      let n = 0
      for (const amount of ["0", "0.00", "-1.00", "-0.01", 0, -5, 0n, -100n]) {
        const error = yield* Effect.flip(payments.refundPayment({ paymentId: payment.id, idempotencyKey: `r${n++}`, amount }))
        expect(error._tag, String(amount)).toBe("ValidationError")
        expect(error._tag === "ValidationError" && error.path).toBe("amount")
      }
      // the same with a key already used for a real refund: the amount is checked first
      yield* payments.refundPayment({ paymentId: payment.id, idempotencyKey: "used", amount: "1.00" })
      const zeroOnUsedKey = yield* Effect.flip(payments.refundPayment({ paymentId: payment.id, idempotencyKey: "used", amount: "0" }))
      expect(zeroOnUsedKey._tag).toBe("ValidationError")
      // nothing left to refund, without an amount: still RefundExceedsCaptured
      yield* payments.refundPayment({ paymentId: payment.id, idempotencyKey: "rest" })
      const nothingLeft = yield* Effect.flip(payments.refundPayment({ paymentId: payment.id, idempotencyKey: "more" }))
      expect(nothingLeft._tag).toBe("RefundExceedsCaptured")

      const held = yield* payments.processPayment((yield* payments.createPayment(request({ idempotencyKey: "manual", captureMethod: "manual" }))).id)
      expect(held.state).toBe("AUTHORIZED")
      for (const amount of ["0", "-1.00", 0, -1n]) {
        const error = yield* Effect.flip(payments.capturePayment({ paymentId: held.id, amount }))
        expect(error._tag, String(amount)).toBe("ValidationError")
      }
      expect((yield* payments.capturePayment({ paymentId: held.id, amount: "10.00" })).state).toBe("SUCCESS")
    }).pipe(Effect.provide(TestLayer)))
})
