/**
 * Lab 17 test helpers: start the real roles on ephemeral ports and talk to them.
 *
 * @module
 */

import { type RoleProcess, spawnRole } from "@lib/testing/mod.ts";
import { Request } from "@lib/zmq/mod.ts";
import { decodeReply, type Pong, type Refusal } from "./internal/protocol.ts";

/** A running consensus_node and the endpoint it really bound. */
export interface Server extends AsyncDisposable {
  proc: RoleProcess;
  endpoint: string;
}

/**
 * Starts consensus_node on an ephemeral TCP port; waits for its `listening` event.
 *
 * @example
 * ```ts
 * import { startServer } from "./testing.ts";
 *
 * await using server = await startServer();
 * console.log(server.endpoint); // "tcp://127.0.0.1:41234"
 * ```
 */
export async function startServer(args: string[] = []): Promise<Server> {
  const proc = await spawnRole("17", "consensus_node", ["--bind", "tcp://127.0.0.1:*", ...args]);
  try {
    const { endpoint } = await proc.event("listening");
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
 * Sends one request (frames) over a fresh REQ socket and decodes the reply; rejects with
 * EAGAIN when no reply comes within `timeoutMs`.
 *
 * @example
 * ```ts
 * import { encodePing } from "./internal/protocol.ts";
 * import { request } from "./testing.ts";
 *
 * const reply = await request("tcp://127.0.0.1:5517", [encodePing(1)]);
 * ```
 */
export async function request(
  endpoint: string,
  frames: Uint8Array[],
  timeoutMs = 10_000,
): Promise<Pong | Refusal> {
  const req = new Request({ linger: 0, receiveTimeout: timeoutMs });
  try {
    req.connect(endpoint);
    await req.send(frames);
    return decodeReply(await req.receive());
  } finally {
    req.close();
  }
}
