/**
 * `npm run admin -- <command>`: see `AdminCli`.
 *
 * @since 0.2.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import * as AdminCli from "./AdminCli.js"

AdminCli.run(process.argv.slice(2)).pipe(
  Effect.provide(AdminCli.layerDatabase),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
