/**
 * Start a server role and read where it listens: the common first step of a process test.
 *
 * @module
 */

import { type RoleProcess, type SpawnOptions, spawnRole } from "./role_process.ts";

/** A started role with the endpoint of its first `listening` event. */
export interface ListeningRole extends AsyncDisposable {
  proc: RoleProcess;
  /** The real endpoint (an ephemeral port resolved). */
  endpoint: string;
}

/**
 * Spawns `role` of `lab` and waits for its `listening` event (30 s); a role that never
 * listens is killed and the wait's error, with its last lines, is thrown.
 *
 * @example
 * ```ts
 * import { spawnListening } from "@lib/testing/mod.ts";
 * await using broker = await spawnListening("12", "majordomo_broker", ["--bind", "tcp://127.0.0.1:*"]);
 * console.log(broker.endpoint); // tcp://127.0.0.1:<port>
 * ```
 */
export async function spawnListening(
  lab: string,
  role: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<ListeningRole> {
  const proc = await spawnRole(lab, role, args, options);
  try {
    const { endpoint } = await proc.event("listening", undefined, { timeout: 30_000 });
    return {
      proc,
      endpoint: String(endpoint),
      [Symbol.asyncDispose]: () => proc[Symbol.asyncDispose](),
    };
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}
