/**
 * The bounded last value cache (LVC) of the broker: per topic the last update and the
 * time it was received, bounded by entry count and/or bytes, least-recently-used entries
 * evicted first.
 *
 * - `set`, `get`, `delete` and eviction are O(1) in the number of topics (O(topic length)
 *   for the prefix index): recency is the insertion order of a `Map` (delete + re-insert
 *   moves a key to the back; the front is the LRU entry).
 * - `matching(prefix)` finds every cached topic under a subscription prefix through a
 *   radix tree, in O(prefix length + matches), never by scanning all topics.
 *
 * An entry's size is the sum of its frame lengths (topic + header + payload); a single
 * update larger than the byte bound is not cached at all (`set` returns "too_large").
 *
 * @module
 */
import { bytesToKey, RadixTree } from "./radix_tree.ts";

/** One cached update. */
export interface CacheEntry<H = unknown> {
  /** Topic key as a binary string (one char per byte). */
  key: string;
  topic: Uint8Array;
  /** The header frame exactly as received. */
  headerBytes: Uint8Array;
  /** The decoded header. */
  header: H;
  payload: Uint8Array;
  /** Broker clock (ms since epoch) when the update was received. */
  receivedAt: number;
  /** topic + header + payload bytes. */
  bytes: number;
}

/** Bounds of a {@linkcode LastValueCache}; 0 means "no bound" for that dimension. */
export interface CacheBounds {
  /** Maximum number of topics kept (0 = unbounded by count). */
  maxEntries: number;
  /** Maximum sum of entry bytes (0 = unbounded by bytes). */
  maxBytes: number;
}

/** Counters exposed for logs and tests. */
export interface CacheStats {
  entries: number;
  bytes: number;
  evictions: number;
  maxEntries: number;
  maxBytes: number;
}

/** What `set` did with an update. */
export type SetResult = "inserted" | "updated" | "too_large";

/**
 * A bounded LRU last value cache with prefix lookup.
 *
 * @example
 * ```ts
 * import { LastValueCache } from "./last_value_cache.ts";
 * import { encodeHeader, encodeReading, READING_SCHEMA, type UpdateHeader } from "./protocol.ts";
 *
 * const te = new TextEncoder();
 * const header = { seq: 1, ts: Date.now(), units: "degC", schema: READING_SCHEMA };
 * const lvc = new LastValueCache<UpdateHeader>({ maxEntries: 2, maxBytes: 0 });
 * lvc.set(te.encode("plant/t/00001"), encodeHeader(header), header, encodeReading(21.5,
 *   new Uint8Array()), Date.now());
 * for (const e of lvc.matching(te.encode("plant/"))) console.log(e.header.seq); // 1
 * ```
 */
export class LastValueCache<H = unknown> {
  readonly #bounds: CacheBounds;
  /** Recency order: first = least recently used. */
  readonly #lru = new Map<string, CacheEntry<H>>();
  readonly #index = new RadixTree<CacheEntry<H>>();
  #bytes = 0;
  #evictions = 0;
  readonly #onEvict?: (entry: CacheEntry<H>) => void;

  constructor(bounds: CacheBounds, onEvict?: (entry: CacheEntry<H>) => void) {
    if (!(bounds.maxEntries >= 0 && bounds.maxBytes >= 0)) {
      throw new RangeError(
        `expected cache bounds >= 0, got maxEntries=${bounds.maxEntries} maxBytes=${bounds.maxBytes}`,
      );
    }
    this.#bounds = { ...bounds };
    this.#onEvict = onEvict;
  }

  /** Number of cached topics. */
  get size(): number {
    return this.#lru.size;
  }

  /** Sum of cached entry bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Counters for logs. */
  stats(): CacheStats {
    return {
      entries: this.#lru.size,
      bytes: this.#bytes,
      evictions: this.#evictions,
      maxEntries: this.#bounds.maxEntries,
      maxBytes: this.#bounds.maxBytes,
    };
  }

  /** Stores the last value of `topic`, marks it most recently used, evicts LRU entries over the bound. */
  set(
    topic: Uint8Array,
    headerBytes: Uint8Array,
    header: H,
    payload: Uint8Array,
    receivedAt: number,
  ): SetResult {
    const key = bytesToKey(topic);
    const bytes = topic.length + headerBytes.length + payload.length;
    if (this.#bounds.maxBytes > 0 && bytes > this.#bounds.maxBytes) {
      // Keeping an older value would replay stale data as "last": drop it too.
      this.delete(topic);
      return "too_large";
    }
    const old = this.#lru.get(key);
    if (old) {
      // Same topic: update the entry in place (the prefix index holds the same object) and
      // move it to the most recently used end.
      this.#bytes += bytes - old.bytes;
      old.topic = topic;
      old.headerBytes = headerBytes;
      old.header = header;
      old.payload = payload;
      old.receivedAt = receivedAt;
      old.bytes = bytes;
      this.#touch(old);
      this.#evict();
      return "updated";
    }
    const entry: CacheEntry<H> = { key, topic, headerBytes, header, payload, receivedAt, bytes };
    this.#lru.set(key, entry);
    this.#index.set(key, entry);
    this.#bytes += bytes;
    this.#evict();
    return "inserted";
  }

  /** The cached entry of exactly `topic` (marks it used), or undefined. */
  get(topic: Uint8Array): CacheEntry<H> | undefined {
    const key = bytesToKey(topic);
    const entry = this.#lru.get(key);
    if (entry) this.#touch(entry);
    return entry;
  }

  /** Removes `topic`; returns true when it was cached. */
  delete(topic: Uint8Array): boolean {
    const key = bytesToKey(topic);
    const entry = this.#lru.get(key);
    if (!entry) return false;
    this.#remove(entry);
    return true;
  }

  /**
   * Every cached entry whose topic starts with `prefix` (all for an empty prefix), each
   * marked used. The result is a snapshot array, in topic-tree order.
   */
  matching(prefix: Uint8Array): CacheEntry<H>[] {
    const out: CacheEntry<H>[] = [];
    for (const [, entry] of this.#index.prefix(bytesToKey(prefix))) out.push(entry);
    for (const entry of out) this.#touch(entry);
    return out;
  }

  #touch(entry: CacheEntry<H>): void {
    this.#lru.delete(entry.key);
    this.#lru.set(entry.key, entry);
  }

  #remove(entry: CacheEntry<H>): void {
    this.#lru.delete(entry.key);
    this.#index.delete(entry.key);
    this.#bytes -= entry.bytes;
  }

  #evict(): void {
    const { maxEntries, maxBytes } = this.#bounds;
    while (
      (maxEntries > 0 && this.#lru.size > maxEntries) ||
      (maxBytes > 0 && this.#bytes > maxBytes)
    ) {
      const oldest = this.#lru.values().next().value!;
      this.#remove(oldest);
      this.#evictions++;
      this.#onEvict?.(oldest);
    }
  }
}
