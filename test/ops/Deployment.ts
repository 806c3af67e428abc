/**
 * The deployment files read for the tests: the Kubernetes manifests of ops/k8s, the Compose file
 * of ops/compose, the Dockerfile; the routes the API and the worker answer; the configuration
 * names AegisPay reads, derived from the sources.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { HttpApi } from "@effect/platform"
import { parseAllDocuments } from "yaml"
import { AegisPayApi } from "aegispay/http"

export const root = fileURLToPath(new URL("../../", import.meta.url))
export const read = (path: string) => readFileSync(join(root, path), "utf8")

/** Every file under `dir` (relative to the root), recursively. */
export const filesUnder = (dir: string): Array<string> =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? filesUnder(path) : [path]
  })

/** Every YAML document of a file (merge keys `<<` resolved); throws on any parse error. */
export const yamlDocuments = (path: string): Array<unknown> =>
  parseAllDocuments(read(path), { merge: true }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`)
    return doc.toJS()
  })

// ---- Kubernetes ----

export interface K8sObject {
  readonly kind: string
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> }
  readonly spec?: unknown
  readonly data?: Record<string, string>
  readonly stringData?: Record<string, string>
}

export interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: string | number }
}

export interface Container {
  readonly name: string
  readonly image: string
  readonly command?: Array<string>
  readonly ports?: Array<{ readonly name?: string; readonly containerPort: number }>
  readonly env?: Array<{ readonly name: string; readonly value: string }>
  readonly envFrom?: Array<{ readonly configMapRef?: { readonly name: string }; readonly secretRef?: { readonly name: string } }>
  readonly startupProbe?: Probe
  readonly livenessProbe?: Probe
  readonly readinessProbe?: Probe
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> }
  readonly securityContext?: { readonly allowPrivilegeEscalation?: boolean }
}

/** The parts of a Deployment's spec the tests read (a manifest is data: read as this shape). */
export interface DeploymentSpec {
  readonly replicas: number
  readonly selector: { readonly matchLabels: Record<string, string> }
  readonly template: {
    readonly metadata: { readonly labels: Record<string, string>; readonly annotations?: Record<string, string> }
    readonly spec: {
      readonly containers: Array<Container>
      readonly securityContext?: { readonly runAsNonRoot?: boolean; readonly runAsUser?: number }
      readonly terminationGracePeriodSeconds?: number
    }
  }
}

/** The parts of a Service's spec the tests read. */
export interface ServiceSpec {
  readonly selector: Record<string, string>
  readonly ports: Array<{ readonly name?: string; readonly port: number; readonly targetPort: string | number }>
}

/** The parts of a PodDisruptionBudget's spec the tests read. */
export interface PdbSpec {
  readonly minAvailable?: number
  readonly selector: { readonly matchLabels: Record<string, string> }
}

/** The objects of the kustomization (its `resources`, in order) and the Secret example. */
export const k8s = () => {
  const kustomization = yamlDocuments("ops/k8s/kustomization.yaml")[0] as { resources: Array<string> }
  const objects = kustomization.resources.flatMap((file) => yamlDocuments(join("ops/k8s", file)) as Array<K8sObject>)
  const [secret] = yamlDocuments("ops/k8s/secret.example.yaml") as Array<K8sObject>
  const find = (kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
    if (found === undefined) throw new Error(`no ${kind} ${name} in ops/k8s`)
    return found
  }
  const configMap = find("ConfigMap", "aegispay")
  const deployment = (name: string) => find("Deployment", name).spec as DeploymentSpec
  const deployments = objects.filter((o) => o.kind === "Deployment").map((o) => [o.metadata.name, o.spec as DeploymentSpec] as const)
  const services = objects.filter((o) => o.kind === "Service").map((o) => [o.metadata.name, o.spec as ServiceSpec] as const)
  const pdbs = objects.filter((o) => o.kind === "PodDisruptionBudget").map((o) => [o.metadata.name, o.spec as PdbSpec] as const)
  /** The one container of a Deployment. */
  const container = (name: string): Container => {
    const containers = deployment(name).template.spec.containers
    if (containers.length !== 1 || containers[0] === undefined) throw new Error(`${name}: one container expected`)
    return containers[0]
  }
  /**
   * The environment a Deployment's container gets: its `envFrom` ConfigMap and Secret (the example)
   * and its own `env` (which wins).
   */
  const environment = (deployment: string): Record<string, string> => {
    const c = container(deployment)
    const env: Record<string, string> = {}
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef?.name === configMap.metadata.name) Object.assign(env, configMap.data)
      else if (from.secretRef?.name === secret!.metadata.name) Object.assign(env, secret!.stringData)
      else throw new Error(`${deployment}: envFrom of an unknown source ${JSON.stringify(from)}`)
    }
    for (const e of c.env ?? []) env[e.name] = e.value
    return env
  }
  return { objects, secret: secret!, configMap, find, deployment, deployments, services, pdbs, container, environment }
}

// ---- Compose ----

export interface ComposeService {
  readonly image?: string
  readonly build?: { readonly context: string; readonly dockerfile: string }
  readonly command?: Array<string>
  readonly environment?: Record<string, string>
  readonly volumes?: Array<string>
  readonly ports?: Array<string>
  readonly healthcheck?: { readonly test: Array<string> }
}

export const compose = () =>
  yamlDocuments("ops/compose/compose.yaml")[0] as { services: Record<string, ComposeService> }

// ---- Dockerfile ----

export interface Instruction {
  readonly stage: string
  readonly keyword: string
  readonly args: string
}

/** The Dockerfile's instructions (continuations joined, comments dropped), with their stage. */
export const dockerfile = (): Array<Instruction> => {
  const lines = read("Dockerfile").replace(/\\\n/g, " ").split("\n").map((l) => l.trim())
  const out: Array<Instruction> = []
  let stage = ""
  for (const line of lines) {
    if (line === "" || line.startsWith("#")) continue
    const [, keyword, args] = /^(\S+)\s+(.*)$/.exec(line) ?? []
    if (keyword === undefined || args === undefined) throw new Error(`Dockerfile: cannot read ${line}`)
    if (keyword.toUpperCase() === "FROM") stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? args
    out.push({ stage, keyword: keyword.toUpperCase(), args })
  }
  return out
}

// ---- Routes ----

/** The API's routes (method and path) from its `HttpApi` definition. */
export const apiRoutes = (): Array<{ readonly method: string; readonly path: string }> => {
  const routes: Array<{ method: string; path: string }> = []
  HttpApi.reflect(AegisPayApi.AegisPayApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      routes.push({ method: endpoint.method, path: endpoint.path })
    }
  })
  return routes
}

// ---- Configuration names ----

/**
 * Every configuration name read through Effect's `Config` in `src/` and `scripts/`: the first
 * argument of a `Config.<constructor>(…)("NAME")` or `Config.<constructor>("NAME")` call, and of
 * helpers defined as `(name: string) => Config.…` (e.g. `base64Key("AEGISPAY_KEK")`).
 */
export const configNames = (): Map<string, Array<string>> => {
  const names = new Map<string, Array<string>>()
  const files = [...filesUnder("src"), ...filesUnder("scripts")].filter((f) => f.endsWith(".ts"))
  for (const file of files) {
    const text = read(file)
    const helpers = [...text.matchAll(/const (\w+) = \(\w+: string\) =>\s*Config\./g)].map((m) => m[1]!)
    const call = new RegExp(`(?:\\bConfig\\.\\w+(?:\\([^()]*\\))?${helpers.map((h) => `|\\b${h}`).join("")})\\(\\s*"([A-Z][A-Z0-9_]*)"`, "g")
    for (const m of text.matchAll(call)) names.set(m[1]!, [...(names.get(m[1]!) ?? []), relative(root, join(root, file))])
  }
  return names
}
