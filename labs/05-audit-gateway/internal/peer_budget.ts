/**
 * Per-peer budgets for bad input: a peer (by routing id) that sends mostly garbage is
 * ignored for a while, so one hostile or broken client cannot make the gateway spend its
 * time decoding and logging garbage while honest peers wait.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";

/** Options of {@link PeerBudget}. */
export interface PeerBudgetOptions {
  /** Length of one counting window, ms (default 1000). */
  windowMs?: number;
  /** Bad messages in one window that throttle a peer, if it also sent more bad than good (default 20). */
  maxBad?: number;
  /** How long a throttled peer is ignored, ms (default 5000). */
  penaltyMs?: number;
  /** Peers tracked at most; the oldest is forgotten first (default 4096). */
  maxPeers?: number;
}

interface PeerState {
  windowStart: number;
  bad: number;
  good: number;
  until: number;
}

/**
 * Counts good and bad messages per peer in tumbling windows; a peer with at least `maxBad`
 * bad messages in a window, and more bad than good, is throttled for `penaltyMs`. Only
 * peers that sent something bad are tracked, so honest traffic costs one map lookup.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { PeerBudget } from "./peer_budget.ts";
 * const budget = new PeerBudget(new ManualClock(), { maxBad: 2, penaltyMs: 100 });
 * budget.bad("p1");
 * budget.bad("p1"); // true: throttled from now on
 * budget.admit("p1"); // false for the next 100 ms
 * ```
 */
export class PeerBudget {
  #clock: Clock;
  #windowMs: number;
  #maxBad: number;
  #penaltyMs: number;
  #maxPeers: number;
  #peers = new Map<string, PeerState>();
  /** Peers throttled since start. */
  throttled = 0;

  constructor(clock: Clock, options: PeerBudgetOptions = {}) {
    this.#clock = clock;
    this.#windowMs = options.windowMs ?? 1000;
    this.#maxBad = options.maxBad ?? 20;
    this.#penaltyMs = options.penaltyMs ?? 5000;
    this.#maxPeers = options.maxPeers ?? 4096;
  }

  /** Peers tracked now. */
  get size(): number {
    return this.#peers.size;
  }

  /** False while `peer` is throttled: drop its message unread. */
  admit(peer: string): boolean {
    const state = this.#peers.get(peer);
    return state === undefined || state.until <= this.#clock.now();
  }

  /** Counts a good message (only for peers already tracked). */
  good(peer: string): void {
    const state = this.#peers.get(peer);
    if (state) this.#roll(state).good++;
  }

  /** Counts a bad message; true when this one throttles the peer. */
  bad(peer: string): boolean {
    let state = this.#peers.get(peer);
    if (state === undefined) {
      if (this.#peers.size >= this.#maxPeers) {
        this.#peers.delete(this.#peers.keys().next().value as string);
      }
      state = { windowStart: this.#clock.now(), bad: 0, good: 0, until: 0 };
      this.#peers.set(peer, state);
    }
    this.#roll(state).bad++;
    if (state.bad >= this.#maxBad && state.bad > state.good) {
      state.until = this.#clock.now() + this.#penaltyMs;
      state.bad = 0;
      state.good = 0;
      this.throttled++;
      return true;
    }
    return false;
  }

  /** How long a throttle lasts, ms. */
  get penaltyMs(): number {
    return this.#penaltyMs;
  }

  #roll(state: PeerState): PeerState {
    const now = this.#clock.now();
    if (now - state.windowStart >= this.#windowMs) {
      state.windowStart = now;
      state.bad = 0;
      state.good = 0;
    }
    return state;
  }
}
