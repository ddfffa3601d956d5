/**
 * This process's CPU time (getrusage through `node:process`) and RSS.
 *
 * @module
 */

import process from "node:process";

/**
 * User + system CPU seconds of this process so far.
 *
 * @example
 * ```ts
 * import { cpuSeconds } from "./process_usage.ts";
 * console.log(cpuSeconds() >= 0); // true
 * ```
 */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Resident set size of this process in bytes.
 *
 * @example
 * ```ts
 * import { rssBytes } from "./process_usage.ts";
 * console.log(rssBytes() > 0); // true
 * ```
 */
export function rssBytes(): number {
  return Deno.memoryUsage().rss;
}
