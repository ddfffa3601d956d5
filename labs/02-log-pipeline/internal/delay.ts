/**
 * A timer promise that ends early (without throwing) when `signal` aborts. Unlike the
 * role context's `sleep`, it is not tied to the shutdown signal, so drains can keep
 * ticking after SIGTERM.
 *
 * @example
 * ```ts
 * await delay(100);
 * await delay(100, AbortSignal.timeout(10)); // resolves after ~10 ms
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
