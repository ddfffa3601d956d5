/**
 * Lab 21 test helpers: start the real roles on ephemeral ports and talk to them.
 *
 * @module
 */

import { type RoleProcess, spawnRole } from "@lib/testing/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";

/** A running role and the endpoint it really bound. */
export interface Listening extends AsyncDisposable {
  proc: RoleProcess;
  endpoint: string;
}

async function listening(role: string, args: string[]): Promise<Listening> {
  const proc = await spawnRole("21", role, ["--bind", "tcp://127.0.0.1:*", ...args]);
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

/**
 * Starts lock_server on an ephemeral TCP port with its database at `db`; waits for its
 * `listening` event. The live table is off and the level is debug: tests read the per-lock
 * events (`queued`, `granted`, `released`); a later `--log-level` in `args` wins.
 *
 * @example
 * ```ts ignore
 * await using server = await startServer(`${dir.path}/locks.db`, ["--ttl", "1500"]);
 * console.log(server.endpoint); // "tcp://127.0.0.1:41234"
 * ```
 */
export function startServer(db: string, args: string[] = []): Promise<Listening> {
  return listening("lock_server", [
    "--db",
    db,
    "--table-interval",
    "0",
    "--log-level",
    "debug",
    ...args,
  ]);
}

/**
 * Starts resource_guard on an ephemeral TCP port.
 *
 * @example
 * ```ts ignore
 * await using guard = await startGuard(["--fencing", "off"]);
 * ```
 */
export function startGuard(args: string[] = []): Promise<Listening> {
  return listening("resource_guard", ["--view-interval", "0", ...args]);
}

/**
 * Starts a lock_client subcommand against `server`.
 *
 * @example
 * ```ts ignore
 * await using holder = await client(server.endpoint, ["hold", "--lock", "a"]);
 * ```
 */
export function client(server: string, args: string[]): Promise<RoleProcess> {
  const [command, ...rest] = args;
  return spawnRole("21", "lock_client", [command, "--server", server, ...rest]);
}

/**
 * Sends raw frames over a fresh DEALER and returns the reply's frames (or rejects with
 * EAGAIN after `timeoutMs`).
 *
 * @example
 * ```ts ignore
 * const [reply] = await rawRequest(server.endpoint, [new TextEncoder().encode("garbage")]);
 * ```
 */
export async function rawRequest(
  endpoint: string,
  frames: Uint8Array[],
  timeoutMs = 10_000,
): Promise<Uint8Array[]> {
  const dealer = new Dealer({ linger: 0, receiveTimeout: timeoutMs });
  try {
    dealer.connect(endpoint);
    await dealer.send(frames);
    return await dealer.receive();
  } finally {
    dealer.close();
  }
}
