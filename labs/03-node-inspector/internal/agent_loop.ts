/**
 * The agent's REP loop: receive one request, answer it, repeat, until stopped. A stop
 * while a request is being answered lets that reply go out first.
 *
 * @module
 */

import type { Inspector } from "./inspector.ts";
import { ERROR_CODES } from "./protocol.ts";

/** The REP socket as the loop uses it. */
export interface RepChannel {
  receive(): Promise<Uint8Array[]>;
  send(frame: Uint8Array): Promise<void>;
  close(): void;
}

/** The logger as the loop uses it (`ctx.log` of the role runtime). */
export interface LoopLog {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
}

/** Counters of one loop run. */
export interface LoopStats {
  requests: number;
  errors: number;
  badMessages: number;
}

/**
 * Serves requests on `socket` until `signal` aborts (or the socket closes). Malformed
 * requests log `bad_message` and get a `bad_message` reply: REP must answer every request.
 *
 * @example
 * ```ts
 * const stats = await serveRequests(rep, new Inspector(createSystemProbe()), ctx.log, ctx.signal);
 * ```
 */
export async function serveRequests(
  socket: RepChannel,
  inspector: Inspector,
  log: LoopLog,
  signal: AbortSignal,
): Promise<LoopStats> {
  const stats: LoopStats = { requests: 0, errors: 0, badMessages: 0 };
  let busy = false;
  const onAbort = () => {
    // Idle in receive(): closing is the only way to end the wait. Busy: finish the reply.
    if (!busy) socket.close();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    while (!signal.aborted) {
      let frames: Uint8Array[];
      try {
        frames = await socket.receive();
      } catch (err) {
        if (signal.aborted) break;
        throw err;
      }
      busy = true;
      const started = performance.now();
      const result = await inspector.handle(frames);
      stats.requests++;
      if (!result.ok) stats.errors++;
      if (result.code === ERROR_CODES.badMessage) {
        stats.badMessages++;
        log.warn("bad_message", {
          reason: result.message,
          frames: frames.length,
          bytes: frames.reduce((n, f) => n + f.length, 0),
        });
      } else {
        const ms = Math.round((performance.now() - started) * 1000) / 1000;
        if (result.ok) log.debug("request", { cmd: result.cmd, ms });
        else {
          log.info("request_failed", {
            cmd: result.cmd,
            code: result.code,
            message: result.message,
            ms,
          });
        }
      }
      await socket.send(result.reply);
      busy = false;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  return stats;
}
