/**
 * Peer liveness with hysteresis, judged on the receiver's own monotonic clock (never a
 * timestamp the peer sent).
 *
 * - A peer becomes `suspect` after more than `suspectAfter` intervals of silence and `dead`
 *   after more than `deadAfter` intervals. One late message (later than one interval but
 *   within `suspectAfter`) changes nothing.
 * - Becoming `alive` (from `unknown`, `suspect` or `dead`) takes `rise` consecutive timely
 *   messages (each within `suspectAfter` intervals of the previous one), so a peer that
 *   speaks once and goes quiet again does not flap to alive. A message from a dead peer
 *   moves it to `suspect` at once: it evidently runs, but is not trusted yet.
 *
 * The rules are the table {@link PEER_LIVENESS_TABLE} (print it with `tableMarkdown`).
 *
 * @module
 */

import type { Clock } from "../async/clock.ts";
import { type FsmTable, step } from "./fsm.ts";

/** Liveness states. */
export type PeerState = "unknown" | "alive" | "suspect" | "dead";

/** What moves a peer: a message heard, or silence past a threshold (seen by `tick`). */
export type PeerLivenessEvent = "heard" | "silent_suspect" | "silent_dead";

/**
 * The liveness state machine. Guard `risen`: the peer has sent `rise` consecutive timely
 * messages. A missing cell means "no change".
 */
export const PEER_LIVENESS_TABLE: FsmTable<PeerState, PeerLivenessEvent, never> = {
  states: ["unknown", "alive", "suspect", "dead"],
  events: ["heard", "silent_suspect", "silent_dead"],
  initial: "unknown",
  cells: {
    unknown: {
      heard: [{ next: "alive", when: "risen" }, { next: "unknown" }],
      silent_suspect: { next: "suspect" },
      silent_dead: { next: "dead" },
    },
    alive: {
      heard: { next: "alive" },
      silent_suspect: { next: "suspect" },
      silent_dead: { next: "dead" },
    },
    suspect: {
      heard: [{ next: "alive", when: "risen" }, { next: "suspect" }],
      silent_dead: { next: "dead" },
    },
    dead: {
      heard: [{ next: "alive", when: "risen" }, { next: "suspect" }],
    },
  },
};

/** Options of {@link PeerLiveness}. */
export interface PeerLivenessOptions {
  /** The receiver's monotonic clock (`systemClock`; `ManualClock` in tests). */
  clock: Clock;
  /** Expected interval between two messages of a peer, in ms. */
  intervalMs: number;
  /** Silence (in intervals) beyond which a peer is suspect (default 2). */
  suspectAfter?: number;
  /** Silence (in intervals) beyond which a peer is dead (default 3). */
  deadAfter?: number;
  /** Consecutive timely messages needed to become alive (default 2). */
  rise?: number;
}

/** A state change of one peer. */
export interface LivenessChange<K> {
  peer: K;
  from: PeerState;
  to: PeerState;
  /** Whole ms since the peer's previous message when the change was decided. */
  silentMs: number;
  /** Whole intervals missed (`floor(silentMs / intervalMs)`). */
  missed: number;
}

/** Counters of a {@link PeerLiveness}. */
export interface PeerLivenessStats {
  peers: number;
  alive: number;
  suspect: number;
  dead: number;
  unknown: number;
}

interface Entry {
  state: PeerState;
  last: number;
  streak: number;
}

/**
 * Tracks many peers by id: call `heard(peer)` per message and `tick()` a few times per
 * interval; both return the state changes they cause.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { PeerLiveness } from "@lib/patterns/mod.ts";
 *
 * const clock = new ManualClock();
 * const peers = new PeerLiveness<string>({ clock, intervalMs: 1000 });
 * peers.heard("p1");
 * clock.set(1000);
 * peers.heard("p1"); // { peer: "p1", from: "unknown", to: "alive", silentMs: 1000, missed: 1 }
 * clock.set(3500);
 * peers.tick(); // [{ peer: "p1", from: "alive", to: "suspect", silentMs: 2500, missed: 2 }]
 * ```
 */
