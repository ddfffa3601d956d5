/**
 * A sender's bounded window of sent-but-unacknowledged messages: the backpressure point
 * (nothing new is sent while it is full) and the at-least-once retry list (a message not
 * acknowledged by its deadline is due again, with the timeout doubling per attempt up to
 * a cap).
 *
 * @module
 */
import type { Clock } from "../async/clock.ts";

/** One unacknowledged message. */
export interface Unacked<T> {
  seq: number;
  payload: T;
  /** What it weighs (e.g. lines or bytes), summed in {@link RetransmitWindow.weight}. */
  weight: number;
  /** How many times it was sent. */
  attempts: number;
  /** When it is due again (the clock's ms). */
  deadline: number;
}

/** Options of {@link RetransmitWindow}. */
export interface RetransmitWindowOptions {
  /** Most messages in flight at once (> 0). */
  capacity: number;
  /** Time to wait for the first ack before sending again (ms). */
  ackTimeoutMs: number;
  /** Upper bound of the doubled timeout (ms, default 8 × ackTimeoutMs). */
  maxTimeoutMs?: number;
  /** Time source (`systemClock` in a role, `ManualClock` in tests). */
  clock: Clock;
}

/**
 * A bounded map of in-flight messages keyed by sequence number, with resend deadlines.
 *
 * @example
 * ```ts
 * import { systemClock } from "@lib/async/mod.ts";
 * import { RetransmitWindow } from "@lib/patterns/mod.ts";
 * const w = new RetransmitWindow<string>({ capacity: 2, ackTimeoutMs: 1000, clock: systemClock });
 * await w.waitForSpace();
 * w.add(0, "payload", 1);
 * w.due(); // [] until a second has passed, then [{ seq: 0, attempts: 2, ... }]
 * w.ack(0); // the entry, or undefined for an unknown / repeated ack
 * ```
 */
export class RetransmitWindow<T> {
  readonly capacity: number;
  #pending = new Map<number, Unacked<T>>();
  #ackTimeout: number;
  #maxTimeout: number;
  #clock: Clock;
  #waiters: (() => void)[] = [];
  #weight = 0;
  #retransmits = 0;

  constructor(options: RetransmitWindowOptions) {
    if (!(options.capacity > 0)) {
      throw new RangeError(`capacity: expected > 0, got ${options.capacity}`);
    }
    if (!(options.ackTimeoutMs > 0)) {
      throw new RangeError(`ackTimeoutMs: expected > 0, got ${options.ackTimeoutMs}`);
    }
    this.capacity = options.capacity;
    this.#ackTimeout = options.ackTimeoutMs;
    this.#maxTimeout = options.maxTimeoutMs ?? options.ackTimeoutMs * 8;
    this.#clock = options.clock;
  }

  /** Messages in flight. */
  get size(): number {
    return this.#pending.size;
  }

  /** Total weight in flight. */
  get weight(): number {
    return this.#weight;
  }

  /** Whether no new message may be sent. */
  get full(): boolean {
    return this.#pending.size >= this.capacity;
  }

  /** Sequence number of the oldest message in flight, or null. */
  get oldest(): number | null {
    for (const seq of this.#pending.keys()) return seq;
    return null;
  }

  /** The entry of `seq` while it is in flight. */
  get(seq: number): Unacked<T> | undefined {
    return this.#pending.get(seq);
  }

  /** Adds a message being sent now. Throws when the window is full or `seq` is in flight. */
  add(seq: number, payload: T, weight = 1): Unacked<T> {
    if (this.full) {
      throw new Error(`window full: expected fewer than ${this.capacity} messages in flight`);
    }
    if (this.#pending.has(seq)) {
      throw new Error(`seq ${seq}: expected a new seq, got one in flight`);
    }
    const entry = {
      seq,
      payload,
      weight,
      attempts: 1,
      deadline: this.#clock.now() + this.#ackTimeout,
    };
    this.#pending.set(seq, entry);
    this.#weight += weight;
    return entry;
  }

  /** Removes an acknowledged message; undefined when it was not in flight (a repeated ack). */
  ack(seq: number): Unacked<T> | undefined {
    const entry = this.#pending.get(seq);
    if (!entry) return undefined;
    this.#pending.delete(seq);
    this.#weight -= entry.weight;
    this.#wake();
    return entry;
  }

  /**
   * Messages whose deadline passed, oldest first. Each counts as sent again now: its
   * attempt count goes up and its next timeout doubles (capped at `maxTimeoutMs`).
   */
  due(): Unacked<T>[] {
    const now = this.#clock.now();
    const out: Unacked<T>[] = [];
    for (const entry of this.#pending.values()) {
      if (entry.deadline > now) continue;
      const timeout = Math.min(this.#ackTimeout * 2 ** entry.attempts, this.#maxTimeout);
      entry.attempts++;
      entry.deadline = now + timeout;
      out.push(entry);
    }
    this.#retransmits += out.length;
    return out;
  }

  /** Resolves when a message may be added (at once if there is room) or `signal` aborts. */
  waitForSpace(signal?: AbortSignal): Promise<void> {
    return this.#waitUntil(() => !this.full, signal);
  }

  /** Resolves when nothing is in flight or `signal` aborts. */
  waitForEmpty(signal?: AbortSignal): Promise<void> {
    return this.#waitUntil(() => this.#pending.size === 0, signal);
  }

  /** True when nothing is in flight. */
  settled(): boolean {
    return this.#pending.size === 0;
  }

  /** Gauges and counters for a `stats` line. */
  stats(): { in_flight: number; weight: number; capacity: number; retransmits: number } {
    return {
      in_flight: this.#pending.size,
      weight: this.#weight,
      capacity: this.capacity,
      retransmits: this.#retransmits,
    };
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
