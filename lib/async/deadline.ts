/**
 * A promise with a time limit.
 *
 * @module
 */

/** Rejection of {@link deadline} when the time is up. */
export class DeadlineError extends Error {
  /** The limit that passed, in ms. */
  readonly ms: number;
  constructor(ms: number, what?: string) {
    super(`${what ?? "operation"} did not finish within ${ms} ms`);
    this.name = "DeadlineError";
    this.ms = ms;
  }
}

/** Options of {@link deadline}. */
export interface DeadlineOptions {
  /** Rejects with the signal's reason when it aborts first. */
  signal?: AbortSignal;
  /** Named in the error message. */
  what?: string;
}

/**
 * Settles like `promise`, or rejects with a {@link DeadlineError} after `ms` (or with the
 * signal's reason on abort), whichever comes first. The timer never keeps a finished
 * promise's process alive.
 *
 * @example
 * ```ts
 * import { deadline, DeadlineError } from "@lib/async/mod.ts";
 * const slow = new Promise((r) => setTimeout(r, 50));
 * try {
 *   await deadline(slow, 5, { what: "reply" });
 * } catch (error) {
 *   console.log(error instanceof DeadlineError); // true
 * }
 * await slow;
 * ```
 */
export function deadline<T>(
  promise: Promise<T>,
  ms: number,
  options: DeadlineOptions = {},
): Promise<T> {
  const { signal, what } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
    };
    const aborted = () => {
      cleanup();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new DeadlineError(ms, what));
    }, Math.max(0, ms));
    signal?.addEventListener("abort", aborted, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error) => {
        cleanup();
        reject(error);
      },
    );
  });
}
