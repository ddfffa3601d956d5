/**
 * Piggyback dissemination with a retransmit limit (memberlist's TransmitLimitedQueue): each
 * gossip item rides on outgoing protocol messages until it has been sent
 * `retransmitMult · ceil(log10(N + 1))` times; the least-sent items go first; a newer item
 * about the same subject (same key) replaces the older one at once.
 *
 * @module
 */

import type { GossipItem } from "./protocol.ts";

interface Entry {
  item: GossipItem;
  transmits: number;
  order: number;
}

/**
 * memberlist's retransmit limit: `mult · ceil(log10(n + 1))`.
 *
 * @example
 * ```ts
 * import { retransmitLimit } from "./broadcast_queue.ts";
 * console.log(retransmitLimit(4, 20)); // 8
 * ```
 */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(Math.max(1, n) + 1));
}

/**
 * The pending gossip of one node.
 *
 * @example
 * ```ts
 * import { BroadcastQueue } from "./broadcast_queue.ts";
 * const queue = new BroadcastQueue(100);
 * queue.enqueue("m:n1", { k: "alive", id: "n1", inc: 1, ep: "tcp://127.0.0.1:1" });
 * console.log(queue.take(16, 2).length); // 1 (sent once; dropped after the second time)
 * ```
 */
export class BroadcastQueue {
  readonly #items = new Map<string, Entry>();
  readonly #max: number;
  #order = 0;

  /** `max`: most pending items; past it the most-sent ones are dropped. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Pending items. */
  get size(): number {
    return this.#items.size;
  }

  /** Queues `item` under `key`, replacing any older item with that key (its count restarts). */
  enqueue(key: string, item: GossipItem): void {
    this.#items.delete(key);
    this.#items.set(key, { item, transmits: 0, order: this.#order++ });
    if (this.#items.size > this.#max) {
      let worst: [string, Entry] | undefined;
      for (const e of this.#items) {
        if (!worst || e[1].transmits > worst[1].transmits) worst = e;
      }
      if (worst) this.#items.delete(worst[0]);
    }
  }

  /**
   * Up to `max` items for one message, least-sent (then newest) first; each taken item
   * counts one transmit and leaves the queue once it reached `limit`.
   */
  take(max: number, limit: number): GossipItem[] {
    if (max <= 0 || this.#items.size === 0) return [];
    const picked = [...this.#items].sort((a, b) =>
      a[1].transmits - b[1].transmits || b[1].order - a[1].order
    ).slice(0, max);
    return picked.map(([key, entry]) => {
      entry.transmits++;
      if (entry.transmits >= limit) this.#items.delete(key);
      return entry.item;
    });
  }

  /** How often the item under `key` has been sent, or undefined when it is not queued. */
  transmits(key: string): number | undefined {
    return this.#items.get(key)?.transmits;
  }
}
