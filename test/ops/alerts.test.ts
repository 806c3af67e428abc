/**
 * The alert rules shipped in ops/prometheus: valid for Prometheus, each one unit-tested firing and
 * not firing (`promtool test rules`), and reading only metrics the library exports.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { parse } from "yaml"
import { locate } from "./Prometheus.js"
import { exportedMetricNames, metricNamesIn } from "./metrics.js"

const dir = new URL("../../ops/prometheus/", import.meta.url)
const promtool = locate("promtool")

interface RuleFile { readonly groups: ReadonlyArray<{ readonly rules: ReadonlyArray<{ readonly alert: string; readonly expr: string }> }> }
interface RuleTests {
  readonly tests: ReadonlyArray<{
    readonly alert_rule_test: ReadonlyArray<{ readonly alertname: string; readonly exp_alerts: ReadonlyArray<unknown> | null }>
  }>
}

const rules = (parse(readFileSync(new URL("alerts.yml", dir), "utf8")) as RuleFile).groups.flatMap((g) => g.rules)
const tests = (parse(readFileSync(new URL("alerts.test.yml", dir), "utf8")) as RuleTests).tests.flatMap((t) => t.alert_rule_test)

describe("alert rules", () => {
  it("cover the seed's list", () => {
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining([
      "AegisPayPaymentSuccessRateLow",
      "AegisPayGatewaySuccessRateLow",
      "AegisPayPaymentLatencyHigh",
      "AegisPayCircuitOpen",
      "AegisPayGatewayErrorRateHigh",
      "AegisPayIdempotencyConflicts",
      "AegisPayOutboxBacklog",
      "AegisPayRecoveryFindsStuckPayments",
      "AegisPayManualReviewQueueGrowing"
    ]))
  })

  it("every alert has a unit test where it fires and one where it does not", () => {
    for (const { alert } of rules) {
      const own = tests.filter((t) => t.alertname === alert)
      expect(own.some((t) => (t.exp_alerts ?? []).length > 0), `${alert} firing`).toBe(true)
      expect(own.some((t) => (t.exp_alerts ?? []).length === 0), `${alert} not firing`).toBe(true)
    }
  })

  it("metric names are read out of PromQL (functions, labels, ranges, keywords left out)", () => {
    expect(metricNamesIn("sum by (gateway) (rate(foo_total{le=\"1\",x=~\"a|b\"}[5m])) / on (x) bar > 0.5 and time() - baz_seconds offset 5m"))
      .toEqual(["foo_total", "bar", "baz_seconds"])
  })

  it("every rule reads only metrics the library exports", async () => {
    const exported = await exportedMetricNames()
    for (const { alert, expr } of rules) {
      const names = metricNamesIn(expr)
      expect(names.length, alert).toBeGreaterThan(0)
      for (const name of names) expect(exported, `${alert}: ${name}`).toContain(name)
    }
  })

  it.skipIf(promtool === undefined)("promtool: the rules check and their unit tests pass", () => {
    const run = (...args: Array<string>) =>
      execFileSync(promtool!, args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 })
    expect(run("check", "rules", "alerts.yml")).toMatch(/SUCCESS: \d+ rules found/)
    expect(run("test", "rules", "alerts.test.yml")).toMatch(/SUCCESS/)
  })
})
