/**
 * Credit-based dispatch of batches to parsers (the collector's side). Plain PUSH keeps
 * round-robining to a parser that stopped reading until its pipes and TCP buffers are
 * full, and every batch in there waits for an ack timeout: one SIGSTOPped parser cut
 * throughput 10×. Here a parser reports how many batches it may hold (`window`) and how
 * many it has received and finished (absolute counters); the collector sends a batch only
 * to a parser whose reported window is not used up. A hung parser stops reporting, so it
 * holds at most its window; its batches come back by the ack timeout and go elsewhere.
 *
 * Outstanding batches at a parser = (its `received` at the first report we got from it)
 * + (batches we sent it since) − (its latest `done`). Counting from the first report
 * makes a restarted collector, a lost report or a repeated one harmless.
 *
 * @module
 */
import { type Clock, toHex } from "@lib/async/mod.ts";
import type { Credit } from "./protocol.ts";

/** What the dispatcher knows about one parser. */
export interface CreditPeer {
  /** Routing id (the ROUTER frame that addresses it). */
  readonly id: Uint8Array;
  readonly key: string;
  window: number;
  /** `received` in the first report: batches it got before we knew it. */
  base: number;
  /** Batches we sent it since its first report. */
  sent: number;
  /** Its latest `done`. */
  done: number;
  lastHeard: number;
  lastSent: number;
}

/** Options of {@linkcode CreditDispatch}. */
export interface CreditDispatchOptions {
  clock: Clock;
  /** A parser not heard from for this long is forgotten (it reports every second). */
  expireMs: number;
  /** Most parsers tracked (more are refused until some expire). Default 1024. */
  maxPeers?: number;
}

const keyOf = (id: Uint8Array) => toHex(id);

/**
 * @example
 * ```ts
 * import { systemClock } from "@lib/async/mod.ts";
 * const dispatch = new CreditDispatch({ clock: systemClock, expireMs: 10_000 });
 * dispatch.onCredit(peerId, { window: 2, received: 0, done: 0 });
 * const peer = await dispatch.acquire(signal); // counted as sent: now send to peer.id
 * ```
 */
export class CreditDispatch {
  #peers = new Map<string, CreditPeer>();
  #clock: Clock;
  #expireMs: number;
  #maxPeers: number;
  #waiters: (() => void)[] = [];
  #refused = 0;
  #maxOutstanding = 0;

  constructor(options: CreditDispatchOptions) {
    this.#clock = options.clock;
    this.#expireMs = options.expireMs;
    this.#maxPeers = options.maxPeers ?? 1024;
  }

  /** Batches sent to `peer` and not finished by it (by its last report). */
  outstanding(peer: CreditPeer): number {
    return Math.max(0, peer.base + peer.sent - peer.done);
  }

  /** Batches `peer` may still be sent. */
  credit(peer: CreditPeer): number {
    return peer.window - this.outstanding(peer);
  }

  /** A parser's report arrived. Returns false when it was refused (too many parsers). */
  onCredit(id: Uint8Array, credit: Credit): boolean {
    const key = keyOf(id);
    const now = this.#clock.now();
    let peer = this.#peers.get(key);
    if (!peer) {
      if (this.#peers.size >= this.#maxPeers) {
        this.#refused++;
        return false;
      }
      peer = {
        id: id.slice(),
        key,
        window: credit.window,
        base: credit.received,
        sent: 0,
        done: credit.done,
        lastHeard: now,
        lastSent: -Infinity,
      };
      this.#peers.set(key, peer);
    }
    peer.window = credit.window;
    peer.done = Math.max(peer.done, credit.done);
    peer.lastHeard = now;
    if (this.credit(peer) > 0) this.#wake();
    return true;
  }

  /** The parser with the most credit (least recently sent to on a tie), or undefined. */
  pick(): CreditPeer | undefined {
    let best: CreditPeer | undefined;
    let bestCredit = 0;
    for (const peer of this.#peers.values()) {
      const c = this.credit(peer);
      if (c > bestCredit || (c === bestCredit && c > 0 && peer.lastSent < best!.lastSent)) {
        best = peer;
        bestCredit = c;
      }
    }
    return best;
  }

  /** A batch was handed to `peer`. */
  sent(peer: CreditPeer): void {
    peer.sent++;
    peer.lastSent = this.#clock.now();
    this.#maxOutstanding = Math.max(this.#maxOutstanding, this.outstanding(peer));
  }

  /** Forgets `peer` (it is unreachable: EHOSTUNREACH). */
  remove(peer: CreditPeer): void {
    this.#peers.delete(peer.key);
  }

  /** Forgets parsers not heard from for `expireMs`; returns how many. */
  expire(): number {
    const now = this.#clock.now();
    let n = 0;
    for (const [key, peer] of this.#peers) {
      if (now - peer.lastHeard >= this.#expireMs) {
        this.#peers.delete(key);
        n++;
      }
    }
    return n;
  }

  /**
   * Resolves with a parser that has credit, already counted as sent to (pick and count in
   * one synchronous step, so two concurrent senders cannot both take the last credit), or
   * undefined when `signal` aborts first.
   */
  async acquire(signal?: AbortSignal): Promise<CreditPeer | undefined> {
    for (;;) {
      const peer = this.pick();
      if (peer) {
        this.sent(peer);
        return peer;
      }
      if (signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener("abort", done);
          resolve();
        };
        this.#waiters.push(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** Gauges: parsers known, total credit, the most any parser ever held, refused reports. */
  stats(): { parsers: number; credit: number; max_outstanding: number; refused_peers: number } {
    let credit = 0;
    for (const peer of this.#peers.values()) credit += Math.max(0, this.credit(peer));
    return {
      parsers: this.#peers.size,
      credit,
      max_outstanding: this.#maxOutstanding,
      refused_peers: this.#refused,
    };
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
