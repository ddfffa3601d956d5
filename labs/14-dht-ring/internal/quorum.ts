/**
 * Counting replies toward a quorum: `need` successes out of `total` attempts. Met as soon
 * as `need` succeed; failed as soon as so many failed that `need` can no longer be met.
 *
 * @module
 */

/** Where a quorum stands. */
export type QuorumState = "pending" | "met" | "failed";

/**
 * A quorum counter (sans-IO: the coordinator feeds it replies and timeouts).
 *
 * @example
 * ```ts
 * import { Quorum } from "./quorum.ts";
 * const q = new Quorum(3, 2);
 * q.ok(); // "pending"
 * q.fail(); // "pending"
 * q.ok(); // "met"
 * ```
 */
export class Quorum {
  readonly total: number;
  readonly need: number;
  #ok = 0;
  #failed = 0;

  constructor(total: number, need: number) {
    if (!Number.isInteger(need) || need < 1) throw new RangeError("need must be >= 1");
    this.total = total;
    this.need = need;
  }

  /** Successes so far. */
  get acks(): number {
    return this.#ok;
  }

  /** Failures so far. */
  get failures(): number {
    return this.#failed;
  }

  /** Where the quorum stands now. */
  get state(): QuorumState {
    if (this.#ok >= this.need) return "met";
    if (this.total - this.#failed < this.need) return "failed";
    return "pending";
  }

  /** One success. */
  ok(): QuorumState {
    this.#ok++;
    return this.state;
  }

  /** One failure (an error reply, a timeout, a replica known to be down). */
  fail(): QuorumState {
    this.#failed++;
    return this.state;
  }

  /** True once every attempt has answered or failed. */
  get settled(): boolean {
    return this.#ok + this.#failed >= this.total;
  }
}

/** Replicas a consistency level needs out of a preference list of `replicas`. */
export function required(
  consistency: "one" | "quorum" | "all",
  quorum: number,
  replicas: number,
): number {
  return consistency === "one" ? 1 : consistency === "all" ? replicas : quorum;
}

/**
 * Checks N, R and W: 1 <= R, W <= N and R + W > N (every read quorum meets every write
 * quorum). Returns the problem in words, or undefined when they are fine.
 *
 * @example
 * ```ts
 * import { checkQuorums } from "./quorum.ts";
 * checkQuorums(3, 2, 2); // undefined
 * checkQuorums(3, 1, 2); // "expected R + W > N ..."
 * ```
 */
export function checkQuorums(n: number, r: number, w: number): string | undefined {
  if (r > n || w > n) return `expected --r and --w <= --n (${n}), got R=${r} W=${w}`;
  if (r + w <= n) {
    return `expected R + W > N so that reads meet writes, got R=${r} + W=${w} <= N=${n}`;
  }
  return undefined;
}
