/**
 * Process test harness: run roles as real processes with their exact manifest
 * permissions, wait for their JSON log events and stdout lines with deadlines, stop them
 * and assert a clean exit; temporary directories.
 *
 * @example
 * ```ts
 * import { spawnRole, tempDir } from "@lib/testing/mod.ts";
 * Deno.test("agent binds", async () => {
 *   await using agent = await spawnRole("01", "monitor_agent", ["--bind", "tcp://127.0.0.1:*"]);
 *   const { endpoint } = await agent.event("listening");
 *   await agent.stop();
 * });
 * ```
 *
 * @module
 */

export {
  type ExitStatus,
  type LineMatcher,
  type RoleEvent,
  RoleProcess,
  runOnce,
  type RunResult,
  runScriptOnce,
  type SpawnOptions,
  spawnRole,
  spawnScript,
  type WaitOptions,
} from "./role_process.ts";
export { type TempDir, tempDir } from "./temp_dir.ts";
