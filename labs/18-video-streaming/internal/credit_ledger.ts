/**
 * Credit-based flow control on the camera's side (the Guide's "fileio3" pattern, ROUTER
 * to DEALER): each engine grants credit (frames it has room for) and the camera sends an
 * engine a frame only against one credit. In this lab the credit mode is lossless for
 * every engine, so the camera sends the next frame only when *every* live engine has
 * credit: the slowest engine paces the stream. An engine silent for `timeoutMs` (no credit
 * and no keep-alive) is forgotten so a dead one cannot stall the others for ever.
 *
 * Sans-IO: the clock comes in, the role does the sockets.
 *
 * @module
 */

import type { Clock } from "@lib/async/mod.ts";

/** One engine's credit. */
export interface PeerCredit {
  /** Frames the camera may still send it. */
  credit: number;
  /** Clock time of its last message. */
  lastSeen: number;
  /** Frames sent to it. */
  sent: number;
}

/** Ledger options. */
export interface CreditLedgerOptions {
  clock: Clock;
  /** Forget a peer silent for this long (ms). */
  timeoutMs: number;
  /** Most peers tracked; more are refused. */
  maxPeers: number;
  /** Most credit a peer may hold (grants beyond it are capped). */
  maxCredit: number;
}

/**
 * Credit per peer (peer keys are strings, e.g. the hex routing id).
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { CreditLedger } from "./credit_ledger.ts";
 * const ledger = new CreditLedger({ clock: new ManualClock(), timeoutMs: 3000, maxPeers: 8, maxCredit: 4 });
 * ledger.grant("a", 2);
 * console.log(ledger.ready()); // true: every peer has credit
 * ledger.consume("a");
 * ledger.consume("a");
 * console.log(ledger.ready()); // false: "a" must grant more first
 * ```
 */
export class CreditLedger {
  readonly #options: CreditLedgerOptions;
  readonly #peers = new Map<string, PeerCredit>();

  constructor(options: CreditLedgerOptions) {
    this.#options = options;
  }

  /**
   * Adds `credit` for `peer` (0 is a keep-alive). Returns "joined" for a new peer, "known"
   * otherwise, "refused" when the ledger is full.
   */
  grant(peer: string, credit: number): "joined" | "known" | "refused" {
    const now = this.#options.clock.now();
    const entry = this.#peers.get(peer);
    if (entry) {
      entry.credit = Math.min(this.#options.maxCredit, entry.credit + credit);
      entry.lastSeen = now;
      return "known";
    }
    if (this.#peers.size >= this.#options.maxPeers) return "refused";
    this.#peers.set(peer, {
      credit: Math.min(this.#options.maxCredit, credit),
      lastSeen: now,
      sent: 0,
    });
    return "joined";
  }

  /** Forgets a peer (it said bye, or is unreachable); true if it was known. */
  forget(peer: string): boolean {
    return this.#peers.delete(peer);
  }

  /** Forgets peers silent for longer than the timeout; returns them. */
  expire(): string[] {
    const now = this.#options.clock.now();
    const gone: string[] = [];
    for (const [peer, entry] of this.#peers) {
      if (now - entry.lastSeen > this.#options.timeoutMs) gone.push(peer);
    }
    for (const peer of gone) this.#peers.delete(peer);
    return gone;
  }

  /** True when there is at least one peer and every peer has credit. */
  ready(): boolean {
    if (this.#peers.size === 0) return false;
    for (const entry of this.#peers.values()) if (entry.credit < 1) return false;
    return true;
  }

  /** Spends one credit of `peer` (one frame sent to it). */
  consume(peer: string): void {
    const entry = this.#peers.get(peer);
    if (!entry || entry.credit < 1) throw new Error(`no credit for ${peer}`);
    entry.credit--;
    entry.sent++;
  }

  /** The peers now. */
  peers(): [string, Readonly<PeerCredit>][] {
    return [...this.#peers];
  }

  /** Number of peers. */
  get size(): number {
    return this.#peers.size;
  }
}