export class PeerLiveness<K> {
  readonly intervalMs: number;
  /** Silence in ms beyond which a peer is suspect. */
  readonly suspectMs: number;
  /** Silence in ms beyond which a peer is dead. */
  readonly deadMs: number;
  readonly rise: number;
  readonly #clock: Clock;
  readonly #entries = new Map<K, Entry>();

  constructor(options: PeerLivenessOptions) {
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
    const rise = options.rise ?? 2;
    if (!(Number.isInteger(rise) && rise >= 1)) {
      throw new RangeError(`rise: expected an integer >= 1, got ${rise}`);
    }
    this.#clock = options.clock;
    this.intervalMs = options.intervalMs;
    this.suspectMs = suspectAfter * options.intervalMs;
    this.deadMs = deadAfter * options.intervalMs;
    this.rise = rise;
  }

  /** Records a message from `peer` at `now`; returns the state change it causes, if any. */
  heard(peer: K, now: number = this.#clock.now()): LivenessChange<K> | undefined {
    let entry = this.#entries.get(peer);
    let gap = 0;
    if (!entry) {
      entry = { state: "unknown", last: now, streak: 1 };
      this.#entries.set(peer, entry);
    } else {
      gap = now - entry.last;
      entry.streak = gap <= this.suspectMs ? entry.streak + 1 : 1;
      entry.last = now;
    }
    const streak = entry.streak;
    return this.#fire(peer, entry, "heard", gap, { risen: () => streak >= this.rise });
  }

  /** Applies silence up to `now`; returns the state changes, in insertion order of peers. */
  tick(now: number = this.#clock.now()): LivenessChange<K>[] {
    const out: LivenessChange<K>[] = [];
    for (const [peer, entry] of this.#entries) {
      const silent = now - entry.last;
      const event = silent > this.deadMs
        ? "silent_dead"
        : silent > this.suspectMs
        ? "silent_suspect"
        : undefined;
      const change = event && this.#fire(peer, entry, event, silent);
      if (change) out.push(change);
    }
    return out;
  }

  /** The state of `peer` (`unknown` if never heard). */
  state(peer: K): PeerState {
    return this.#entries.get(peer)?.state ?? "unknown";
  }

  /** Whole ms since `peer`'s last message at `now` (undefined if never heard). */
  silentMs(peer: K, now: number = this.#clock.now()): number | undefined {
    const entry = this.#entries.get(peer);
    return entry ? Math.round(now - entry.last) : undefined;
  }

  /** Forgets `peer` (e.g. it said goodbye, or a bound on peers evicts it). */
  forget(peer: K): boolean {
    return this.#entries.delete(peer);
  }

  /** Number of peers tracked. */
  get size(): number {
    return this.#entries.size;
  }

  /** Peers per state. */
  stats(): PeerLivenessStats {
    const s: PeerLivenessStats = { peers: 0, alive: 0, suspect: 0, dead: 0, unknown: 0 };
    for (const entry of this.#entries.values()) {
      s.peers++;
      s[entry.state]++;
    }
    return s;
  }

  #fire(
    peer: K,
    entry: Entry,
    event: PeerLivenessEvent,
    silentMs: number,
    guards: Record<string, () => boolean> = {},
  ): LivenessChange<K> | undefined {
    const result = step(PEER_LIVENESS_TABLE, entry.state, event, guards);
    if (!result.ok || result.next === entry.state) return undefined;
    const from = entry.state;
    const to = result.next;
    entry.state = to;
    // Trust is earned again from scratch after silence; a dead peer that speaks keeps the
    // message it just sent as the first of its new streak.
    if (event !== "heard") entry.streak = 0;
    const silent = Math.round(silentMs);
    return { peer, from, to, silentMs: silent, missed: Math.floor(silent / this.intervalMs) };
  }
}
