/**
 * When a stop request (a signal, or end of stdin) stops a role and when it forces it out.
 * One Ctrl+C in a terminal reaches a role twice within milliseconds: the terminal signals
 * the whole process group and `deno task` forwards the signal again. Only a request that
 * comes from a person forces quit: one more than a second after the first, or a third.
 *
 * @module
 */

/**
 * What to do with one stop request.
 *
 * @example
 * ```ts
 * import { type StopAction, StopPolicy } from "@lib/role/mod.ts";
 * const action: StopAction = new StopPolicy().request(0);
 * console.log(action); // "stop"
 * ```
 */
export type StopAction = "stop" | "ignore" | "force";

/**
 * Options of {@link StopPolicy}.
 *
 * @example
 * ```ts
 * import { StopPolicy, type StopPolicyOptions } from "@lib/role/mod.ts";
 * const options: StopPolicyOptions = { echoWindowMs: 500, forceAt: 3 };
 * new StopPolicy(options);
 * ```
 */
export interface StopPolicyOptions {
  /** Requests within this many ms of the first are echoes of it (default 1000). */
  echoWindowMs?: number;
  /** The request that forces quit even inside the echo window (default 3: the third). */
  forceAt?: number;
}

/**
 * Decides, sans IO, what each stop request does. The first stops (or is ignored when the
 * role is already shutting down by itself); a later one forces quit when it comes more
 * than `echoWindowMs` after the first or is the `forceAt`-th; otherwise it is an echo.
 *
 * @example
 * ```ts
 * import { StopPolicy } from "@lib/role/mod.ts";
 * const policy = new StopPolicy();
 * policy.request(0); // "stop"       (Ctrl+C: the terminal's SIGINT)
 * policy.request(3); // "ignore"     (the same Ctrl+C forwarded by `deno task`)
 * policy.request(2500); // "force"   (a person pressed Ctrl+C again)
 * ```
 */
export class StopPolicy {
  readonly #echoWindowMs: number;
  readonly #forceAt: number;
  #first: number | undefined;
  #count = 0;

  constructor(options: StopPolicyOptions = {}) {
    this.#echoWindowMs = options.echoWindowMs ?? 1000;
    this.#forceAt = Math.max(2, options.forceAt ?? 3);
  }

  /**
   * One stop request at monotonic `now` (ms). `shuttingDown`: the role is already
   * stopping by itself (its `run` returned or failed), so a first request has nothing to
   * start.
   */
  request(now: number, shuttingDown = false): StopAction {
    this.#count++;
    if (this.#first === undefined) {
      this.#first = now;
      return shuttingDown ? "ignore" : "stop";
    }
    if (now - this.#first > this.#echoWindowMs || this.#count >= this.#forceAt) return "force";
    return "ignore";
  }
}
