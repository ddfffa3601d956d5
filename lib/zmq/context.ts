/**
 * The one libzmq context of the process, the registry of open sockets, and `terminate()`.
 *
 * @module
 */
import { addShutdownHook } from "../lifecycle/shutdown_hooks.ts";
import { type LoadedLibzmq, loadLibzmq } from "./ffi.ts";

/** What `terminate` needs to know of an open socket. */
export interface Closable {
  close(options?: { linger?: number }): void;
}

let lib: LoadedLibzmq | undefined;
let context: Deno.PointerValue = null;
const openSockets = new Set<Closable>();
let removeHook: (() => void) | undefined;

/** The loaded libzmq (loads it on first use). */
export function libzmq(): LoadedLibzmq {
  return lib ??= loadLibzmq();
}

/** The process's libzmq context, created on first use. */
export function zmqContext(): Deno.PointerObject {
  if (context === null) {
    context = libzmq().symbols.zmq_ctx_new();
    if (context === null) throw new Error("zmq_ctx_new failed");
    removeHook ??= addShutdownHook(() => terminate());
  }
  return context;
}

/** Records an open socket (so `terminate` and the runtime can close it). */
export function trackSocket(socket: Closable): void {
  openSockets.add(socket);
}

/** Forgets a closed socket. */
export function untrackSocket(socket: Closable): void {
  openSockets.delete(socket);
}

/** How many sockets are open now (for tests and leak checks). */
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
