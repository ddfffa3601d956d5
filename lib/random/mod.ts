/**
 * Seedable pseudo-random numbers (mulberry32: small, fast, reproducible for a seed; not
 * for cryptography). Simulators take a `Random` so tests can pass a seeded one.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * Returns a deterministic generator for `seed` (any 32-bit integer).
 *
 * @example
 * ```ts
 * import { seededRandom } from "@lib/random/mod.ts";
 *
 * const random = seededRandom(42);
 * random(); // the same sequence for the same seed
 * ```
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
