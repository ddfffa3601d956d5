/**
 * Cooperative yielding for a serve loop. A socket with messages queued delivers the next
 * one as a resolved promise (a microtask), so a loop that handles a flood never returns to
 * the event loop: timers (lease expiry, the live view) and signal handlers (SIGINT) starve
 * until the queue is empty, and a session whose keepalive is waiting in the queue expires
 * the moment the flood ends. `maybeYield()` goes through the event loop (a zero timer) once
 * `sliceMs` of continuous work has passed.
 *
 * @module
 */

/**
 * Returns a function to await between messages; it yields to the event loop at most every
 * `sliceMs` (measured with `now`, default `performance.now`).
 *
 * @example
 * ```ts
 * import { yielder } from "./yielder.ts";
 * const maybeYield = yielder(20);
 * for (let i = 0; i < 1000; i++) await maybeYield(); // timers and signals get their turn
 * ```
 */
export function yielder(
  sliceMs: number,
  now: () => number = () => performance.now(),
): () => Promise<void> {
  let since = now();
  return () => {
    if (now() - since < sliceMs) return Promise.resolve();
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        since = now();
        resolve();
      }, 0)
    );
  };
}
