/**
 * Every RPC entrypoint the orchestrator worker exports. Wrangler service bindings name
 * these classes in their `entrypoint` field (see @shared/base/wrangler.base.jsonc).
 */
export { LoggingOps } from "./logging";
export { PatchOps } from "./patch";
// @vibehq:entrypoint-exports

export const ENTRYPOINT_NAMES = ["LoggingOps", "PatchOps"] as const;

export type EntrypointName = (typeof ENTRYPOINT_NAMES)[number];
