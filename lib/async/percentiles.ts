/**
 * Nearest-rank percentiles.
 *
 * @module
 */

/**
 * Nearest-rank percentiles of `samples` for each `p` in [0, 1] (0 gives the minimum, 1 the
 * maximum); NaN for each when there are no samples. The input is not modified.
 *
 * @example
 * ```ts
 * import { percentiles } from "@lib/async/mod.ts";
 * percentiles([4, 1, 3, 2], [0.5, 0.99, 1]); // [2, 4, 4]
 * ```
 */
export function percentiles(samples: ArrayLike<number>, ps: readonly number[]): number[] {
  if (samples.length === 0) return ps.map(() => NaN);
  const sorted = Float64Array.from(samples).sort();
  return ps.map((p) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`expected a percentile in [0, 1], got ${p}`);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  });
}

/** Count, p50, p99 and max of latency samples in ms. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Count and nearest-rank p50/p99/max of samples in ms, rounded to 0.01 ms (zeros when
 * empty).
 *
 * @example
 * ```ts
 * import { latencySummary } from "@lib/async/mod.ts";
 * latencySummary([1, 2, 3, 4]); // { count: 4, p50: 2, p99: 4, max: 4 }
 * ```
 */
export function latencySummary(samples: ArrayLike<number>): LatencySummary {
  if (samples.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  const [p50, p99, max] = percentiles(samples, [0.5, 0.99, 1]).map((x) =>
    Math.round(x * 100) / 100
  );
  return { count: samples.length, p50, p99, max };
}
