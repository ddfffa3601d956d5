/**
 * Liveness by missed intervals on the receiver's own monotonic clock, with hysteresis.
 *
 * - A node becomes `suspect` after more than `suspectAfter` intervals of silence, and
 *   `dead` after more than `deadAfter` intervals. One late beat (later than one interval
 *   but within `suspectAfter`) changes nothing.
 * - Leaving `unknown`, `suspect` or `dead` for `alive` takes `rise` consecutive timely
 *   beats (each within `suspectAfter` intervals of the previous one), so a node that beats
 *   once and goes quiet again does not flap to alive. A beat from a dead node moves it to
 *   `suspect` at once (it is evidently running, not yet trusted).
 *
 * The clock is passed in (`performance.now()` in production), never the sender's `ts`.
 *
 * @module
 */

/** Liveness states. */
export type NodeState = "unknown" | "alive" | "suspect" | "dead";

/** Thresholds, in intervals of `intervalMs`. */
export interface LivenessOptions {
  /** Expected heartbeat interval in ms. */
  intervalMs: number;
  /** Silence (in intervals) beyond which a node is suspect (default 2). */
  suspectAfter?: number;
  /** Silence (in intervals) beyond which a node is dead (default 3). */
  deadAfter?: number;
  /** Consecutive timely beats needed to become alive (default 2). */
  rise?: number;
}

/** A state change. */
export interface Transition<K> {
  key: K;
  from: NodeState;
  to: NodeState;
  /** Monotonic ms since the last beat when the change was decided. */
  silentMs: number;
  /** Whole intervals missed (`floor(silentMs / intervalMs)`). */
  missed: number;
}

interface Entry {
  state: NodeState;
  last: number;
  streak: number;
}

/**
 * Tracks many nodes; feed it `beat(key, now)` and call `tick(now)` a few times per interval.
 *
 * @example
 * ```ts
 * const tracker = new LivenessTracker<string>({ intervalMs: 1000 });
 * tracker.beat("A/a-01", performance.now());
 * for (const t of tracker.tick(performance.now())) console.log(t.key, t.from, "->", t.to);
 * ```
 */
export class LivenessTracker<K> {
  readonly intervalMs: number;
  readonly suspectMs: number;
  readonly deadMs: number;
  readonly rise: number;
  readonly #entries = new Map<K, Entry>();

  constructor(options: LivenessOptions) {
    const suspectAfter = options.suspectAfter ?? 2;
    const deadAfter = options.deadAfter ?? 3;
    if (!(options.intervalMs > 0)) {
      throw new RangeError(`intervalMs: expected > 0, got ${options.intervalMs}`);
    }
    if (!(suspectAfter >= 1 && deadAfter > suspectAfter)) {
      throw new RangeError(
        `expected 1 <= suspectAfter < deadAfter, got suspectAfter=${suspectAfter} deadAfter=${deadAfter}`,
      );
    }
    this.intervalMs = options.intervalMs;
    this.suspectMs = suspectAfter * options.intervalMs;
    this.deadMs = deadAfter * options.intervalMs;
    this.rise = Math.max(1, options.rise ?? 2);
  }

  /** Records a beat at monotonic time `now`; returns the state change it causes, if any. */
  beat(key: K, now: number): Transition<K> | undefined {
    const entry = this.#entries.get(key);
    if (!entry) {
      const fresh: Entry = { state: "unknown", last: now, streak: 1 };
      this.#entries.set(key, fresh);
      return this.rise <= 1 ? this.#move(key, fresh, "alive", 0) : undefined;
    }
    const gap = now - entry.last;
    entry.streak = gap <= this.suspectMs ? entry.streak + 1 : 1;
    entry.last = now;
    if (entry.state === "alive") return undefined;
    if (entry.streak >= this.rise) return this.#move(key, entry, "alive", gap);
    if (entry.state === "dead") return this.#move(key, entry, "suspect", gap);
    return undefined;
  }

  /** Applies silence up to monotonic time `now`; returns the state changes. */
  tick(now: number): Transition<K>[] {
    const out: Transition<K>[] = [];
    for (const [key, entry] of this.#entries) {
      const silent = now - entry.last;
      if (silent > this.deadMs) {
        if (entry.state !== "dead") out.push(this.#move(key, entry, "dead", silent));
      } else if (
        silent > this.suspectMs && (entry.state === "alive" || entry.state === "unknown")
      ) {
        out.push(this.#move(key, entry, "suspect", silent));
      }
    }
    return out;
  }

  /** The current state of `key` (`unknown` if never seen). */
  state(key: K): NodeState {
    return this.#entries.get(key)?.state ?? "unknown";
  }

  /** Monotonic ms since the last beat of `key` at `now` (undefined if never seen). */
  silentMs(key: K, now: number): number | undefined {
    const entry = this.#entries.get(key);
    return entry ? now - entry.last : undefined;
  }

  /** Number of tracked nodes. */
  get size(): number {
    return this.#entries.size;
  }

  #move(key: K, entry: Entry, to: NodeState, silentMs: number): Transition<K> {
    const from = entry.state;
    entry.state = to;
    if (to !== "alive") entry.streak = to === "suspect" && from === "dead" ? entry.streak : 0;
    return { key, from, to, silentMs, missed: Math.floor(silentMs / this.intervalMs) };
  }
}
