/**
 * Keys and cards shared by the security tests.
 */
import { Redacted, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { PaymentMethod } from "aegispay"
import type * as KeyManagement from "../../src/security/KeyManagement.js"

export const kek = (id: string): KeyManagement.KeyEncryptionKey => ({ id, key: Redacted.make<Uint8Array>(randomBytes(32)) })

export const fingerprintKey = Redacted.make<Uint8Array>(randomBytes(32))

/** Test cards (Luhn-valid, no two alike in their last four digits). */
export const numbers = [
  "4242424242424242",
  "5555555555554444",
  "378282246310005",
  "6011111111111117",
  "4000056655665556",
  "5200828282828210",
  "3566002020360505"
] as const

export const cardInput = (number: string, holderName = "Ada Lovelace") =>
  Schema.decodeUnknownSync(PaymentMethod.CardInput)({
    type: "card",
    number,
    expiryMonth: 12,
    expiryYear: 2031,
    cvv: "987",
    holderName
  })
