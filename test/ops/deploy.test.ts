/**
 * The deployment files checked against the repository (no Docker engine or cluster here): every
 * YAML file parses; the Dockerfile copies files that exist, runs npm scripts that exist, runs as a
 * non-root user and starts the compiled service; the Kubernetes probes and the Compose checks use
 * routes the API (its `HttpApi` definition) or the worker (scripts/composition.ts) answers; every
 * environment variable of the manifests and the Compose file is one AegisPay reads through
 * `Config` (names derived from the sources); the worker runs the worker script and no Service
 * routes to it; Prometheus scrapes the metrics path of both and loads the shipped rules.
 * test/ops/worker.test.ts starts the processes with the manifests' environment on PostgreSQL.
 */
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join, posix } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { parseAllDocuments } from "yaml"
import { workerRoutes } from "../../scripts/composition.js"
import { apiRoutes, compose, configNames, dockerfile, filesUnder, k8s, read, root, yamlDocuments } from "./Deployment.js"

const packageJson = JSON.parse(read("package.json")) as { scripts: Record<string, string> }
const getPaths = new Set(apiRoutes().filter((r) => r.method === "GET").map((r) => r.path))
const names = configNames()

describe("deployment files", () => {
  it("every YAML file of ops/ parses", () => {
    const files = filesUnder("ops").filter((f) => /\.ya?ml$/.test(f))
    expect(files).toEqual(expect.arrayContaining([
      "ops/compose/compose.yaml",
      "ops/compose/prometheus.yml",
      "ops/k8s/kustomization.yaml",
      "ops/prometheus/alerts.yml"
    ]))
    for (const file of files) expect(yamlDocuments(file).length, file).toBeGreaterThan(0)
  })

  it("the configuration names are derived from the sources", () => {
    // a sanity check of the derivation itself, not the list the manifests are checked against
    expect(names.get("DATABASE_URL")).toContain("src/AegisPayPg.ts")
    expect(names.get("AEGISPAY_FINGERPRINT_KEY")).toContain("src/security/KeyManagement.ts")
    expect(names.get("AEGISPAY_LOG_FORMAT")).toContain("src/observability/Logging.ts")
    expect(names.get("AEGISPAY_WORKERS")).toEqual(["scripts/serve.ts"])
    expect(names.get("AEGISPAY_WORKER_PORT")).toEqual(["scripts/worker.ts"])
    expect(names.has("REPLACE_ME")).toBe(false)
  })
})

