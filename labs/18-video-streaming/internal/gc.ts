/**
 * A full garbage collection on demand, for the frame pool (see `frame_pool.ts`): V8's
 * `gc()` is made available at run time through `node:v8`'s `setFlagsFromString` and a
 * fresh `node:vm` context (no command-line flag, no permission). Without it the pool still
 * works, only later: WeakRefs are then cleared when V8 decides to collect.
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";

let gc: (() => void) | null | undefined;

/**
 * Runs a full GC if one can be requested; returns its duration in ms (0 when unavailable).
 *
 * @example
 * ```ts
 * import { fullGc, gcAvailable } from "./gc.ts";
 * const ms = fullGc();
 * console.log(gcAvailable(), ms >= 0);
 * ```
 */
export function fullGc(): number {
  if (gc === undefined) gc = load();
  if (gc === null) return 0;
  const start = performance.now();
  gc();
  return performance.now() - start;
}

/**
 * True when `fullGc` really collects.
 *
 * @example
 * ```ts
 * import { gcAvailable } from "./gc.ts";
 * console.log(gcAvailable());
 * ```
 */
export function gcAvailable(): boolean {
  if (gc === undefined) gc = load();
  return gc !== null;
}

function load(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === "function") return existing;
  try {
    v8.setFlagsFromString("--expose-gc");
    const found = vm.runInNewContext("gc");
    return typeof found === "function" ? found : null;
  } catch {
    return null;
  }
}
