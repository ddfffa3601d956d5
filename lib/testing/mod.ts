/**
 * Process test harness: run roles as real processes with their exact manifest
 * permissions, wait for their JSON log events and stdout lines with deadlines, stop them
 * and assert a clean exit; temporary directories; `waitFor` (poll any condition with a
 * deadline); test hosts in network namespaces with link, partition, loss and bandwidth
 * faults (`createTestNetwork`).
 *
 * @example
 * ```ts
 * import { spawnRole, tempDir } from "@lib/testing/mod.ts";
 *
 * Deno.test("agent binds", async () => {
 *   await using dir = await tempDir();
 *   await using agent = await spawnRole("01", "monitor_agent", ["--bind", `ipc://${dir.path}/hb`]);
 *   const { endpoint } = await agent.event("listening");
 *   console.log(endpoint); // "ipc:///tmp/zmq-labs-.../hb"
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
export { waitFor, type WaitForOptions, type WaitForResult } from "./wait_for.ts";
export {
  createTestNetwork,
  type TestHost,
  TestNetwork,
  type TestNetworkOptions,
  type TestNetworkSupport,
  testNetworkSupport,
} from "./test_network.ts";
export { assertStopsInTime, rssMiB, stopDeadlineMs } from "./process_checks.ts";
export { type ZmtpPeer, zmtpPeer } from "./zmtp_peer.ts";
export { pythonWithZmq, spawnPython, type SpawnPythonOptions } from "./python_peer.ts";
export { type ListeningRole, spawnListening } from "./spawn_listening.ts";
export { type Capture, captureLoopback, tsharkMissing } from "./packet_capture.ts";
