/**
 * vitest's global setup: one directory for the bundled child entry points of this run (see
 * Children.ts), shared by the test processes through AEGISPAY_CHILDREN_DIR and removed at the end.
 */
import { rmSync } from "node:fs"
import { makeBundleDirectory } from "./Children.js"

export default function setup(): () => void {
  if (process.env.AEGISPAY_CHILDREN_DIR !== undefined) return () => {}
  const dir = makeBundleDirectory()
  process.env.AEGISPAY_CHILDREN_DIR = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
