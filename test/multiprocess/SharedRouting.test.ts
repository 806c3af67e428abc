/**
 * ADAPTIVE learning shared across OS processes through PostgreSQL (`SqlRoutingEvidence`, on by
 * default in `AegisPayPg.layer` with ADAPTIVE, exchanged every second): a teacher process feeds
 * USD outcomes where beta is clearly better; two followers that observe no USD outcome must route
 * USD to beta, and a process started after them must do so from its very first decisions.
 * Evidence flows both ways: one follower feeds EUR outcomes where alpha is better, and the teacher
 * must route EUR to alpha. Each wait is a condition reported by a child, with a deadline.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { AegisPayPg, Migrations } from "aegispay/pg"
import { databaseUrl, useTestDatabase } from "../support/Backends.js"
import { nodeArgs } from "../support/Children.js"

const worker = fileURLToPath(new URL("./routingWorker.ts", import.meta.url))
/** Starting a child takes seconds, and much longer on a loaded machine. */
const DEADLINE = 150_000

interface Event {
  readonly role: string
  readonly event: string
  readonly at: number
  readonly share?: number
  readonly startupMillis?: number
  readonly sinceStartMillis?: number
}

/** A child process and the events it printed; `next(event)` waits for one, at most DEADLINE. */
const start = (node: ReadonlyArray<string>, url: string, role: string) => {
  const child: ChildProcess = spawn(process.execPath, [...node, role], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ["pipe", "pipe", "pipe"]
  })
  const events: Array<Event> = []
  const waiting: Array<() => void> = []
  let err = ""
  let buffer = ""
  child.stdout!.on("data", (d) => {
    buffer += String(d)
    const lines = buffer.split("\n")
    buffer = lines.pop() ?? ""
    // the children report JSON lines; the library's log lines (logfmt) go to the same stdout
    for (const line of lines) if (line.startsWith("{")) events.push(JSON.parse(line) as Event)
    waiting.splice(0).forEach((wake) => wake())
  })
  child.stderr!.on("data", (d) => (err += String(d)))
  const next = (event: string) =>
    new Promise<Event>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${role}: no "${event}" within ${DEADLINE} ms; stderr: ${err}`)), DEADLINE)
      const check = () => {
        const found = events.find((e) => e.event === event)
        if (found !== undefined) {
          clearTimeout(timer)
          resolve(found)
        } else if (child.exitCode !== null) {
          clearTimeout(timer)
          reject(new Error(`${role} exited ${child.exitCode}: ${err}`))
        } else waiting.push(check)
      }
      child.once("exit", () => waiting.splice(0).forEach((wake) => wake()))
      check()
    })
  const go = () => child.stdin!.write("go\n")
  return { child, next, go }
}

describe.skipIf(databaseUrl === undefined)("ADAPTIVE learning shared by several processes on PostgreSQL", () => {
  const databaseUrlOf = useTestDatabase("shared_routing")

  beforeAll(async () => {
    // migrate once, before the processes start
    await Effect.runPromise(Effect.provide(
      Effect.void,
      Migrations.layer.pipe(Layer.provideMerge(AegisPayPg.layerClient({ url: Redacted.make(databaseUrlOf()), maxConnections: 1 })))
    ))
  })

  it("followers and a late starter route from the teacher's evidence; the teacher from a follower's", async () => {
    const url = databaseUrlOf()
    // the worker bundled once (test/support/Children.ts), each child its own OS process
    const node = await nodeArgs(worker)
    const processes = [start(node, url, "teacher"), start(node, url, "follower-eur"), start(node, url, "follower")]
    try {
      const [teacher, followerEur, follower] = processes
      await Promise.all(processes.map((p) => p.next("ready")))
      // before any evidence: the followers route USD to alpha (never observed, so tried first)
      const before = await Promise.all([followerEur!.next("first"), follower!.next("first")])
      expect(before.map((e) => e.share)).toEqual([0, 0])
      teacher!.go()
      followerEur!.go()
      const fed = await teacher!.next("feeding")
      const fedEur = await followerEur!.next("feeding")
      const [f1, f2, t] = await Promise.all([followerEur!.next("converged"), follower!.next("converged"), teacher!.next("converged")])
      const lateProcess = start(node, url, "late")
      processes.push(lateProcess)
      const ready = await lateProcess.next("ready")
      const first = await lateProcess.next("first")
      const figures = {
        followerEurMillis: f1.at - fed.at,
        followerMillis: f2.at - fed.at,
        teacherMillis: t.at - fedEur.at,
        lateFirstShare: first.share,
        lateStartupMillis: ready.startupMillis
      }
      console.log(`shared routing convergence: ${JSON.stringify(figures)}`)
      // within a few exchanges (1 s each) of the first evidence
      expect(figures.followerEurMillis).toBeLessThan(10_000)
      expect(figures.followerMillis).toBeLessThan(10_000)
      expect(figures.teacherMillis).toBeLessThan(10_000)
      // informed before its first decision
      expect(first.share).toBeGreaterThanOrEqual(0.9)
    } finally {
      for (const p of processes) p.child.kill("SIGKILL")
    }
  }, 600_000)
})
