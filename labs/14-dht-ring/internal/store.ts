/**
 * A node's local data: the replica store (last-writer-wins per key, bounded) and the hints
 * it keeps as a coordinator for replicas that did not acknowledge a write (hinted handoff,
 * bounded).
 *
 * @module
 */

import { compareStamps, type Versioned } from "./versioned.ts";

/** What {@link Store.apply} did with a version. */
export type ApplyResult = "stored" | "stale" | "full";

/**
 * The replica store: one version per key, the newest by the conflict rule. Applying is
 * idempotent and commutative, so replicas that saw the same writes in any order agree.
 *
 * @example
 * ```ts
 * import { Store } from "./store.ts";
 * const store = new Store(1000);
 * store.apply("k", { value: new Uint8Array([1]), wall: 2, counter: 0, node: "a" }); // "stored"
 * store.apply("k", { value: null, wall: 1, counter: 0, node: "b" }); // "stale"
 * ```
 */
export class Store {
  readonly #data = new Map<string, Versioned>();
  readonly maxKeys: number;
  /** Bytes of keys and values held at most (Infinity: no byte bound). */
  readonly maxBytes: number;
  #bytes = 0;

  constructor(maxKeys: number, maxBytes = Infinity) {
    this.maxKeys = maxKeys;
    this.maxBytes = maxBytes;
  }

  /** Bytes of keys (UTF-16 length) and values held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keys held (tombstones included). */
  get size(): number {
    return this.#data.size;
  }

  /** Keys holding a value (tombstones excluded). */
  live(): number {
    let n = 0;
    for (const v of this.#data.values()) if (v.value !== null) n++;
    return n;
  }

  /** The version held for `key`. */
  get(key: string): Versioned | undefined {
    return this.#data.get(key);
  }

  /**
   * Keeps `version` when it is newer than the one held; "full" for a new key over the key
   * bound, or for a version whose bytes would take the store over its byte bound.
   */
  apply(key: string, version: Versioned): ApplyResult {
    const held = this.#data.get(key);
    if (held && compareStamps(version, held) <= 0) return "stale";
    if (!held && this.#data.size >= this.maxKeys) return "full";
    const grows = entryBytes(key, version) - (held ? entryBytes(key, held) : 0);
    if (grows > 0 && this.#bytes + grows > this.maxBytes) return "full";
    this.#bytes += grows;
    this.#data.set(key, version);
    return "stored";
  }

  /** Removes a key (after handing it over to its new owner). */
  delete(key: string): boolean {
    const held = this.#data.get(key);
    if (held) this.#bytes -= entryBytes(key, held);
    return this.#data.delete(key);
  }

  /** Every key held. */
  keys(): IterableIterator<string> {
    return this.#data.keys();
  }
}

/** What one key costs the store's byte bound: the key and the value (a tombstone: none). */
function entryBytes(key: string, version: Versioned): number {
  return key.length + (version.value?.length ?? 0);
}

/**
 * Hints kept by a coordinator: for each replica that missed a write, the newest version it
 * missed per key, until a handoff delivers it. Bounded in total: past `maxHints` hints or
 * `maxBytes` bytes a new hint is refused (read repair is then the way back).
 *
 * @example
 * ```ts
 * import { Hints } from "./store.ts";
 * const hints = new Hints(100);
 * hints.add("c", "k", { value: null, wall: 1, counter: 0, node: "a" }); // true
 * hints.batch("c", 10); // [["k", {...}]]
 * ```
 */
export class Hints {
  readonly #byTarget = new Map<string, Map<string, Versioned>>();
  #size = 0;
  #bytes = 0;
  readonly maxHints: number;
  /** Bytes of keys and values held in hints at most (Infinity: no byte bound). */
  readonly maxBytes: number;

  constructor(maxHints: number, maxBytes = Infinity) {
    this.maxHints = maxHints;
    this.maxBytes = maxBytes;
  }

  /** Bytes of keys and values held in hints. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Hints held in total. */
  get size(): number {
    return this.#size;
  }

  /** Nodes with hints waiting. */
  targets(): string[] {
    return [...this.#byTarget.keys()];
  }

  /** Hints waiting for `target`. */
  count(target: string): number {
    return this.#byTarget.get(target)?.size ?? 0;
  }

  /** Remembers that `target` missed `version` of `key`; false when full. */
  add(target: string, key: string, version: Versioned): boolean {
    let map = this.#byTarget.get(target);
    const held = map?.get(key);
    if (held) {
      if (compareStamps(version, held) <= 0) return true;
      const grows = entryBytes(key, version) - entryBytes(key, held);
      if (grows > 0 && this.#bytes + grows > this.maxBytes) return false;
      this.#bytes += grows;
      map!.set(key, version);
      return true;
    }
    const bytes = entryBytes(key, version);
    if (this.#size >= this.maxHints || this.#bytes + bytes > this.maxBytes) return false;
    if (!map) this.#byTarget.set(target, map = new Map());
    map.set(key, version);
    this.#size++;
    this.#bytes += bytes;
    return true;
  }

  /** Up to `max` hints for `target`, oldest first. */
  batch(target: string, max: number): [string, Versioned][] {
    const out: [string, Versioned][] = [];
    for (const entry of this.#byTarget.get(target) ?? []) {
      if (out.length >= max) break;
      out.push(entry);
    }
    return out;
  }

  /** Forgets delivered hints (only if still the delivered version). */
  delivered(target: string, items: [string, Versioned][]): number {
    const map = this.#byTarget.get(target);
    if (!map) return 0;
    let n = 0;
    for (const [key, version] of items) {
      const held = map.get(key);
      if (held && compareStamps(held, version) === 0) {
        map.delete(key);
        this.#size--;
        this.#bytes -= entryBytes(key, held);
        n++;
      }
    }
    if (map.size === 0) this.#byTarget.delete(target);
    return n;
  }

  /** Drops every hint for a node that left the ring. */
  forget(target: string): number {
    const n = this.count(target);
    for (const [key, held] of this.#byTarget.get(target) ?? []) {
      this.#bytes -= entryBytes(key, held);
    }
    this.#byTarget.delete(target);
    this.#size -= n;
    return n;
  }
}
