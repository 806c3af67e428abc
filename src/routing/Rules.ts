/**
 * Routing rules: conditions over a payment, a priority, and a target (one gateway or a volume
 * split).
 *
 * Fields: `amount` (major units, compared exactly in the payment's currency), `currency`,
 * `paymentMethod`, `cardBrand`, `bin`, `customerCountry`, `tenant`, `metadata.<key>`.
 * Operators: `equals`, `notEquals`, `in`, `notIn`, `greaterThan`, `lessThan`, `between`
 * (inclusive), `startsWith`. A condition on a missing field does not match (except `notEquals`
 * and `notIn`, which do).
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import * as Money from "../domain/Money.js"
import type { Payment } from "../domain/Payment.js"
import type { Gateway } from "../gateway/Gateway.js"

/**
 * @since 0.1.0
 */
export type Operator = "equals" | "notEquals" | "in" | "notIn" | "greaterThan" | "lessThan" | "between" | "startsWith"

/**
 * @since 0.1.0
 */
export type Scalar = string | number | boolean

/**
 * @since 0.1.0
 */
export interface Condition {
  readonly field: string
  readonly operator: Operator
  readonly value: Scalar | ReadonlyArray<Scalar>
}

/**
 * @since 0.1.0
 */
export interface Rule {
  readonly id: string
  readonly priority: number
  readonly enabled: boolean
  readonly conditions: ReadonlyArray<Condition>
  /** A gateway id, or a volume split by weight. */
  readonly target: string | ReadonlyArray<{ readonly gateway: string; readonly weight: number }>
}

const fieldOf = (payment: Payment, field: string): Scalar | undefined => {
  switch (field) {
    case "currency":
      return payment.amount.currency
    case "paymentMethod":
      return payment.paymentMethod.type
    case "cardBrand":
      return payment.paymentMethod.type === "card" ? payment.paymentMethod.brand : undefined
    case "bin":
      return payment.paymentMethod.type === "card" ? payment.paymentMethod.bin : undefined
    case "customerCountry":
      return payment.customer.country
    case "tenant":
      return payment.tenantId
  }
  if (field.startsWith("metadata.")) return payment.metadata[field.slice("metadata.".length)]
  return undefined
}

/** Compares the payment's amount with a rule value in major units, exactly; undefined when unreadable. */
const compareAmount = (payment: Payment, value: Scalar): number | undefined => {
  if (typeof value === "boolean") return undefined
  const parsed = Money.fromInput(value, payment.amount.currency)
  if (Either.isLeft(parsed)) return undefined
  return payment.amount.minor < parsed.right.minor ? -1 : payment.amount.minor > parsed.right.minor ? 1 : 0
}

/**
 * Whether one condition holds for the payment.
 *
 * @since 0.1.0
 */
export const matches = (payment: Payment, condition: Condition): boolean => {
  const { field, operator, value } = condition
  const list = Array.isArray(value) ? value : [value]
  if (field === "amount") {
    const cmp = (v: Scalar) => compareAmount(payment, v)
    switch (operator) {
      case "equals":
        return cmp(list[0]!) === 0
      case "notEquals":
        return cmp(list[0]!) !== 0
      case "greaterThan":
        return cmp(list[0]!) === 1
      case "lessThan":
        return cmp(list[0]!) === -1
      case "between": {
        const low = cmp(list[0]!)
        const high = cmp(list[1] ?? list[0]!)
        return low !== undefined && high !== undefined && low >= 0 && high <= 0
      }
      case "in":
        return list.some((v) => cmp(v) === 0)
      case "notIn":
        return list.every((v) => cmp(v) !== 0)
      case "startsWith":
        return false
    }
  }
  const actual = fieldOf(payment, field)
  switch (operator) {
    case "equals":
      return actual !== undefined && actual === list[0]
    case "notEquals":
      return actual !== list[0]
    case "in":
      return actual !== undefined && list.includes(actual)
    case "notIn":
      return actual === undefined || !list.includes(actual)
    case "startsWith":
      return typeof actual === "string" && typeof list[0] === "string" && actual.startsWith(list[0])
    case "greaterThan":
      return typeof actual === "number" && typeof list[0] === "number" && actual > list[0]
    case "lessThan":
      return typeof actual === "number" && typeof list[0] === "number" && actual < list[0]
    case "between":
      return typeof actual === "number" && typeof list[0] === "number" && typeof list[1] === "number" &&
        actual >= list[0] && actual <= list[1]
  }
}

/** A stable number in [0, 1) from the payment id, so a split sends a payment the same way on retry. */
const bucket = (id: string): number => {
  let h = 2166136261
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0
  return h / 4294967296
}

/**
 * The winning rule for a payment: enabled, all conditions matching, highest priority (ties: the
 * first listed).
 *
 * @since 0.1.0
 */
export const winner = (rules: ReadonlyArray<Rule>, payment: Payment): Rule | undefined => {
  let best: Rule | undefined
  for (const rule of rules) {
    if (!rule.enabled || !rule.conditions.every((c) => matches(payment, c))) continue
    if (best === undefined || rule.priority > best.priority) best = rule
  }
  return best
}

/**
 * Orders candidates: the winning rule's gateway first, the rest in their order.
 *
 * @since 0.1.0
 */
export const apply = (rules: ReadonlyArray<Rule>, payment: Payment, candidates: ReadonlyArray<Gateway>): ReadonlyArray<Gateway> => {
  const rule = winner(rules, payment)
  if (rule === undefined) return candidates
  let target: string | undefined
  if (typeof rule.target === "string") {
    target = rule.target
  } else {
    const total = rule.target.reduce((sum, t) => sum + Math.max(0, t.weight), 0)
    let point = bucket(payment.id) * total
    for (const t of rule.target) {
      point -= Math.max(0, t.weight)
      if (point < 0) {
        target = t.gateway
        break
      }
    }
  }
  const chosen = candidates.find((g) => g.id === target)
  return chosen === undefined ? candidates : [chosen, ...candidates.filter((g) => g !== chosen)]
}