describe("Dockerfile", () => {
  const instructions = dockerfile()
  const stages = [...new Set(instructions.map((i) => i.stage))]
  const final = stages[stages.length - 1]!
  const inFinal = instructions.filter((i) => i.stage === final)
  const ignored = read(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))

  it("is multi-stage: a build stage, then a runtime stage from a Node.js image of the supported line", () => {
    expect(stages).toEqual(["build", "runtime"])
    for (const from of instructions.filter((i) => i.keyword === "FROM")) expect(from.args).toMatch(/^node:20-/)
  })

  it("copies from the build context only files that exist and are not ignored", () => {
    const copies = instructions.filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from"))
    expect(copies.length).toBeGreaterThan(0)
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1)
      for (const source of sources) {
        expect(existsSync(join(root, source)), `COPY ${source}`).toBe(true)
        expect(ignored.some((pattern) => source === pattern || source.startsWith(`${pattern}/`)), `${source} is in .dockerignore`).toBe(false)
      }
    }
  })

  it("runs npm ci and npm scripts that exist, and a node script it copied", () => {
    const runs = instructions.filter((i) => i.keyword === "RUN").map((i) => i.args).join(" && ")
    expect(runs).toMatch(/\bnpm ci\b/)
    const scripts = [...runs.matchAll(/npm run (\S+)/g)].map((m) => m[1]!)
    expect(scripts).toEqual(expect.arrayContaining(["build", "build:scripts"]))
    for (const script of scripts) expect(packageJson.scripts[script], `npm run ${script}`).toBeDefined()
    const copied = instructions.filter((i) => i.keyword === "COPY").map((i) => i.args)
    for (const [, file] of runs.matchAll(/\bnode (\S+\.m?js)\b/g)) {
      expect(existsSync(join(root, file!)), file).toBe(true)
      expect(copied.some((c) => c.includes(file!)), `${file} copied before it runs`).toBe(true)
    }
    // production dependencies only in the image: the pruning step is there
    expect(runs).toMatch(/npm prune --omit=dev/)
  })

  it("the runtime stage takes the build outputs the build scripts write", () => {
    const outDir = (tsconfig: string) => (JSON.parse(read(tsconfig)) as { compilerOptions: { outDir: string } }).compilerOptions.outDir
    // dist/ from src/tsconfig.json (outDir ../dist), dist-scripts/ from tsconfig.scripts.json
    expect(packageJson.scripts["build"]).toBe("tsc -p src/tsconfig.json")
    expect(posix.normalize(posix.join("src", outDir("src/tsconfig.json")))).toBe("dist")
    expect(packageJson.scripts["build:scripts"]).toBe("tsc -p tsconfig.scripts.json")
    expect(outDir("tsconfig.scripts.json")).toBe("dist-scripts")
    const fromBuild = inFinal.filter((i) => i.keyword === "COPY" && i.args.startsWith("--from=build"))
      .map((i) => i.args.split(/\s+/)[1])
    expect(fromBuild).toEqual(["/app/package.json", "/app/node_modules", "/app/dist", "/app/dist-scripts"])
  })

  it("runs as a non-root user, the compiled service by default, with a health check on /health", () => {
    const user = inFinal.filter((i) => i.keyword === "USER").map((i) => i.args)
    expect(user).toEqual(["node"])
    const order = inFinal.map((i) => i.keyword)
    expect(order.lastIndexOf("USER")).toBeLessThan(order.indexOf("CMD"))
    const cmd = JSON.parse(inFinal.find((i) => i.keyword === "CMD")!.args) as Array<string>
    expect(cmd).toEqual(["node", "--enable-source-maps", "dist-scripts/serve.js"])
    expect(existsSync(join(root, "scripts/serve.ts"))).toBe(true)
    const healthcheck = inFinal.find((i) => i.keyword === "HEALTHCHECK")!.args
    const [, path] = /'(\/\w+)'/.exec(healthcheck) ?? []
    expect(path).toBe("/health")
    expect(healthcheck).toContain("process.env.PORT")
    expect(getPaths.has("/health")).toBe(true)
  })
})

