/**
 * A log budget for events anyone on the LAN can cause at will (a spoofed beacon is one
 * UDP datagram): the first `max` events in each window are logged one by one, the rest go
 * through the logger's rate limit (one line per 5 s with `suppressed: N`). A flood of
 * spoofed UUIDs then costs a handful of log lines, while the few real events of a quiet
 * LAN are all written.
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";

/** Options of {@link LogBudget}. */
export interface LogBudgetOptions {
  clock: Clock;
  /** Events written one by one per window (default 50). */
  max?: number;
  /** Window length, ms (default 10 000). */
  windowMs?: number;
}

/**
 * Counts events per fixed window.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { LogBudget } from "./log_budget.ts";
 * const budget = new LogBudget({ clock: new ManualClock(), max: 2 });
 * console.log(budget.allow(), budget.allow(), budget.allow()); // true true false
 * ```
 */
export class LogBudget {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #windowMs: number;
  #windowStart = -Infinity;
  #used = 0;

  constructor(options: LogBudgetOptions) {
    this.#clock = options.clock;
    this.#max = options.max ?? 50;
    this.#windowMs = options.windowMs ?? 10_000;
  }

  /** True while this window's budget lasts (and counts the event). */
  allow(): boolean {
    const now = this.#clock.now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#used = 0;
    }
    if (this.#used >= this.#max) return false;
    this.#used++;
    return true;
  }
}
