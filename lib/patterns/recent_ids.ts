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
 * An insertion-ordered set with a maximum size. `has` and `add` are O(1) (amortised):
 * it is a `Set`, whose iteration order is insertion order, so the oldest id is the first
 * one. Re-adding a known id does not refresh it: an id is forgotten `maxSize` additions
 * after it was first seen, whatever happened since (so a peer cannot keep one id alive
 * by repeating it).
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
  readonly maxSize: number;
  #ids = new Set<K>();
  #evicted = 0;

  constructor(options: RecentIdsOptions) {
    if (!Number.isInteger(options.maxSize) || options.maxSize < 1) {
      throw new RangeError(`maxSize: expected an integer >= 1, got ${options.maxSize}`);
    }
    this.maxSize = options.maxSize;
  }

  /** Ids held now (at most `maxSize`). */
  get size(): number {
    return this.#ids.size;
  }

  /** Whether `id` was added and not forgotten yet. */
  has(id: K): boolean {
    return this.#ids.has(id);
  }

  /** Remembers `id`; returns true when it was new, false when it was already held. */
  add(id: K): boolean {
    if (this.#ids.has(id)) return false;
    if (this.#ids.size >= this.maxSize) {
      // The first key in iteration order is the oldest insertion.
      const oldest = this.#ids.values().next().value as K;
      this.#ids.delete(oldest);
      this.#evicted++;
    }
    this.#ids.add(id);
    return true;
  }

  /** Forgets `id` (e.g. its work failed and may be retried); returns whether it was held. */
  delete(id: K): boolean {
    return this.#ids.delete(id);
  }

  /** Forgets everything. */
  clear(): void {
    this.#ids.clear();
  }

  /** Gauges for a `stats` line: ids held and ids forgotten because the set was full. */
  stats(): { size: number; max_size: number; evicted: number } {
    return { size: this.#ids.size, max_size: this.maxSize, evicted: this.#evicted };
  }
}
