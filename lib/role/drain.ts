/**
 * The one drain budget inside `--shutdown-timeout` (`ctx.drain`, `ctx.drainBudgetMs`), as
 * functions of the timeout, the time since the stop and a clock.
 *
 * @module
 */

import { type Clock, systemClock } from "../async/clock.ts";
import type { Logger } from "./logger.ts";

/**
 * What is left for draining: the shutdown timeout, less a reserve for cleanups and
 * lingering sends (a quarter of the timeout, at most 1 s), less the time since the stop
 * began; never negative, whole ms.
 *
 * @example
 * ```ts
 * import { drainBudget } from "./drain.ts";
 * drainBudget(5000, 0); // 4000
 * drainBudget(5000, 1500); // 2500
 * drainBudget(400, 0); // 300
 * ```
 */
export function drainBudget(shutdownTimeoutMs: number, sinceStopMs: number): number {
  const reserve = Math.min(1000, Math.floor(shutdownTimeoutMs / 4));
  return Math.max(0, Math.floor(shutdownTimeoutMs - reserve - sinceStopMs));
}

/**
 * What {@link drainWithin} needs.
 *
 * @example
 * ```ts
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import type { DrainDeps } from "./drain.ts";
 * const deps: DrainDeps = { log: createMemoryLogger() };
 * ```
 */
export interface DrainDeps {
  log: Logger;
  /** Timers (default: the system clock). */
  clock?: Pick<Clock, "setTimer">;
}

/**
 * Runs `fn` for at most `budgetMs`: its signal aborts when the budget runs out. Resolves
 * true when `fn` finished in time; false when the budget ran out (logs `drain_timeout`
 * {what, budget_ms}) or `fn` failed (logs `drain_failed` {what, error}).
 *
 * @example
 * ```ts
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { drainWithin } from "./drain.ts";
 * const drained = await drainWithin(async () => {}, 1000, { log: createMemoryLogger() });
 * console.log(drained); // true
 * ```
 */
export async function drainWithin(
  fn: (signal: AbortSignal) => Promise<void>,
  budgetMs: number,
  deps: DrainDeps,
  options: { what?: string } = {},
): Promise<boolean> {
  const { log } = deps;
  const clock = deps.clock ?? systemClock;
  const controller = new AbortController();
  let timer: { cancel(): void } | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = clock.setTimer(budgetMs, () => {
      controller.abort(new DOMException("drain budget spent", "TimeoutError"));
      resolve("timeout");
    });
  });
  const work = (async () => await fn(controller.signal))().then(
    () => "done" as const,
    (error) => ({ error }),
  );
  const outcome = await Promise.race([work, timedOut]);
  timer?.cancel();
  if (outcome === "done") return true;
  if (outcome === "timeout") {
    log.warn("drain_timeout", { what: options.what, budget_ms: budgetMs });
    return false;
  }
  const error = outcome.error;
  log.error("drain_failed", {
    what: options.what,
    error: error instanceof Error ? error.message : String(error),
  });
  return false;
}
