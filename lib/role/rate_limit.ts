/**
 * A per-key rate limiter for repeated log lines: the first occurrence of a key passes, then
 * at most one per window, carrying how many were suppressed since the last one that
 * passed. Bounded twice against hostile input that varies the key: in keys remembered, and
 * in lines per group (an event name) per window.
 *
 * @module
 */

/**
 * What {@link RateLimiter.check} decided.
 *
 * @example
 * ```ts
 * import { type RateDecision, RateLimiter } from "@lib/role/mod.ts";
 * const decision: RateDecision = new RateLimiter().check("k");
 * console.log(decision.allowed); // true
 * ```
 */
export interface RateDecision {
  /** Write this one. */
  allowed: boolean;
  /** With `allowed`: how many of this key were dropped since the last written one. */
  suppressed: number;
}

/**
 * Options of {@link RateLimiter}.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { RateLimiter, type RateLimiterOptions } from "@lib/role/mod.ts";
 * const options: RateLimiterOptions = { windowMs: 1000, clock: new ManualClock() };
 * new RateLimiter(options);
 * ```
 */
export interface RateLimiterOptions {
  /** Minimum ms between two written lines of one key (default 5000). */
  windowMs?: number;
  /** Keys remembered at most (default 1024); the oldest is forgotten first. */
  maxKeys?: number;
  /**
   * Lines written at most per group (e.g. all `bad_message` keys) per window (default 16):
   * input that makes every key new cannot get one line per message.
   */
  maxPerGroup?: number;
  /** Monotonic time source (default `performance.now`); a `Clock` from `@lib/async` fits. */
  clock?: { now(): number };
  /** Monotonic ms; the older spelling of `clock`. */
  now?: () => number;
}

interface KeyState {
  last: number;
  suppressed: number;
}

interface GroupState {
  windowStart: number;
  written: number;
}

/**
 * Decides, per key, whether a repeated line is written.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "@lib/role/mod.ts";
 * let t = 0;
 * const limiter = new RateLimiter({ windowMs: 1000, clock: { now: () => t } });
 * limiter.check("bad_message:garbage"); // { allowed: true, suppressed: 0 }
 * limiter.check("bad_message:garbage"); // { allowed: false, suppressed: 0 }
 * t = 1500;
 * limiter.check("bad_message:garbage"); // { allowed: true, suppressed: 1 }
 * ```
 */
export class RateLimiter {
  /** Minimum ms between two written lines of one key. */
  readonly windowMs: number;
  readonly #maxKeys: number;
  readonly #maxPerGroup: number;
  readonly #now: () => number;
  #keys = new Map<string, KeyState>();
  #groups = new Map<string, GroupState>();

  constructor(options: RateLimiterOptions = {}) {
    this.windowMs = options.windowMs ?? 5000;
    this.#maxKeys = Math.max(1, options.maxKeys ?? 1024);
    this.#maxPerGroup = Math.max(1, options.maxPerGroup ?? 16);
    const clock = options.clock;
    this.#now = clock ? () => clock.now() : options.now ?? (() => performance.now());
  }

  /**
   * Decides for one occurrence of `key`. With `group`, at most `maxPerGroup` lines of
   * the group pass per window; a line held back that way counts as suppressed for its key.
   */
  check(key: string, group?: string): RateDecision {
    const now = this.#now();
    let state = this.#keys.get(key);
    if (state && now - state.last < this.windowMs) {
      state.suppressed++;
      return { allowed: false, suppressed: 0 };
    }
    if (!state) {
      if (this.#keys.size >= this.#maxKeys) {
        this.#keys.delete(this.#keys.keys().next().value as string);
      }
      state = { last: -Infinity, suppressed: 0 };
      this.#keys.set(key, state);
    }
    if (group !== undefined && !this.#groupAllows(group, now)) {
      state.suppressed++;
      return { allowed: false, suppressed: 0 };
    }
    const suppressed = state.suppressed;
    state.last = now;
    state.suppressed = 0;
    return { allowed: true, suppressed };
  }

  #groupAllows(group: string, now: number): boolean {
    let state = this.#groups.get(group);
    if (!state || now - state.windowStart >= this.windowMs) {
      if (!state && this.#groups.size >= this.#maxKeys) {
        this.#groups.delete(this.#groups.keys().next().value as string);
      }
      state = { windowStart: now, written: 0 };
      this.#groups.set(group, state);
    }
    if (state.written >= this.#maxPerGroup) return false;
    state.written++;
    return true;
  }
}
