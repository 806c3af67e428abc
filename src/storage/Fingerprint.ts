/**
 * Request fingerprints for idempotency: equal for equal requests, whatever the key order.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

const canonical = (value: unknown): string => {
  if (typeof value === "bigint") return `${value}n`
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/**
 * SHA-256 (hex) of the canonical form of `request`: object keys sorted at every depth,
 * `undefined` fields omitted, bigints distinct from numbers, nested fields included.
 *
 * @since 0.1.0
 */
export const fingerprint = (request: unknown): string => createHash("sha256").update(canonical(request)).digest("hex")
