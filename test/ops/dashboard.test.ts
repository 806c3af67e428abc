/**
 * The Grafana dashboard (ops/grafana/aegispay-dashboard.json): valid JSON with the panels the
 * issue names, and every PromQL expression in it reads only metrics the library exports (the
 * names of a real `/metrics` page after a workload touching every metric; see ./metrics.ts).
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { exportedMetricNames, metricNamesIn } from "./metrics.js"

interface Dashboard {
  readonly uid: string
  readonly panels: ReadonlyArray<{ readonly title: string; readonly targets: ReadonlyArray<{ readonly expr: string; readonly refId: string }> }>
}

const dashboard = JSON.parse(readFileSync(new URL("../../ops/grafana/aegispay-dashboard.json", import.meta.url), "utf8")) as Dashboard

describe("Grafana dashboard", () => {
  it("has the operator's panels, each with at least one query", () => {
    const titles = dashboard.panels.map((p) => p.title).join("\n")
    for (const topic of [/approval rate by gateway/i, /latency.*p95/i, /circuit state/i, /retries, failovers/i, /outbox/i, /manual review/i]) {
      expect(titles).toMatch(topic)
    }
    for (const panel of dashboard.panels) expect(panel.targets.length, panel.title).toBeGreaterThan(0)
    const ids = dashboard.panels.flatMap((p) => p.targets.map((t) => `${p.title}/${t.refId}`))
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("every query names only metrics the library exports", async () => {
    const exported = await exportedMetricNames()
    const read = new Set<string>()
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const names = metricNamesIn(target.expr)
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0)
        for (const name of names) {
          expect(exported, `${panel.title}: ${name}`).toContain(name)
          read.add(name)
        }
      }
    }
    // the payment-level metrics are all on the dashboard
    for (const name of ["aegispay_payments_finished_total", "aegispay_payment_duration_ms_bucket", "aegispay_circuit_state", "aegispay_payment_failovers_total", "aegispay_outbox_lag_ms_bucket", "aegispay_manual_review_open"]) {
      expect(read).toContain(name)
    }
  })
})
