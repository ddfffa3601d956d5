/**
 * A bounded map of recently acknowledged ids to their acks (least recently inserted out).
 *
 * @module
 */

/** An ack as the gateway repeats it for a retried id. */
export interface RecentAck {
  seq: number;
  hash: string;
}

/**
 * Bounded id → ack map: answers retries of recently acked ids without a worker round trip.
 * It is only a shortcut: the worker's durable index is what guarantees once-in-the-chain.
 *
 * @example
 * ```ts
 * const recent = new RecentAcks(2);
 * recent.set("a", { seq: 1, hash: "h1" });
 * recent.get("a"); // { seq: 1, hash: "h1" }
 * ```
 */
export class RecentAcks {
  #max: number;
  #map = new Map<string, RecentAck>();

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 0) {
      throw new RangeError(`max: expected an integer >= 0, got ${max}`);
    }
    this.#max = max;
  }

  /** Entries held (never more than max). */
  get size(): number {
    return this.#map.size;
  }

  /** The ack of `id`, if still remembered. */
  get(id: string): RecentAck | undefined {
    return this.#map.get(id);
  }

  /** Remembers an ack, evicting the oldest entry when full. */
  set(id: string, ack: RecentAck): void {
    if (this.#max === 0) return;
    this.#map.delete(id);
    this.#map.set(id, ack);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }
}
