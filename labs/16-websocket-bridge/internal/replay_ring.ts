/**
 * The bridge's bounded replay ring: the last `capacity` data entries (and at most
 * `maxBytes` of their text), by bridge sequence number, so a page that reconnects can ask
 * for everything after the last `seq` it saw. A snapshot (`toJSON`/`fromSnapshot`) lets a
 * bridge restarted with `--state` carry on the same epoch and sequence.
 *
 * @module
 */

import { BadMessageError, s, validate } from "@lib/codec/mod.ts";
import type { DataEntry } from "./protocol.ts";

/** What {@link ReplayRing.since} found. */
export interface ReplayResult {
  /** Entries with seq > the asked one, oldest first (filtered by the caller's predicate). */
  entries: DataEntry[];
  /** Sequence numbers after the asked one that already fell out of the ring. */
  missed: number;
}

/** The persisted form of a ring. */
export interface RingSnapshot {
  epoch: string;
  seq: number;
  entries: DataEntry[];
}

/**
 * A ring of data entries with consecutive sequence numbers.
 *
 * @example
 * ```ts
 * import { ReplayRing } from "./replay_ring.ts";
 * const ring = new ReplayRing({ capacity: 2, maxBytes: 1 << 20, epoch: "e1" });
 * for (const topic of ["a", "b", "c"]) ring.push(topic, (seq) => `{"seq":${seq}}`);
 * const { entries, missed } = ring.since(0); // entries 2 and 3; missed 1
 * ```
 */
export class ReplayRing {
  readonly epoch: string;
  readonly #capacity: number;
  readonly #maxBytes: number;
  #entries: (DataEntry | undefined)[];
  #head = 0; // index of the oldest entry
  #count = 0;
  #bytes = 0;
  #seq: number;

  constructor(options: { capacity: number; maxBytes: number; epoch: string; seq?: number }) {
    if (!(options.capacity >= 1)) throw new RangeError("capacity must be >= 1");
    this.#capacity = options.capacity;
    this.#maxBytes = options.maxBytes;
    this.#entries = new Array(options.capacity);
    this.epoch = options.epoch;
    this.#seq = options.seq ?? 0;
  }

  /** Restores a ring from a snapshot (entries beyond the bounds are dropped, oldest first). */
  static fromSnapshot(
    snapshot: RingSnapshot,
    options: { capacity: number; maxBytes: number },
  ): ReplayRing {
    const first = snapshot.entries[0]?.seq ?? snapshot.seq + 1;
    const ring = new ReplayRing({ ...options, epoch: snapshot.epoch, seq: first - 1 });
    for (const e of snapshot.entries) ring.push(e.topic, () => e.json);
    ring.#seq = snapshot.seq;
    return ring;
  }

  /** The last sequence number assigned (0 before the first). */
  get seq(): number {
    return this.#seq;
  }

  /** The oldest sequence number still held (seq + 1 when empty). */
  get oldest(): number {
    return this.#count === 0 ? this.#seq + 1 : this.#entries[this.#head]!.seq;
  }

  /** Entries held. */
  get size(): number {
    return this.#count;
  }

  /** Bytes of entry text held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Assigns the next sequence number, builds the entry's text with it and keeps it. */
  push(topic: string, json: (seq: number) => string): DataEntry {
    const entry = { seq: this.#seq + 1, topic, json: json(this.#seq + 1) };
    this.#seq = entry.seq;
    if (this.#count === this.#capacity) this.#dropOldest();
    this.#entries[(this.#head + this.#count) % this.#capacity] = entry;
    this.#count++;
    this.#bytes += entry.json.length;
    while (this.#bytes > this.#maxBytes && this.#count > 1) this.#dropOldest();
    return entry;
  }

  /**
   * Entries after `seq` that pass `keep`, oldest first, and how many sequence numbers
   * after `seq` are no longer held.
   */
  since(seq: number, keep: (entry: DataEntry) => boolean = () => true): ReplayResult {
    const missed = Math.max(0, Math.min(this.oldest, this.#seq + 1) - (seq + 1));
    const entries: DataEntry[] = [];
    for (let i = 0; i < this.#count; i++) {
      const e = this.#entries[(this.#head + i) % this.#capacity]!;
      if (e.seq > seq && keep(e)) entries.push(e);
    }
    return { entries, missed };
  }

  /** A snapshot to persist. */
  toJSON(): RingSnapshot {
    return { epoch: this.epoch, seq: this.#seq, entries: this.since(0).entries };
  }

  #dropOldest(): void {
    const e = this.#entries[this.#head]!;
    this.#entries[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#count--;
    this.#bytes -= e.json.length;
  }
}

const SnapshotSchema = s.object({
  epoch: s.string({ min: 1, max: 64 }),
  seq: s.int({ min: 0 }),
  entries: s.array(
    s.object({ seq: s.int({ min: 1 }), topic: s.string(), json: s.string() }, { strict: true }),
  ),
}, { strict: true });

/**
 * Checks a persisted ring (`--state` file text): the schema, and entries with consecutive
 * sequence numbers ending at `seq`. Throws `BadMessageError` saying what was wrong.
 *
 * @example
 * ```ts
 * import { parseSnapshot } from "./replay_ring.ts";
 * parseSnapshot('{"epoch":"e1","seq":0,"entries":[]}'); // { epoch: "e1", seq: 0, entries: [] }
 * ```
 */
export function parseSnapshot(text: string): RingSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadMessageError("not JSON");
  }
  const snapshot = validate(value, SnapshotSchema);
  const { entries, seq } = snapshot;
  for (let i = 0; i < entries.length; i++) {
    if (entries[i].seq !== seq - entries.length + 1 + i) {
      throw new BadMessageError(`entries: expected consecutive seqs ending at ${seq}`);
    }
  }
  return snapshot;
}
