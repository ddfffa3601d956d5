/**
 * Browser topic prefixes mapped to ZeroMQ subscriptions, reference-counted across clients:
 * the bridge's SUB socket subscribes to a prefix when the first client wants it and
 * unsubscribes when the last one lets it go (or disconnects). Prefixes the bridge itself
 * keeps (`--topic`) hold a reference of their own. Sans-IO: the caller applies the
 * returned changes to its socket.
 *
 * @module
 */

/** What the SUB socket must do after a change. */
export interface SubscriptionChanges {
  /** Prefixes to `subscribe` (their first reference). */
  subscribe: string[];
  /** Prefixes to `unsubscribe` (their last reference went). */
  unsubscribe: string[];
}

/** The owner of the bridge's own (`--topic`) references. */
export const BRIDGE_OWNER = -1;

/**
 * Reference counts of topic prefixes by client id.
 *
 * @example
 * ```ts
 * import { SubscriptionTable } from "./subscriptions.ts";
 * const table = new SubscriptionTable({ maxPrefixes: 1000 });
 * table.add(1, ["plant-a/"]); // { subscribe: ["plant-a/"], unsubscribe: [] }
 * table.add(2, ["plant-a/"]); // { subscribe: [], unsubscribe: [] }
 * table.removeClient(1); // { subscribe: [], unsubscribe: [] }
 * table.removeClient(2); // { subscribe: [], unsubscribe: ["plant-a/"] }
 * ```
 */
export class SubscriptionTable {
  readonly #refs = new Map<string, Set<number>>();
  readonly #byClient = new Map<number, Set<string>>();
  readonly #maxPrefixes: number;

  constructor(options: { maxPrefixes: number }) {
    this.#maxPrefixes = options.maxPrefixes;
  }

  /**
   * Adds `prefixes` for `client` (already held ones are ignored). Throws a `RangeError`
   * (and changes nothing) when the distinct prefixes would exceed `maxPrefixes`.
   */
  add(client: number, prefixes: readonly string[]): SubscriptionChanges {
    const fresh = [...new Set(prefixes)].filter((p) => !this.#refs.has(p));
    if (this.#refs.size + fresh.length > this.#maxPrefixes) {
      throw new RangeError(
        `the bridge holds ${this.#refs.size} prefixes; ${fresh.length} more exceed ${this.#maxPrefixes}`,
      );
    }
    const subscribe: string[] = [];
    let mine = this.#byClient.get(client);
    if (!mine) this.#byClient.set(client, mine = new Set());
    for (const prefix of prefixes) {
      if (mine.has(prefix)) continue;
      mine.add(prefix);
      let holders = this.#refs.get(prefix);
      if (!holders) {
        this.#refs.set(prefix, holders = new Set());
        subscribe.push(prefix);
      }
      holders.add(client);
    }
    return { subscribe, unsubscribe: [] };
  }

  /** Removes `prefixes` of `client` (ones it does not hold are ignored). */
  remove(client: number, prefixes: readonly string[]): SubscriptionChanges {
    const unsubscribe: string[] = [];
    const mine = this.#byClient.get(client);
    if (!mine) return { subscribe: [], unsubscribe };
    for (const prefix of prefixes) {
      if (!mine.delete(prefix)) continue;
      const holders = this.#refs.get(prefix)!;
      holders.delete(client);
      if (holders.size === 0) {
        this.#refs.delete(prefix);
        unsubscribe.push(prefix);
      }
    }
    if (mine.size === 0) this.#byClient.delete(client);
    return { subscribe: [], unsubscribe };
  }

  /** Removes every prefix of `client` (it disconnected). */
  removeClient(client: number): SubscriptionChanges {
    return this.remove(client, [...(this.#byClient.get(client) ?? [])]);
  }

  /** The prefixes `client` holds. */
  prefixesOf(client: number): string[] {
    return [...(this.#byClient.get(client) ?? [])];
  }

  /** How many clients hold `prefix` (0 when the SUB is not subscribed to it). */
  refCount(prefix: string): number {
    return this.#refs.get(prefix)?.size ?? 0;
  }

  /** Distinct prefixes the SUB socket is subscribed to. */
  get size(): number {
    return this.#refs.size;
  }

  /** True when `topic` starts with one of `client`'s prefixes (ZeroMQ prefix matching). */
  matches(client: number, topic: string): boolean {
    const mine = this.#byClient.get(client);
    if (!mine) return false;
    for (const prefix of mine) if (topic.startsWith(prefix)) return true;
    return false;
  }
}
