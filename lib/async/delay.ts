/**
 * An abortable timer.
 *
 * @module
 */

/** Options of {@link delay}. */
export interface DelayOptions {
  /** Ends the wait early. */
  signal?: AbortSignal;
  /** What an abort does: `"resolve"` (default: the wait just ends) or `"reject"` with the signal's reason. */
  onAbort?: "resolve" | "reject";
}

/**
 * Waits `ms` milliseconds. An abort of `signal` ends the wait at once: it resolves by
 * default (a stop is not an error for a loop that checks `signal.aborted`), or rejects
 * with `signal.reason` when `onAbort` is `"reject"`.
 *
 * @example
 * ```ts
 * import { delay } from "@lib/async/mod.ts";
 * await delay(5);
 * await delay(60_000, { signal: AbortSignal.timeout(5) }); // resolves after ~5 ms
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal, onAbort = "resolve" } = options;
  return new Promise((resolve, reject) => {
    const finish = () => (onAbort === "reject" ? reject(signal?.reason) : resolve());
    if (signal?.aborted) return finish();
    const aborted = () => {
      clearTimeout(timer);
      finish();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", aborted);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", aborted, { once: true });
  });
}
