/**
 * The protected resource, sans-IO: a counter that clients change by read-modify-write, and
 * that checks fencing tokens (Kleppmann's "fencing token" / Chubby's sequencer): it remembers
 * the highest token it has seen and rejects a write that carries a lower one. With fencing
 * off it accepts every write, which is what lets a paused ex-holder's late write clobber
 * the newer holder's update (the lost update the unfenced run shows).
 *
 * A token equal to the highest is accepted: the current holder may write many times. A read
 * may carry a token too; it raises the highest seen, so a new holder fences the old one off
 * as soon as it reads.
 *
 * @module
 */
import type { GuardReply, GuardRequest } from "./protocol.ts";

/** Counters of the guard. */
export interface GuardStats {
  value: number;
  highest: number;
  reads: number;
  writes: number;
  rejected: number;
  [key: string]: number;
}

/**
 * A fenced counter.
 *
 * @example
 * ```ts
 * import { FencedCounter } from "./guard.ts";
 * const counter = new FencedCounter({ fencing: true });
 * counter.handle({ kind: "write", req: 1, token: 2, value: 1 }).kind; // "written"
 * counter.handle({ kind: "write", req: 2, token: 1, value: 1 }).kind; // "rejected"
 * ```
 */
export class FencedCounter {
  readonly fencing: boolean;
  #value: number;
  #highest = 0;
  #stats = { reads: 0, writes: 0, rejected: 0 };

  constructor(options: { fencing: boolean; initial?: number }) {
    this.fencing = options.fencing;
    this.#value = options.initial ?? 0;
  }

  /** The counter's value. */
  get value(): number {
    return this.#value;
  }

  /** The highest token seen. */
  get highest(): number {
    return this.#highest;
  }

  /** Applies one request and returns the reply. */
  handle(request: GuardRequest): GuardReply {
    if (request.kind === "read") {
      this.#stats.reads++;
      if (request.token !== undefined) this.#highest = Math.max(this.#highest, request.token);
      return { kind: "value", req: request.req, value: this.#value, highest: this.#highest };
    }
    if (this.fencing && request.token < this.#highest) {
      this.#stats.rejected++;
      return {
        kind: "rejected",
        req: request.req,
        reason: "stale_token",
        token: request.token,
        highest: this.#highest,
      };
    }
    this.#stats.writes++;
    this.#highest = Math.max(this.#highest, request.token);
    this.#value = request.value;
    return { kind: "written", req: request.req, value: this.#value, token: request.token };
  }

  /** Counters. */
  stats(): GuardStats {
    return { value: this.#value, highest: this.#highest, ...this.#stats };
  }
}