describe("Kubernetes manifests", () => {
  const m = k8s()

  it("the kustomization lists files that exist and leaves the Secret example out", () => {
    const kustomization = yamlDocuments("ops/k8s/kustomization.yaml")[0] as { resources: Array<string> }
    for (const file of kustomization.resources) expect(existsSync(join(root, "ops/k8s", file)), file).toBe(true)
    expect(kustomization.resources).not.toContain("secret.example.yaml")
    expect(m.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "ConfigMap/aegispay",
      "Deployment/aegispay-api",
      "Deployment/aegispay-worker",
      "PodDisruptionBudget/aegispay-api",
      "Service/aegispay"
    ])
    // no namespace anywhere: applied with -n
    expect(JSON.stringify(m.objects)).not.toContain("\"namespace\"")
  })

  it("the Secret example holds no secret", () => {
    expect(m.secret.kind).toBe("Secret")
    for (const [name, value] of Object.entries(m.secret.stringData ?? {})) expect(value, name).toContain("REPLACE_ME")
  })

  it.each(["aegispay-api", "aegispay-worker"])("%s: probes on the routes its process answers, resources, non-root", (name) => {
    const c = m.container(name)
    const env = m.environment(name)
    const routes: ReadonlySet<string> = name === "aegispay-api" ? getPaths : new Set(workerRoutes)
    const port = name === "aegispay-api" ? env["PORT"] : env["AEGISPAY_WORKER_PORT"]
    expect(port).toBeDefined()
    expect(c.ports?.map((p) => p.containerPort)).toEqual([Number(port)])
    const portName = c.ports?.[0]?.name
    expect(c.livenessProbe?.httpGet?.path).toBe("/health")
    expect(c.readinessProbe?.httpGet?.path).toBe("/ready")
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
      expect(routes.has(probe?.httpGet?.path ?? ""), `${name} probe ${probe?.httpGet?.path}`).toBe(true)
      expect(probe?.httpGet?.port).toBe(portName)
    }
    expect(c.resources?.requests?.["cpu"]).toBeDefined()
    expect(c.resources?.limits?.["memory"]).toBeDefined()
    const pod = m.deployment(name).template
    expect(pod.spec.securityContext?.runAsNonRoot).toBe(true)
    // uid 1000 is the image's `node` user (Dockerfile USER node)
    expect(pod.spec.securityContext?.runAsUser).toBe(1000)
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false)
    // longer than the composition's 30 s drain of operations in flight
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(30)
    expect(pod.metadata.annotations?.["prometheus.io/path"]).toBe("/metrics")
    expect(routes.has("/metrics")).toBe(true)
    expect(pod.metadata.annotations?.["prometheus.io/port"]).toBe(port)
  })

  it("the API runs the image's command without workers; the worker runs the worker script", () => {
    expect(m.container("aegispay-api").command).toBeUndefined()
    expect(m.environment("aegispay-api")["AEGISPAY_WORKERS"]).toBe("false")
    expect(m.container("aegispay-worker").command).toEqual(["node", "--enable-source-maps", "dist-scripts/worker.js"])
    expect(packageJson.scripts["worker"]).toBe("tsx scripts/worker.ts")
    expect(m.environment("aegispay-worker")["AEGISPAY_WORKERS"]).toBeUndefined()
  })

  it("the Service routes to the API pods only; nothing routes to the worker", () => {
    const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v)
    const apiLabels = m.deployment("aegispay-api").template.metadata.labels
    const workerLabels = m.deployment("aegispay-worker").template.metadata.labels
    expect(m.services.length).toBe(1)
    for (const [, service] of m.services) {
      expect(selects(service.selector, apiLabels)).toBe(true)
      expect(selects(service.selector, workerLabels)).toBe(false)
      expect(service.ports.map((p) => p.targetPort)).toEqual([m.container("aegispay-api").ports?.[0]?.name])
    }
    for (const [name, spec] of m.deployments) expect(selects(spec.selector.matchLabels, spec.template.metadata.labels), name).toBe(true)
    for (const [, pdb] of m.pdbs) {
      expect(selects(pdb.selector.matchLabels, apiLabels)).toBe(true)
      expect(pdb.minAvailable).toBeLessThan(m.deployment("aegispay-api").replicas)
    }
  })

  it("every environment variable is one AegisPay reads through Config", () => {
    for (const name of ["aegispay-api", "aegispay-worker"]) {
      for (const variable of Object.keys(m.environment(name))) {
        expect(names.has(variable), `${name}: ${variable} is not read anywhere`).toBe(true)
      }
    }
    // the Secret carries the database URL and the keys; the ConfigMap nothing secret
    expect(Object.keys(m.secret.stringData ?? {})).toEqual(expect.arrayContaining(["DATABASE_URL", "AEGISPAY_KEK", "AEGISPAY_FINGERPRINT_KEY"]))
    for (const key of Object.keys(m.configMap.data ?? {})) expect(key).not.toMatch(/KEK|KEY|PEPPER|SECRET|PASSWORD|DATABASE_URL/)
  })

  it.skipIf(!hasKubectl())("kubectl kustomize renders the kustomization", () => {
    const rendered = execFileSync("kubectl", ["kustomize", join(root, "ops/k8s")], { encoding: "utf8" })
    const kinds = parseAllDocuments(rendered).map((d) => (d.toJS() as { kind: string }).kind).sort()
    expect(kinds).toEqual(["ConfigMap", "Deployment", "Deployment", "PodDisruptionBudget", "Service"])
  })
})

