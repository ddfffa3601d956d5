/**
 * Fire-and-forget sends, handled deliberately: a send that lib/zmq refuses because the
 * socket's send queue is full (`EAGAIN`) is dropped and counted, as a PUB drops at its
 * high-water mark; a send cut short by closing the socket at shutdown is ignored; anything
 * else is logged (rate-limited) and counted as failed.
 *
 * @module
 */
import type { Logger } from "@lib/role/mod.ts";

/** Counters of a {@link SendDrops}. */
export interface SendDropStats {
  /** Refused with `EAGAIN` (send queue full). */
  dropped: number;
  /** Failed for another reason. */
  failed: number;
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/**
 * Counts the sends of one socket that did not go out.
 *
 * @example
 * ```ts
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { SendDrops } from "./send_drops.ts";
 *
 * const drops = new SendDrops(createMemoryLogger(), "backend");
 * const full = Object.assign(new Error("send queue full"), { code: "EAGAIN" });
 * await Promise.reject(full).catch(drops.onError);
 * drops.stats(); // { dropped: 1, failed: 0 }
 * ```
 */
export class SendDrops {
  #dropped = 0;
  #failed = 0;
  readonly #log: Logger;
  readonly #socket: string;

  constructor(log: Logger, socket: string) {
    this.#log = log;
    this.#socket = socket;
  }

  /** Pass to `.catch` of a send promise. */
  readonly onError = (error: unknown): void => {
    const code = codeOf(error);
    if (code === "EAGAIN") {
      this.#dropped++;
    } else if (code !== "ENOTSOCK" && code !== "ETERM") {
      this.#failed++;
      this.#log.limited("error", "send_failed", {
        socket: this.#socket,
        error: String(error),
        failed: this.#failed,
      }, `send_failed:${this.#socket}`);
    }
  };

  /** Sends that did not go out so far. */
  stats(): SendDropStats {
    return { dropped: this.#dropped, failed: this.#failed };
  }
}
