/**
 * Sequence-gap and restart detection for one node's heartbeats.
 *
 * Within one `boot_id`, `seq` counts 0, 1, 2, ... A jump forward is a gap (beats lost on the
 * way, e.g. dropped at a high-water mark). A different `boot_id` is a restart: the process
 * (or host) started again, and its `seq` starts over, so no gap is counted across it. A
 * `seq` at or below the last one of the same boot is stale (a duplicate or replay).
 *
 * @module
 */

/** What is remembered per node. */
export interface SequenceState {
  bootId: string;
  lastSeq: number;
}

/** The verdict on one heartbeat. */
export type SequenceResult =
  | { kind: "first" }
  | { kind: "next" }
  | { kind: "gap"; expected: number; got: number; missing: number }
  | { kind: "restart"; previousBootId: string; previousSeq: number }
  | { kind: "stale"; lastSeq: number; got: number };

/**
 * Judges a heartbeat against the node's previous state. Pure: the caller stores the new
 * state (`{ bootId, lastSeq: seq }`) unless the result is `stale`.
 *
 * @example
 * ```ts
 * checkSequence({ bootId: "b1", lastSeq: 4 }, "b1", 7); // { kind: "gap", expected: 5, got: 7, missing: 2 }
 * checkSequence({ bootId: "b1", lastSeq: 4 }, "b2", 0); // { kind: "restart", ... }
 * ```
 */
export function checkSequence(
  previous: SequenceState | undefined,
  bootId: string,
  seq: number,
): SequenceResult {
  if (!previous) return { kind: "first" };
  if (previous.bootId !== bootId) {
    return { kind: "restart", previousBootId: previous.bootId, previousSeq: previous.lastSeq };
  }
  if (seq <= previous.lastSeq) return { kind: "stale", lastSeq: previous.lastSeq, got: seq };
  const expected = previous.lastSeq + 1;
  if (seq === expected) return { kind: "next" };
  return { kind: "gap", expected, got: seq, missing: seq - expected };
}