describe("Compose", () => {
  const services = compose().services

  it("runs the API from the repository's Dockerfile, the worker from the same image, PostgreSQL, Prometheus, Grafana", () => {
    expect(Object.keys(services).sort()).toEqual(["api", "grafana", "postgres", "prometheus", "worker"])
    for (const name of ["api", "worker"]) {
      const s = services[name]!
      expect(s.image).toBe("aegispay:local")
      expect(existsSync(join(root, "ops/compose", s.build!.context, s.build!.dockerfile))).toBe(true)
    }
    expect(services["api"]!.command).toBeUndefined()
    expect(services["api"]!.environment!["AEGISPAY_WORKERS"]).toBe("false")
    expect(services["worker"]!.command).toEqual(["node", "--enable-source-maps", "dist-scripts/worker.js"])
  })

  it("every environment variable of the API and the worker is one AegisPay reads through Config", () => {
    for (const name of ["api", "worker"]) {
      const env = services[name]!.environment!
      expect(env["DATABASE_URL"]).toMatch(/@postgres:5432\/aegispay$/)
      for (const variable of Object.keys(env)) expect(names.has(variable), `${name}: ${variable}`).toBe(true)
    }
    // the worker's health check asks its own port, on a route it answers
    const check = services["worker"]!.healthcheck!.test.join(" ")
    const [, port, path] = /127\.0\.0\.1:(\d+)(\/\w+)/.exec(check) ?? []
    expect(port).toBe(services["worker"]!.environment!["AEGISPAY_WORKER_PORT"])
    expect((workerRoutes as ReadonlyArray<string>).includes(path ?? "")).toBe(true)
  })

  it("mounts files that exist; Prometheus scrapes both processes' metrics path and loads the shipped rules", () => {
    const mounts = (name: string) =>
      (services[name]!.volumes ?? []).filter((v) => v.startsWith(".")).map((v) => {
        const [source, target] = v.split(":")
        return { source: join("ops/compose", source!), target: target! }
      })
    for (const name of Object.keys(services)) {
      for (const mount of mounts(name)) expect(existsSync(join(root, mount.source)), mount.source).toBe(true)
    }
    const target = (source: string) => mounts("prometheus").find((m) => m.source === source)?.target
    const config = yamlDocuments("ops/compose/prometheus.yml")[0] as {
      rule_files: Array<string>
      scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: Array<string> }> }>
    }
    expect(target("ops/compose/prometheus.yml")).toBe("/etc/prometheus/prometheus.yml")
    expect(config.rule_files).toEqual([target("ops/prometheus/alerts.yml")])
    const scraped = Object.fromEntries(config.scrape_configs.map((c) => [c.static_configs[0]!.targets[0]!, c.metrics_path]))
    expect(scraped).toEqual({
      [`api:${services["api"]!.environment!["PORT"]}`]: "/metrics",
      [`worker:${services["worker"]!.environment!["AEGISPAY_WORKER_PORT"]}`]: "/metrics"
    })
    expect(getPaths.has("/metrics")).toBe(true)
    // Grafana: the provisioned dashboards' path is where ops/grafana is mounted
    const provider = yamlDocuments("ops/compose/grafana/provisioning/dashboards/aegispay.yaml")[0] as {
      providers: Array<{ options: { path: string } }>
    }
    expect(mounts("grafana").find((m) => m.source === "ops/grafana")?.target).toBe(provider.providers[0]!.options.path)
    expect(existsSync(join(root, "ops/grafana/aegispay-dashboard.json"))).toBe(true)
  })
})

function hasKubectl(): boolean {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}
