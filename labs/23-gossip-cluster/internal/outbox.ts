/**
 * Sending on a PUB socket to one peer is only useful once that peer's SUB has subscribed to
 * its inbox topic on us (before that, PUB drops the message: the slow-joiner problem). The
 * XPUB tells us when the subscription `id:` arrives and when it goes; this outbox publishes
 * at once to subscribed peers and holds a few messages for the others until they subscribe
 * or the hold time passes. Sans-IO: `publish` is the socket send.
 *
 * @module
 */

/** Settings of an {@link Outbox}. */
export interface OutboxOptions {
  /** Monotonic ms. */
  now: () => number;
  /** Sends frames on the PUB socket. */
  publish: (frames: Uint8Array[]) => void;
  /** How long a message waits for its peer's subscription (ms). */
  holdMs: number;
  /** Most messages held per peer (the oldest go first). */
  maxHeldPerPeer: number;
  /** Most peers with held messages. */
  maxPeers: number;
}

/**
 * See the module doc.
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.ts";
 * const sent: Uint8Array[][] = [];
 * const outbox = new Outbox({ now: () => 0, publish: (f) => sent.push(f), holdMs: 1000, maxHeldPerPeer: 8, maxPeers: 64 });
 * outbox.send("n2", [new Uint8Array([1])]); // held: n2 has not subscribed yet
 * outbox.subscribed("n2"); // now sent
 * console.log(sent.length); // 1
 * ```
 */
export class Outbox {
  readonly #o: OutboxOptions;
  readonly #subscribed = new Set<string>();
  readonly #held = new Map<string, { at: number; frames: Uint8Array[] }[]>();
  /** Messages published. */
  sent = 0;
  /** Bytes published. */
  bytes = 0;
  /** Messages dropped: held too long or past the bounds. */
  dropped = 0;

  constructor(options: OutboxOptions) {
    this.#o = options;
  }

  /** Peers subscribed to their inbox on us. */
  get peers(): number {
    return this.#subscribed.size;
  }

  /** Messages waiting for a subscription. */
  get held(): number {
    let n = 0;
    for (const list of this.#held.values()) n += list.length;
    return n;
  }

  /** Whether `id` is subscribed. */
  isSubscribed(id: string): boolean {
    return this.#subscribed.has(id);
  }

  /** `id`'s inbox subscription arrived: send what waits for it. */
  subscribed(id: string): void {
    this.#subscribed.add(id);
    const list = this.#held.get(id);
    if (!list) return;
    this.#held.delete(id);
    const now = this.#o.now();
    for (const { at, frames } of list) {
      if (now - at <= this.#o.holdMs) this.#publish(frames);
      else this.dropped++;
    }
  }

  /** `id`'s inbox subscription went (it disconnected). */
  unsubscribed(id: string): void {
    this.#subscribed.delete(id);
  }

  /** Sends `frames` to `id` now, or holds them until it subscribes. */
  send(id: string, frames: Uint8Array[]): void {
    if (this.#subscribed.has(id)) return this.#publish(frames);
    let list = this.#held.get(id);
    if (!list) {
      if (this.#held.size >= this.#o.maxPeers) {
        const [oldest, dropped] = this.#held.entries().next().value!;
        this.#held.delete(oldest);
        this.dropped += dropped.length;
      }
      this.#held.set(id, list = []);
    }
    list.push({ at: this.#o.now(), frames });
    if (list.length > this.#o.maxHeldPerPeer) {
      list.shift();
      this.dropped++;
    }
  }

  /** Drops held messages older than the hold time. */
  expire(): void {
    const now = this.#o.now();
    for (const [id, list] of this.#held) {
      const keep = list.filter((m) => now - m.at <= this.#o.holdMs);
      this.dropped += list.length - keep.length;
      if (keep.length === 0) this.#held.delete(id);
      else this.#held.set(id, keep);
    }
  }

  #publish(frames: Uint8Array[]): void {
    this.sent++;
    for (const f of frames) this.bytes += f.length;
    this.#o.publish(frames);
  }
}
