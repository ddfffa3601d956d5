/**
 * Per-peer traffic stats in a table of fixed size, with the Space-Saving rule for top
 * talkers: when the table is full, a new peer takes the place of the peer with the fewest
 * messages and inherits that count as its error bound (`overcount`). Every peer with more
 * than (total messages / capacity) messages is guaranteed to be in the table, and its
 * count is exact when `overcount` is 0 (Metwally, Agrawal, El Abbadi 2005).
 *
 * Peers are keyed by their routing identity (the ROUTER's first frame).
 *
 * @module
 */
import { toHex } from "@lib/async/mod.ts";

/** One peer's counters. */
export interface PeerStats {
  /** Printable identity: the text when it is printable ASCII, else `0x` + hex. */
  peer: string;
  /** Requests from this peer (frontend -> backend). */
  requests: number;
  requestBytes: number;
  /** Replies to this peer (backend -> frontend). */
  replies: number;
  replyBytes: number;
  /** Count inherited from an evicted peer (Space-Saving error bound on `requests + replies`). */
  overcount: number;
  /** Clock time (ms) of the last message either way. */
  lastSeenMs: number;
  /** Sum and count of the round trips measured for this peer (ms). */
  rttSumMs: number;
  rttCount: number;
}

interface Entry extends PeerStats {
  /** Receive times of requests still waiting for a reply (oldest first, bounded). */
  pending: number[];
}

/** Prints an identity: text when every byte is printable ASCII, else `0x` + hex. */
export function identityLabel(identity: Uint8Array): string {
  if (identity.length === 0) return "0x";
  for (const b of identity) {
    if (b < 0x20 || b > 0x7e) return "0x" + toHex(identity);
  }
  return String.fromCharCode(...identity);
}

function identityKey(identity: Uint8Array): string {
  // latin1 string: cheap, exact and usable as a Map key
  return identity.length <= 16
    ? String.fromCharCode.apply(null, identity as unknown as number[])
    : String.fromCharCode(...identity);
}

/** Options of a {@linkcode PeerTable}. */
export interface PeerTableOptions {
  /** Most peers tracked at once. */
  capacity: number;
  /** Most requests per peer waiting for their reply (older ones are forgotten). */
  maxPendingPerPeer: number;
}

/**
 * Bounded per-identity stats and request->reply round trips.
 *
 * @example
 * ```ts
 * import { PeerTable } from "./peer_table.ts";
 * const peers = new PeerTable({ capacity: 2, maxPendingPerPeer: 8 });
 * const alice = new TextEncoder().encode("alice");
 * peers.request(alice, 10, 0);
 * peers.reply(alice, 10, 4); // 4 ms round trip
 * peers.top(1)[0].peer; // "alice"
 * ```
 */
export class PeerTable {
  readonly #entries = new Map<string, Entry>();
  readonly #options: PeerTableOptions;
  #evicted = 0;
  #unmatchedReplies = 0;
  #forgottenRequests = 0;
  #pending = 0;

  constructor(options: PeerTableOptions) {
    if (!(Number.isInteger(options.capacity) && options.capacity >= 1)) {
      throw new RangeError(`expected capacity >= 1, got ${options.capacity}`);
    }
    this.#options = options;
  }

  #entry(identity: Uint8Array): Entry {
    const key = identityKey(identity);
    let entry = this.#entries.get(key);
    if (entry !== undefined) return entry;
    let overcount = 0;
    if (this.#entries.size >= this.#options.capacity) {
      // Space-Saving: replace the peer with the fewest messages, inherit its count.
      let minKey = "";
      let min = Infinity;
      for (const [k, e] of this.#entries) {
        const n = e.requests + e.replies;
        if (n < min) {
          min = n;
          minKey = k;
        }
      }
      const gone = this.#entries.get(minKey)!;
      this.#pending -= gone.pending.length;
      this.#entries.delete(minKey);
      this.#evicted++;
      overcount = min;
    }
    entry = {
      peer: identityLabel(identity),
      requests: 0,
      requestBytes: 0,
      replies: 0,
      replyBytes: 0,
      overcount,
      lastSeenMs: 0,
      rttSumMs: 0,
      rttCount: 0,
      pending: [],
    };
    this.#entries.set(key, entry);
    return entry;
  }

  /** A request from `identity` of `bytes` bytes arrived at `nowMs`. */
  request(identity: Uint8Array, bytes: number, nowMs: number): void {
    const e = this.#entry(identity);
    e.requests++;
    e.requestBytes += bytes;
    e.lastSeenMs = nowMs;
    if (e.pending.length >= this.#options.maxPendingPerPeer) {
      e.pending.shift();
      this.#forgottenRequests++;
      this.#pending--;
    }
    e.pending.push(nowMs);
    this.#pending++;
  }

  /**
   * A reply to `identity` left at `nowMs`: returns the round trip (ms) to the oldest
   * request of that peer still waiting, or -1 when none waits (a reply the broker cannot
   * match, e.g. to a peer evicted from the table or never seen).
   */
  reply(identity: Uint8Array, bytes: number, nowMs: number): number {
    const e = this.#entry(identity);
    e.replies++;
    e.replyBytes += bytes;
    e.lastSeenMs = nowMs;
    const sent = e.pending.shift();
    if (sent === undefined) {
      this.#unmatchedReplies++;
      return -1;
    }
    this.#pending--;
    const rtt = nowMs - sent;
    e.rttSumMs += rtt;
    e.rttCount++;
    return rtt;
  }

  /** Peers tracked now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Requests waiting for a reply, over all tracked peers. */
  get pending(): number {
    return this.#pending;
  }

  /** Table-wide counters. */
  stats(): {
    peers: number;
    evicted: number;
    unmatched_replies: number;
    forgotten_requests: number;
    pending: number;
  } {
    return {
      peers: this.#entries.size,
      evicted: this.#evicted,
      unmatched_replies: this.#unmatchedReplies,
      forgotten_requests: this.#forgottenRequests,
      pending: this.#pending,
    };
  }

  /** The `n` peers with most messages (requests + replies), most first (copies). */
  top(n: number): PeerStats[] {
    const all = [...this.#entries.values()];
    all.sort((a, b) => (b.requests + b.replies) - (a.requests + a.replies));
    return all.slice(0, Math.max(0, n)).map(({ pending: _pending, ...stats }) => ({ ...stats }));
  }
}
