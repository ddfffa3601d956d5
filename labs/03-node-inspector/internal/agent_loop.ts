/**
 * The agent's answer to one REP message: run it through the {@linkcode Inspector}, log the
 * outcome, count it, and return the one reply frame (REP must answer every request, so a
 * malformed one gets a `bad_message` reply, not silence). The read loop is the role
 * runtime's `ctx.serve`.
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";
import type { LogFields, Logger } from "@lib/role/mod.ts";
import type { Inspector } from "./inspector.ts";
import { ERROR_CODES } from "./protocol.ts";

/** Counters since the agent started. */
export interface AgentStats {
  requests: number;
  errors: number;
  badMessages: number;
}

/** What {@linkcode AgentRequests} reports through. */
export interface AgentRequestsPort {
  /** Monotonic ms, for the per-request duration in debug logs. */
  clock: Pick<Clock, "now">;
  /** The role's logger (`request` at debug, `request_failed` at info). */
  log: Pick<Logger, "debug" | "info">;
  /** Rate-limited `bad_message` (the role's `ctx.badMessage`). */
  badMessage(reason: string, fields?: LogFields): void;
}

/**
 * Answers the agent's requests one at a time.
 *
 * @example
 * ```ts
 * import { systemClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { AgentRequests } from "./agent_loop.ts";
 * import { Inspector } from "./inspector.ts";
 * import { encodeRequest } from "./protocol.ts";
 * import { createSystemProbe } from "./system_probe.ts";
 * const log = createMemoryLogger();
 * const agent = new AgentRequests(new Inspector(createSystemProbe()), {
 *   clock: systemClock,
 *   log,
 *   badMessage: (reason, fields) => log.warn("bad_message", { reason, ...fields }),
 * });
 * const reply = await agent.answer([encodeRequest("ping")]);
 * ```
 */
export class AgentRequests {
  #stats: AgentStats = { requests: 0, errors: 0, badMessages: 0 };

  constructor(readonly inspector: Inspector, readonly port: AgentRequestsPort) {}

  /** The reply frame to `frames`; logs and counts the outcome. Never throws. */
  async answer(frames: Uint8Array[]): Promise<Uint8Array> {
    const { clock, log, badMessage } = this.port;
    const started = clock.now();
    const result = await this.inspector.handle(frames);
    this.#stats.requests++;
    if (!result.ok) this.#stats.errors++;
    if (result.code === ERROR_CODES.badMessage) {
      this.#stats.badMessages++;
      badMessage(result.message ?? "bad message", {
        frames: frames.length,
        bytes: frames.reduce((n, f) => n + f.length, 0),
      });
    } else {
      const ms = Math.round((clock.now() - started) * 1000) / 1000;
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
    return result.reply;
  }

  /** Counters since the start. */
  stats(): AgentStats {
    return { ...this.#stats };
  }
}
