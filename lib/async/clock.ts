/**
 * One clock interface for every sans-IO part: a monotonic `now()` in ms plus timers, with
 * a real implementation and a manual one that tests advance without sleeping.
 *
 * @module
 */

/** A cancellable timer. */
export interface TimerHandle {
  /** Cancels the timer; a no-op once it has fired. */
  cancel(): void;
}

/** Time and timers. All times are monotonic milliseconds (never wall-clock). */
export interface Clock {
  /** Monotonic ms (may be fractional); only differences mean anything. */
  now(): number;
  /** Runs `fn` once, `ms` from now. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Waits `ms`; resolves early (never rejects) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The real clock: `performance.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * import { systemClock } from "@lib/async/mod.ts";
 * const t0 = systemClock.now();
 * await systemClock.sleep(5);
 * console.log(systemClock.now() - t0 >= 4); // true
 * ```
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const id = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(id) };
  },
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(id);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const id = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    });
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told: `advance(ms)` runs every timer due in that span, in
 * time order (ties in creation order), each seeing `now()` at its own due time.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * const clock = new ManualClock();
 * const fired: number[] = [];
 * clock.setTimer(10, () => fired.push(clock.now()));
 * const slept = clock.sleep(25).then(() => fired.push(clock.now()));
 * await clock.advance(30);
 * await slept;
 * console.log(fired); // [10, 25]
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = {
      at: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const handle = this.setTimer(ms, () => {
        signal?.removeEventListener("abort", aborted);
        resolve();
      });
      const aborted = () => {
        handle.cancel();
        resolve();
      };
      signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  /**
   * Moves time forward by `ms`, running due timers in order; awaits a microtask turn after
   * each so promise chains woken by a timer (e.g. a `sleep`) run before the next one.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`expected ms >= 0, got ${ms}`);
    const end = this.#now + ms;
    for (;;) {
      const due = this.#timers
        .filter((t) => !t.cancelled && t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due && !t.cancelled);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
      await flushMicrotasks();
    }
    this.#now = end;
    await flushMicrotasks();
  }

  /** Sets the time (never backwards) without running timers in between; for `now()`-only logic. */
  set(now: number): void {
    if (now < this.#now) throw new RangeError(`expected a time >= ${this.#now}, got ${now}`);
    this.#now = now;
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
