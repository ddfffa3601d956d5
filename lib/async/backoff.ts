/**
 * Exponential backoff with a cap and full jitter, and a retry loop built on it.
 *
 * @module
 */

import { delay } from "./delay.ts";

/** How delays grow: `min(cap, initial × multiplier^attempt)`, then jittered. */
export interface BackoffOptions {
  /** First delay in ms (attempt 0). */
  initialMs: number;
  /** Upper bound of any delay in ms. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  multiplier?: number;
  /**
   * `"full"` (default): a uniform delay in [0, computed] (AWS "full jitter": spreads
   * retries of many clients); `"none"`: the computed delay itself.
   */
  jitter?: "full" | "none";
  /** Random numbers in [0, 1) (default Math.random); pass one in for tests. */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (0-based).
 *
 * @example
 * ```ts
 * import { backoffDelay } from "@lib/async/mod.ts";
 * backoffDelay(3, { initialMs: 100, maxMs: 1000, jitter: "none" }); // 800
 * backoffDelay(9, { initialMs: 100, maxMs: 1000, jitter: "none" }); // 1000
 * backoffDelay(3, { initialMs: 100, maxMs: 1000, random: () => 0.5 }); // 400
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { initialMs, maxMs, multiplier = 2, jitter = "full", random = Math.random } = options;
  const computed = Math.min(maxMs, initialMs * Math.pow(multiplier, Math.max(0, attempt)));
  return jitter === "none" ? computed : Math.floor(random() * computed);
}

/**
 * A stateful backoff: `next()` gives the next delay, `reset()` starts over after a
 * success.
 *
 * @example
 * ```ts
 * import { Backoff } from "@lib/async/mod.ts";
 * const b = new Backoff({ initialMs: 1000, maxMs: 32_000, jitter: "none" });
 * b.next(); // 1000
 * b.next(); // 2000
 * b.reset();
 * b.next(); // 1000
 * ```
 */
export class Backoff {
  #attempt = 0;
  readonly #options: BackoffOptions;
  constructor(options: BackoffOptions) {
    if (!(options.initialMs >= 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(
        `expected 0 <= initialMs <= maxMs, got initialMs=${options.initialMs} maxMs=${options.maxMs}`,
      );
    }
    this.#options = options;
  }
  /** Attempts made since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }
  /** The next delay in ms. */
  next(): number {
    return backoffDelay(this.#attempt++, this.#options);
  }
  /** Starts over at the initial delay. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** Options of {@link retry}. */
export interface RetryOptions extends BackoffOptions {
  /** Attempts in all, the first included (default Infinity). */
  attempts?: number;
  /** Stops waiting and rethrows the last error when aborted. */
  signal?: AbortSignal;
  /** Whether an error is worth another attempt (default: every error). */
  retryable?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log `retrying`. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** The wait (default {@link delay}); pass a fake for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Calls `fn` until it resolves, waiting a backoff delay between attempts; rethrows the
 * last error when attempts run out, the error is not retryable, or `signal` aborts.
 *
 * @example
 * ```ts
 * import { retry } from "@lib/async/mod.ts";
 * let calls = 0;
 * const value = await retry(() => (++calls < 3 ? Promise.reject(new Error("busy")) : Promise.resolve(calls)), {
 *   initialMs: 1,
 *   maxMs: 4,
 *   attempts: 5,
 * });
 * console.log(value); // 3
 * ```
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { attempts = Infinity, signal, retryable = () => true, onRetry } = options;
  const sleep = options.sleep ?? ((ms: number, s?: AbortSignal) => delay(ms, { signal: s }));
  const backoff = new Backoff(options);
  for (let attempt = 0;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt + 1 >= attempts || !retryable(error) || signal?.aborted) throw error;
      const ms = backoff.next();
      onRetry?.(error, attempt, ms);
      await sleep(ms, signal);
      if (signal?.aborted) throw error;
    }
  }
}
