/**
 * Polls a condition until it holds, with a deadline: the one wait helper for tests that
 * watch something other than a role's events (a file, a list of lines, a counter).
 *
 * @module
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Milliseconds before the wait rejects (default 10000). */
  timeoutMs?: number;
  /** Milliseconds between two checks (default 20). */
  intervalMs?: number;
  /** Aborting it rejects the wait with the signal's reason. */
  signal?: AbortSignal;
}

/** What a {@link waitFor} check returns: a truthy value ends the wait. */
export type WaitForResult<T> = T | undefined | null | false;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 20;

/**
 * Calls `check` (at once, then every `intervalMs`) until it returns a truthy value, and
 * resolves with that value. Rejects with `timed out after <ms> ms waiting for <what>` when
 * the deadline passes (a check that never settles counts as not yet), with the check's own
 * error when it throws, and with the signal's reason when `signal` aborts.
 *
 * @example
 * ```ts
 * import { waitFor } from "@lib/testing/mod.ts";
 *
 * const lines: string[] = [];
 * setTimeout(() => lines.push("ready on port 5501"), 50);
 * const line = await waitFor("the ready line", () => lines.find((l) => l.startsWith("ready")));
 * console.log(line); // "ready on port 5501"
 * ```
 */
export async function waitFor<T>(
  what: string,
  check: () => WaitForResult<T> | Promise<WaitForResult<T>>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const { signal } = options;
  signal?.throwIfAborted();
  const timedOut = () => new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  const deadline = performance.now() + timeoutMs;
  while (true) {
    // A check that hangs must not outlive the deadline: race it against what is left (a
    // check that settles at once still wins a race against 0 ms: timers run after promises).
    const remaining = Math.max(0, deadline - performance.now());
    const outcome = await raceDeadline(Promise.resolve().then(check), remaining, signal);
    if (outcome.done) return outcome.value;
    const left = deadline - performance.now();
    if (left <= 0) throw timedOut();
    await pause(Math.min(intervalMs, left), signal);
  }
}

type Outcome<T> = { done: true; value: T } | { done: false };

/** Settles with the check's result, or "not yet" once `ms` passed; rejects on abort. */
function raceDeadline<T>(
  pending: Promise<WaitForResult<T>>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<Outcome<T>> {
  return new Promise<Outcome<T>>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    const onAbort = () => finish(() => reject(signal!.reason));
    const timer = setTimeout(() => finish(() => resolve({ done: false })), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (value) => finish(() => resolve(value ? { done: true, value: value as T } : { done: false })),
      (error) => finish(() => reject(error)),
    );
  });
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
