/**
 * The one libzmq context of the process, the registry of open sockets, and `terminate()`.
 *
 * @module
 */
import { addShutdownHook } from "../lifecycle/shutdown_hooks.ts";
import { type LoadedLibzmq, loadLibzmq } from "./ffi.ts";

/**
 * What `terminate` needs to know of an open socket.
 *
 * @example
 * ```ts
 * import { type Closable, trackSocket, untrackSocket } from "./context.ts";
 * const fake: Closable = { close: () => untrackSocket(fake) };
 * trackSocket(fake);
 * fake.close();
 * ```
 */
export interface Closable {
  close(options?: { linger?: number }): void;
}

let lib: LoadedLibzmq | undefined;
let context: Deno.PointerValue = null;
const openSockets = new Set<Closable>();
let removeHook: (() => void) | undefined;

/**
 * The loaded libzmq (loads it on first use).
 *
 * @example
 * ```ts
 * import { libzmq } from "./context.ts";
 * console.log(libzmq().version.join("."));
 * ```
 */
export function libzmq(): LoadedLibzmq {
  return lib ??= loadLibzmq();
}

/**
 * The process's libzmq context, created on first use.
 *
 * @example
 * ```ts
 * import { libzmq, zmqContext } from "./context.ts";
 * const handle = libzmq().symbols.zmq_socket(zmqContext(), 0); // a raw PAIR socket
 * if (handle !== null) libzmq().symbols.zmq_close(handle);
 * ```
 */
export function zmqContext(): Deno.PointerObject {
  if (context === null) {
    context = libzmq().symbols.zmq_ctx_new();
    if (context === null) throw new Error("zmq_ctx_new failed");
    removeHook ??= addShutdownHook(() => terminate());
  }
  return context;
}

/**
 * Records an open socket (so `terminate` and the runtime can close it).
 *
 * @example
 * ```ts
 * import { openSocketCount, trackSocket, untrackSocket } from "./context.ts";
 * const socket = { close: () => untrackSocket(socket) };
 * trackSocket(socket);
 * console.log(openSocketCount());
 * socket.close();
 * ```
 */
export function trackSocket(socket: Closable): void {
  openSockets.add(socket);
}

/**
 * Forgets a closed socket.
 *
 * @example
 * ```ts
 * import { trackSocket, untrackSocket } from "./context.ts";
 * const socket = { close: () => {} };
 * trackSocket(socket);
 * untrackSocket(socket);
 * ```
 */
export function untrackSocket(socket: Closable): void {
  openSockets.delete(socket);
}

/**
 * How many sockets are open now (for tests and leak checks).
 *
 * @example
 * ```ts
 * import { openSocketCount, Pull } from "@lib/zmq/mod.ts";
 * const before = openSocketCount();
 * new Pull().close();
 * console.log(openSocketCount() === before); // true
 * ```
 */
export function openSocketCount(): number {
  return openSockets.size;
}

/**
 * Closes every open socket and terminates the context, waiting (on a helper thread) until
 * lingering messages are flushed or `timeout` ms pass. Safe to call more than once; a new
 * socket afterwards gets a fresh context.
 *
 * @example
 * ```ts
 * import { Push, terminate } from "@lib/zmq/mod.ts";
 * const push = new Push();
 * push.connect("tcp://127.0.0.1:5557");
 * void push.send("bye").catch(() => {}); // rejects with ENOTSOCK if never sent
 * await terminate({ timeout: 2000 }); // at the end of a script
 * ```
 */
export async function terminate(
  options: { timeout?: number; linger?: number } = {},
): Promise<void> {
  for (const socket of [...openSockets]) socket.close({ linger: options.linger });
  openSockets.clear();
  if (context === null) return;
  const ctx = context;
  context = null;
  removeHook?.();
  removeHook = undefined;
  const term = libzmq().symbols.zmq_ctx_term(ctx);
  const timeout = options.timeout ?? 5000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    term,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout);
      Deno.unrefTimer(timer as unknown as number);
    }),
  ]);
  clearTimeout(timer);
}
