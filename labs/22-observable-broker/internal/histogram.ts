/**
 * A latency histogram with fixed, Prometheus-style buckets (cumulative counts, sum,
 * count) and a bounded ring of the most recent samples for percentiles in `stats` log
 * events. Memory is fixed at construction: nothing grows with traffic.
 *
 * @module
 */
import { type LatencySummary, latencySummary } from "@lib/async/mod.ts";

/** Upper bounds in seconds of the default latency buckets (10 µs .. 10 s). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.00001,
  0.000025,
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  10,
];

/** A histogram's state as exported (seconds). */
export interface HistogramSnapshot {
  /** Upper bounds (seconds), ascending, without +Inf. */
  bounds: readonly number[];
  /** Cumulative count of samples <= each bound (same length as `bounds`). */
  cumulative: number[];
  /** All samples (the +Inf bucket). */
  count: number;
  /** Sum of all samples in seconds. */
  sum: number;
}

/**
 * Fixed buckets plus the last `recent` samples.
 *
 * @example
 * ```ts
 * import { Histogram } from "./histogram.ts";
 * const h = new Histogram({ recent: 4 });
 * h.observeMs(0.2);
 * h.observeMs(3);
 * h.snapshot().count; // 2
 * h.summary(); // { count: 2, p50: 0.2, p99: 3, max: 3 }
 * ```
 */
export class Histogram {
  readonly #boundsMs: Float64Array;
  readonly #bounds: readonly number[];
  readonly #counts: Float64Array;
  #count = 0;
  #sumMs = 0;
  readonly #ring: Float64Array;
  #ringNext = 0;
  #ringSize = 0;

  constructor(options: { bounds?: readonly number[]; recent?: number } = {}) {
    const bounds = options.bounds ?? LATENCY_BUCKETS_SECONDS;
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i] > bounds[i - 1])) {
        throw new RangeError(`expected ascending bucket bounds, got ${bounds.join(",")}`);
      }
    }
    this.#bounds = bounds;
    this.#boundsMs = Float64Array.from(bounds, (b) => b * 1000);
    this.#counts = new Float64Array(bounds.length);
    this.#ring = new Float64Array(Math.max(1, options.recent ?? 1024));
  }

  /** Records one sample in milliseconds (negative values count as 0). */
  observeMs(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const b = this.#boundsMs;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    if (i < b.length) this.#counts[i]++;
    this.#count++;
    this.#sumMs += v;
    this.#ring[this.#ringNext] = v;
    this.#ringNext = (this.#ringNext + 1) % this.#ring.length;
    if (this.#ringSize < this.#ring.length) this.#ringSize++;
  }

  /** Samples recorded since the start. */
  get count(): number {
    return this.#count;
  }

  /** Cumulative buckets, count and sum, in seconds (the Prometheus view). */
  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (const c of this.#counts) cumulative.push(running += c);
    return { bounds: this.#bounds, cumulative, count: this.#count, sum: this.#sumMs / 1000 };
  }

  /** Count of all samples and p50/p99/max (ms) of the recent ones. */
  summary(): LatencySummary {
    const recent = latencySummary(this.#ring.subarray(0, this.#ringSize));
    return { ...recent, count: this.#count };
  }
}
