/**
 * The collector's bounded window of sent-but-unacknowledged batches: the backpressure
 * point (no new batch while it is full) and the at-least-once retry list (a batch not
 * acknowledged within its deadline is due for a resend, with exponential backoff).
 *
 * @module
 */

/** One unacknowledged batch. */
export interface PendingBatch<T> {
  seq: number;
  payload: T;
  /** Lines in the batch (for counts). */
  lines: number;
  /** How many times it was sent. */
  attempts: number;
  /** When it is due for a resend (ms, window clock). */
  deadline: number;
}

/** Options for {@linkcode AckWindow}. */
export interface AckWindowOptions {
  /** Most batches in flight at once (> 0). */
  capacity: number;
  /** Time to wait for the first ack before resending (ms). */
  ackTimeout: number;
  /** Upper bound of the doubled resend timeout (ms, default 8 × ackTimeout). */
  maxTimeout?: number;
  /** Clock (ms); inject one in tests. */
  now?: () => number;
}

/**
 * A bounded map of in-flight batches with resend deadlines.
 *
 * @example
 * ```ts
 * const w = new AckWindow<string[]>({ capacity: 2, ackTimeout: 1000 });
 * await w.waitForSpace();
 * w.add(0, ["line"], 1);
 * w.ack(0); // the PendingBatch, or undefined for an unknown / repeated ack
 * ```
 */
export class AckWindow<T> {
  readonly capacity: number;
  #pending = new Map<number, PendingBatch<T>>();
  #ackTimeout: number;
  #maxTimeout: number;
  #now: () => number;
  #waiters: (() => void)[] = [];
  #lines = 0;

  constructor(options: AckWindowOptions) {
    if (!(options.capacity > 0)) {
      throw new RangeError(`capacity: expected > 0, got ${options.capacity}`);
    }
    this.capacity = options.capacity;
    this.#ackTimeout = options.ackTimeout;
    this.#maxTimeout = options.maxTimeout ?? options.ackTimeout * 8;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Batches in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** Lines in flight. */
  get lines(): number {
    return this.#lines;
  }

  /** Whether no new batch may be sent. */
  get full(): boolean {
    return this.#pending.size >= this.capacity;
  }

  /** Sequence number of the oldest batch in flight, or null. */
  get oldest(): number | null {
    for (const seq of this.#pending.keys()) return seq;
    return null;
  }

  /** Adds a batch that is being sent now. Throws when the window is full. */
  add(seq: number, payload: T, lines: number): PendingBatch<T> {
    if (this.full) {
      throw new Error(`ack window full: expected fewer than ${this.capacity} batches in flight`);
    }
    if (this.#pending.has(seq)) throw new Error(`batch ${seq} is already in flight`);
    const entry = { seq, payload, lines, attempts: 1, deadline: this.#now() + this.#ackTimeout };
    this.#pending.set(seq, entry);
    this.#lines += lines;
    return entry;
  }

  /** Removes an acknowledged batch; undefined when it was not in flight (a repeated ack). */
  ack(seq: number): PendingBatch<T> | undefined {
    const entry = this.#pending.get(seq);
    if (!entry) return undefined;
    this.#pending.delete(seq);
    this.#lines -= entry.lines;
    this.#wake();
    return entry;
  }

  /**
   * Batches whose deadline passed, oldest first. Each is counted as re-sent now: its
   * attempt count goes up and its next deadline doubles (capped at `maxTimeout`).
   */
  due(): PendingBatch<T>[] {
    const now = this.#now();
    const out: PendingBatch<T>[] = [];
    for (const entry of this.#pending.values()) {
      if (entry.deadline > now) continue;
      const timeout = Math.min(this.#ackTimeout * 2 ** entry.attempts, this.#maxTimeout);
      entry.attempts++;
      entry.deadline = now + timeout;
      out.push(entry);
    }
    return out;
  }

  /** Resolves when a batch may be added (at once if there is room) or `signal` aborts. */
  waitForSpace(signal?: AbortSignal): Promise<void> {
    return this.#waitUntil(() => !this.full, signal);
  }

  /** Resolves when nothing is in flight or `signal` aborts. */
  waitForEmpty(signal?: AbortSignal): Promise<void> {
    return this.#waitUntil(() => this.#pending.size === 0, signal);
  }

  #waitUntil(ready: () => boolean, signal?: AbortSignal): Promise<void> {
    if (ready() || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (ready() || signal?.aborted) {
          signal?.removeEventListener("abort", check);
          resolve();
        } else {
          this.#waiters.push(check);
        }
      };
      signal?.addEventListener("abort", check, { once: true });
      this.#waiters.push(check);
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
