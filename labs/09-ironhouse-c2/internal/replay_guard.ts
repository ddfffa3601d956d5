/**
 * The agent's replay guard: a command number is accepted once and only if it is above
 * every number accepted before (the server numbers commands in increasing order).
 *
 * @module
 */

/**
 * Accepts strictly increasing command numbers.
 *
 * @example
 * ```ts
 * import { ReplayGuard } from "./replay_guard.ts";
 * const guard = new ReplayGuard();
 * guard.accept(5); // true
 * guard.accept(5); // false: a replay
 * ```
 */
export class ReplayGuard {
  #last = 0;
  #refused = 0;

  /** Whether `seq` is new (and, if so, remembers it). */
  accept(seq: number): boolean {
    if (seq <= this.#last) {
      this.#refused++;
      return false;
    }
    this.#last = seq;
    return true;
  }

  /** The highest accepted number (0 before the first). */
  get last(): number {
    return this.#last;
  }

  /** How many commands were refused as replays. */
  get refused(): number {
    return this.#refused;
  }
}
