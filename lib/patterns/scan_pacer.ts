/**
 * Paces the allow-list directory poll: a scan (a stat of every certificate) may take a
 * while with thousands of files, so the next one waits `ratio` times as long as the last
 * one took. The poll then costs at most about 1 / (1 + ratio) of a core, however large the
 * directory is (10 000 certificates polled every second used to keep ~40 % of a core busy).
 *
 * @module
 */

/**
 * When the next directory scan may start.
 *
 * @example
 * ```ts
 * import { ScanPacer } from "@lib/patterns/mod.ts";
 * const pacer = new ScanPacer(9);
 * pacer.due(0); // true
 * pacer.done(0, 300); // the scan took 300 ms
 * pacer.due(1000); // false: not before 300 + 9 * 300 = 3000
 * pacer.due(3000); // true
 * ```
 */
export class ScanPacer {
  #ratio: number;
  #nextAt = -Infinity;

  /** `ratio`: idle time per unit of scan time (9: a scan uses at most ~10 % of the time). */
  constructor(ratio = 9) {
    this.#ratio = ratio;
  }

  /** Whether a scan may start at `now` (ms, any monotonic clock). */
  due(now: number): boolean {
    return now >= this.#nextAt;
  }

  /** Records a scan that ran from `startedAt` to `endedAt`. */
  done(startedAt: number, endedAt: number): void {
    this.#nextAt = endedAt + this.#ratio * Math.max(0, endedAt - startedAt);
  }
}
