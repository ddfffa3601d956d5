/**
 * A bounded set of recently seen ids: the memory of "have I handled this one already?"
 * for request ids, record ids or message ids, with the oldest forgotten first.
 *
 * @module
 */

/** Options of {@link RecentIds}. */
export interface RecentIdsOptions {
  /** Most ids remembered (> 0); adding one more forgets the oldest. */
  maxSize: number;
}

/**
 * A bounded map of recently seen ids to a value (e.g. the ack already given for a
 * request id), insertion-ordered, the oldest forgotten first. `get`, `set` and `has` are
 * O(1). Setting a known id updates its value but does not refresh it: an id is forgotten
 * `maxSize` new ids after it was first set (a peer cannot keep one alive by repeating it).
 * `maxSize` 0 remembers nothing.
 *
 * @example
 * ```ts
 * import { RecentMap } from "@lib/patterns/mod.ts";
 * const acks = new RecentMap<string, number>({ maxSize: 2 });
 * acks.set("a", 1);
 * acks.set("b", 2);
 * acks.set("c", 3); // forgets "a"
 * console.log(acks.get("a"), acks.get("c")); // undefined 3
 * ```
 */
export class RecentMap<K, V> {
  readonly maxSize: number;
  #entries = new Map<K, V>();
  #evicted = 0;

  constructor(options: RecentIdsOptions) {
    if (!Number.isInteger(options.maxSize) || options.maxSize < 0) {
      throw new RangeError(`maxSize: expected an integer >= 0, got ${options.maxSize}`);
    }
    this.maxSize = options.maxSize;
  }

  /** Entries held now (at most `maxSize`). */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether `id` was set and not forgotten yet. */
  has(id: K): boolean {
    return this.#entries.has(id);
  }

  /** The value of `id`, if still remembered. */
  get(id: K): V | undefined {
    return this.#entries.get(id);
  }

  /** Remembers `id` → `value`; returns true when `id` was new. */
  set(id: K, value: V): boolean {
    if (this.#entries.has(id)) {
      this.#entries.set(id, value); // an existing key keeps its place in the order
      return false;
    }
    if (this.maxSize === 0) return true;
    if (this.#entries.size >= this.maxSize) {
      // The first key in iteration order is the oldest insertion.
      this.#entries.delete(this.#entries.keys().next().value as K);
      this.#evicted++;
    }
    this.#entries.set(id, value);
    return true;
  }

  /** Forgets `id`; returns whether it was held. */
  delete(id: K): boolean {
    return this.#entries.delete(id);
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
  }

  /** Gauges for a `stats` line: entries held and entries forgotten because it was full. */
  stats(): { size: number; max_size: number; evicted: number } {
    return { size: this.#entries.size, max_size: this.maxSize, evicted: this.#evicted };
  }
}

/**
 * An insertion-ordered set with a maximum size (a {@link RecentMap} without values): an id
 * is forgotten `maxSize` additions after it was first seen.
 *
 * @example
 * ```ts
 * import { RecentIds } from "@lib/patterns/mod.ts";
 * const seen = new RecentIds<string>({ maxSize: 2 });
 * seen.add("a"); // true: new
 * seen.add("a"); // false: seen before
 * seen.add("b");
 * seen.add("c"); // forgets "a"
 * console.log(seen.has("a"), seen.has("c")); // false true
 * ```
 */
export class RecentIds<K = string> {
  #map: RecentMap<K, true>;

  constructor(options: RecentIdsOptions) {
    if (!Number.isInteger(options.maxSize) || options.maxSize < 1) {
      throw new RangeError(`maxSize: expected an integer >= 1, got ${options.maxSize}`);
    }
    this.#map = new RecentMap(options);
  }

  /** Most ids remembered. */
  get maxSize(): number {
    return this.#map.maxSize;
  }

  /** Ids held now (at most `maxSize`). */
  get size(): number {
    return this.#map.size;
  }

  /** Whether `id` was added and not forgotten yet. */
  has(id: K): boolean {
    return this.#map.has(id);
  }

  /** Remembers `id`; returns true when it was new, false when it was already held. */
  add(id: K): boolean {
    return this.#map.set(id, true);
  }

  /** Forgets `id` (e.g. its work failed and may be retried); returns whether it was held. */
  delete(id: K): boolean {
    return this.#map.delete(id);
  }

  /** Forgets everything. */
  clear(): void {
    this.#map.clear();
  }

  /** Gauges for a `stats` line: ids held and ids forgotten because the set was full. */
  stats(): { size: number; max_size: number; evicted: number } {
    return this.#map.stats();
  }
}
