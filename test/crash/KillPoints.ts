/**
 * The steps of the payment flow where the crash harness kills a process (SIGKILL).
 */
export const killPoints = ["after-attempt-commit", "after-gateway-call", "after-local-commit", "during-refund"] as const

export type KillPoint = typeof killPoints[number]

export const isKillPoint = (value: string): value is KillPoint => (killPoints as ReadonlyArray<string>).includes(value)
