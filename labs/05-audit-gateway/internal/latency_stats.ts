/**
 * Percentiles of a set of latency samples.
 *
 * @module
 */

/** Summary of latency samples (ms). */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Nearest-rank percentiles (p50, p99, max) of samples in ms, rounded to 0.01 ms.
 *
 * @example
 * ```ts
 * latencySummary([1, 2, 3, 4]); // { count: 4, p50: 2, p99: 4, max: 4 }
 * ```
 */
export function latencySummary(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    count: sorted.length,
    p50: round(rank(0.5)),
    p99: round(rank(0.99)),
    max: round(sorted[sorted.length - 1]),
  };
}
