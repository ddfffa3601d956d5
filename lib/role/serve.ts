/**
 * The one read loop of a role (`ctx.serve`) and the one way to report dropped input
 * (`ctx.badMessage`), as functions of a logger and a stop signal so they are testable
 * without a process.
 *
 * @module
 */

import { BadMessageError } from "../codec/schema.ts";
import type { LogFields, Logger } from "./logger.ts";

/**
 * Options of {@link RoleContext.serve} (see run_role.ts).
 *
 * @example
 * ```ts
 * import type { RoleContext, ServeOptions } from "@lib/role/mod.ts";
 * const options: ServeOptions = { name: "backend", untilClosed: true };
 * async function acks(ctx: RoleContext, socket: AsyncIterable<Uint8Array[]>) {
 *   await ctx.serve(socket, ([frame]) => ctx.log.debug("ack", { bytes: frame.length }), options);
 * }
 * ```
 */
export interface ServeOptions {
  /** Named in `bad_message`, `handler_error` and `socket_error` lines (e.g. "frontend"). */
  name?: string;
  /** Keep serving after the stop signal until the source ends (e.g. acks while draining). */
  untilClosed?: boolean;
}

/**
 * What {@link serveLoop} needs from the role.
 *
 * @example
 * ```ts
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import type { ServeDeps } from "./serve.ts";
 * const deps: ServeDeps = { log: createMemoryLogger(), signal: new AbortController().signal };
 * ```
 */
export interface ServeDeps {
  log: Logger;
  /** Aborted when the role is asked to stop. */
  signal: AbortSignal;
}

const STOP: unique symbol = Symbol("stop");

/** The longest stretch of continuous serving before the event loop gets a turn. */
const YIELD_EVERY_MS = 20;

function isClosedError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOTSOCK" || code === "ETERM";
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The rate-limit key of a `bad_message` reason: quoted text and numbers (what a peer
 * chose) are blanked, so varied garbage of one kind shares one key.
 *
 * @example
 * ```ts
 * import { badMessageKey } from "./serve.ts";
 * badMessageKey('seq: expected int, got "x17"'); // "seq: expected int, got _"
 * ```
 */
export function badMessageKey(reason: string): string {
  return reason
    .slice(0, 200)
    .replace(/"(?:[^"\\]|\\.)*"?|'[^']*'?/g, "_")
    .replace(/\d+/g, "#")
    .slice(0, 100);
}

/**
 * Logs `bad_message` {reason, ...fields} at warn, rate-limited per kind of reason (and at
 * most 16 lines of `bad_message` per window in all), with `suppressed` counts.
 *
 * @example
 * ```ts
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { logBadMessage } from "./serve.ts";
 * const log = createMemoryLogger();
 * logBadMessage(log, "expected 3 frames, got 1", { socket: "frontend" });
 * logBadMessage(log, "expected 3 frames, got 2", { socket: "frontend" }); // suppressed
 * ```
 */
export function logBadMessage(log: Logger, reason: string, fields?: LogFields): void {
  const socket = typeof fields?.socket === "string" ? fields.socket : "";
  log.limited(
    "warn",
    "bad_message",
    { reason, ...fields },
    `bad_message:${socket}:${badMessageKey(reason)}`,
  );
}

/**
 * Receives from `source` and awaits `handler` for each message until the source ends or,
 * unless `untilClosed`, `deps.signal` aborts. A `BadMessageError` from the handler is
 * logged by {@link logBadMessage}; another handler error as `handler_error` (rate-limited)
 * and serving goes on. An error of the source is logged once as `socket_error` and
 * rejects; a closed socket (`ENOTSOCK`/`ETERM`) or an error after the stop just ends it.
 *
 * @example
 * ```ts
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { serveLoop } from "./serve.ts";
 * async function* messages() {
 *   yield "a";
 *   yield "b";
 * }
 * const seen: string[] = [];
 * await serveLoop(messages(), (m) => void seen.push(m), {
 *   log: createMemoryLogger(),
 *   signal: new AbortController().signal,
 * });
 * ```
 */
export async function serveLoop<M>(
  source: AsyncIterable<M>,
  handler: (message: M) => void | Promise<void>,
  deps: ServeDeps,
  options: ServeOptions = {},
): Promise<void> {
  const { log, signal } = deps;
  const name = options.name ?? "socket";
  const watchStop = !options.untilClosed;
  // One abort listener for the whole loop (a Promise.race against one long-lived promise
  // per message would keep a reaction per message until the stop).
  let wake: ((value: typeof STOP) => void) | undefined;
  const onAbort = () => wake?.(STOP);
  if (watchStop) signal.addEventListener("abort", onAbort, { once: true });
  // A socket with messages queued hands the next one over as a resolved promise, so a
  // loop working through a flood never reaches the event loop: timers (leases, live views)
  // and signal handlers would starve. Go through it once per YIELD_EVERY_MS of work.
  let sliceStart = performance.now();
  try {
    const iterator = source[Symbol.asyncIterator]();
    for (;;) {
      if (performance.now() - sliceStart >= YIELD_EVERY_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        sliceStart = performance.now();
      }
      if (watchStop && signal.aborted) return;
      let result: IteratorResult<M> | typeof STOP;
      try {
        const next = iterator.next();
        if (watchStop) {
          result = await new Promise<IteratorResult<M> | typeof STOP>((resolve, reject) => {
            wake = resolve;
            next.then(resolve, reject);
          });
          wake = undefined;
          if (result === STOP) {
            next.catch(() => {}); // settles when the socket closes
            return;
          }
        } else {
          result = await next;
        }
      } catch (error) {
        if (signal.aborted || isClosedError(error)) return;
        log.error("socket_error", { socket: name, error: errorText(error) });
        throw error;
      }
      if (result.done) return;
      try {
        await handler(result.value);
      } catch (error) {
        if (error instanceof BadMessageError) logBadMessage(log, error.reason, { socket: name });
        else {
          log.limited(
            "error",
            "handler_error",
            { socket: name, error: errorText(error) },
            `handler_error:${name}`,
          );
        }
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
