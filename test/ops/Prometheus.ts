/**
 * Where the Prometheus binaries are (Debian's `prometheus` package: `promtool`, `prometheus`).
 * Outside CI a missing binary skips the tests that need it with a visible notice; with
 * REQUIRE_PROMETHEUS=1 (set by `.ci/run`, which installs the package) it is a failure.
 */
import { execFileSync } from "node:child_process"

export const requirePrometheus = process.env.REQUIRE_PROMETHEUS === "1"

const which = (binary: string): string | undefined => {
  try {
    return execFileSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).trim() || undefined
  } catch {
    return undefined
  }
}

/** The path of `binary`, or `undefined` (after the notice) when it is missing outside CI. */
export const locate = (binary: "promtool" | "prometheus"): string | undefined => {
  const path = which(binary)
  if (path !== undefined) return path
  if (requirePrometheus) throw new Error(`REQUIRE_PROMETHEUS=1 but ${binary} is not installed (apt-get install prometheus)`)
  console.warn(`[aegispay tests] ${binary} is not installed: its tests are SKIPPED (apt-get install prometheus)`)
  return undefined
}
