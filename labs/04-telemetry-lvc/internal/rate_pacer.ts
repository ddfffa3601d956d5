/**
 * Paces a publisher to a target rate without drift: the number of sends due is computed
 * from elapsed time, not accumulated sleeps.
 *
 * @module
 */

/**
 * Tells how many sends are due at a given time for `rate` per second (0 = unlimited).
 *
 * @example
 * ```ts
 * const pacer = new RatePacer(1000, 100, performance.now());
 * const n = pacer.due(performance.now()); // send n now, then pacer.sent(n)
 * ```
 */
export class RatePacer {
  readonly #rate: number;
  readonly #maxBurst: number;
  #start: number;
  #sent = 0;

  /**
   * @param rate sends per second (0 = as fast as possible)
   * @param maxBurst most sends reported due at once (catching up after a stall is capped)
   * @param start clock reading (ms) at the start
   */
  constructor(rate: number, maxBurst: number, start: number) {
    if (!(rate >= 0) || !(maxBurst >= 1)) {
      throw new RangeError(`expected rate >= 0 and maxBurst >= 1, got ${rate} and ${maxBurst}`);
    }
    this.#rate = rate;
    this.#maxBurst = maxBurst;
    this.#start = start;
  }

  /** Sends due now (never more than maxBurst). */
  due(now: number): number {
    if (this.#rate === 0) return this.#maxBurst;
    const target = Math.floor(((now - this.#start) * this.#rate) / 1000);
    const due = target - this.#sent;
    if (due > this.#maxBurst) {
      // Behind by more than a burst (e.g. the process was stalled): forget the backlog.
      this.#sent = target - this.#maxBurst;
      return this.#maxBurst;
    }
    return Math.max(0, due);
  }

  /** Records `n` sends. */
  sent(n: number): void {
    this.#sent += n;
  }

  /** ms from `now` until the next send is due (0 when one is due already). */
  waitMs(now: number): number {
    if (this.#rate === 0) return 0;
    const nextAt = this.#start + ((this.#sent + 1) * 1000) / this.#rate;
    return Math.max(0, nextAt - now);
  }
}
