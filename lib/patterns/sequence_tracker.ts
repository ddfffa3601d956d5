/**
 * Sequence gaps and restarts, per peer.
 *
 * A peer numbers its messages 0, 1, 2, ... within one epoch (a boot id, an incarnation, a
 * session). A jump forward is a gap (messages lost on the way, e.g. dropped at a
 * high-water mark). A different epoch is a restart: the peer started again and its
 * numbering starts over, so no gap is counted across it. A number at or below the last one
 * of the same epoch is stale (a duplicate or a replay) and changes nothing.
 *
 * @module
 */

/** What is remembered of one peer. */
export interface SequencePosition {
  epoch: string;
  lastSeq: number;
}

/** The verdict on one message. */
export type SequenceVerdict =
  | { kind: "first" }
  | { kind: "next" }
  | { kind: "gap"; expected: number; got: number; missing: number }
  | { kind: "restart"; previousEpoch: string; previousSeq: number }
  | { kind: "stale"; lastSeq: number; got: number };

/**
 * Judges one message against the peer's previous position. Pure: the caller stores
 * `{ epoch, lastSeq: seq }` unless the verdict is `stale` ({@link SequenceTracker} does).
 *
 * @example
 * ```ts
 * import { judgeSequence } from "@lib/patterns/mod.ts";
 * judgeSequence({ epoch: "b1", lastSeq: 4 }, "b1", 7); // { kind: "gap", expected: 5, got: 7, missing: 2 }
 * judgeSequence({ epoch: "b1", lastSeq: 4 }, "b2", 0).kind; // "restart"
 * ```
 */
export function judgeSequence(
  previous: SequencePosition | undefined,
  epoch: string,
  seq: number,
): SequenceVerdict {
  if (!previous) return { kind: "first" };
  if (previous.epoch !== epoch) {
    return { kind: "restart", previousEpoch: previous.epoch, previousSeq: previous.lastSeq };
  }
  if (seq <= previous.lastSeq) return { kind: "stale", lastSeq: previous.lastSeq, got: seq };
  const expected = previous.lastSeq + 1;
  if (seq === expected) return { kind: "next" };
  return { kind: "gap", expected, got: seq, missing: seq - expected };
}

/** Options of {@link SequenceTracker}. */
export interface SequenceTrackerOptions {
  /**
   * Count jumps forward as gaps (default true). False for a filtered feed, where a peer's
   * messages arrive only some of the time (e.g. alerts only): the verdict still says `gap`.
   */
  countGaps?: boolean;
}

/** One peer's position and counters. */
export interface PeerSequence extends SequencePosition {
  /** Gaps seen (jumps forward). */
  gaps: number;
  /** Messages missing in those gaps. */
  missing: number;
  /** Epoch changes. */
  restarts: number;
  /** Stale (duplicate or replayed) messages. */
  stale: number;
}

/** Totals over every peer ever tracked (forgetting a peer keeps them). */
export interface SequenceTotals {
  peers: number;
  gaps: number;
  missing: number;
  restarts: number;
  stale: number;
}

/**
 * Per-peer positions and counters: `observe(peer, epoch, seq)` judges a message and, unless
 * it is stale, moves the peer's position.
 *
 * @example
 * ```ts
 * import { SequenceTracker } from "@lib/patterns/mod.ts";
 *
 * const seqs = new SequenceTracker<string>();
 * seqs.observe("n1", "boot-1", 0); // { kind: "first" }
 * seqs.observe("n1", "boot-1", 3); // { kind: "gap", expected: 1, got: 3, missing: 2 }
 * seqs.observe("n1", "boot-2", 0).kind; // "restart"
 * seqs.totals(); // { peers: 1, gaps: 1, missing: 2, restarts: 1, stale: 0 }
 * ```
 */
export class SequenceTracker<K> {
  readonly #countGaps: boolean;
  readonly #peers = new Map<K, PeerSequence>();
  #gaps = 0;
  #missing = 0;
  #restarts = 0;
  #stale = 0;

  constructor(options: SequenceTrackerOptions = {}) {
    this.#countGaps = options.countGaps ?? true;
  }

  /** Judges one message of `peer` and records it. */
  observe(peer: K, epoch: string, seq: number): SequenceVerdict {
    const record = this.#peers.get(peer);
    const verdict = judgeSequence(record, epoch, seq);
    switch (verdict.kind) {
      case "first":
        this.#peers.set(peer, { epoch, lastSeq: seq, gaps: 0, missing: 0, restarts: 0, stale: 0 });
        return verdict;
      case "stale":
        record!.stale++;
        this.#stale++;
        return verdict;
      case "gap":
        if (this.#countGaps) {
          record!.gaps++;
          record!.missing += verdict.missing;
          this.#gaps++;
          this.#missing += verdict.missing;
        }
        break;
      case "restart":
        record!.restarts++;
        this.#restarts++;
        break;
    }
    record!.epoch = epoch;
    record!.lastSeq = seq;
    return verdict;
  }

  /** The position and counters of `peer` (a live view; undefined if never seen). */
  peer(peer: K): Readonly<PeerSequence> | undefined {
    return this.#peers.get(peer);
  }

  /** Forgets `peer`: its next message is `first` again. */
  forget(peer: K): boolean {
    return this.#peers.delete(peer);
  }

  /** Number of peers tracked. */
  get size(): number {
    return this.#peers.size;
  }

  /** Totals (peers = tracked now). */
  totals(): SequenceTotals {
    return {
      peers: this.#peers.size,
      gaps: this.#gaps,
      missing: this.#missing,
      restarts: this.#restarts,
      stale: this.#stale,
    };
  }
}
