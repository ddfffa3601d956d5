/**
 * A bounded per-topic receive counter: proof of what actually arrived on a socket, for the
 * `received_topics` event a dashboard logs at shutdown.
 *
 * @module
 */

/** Key that collects topics beyond the limit. */
export const OTHER_TOPICS = "(other)";

/**
 * Counts messages per topic, keeping at most `limit` distinct topics (the rest are counted
 * under `(other)`), so garbage topics cannot grow memory without bound.
 *
 * @example
 * ```ts
 * import { TopicCounter } from "./topic_counter.ts";
 * const counter = new TopicCounter(10_000);
 * counter.add(new TextEncoder().encode("hb.A.a-01"));
 * console.log({ topics: counter.toJSON() });
 * ```
 */
export class TopicCounter {
  readonly #limit: number;
  readonly #counts = new Map<string, number>();
  #total = 0;
  readonly #decoder = new TextDecoder();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Counts one message by its first frame (shown as text, at most 100 characters). */
  add(topic: Uint8Array | string | undefined): void {
    this.#total++;
    let key = typeof topic === "string" ? topic : topic ? this.#decoder.decode(topic) : "";
    key = key.slice(0, 100);
    if (!this.#counts.has(key) && this.#counts.size >= this.#limit) key = OTHER_TOPICS;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** Messages counted. */
  get total(): number {
    return this.#total;
  }

  /** The counts as a plain object. */
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
