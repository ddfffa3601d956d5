/**
 * Small async building blocks shared by every lab: abortable delays, deadlines, backoff
 * and retry, one clock interface (with a manual clock for tests), hex, percentiles.
 *
 * @example
 * ```ts
 * import { Backoff, delay, ManualClock, percentiles, toHex } from "@lib/async/mod.ts";
 * await delay(1);
 * new Backoff({ initialMs: 100, maxMs: 1000 }).next();
 * new ManualClock().now(); // 0
 * percentiles([1, 2, 3], [0.5]); // [2]
 * toHex(new Uint8Array([255])); // "ff"
 * ```
 *
 * @module
 */

export { delay, type DelayOptions } from "./delay.ts";
export { deadline, DeadlineError, type DeadlineOptions } from "./deadline.ts";
export { Backoff, backoffDelay, type BackoffOptions, retry, type RetryOptions } from "./backoff.ts";
export { type Clock, ManualClock, systemClock, type TimerHandle } from "./clock.ts";
export { fromHex, toHex } from "./hex.ts";
export { type LatencySummary, latencySummary, percentiles } from "./percentiles.ts";
