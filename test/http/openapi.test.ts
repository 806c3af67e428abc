/**
 * The OpenAPI document against docs/HTTP.md: every route of the document is in the doc's route
 * tables and the other way round, each with exactly the statuses the tables list (success,
 * "other statuses", and the common ones), and the error table's `type` per status matches the
 * error bodies of the document.
 */
import { readFileSync } from "node:fs"
import { OpenApi } from "@effect/platform"
import { describe, expect, it } from "vitest"
import { AegisPayApi, ApiError } from "aegispay/http"

const spec = OpenApi.fromApi(AegisPayApi.AegisPayApi)
const doc = readFileSync(new URL("../../docs/HTTP.md", import.meta.url), "utf8")

const methods = ["get", "post", "put", "patch", "delete"] as const

/** `METHOD /path` → the statuses of the OpenAPI document. */
const documented = new Map<string, ReadonlyArray<number>>()
for (const [path, item] of Object.entries(spec.paths)) {
  for (const method of methods) {
    const operation = item[method]
    if (operation !== undefined) documented.set(`${method.toUpperCase()} ${path}`, Object.keys(operation.responses).map(Number).sort((a, b) => a - b))
  }
}

const statusesIn = (cell: string) => [...cell.matchAll(/\b([1-5]\d\d)\b/g)].map((m) => Number(m[1]))

/** The route rows of the doc's tables (`| \`METHOD /path\` | scope | body | success | other statuses |`). */
const rows = new Map<string, ReadonlyArray<number>>()
for (const line of doc.split("\n")) {
  const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim())
  const route = /^`(GET|POST|PUT|PATCH|DELETE) ([^`?]+)(?:\?[^`]*)?`$/.exec(cells[0] ?? "")
  if (route === null || cells.length !== 5) continue
  const [, method, path] = route
  const scope = cells[1]!
  const common = scope.startsWith("none") ? [400, 413, 500] : [400, 401, 403, 413, 429, 500]
  const success = statusesIn(cells[3]!).filter((s) => s < 300)
  const expected = new Set([...common, ...success, ...statusesIn(cells[4]!)])
  rows.set(`${method} ${path}`, [...expected].sort((a, b) => a - b))
}

describe("the OpenAPI document and docs/HTTP.md", () => {
  it("list the same routes", () => {
    expect(rows.size).toBeGreaterThan(20)
    expect([...rows.keys()].sort()).toEqual([...documented.keys()].sort())
  })

  it("give each route exactly the same statuses", () => {
    for (const [route, statuses] of documented) expect({ route, statuses }).toEqual({ route, statuses: rows.get(route) })
  })

  it("declare on each endpoint only what it can answer", () => {
    const get = documented.get("GET /v1/payments/{paymentId}")!
    expect(get).toContain(404)
    for (const never of [402, 409, 422, 502, 504]) expect(get).not.toContain(never)
    const create = documented.get("POST /v1/payments")!
    expect(create).toContain(422)
    for (const never of [402, 404, 409, 502, 504]) expect(create).not.toContain(never)
    const confirm = documented.get("POST /v1/payments/{paymentId}/confirm")!
    for (const status of [200, 202, 402, 404, 409, 422, 502, 504]) expect(confirm).toContain(status)
    expect(documented.get("GET /health")).toEqual([200, 400, 413, 500])
    expect(documented.get("GET /ready")).toContain(503)
    expect(documented.get("GET /v1/payments/{paymentId}/refunds")).not.toContain(501)
  })

  it("agree on the error table: each status's type", () => {
    const table = new Map<number, string>()
    for (const match of doc.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)) table.set(Number(match[1]), match[2]!)
    const schemas = spec.components.schemas as Record<string, { readonly properties?: { readonly type?: { readonly enum?: ReadonlyArray<string> } } }>
    for (const [cls, status] of ApiError.classes) {
      const type = schemas[cls.identifier]?.properties?.type?.enum?.[0]
      expect({ status, type }).toEqual({ status, type: table.get(status) })
    }
    expect(table.size).toBe(ApiError.classes.length)
  })
})
