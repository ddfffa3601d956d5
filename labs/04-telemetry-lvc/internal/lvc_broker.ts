/**
 * The broker's logic, independent of sockets: validates upstream updates, caches the last
 * value per topic, forwards updates downstream and subscriptions upstream, and replays
 * cached values to every new subscription.
 *
 * Sockets are injected as two send functions, so unit tests drive it with plain arrays.
 *
 * Replay semantics (documented in SUMMARY.md): an XPUB delivers a message to every
 * subscriber whose prefix matches its topic. A replay triggered by a late joiner is
 * therefore also received by subscribers that already had that topic. Replays carry
 * `replay: true` in their header so receivers can tell them from live updates, and a
 * receiver drops a replay whose seq is not newer than the one it has (see
 * `terminal_state.ts`). XPUB verbose mode makes libzmq pass *every* subscribe message
 * (not only the first per prefix) to the broker, so each late joiner triggers its own
 * replay.
 *
 * Ordering: the XPUB runs in manual mode (ZMQ_XPUB_MANUAL), so libzmq does not attach a
 * joiner to its topics by itself; the broker does it (`transport.apply`) in the same
 * synchronous step in which it sends the replays. Every live update the broker forwards
 * before that step does not reach the joiner, every one after it follows the replays:
 * the joiner's first message of each cached topic is its cached value. (Without manual
 * mode, libzmq may attach the joiner while the broker forwards a live update, before the
 * broker has read the subscription, and that update would overtake the replay.)
 *
 * @module
 */
import { BadMessageError } from "@lib/codec/mod.ts";
import type { Logger } from "@lib/role/mod.ts";
import { type CacheBounds, LastValueCache } from "./last_value_cache.ts";
import {
  encodeHeader,
  parseSubscription,
  parseUpdate,
  subscriptionFrame,
  type UpdateHeader,
} from "./protocol.ts";
import { bytesToKey } from "./radix_tree.ts";

/** Where the broker's output goes. */
export interface BrokerTransport {
  /** Sends one message to the XPUB (subscribers). */
  downstream(frames: Uint8Array[]): void;
  /** Sends one subscription frame to the XSUB (sources). */
  upstream(frame: Uint8Array): void;
  /**
   * Applies a (un)subscription to the XPUB peer that sent the one just received
   * (XPUB manual mode: `xpub.subscribe(prefix)` / `xpub.unsubscribe(prefix)`).
   */
  apply(subscribe: boolean, prefix: Uint8Array): void;
}

/** Options of an {@linkcode LvcBroker}. */
export interface LvcBrokerOptions {
  cache: CacheBounds;
  maxPayloadBytes: number;
  /** Prefixes the broker itself subscribes to upstream, so it can cache them ("" = all). */
  upstreamPrefixes: Uint8Array[];
  now: () => number;
  log: Logger;
  transport: BrokerTransport;
}

/** Counters of an {@linkcode LvcBroker}. */
export interface BrokerStats {
  received: number;
  forwarded: number;
  bad: number;
  subscriptions: number;
  unsubscriptions: number;
  replayed: number;
  cache_entries: number;
  cache_bytes: number;
  cache_evictions: number;
  cache_max_entries: number;
  cache_max_bytes: number;
}

const decoder = new TextDecoder();

function printable(bytes: Uint8Array): string {
  return decoder.decode(bytes.subarray(0, 64));
}

/**
 * An XPUB-XSUB proxy with a last value cache.
 *
 * @example
 * ```ts
 * const broker = new LvcBroker({ cache: { maxEntries: 100_000, maxBytes: 0 },
 *   maxPayloadBytes: 65536, upstreamPrefixes: [new Uint8Array()], now: Date.now, log,
 *   transport: { downstream: (f) => void xpub.send(f), upstream: (f) => void xsub.send(f),
 *     apply: (on, p) => on ? xpub.subscribe(p) : xpub.unsubscribe(p) } });
 * broker.start();                      // subscribes upstream
 * broker.onUpstream(await xsub.receive());
 * broker.onDownstream(await xpub.receive());
 * ```
 */
export class LvcBroker {
  readonly #cache: LastValueCache<UpdateHeader>;
  readonly #options: LvcBrokerOptions;
  /**
   * Prefixes currently forwarded upstream for downstream subscribers (binary-string keys),
   * with the number of subscriptions holding each. Pruned when a count reaches 0.
   */
  readonly #forwarded = new Map<string, number>();
  readonly #own = new Set<string>();
  #received = 0;
  #forwardedCount = 0;
  #bad = 0;
  #subscriptions = 0;
  #unsubscriptions = 0;
  #replayed = 0;

  constructor(options: LvcBrokerOptions) {
    this.#options = options;
    this.#cache = new LastValueCache<UpdateHeader>(options.cache);
    for (const p of options.upstreamPrefixes) this.#own.add(bytesToKey(p));
  }

  /** Sends the broker's own upstream subscriptions (call once the XSUB exists). */
  start(): void {
    for (const prefix of this.#options.upstreamPrefixes) {
      this.#options.transport.upstream(subscriptionFrame(true, prefix));
    }
  }

  /** Handles one message from a source: validate, cache, forward; or log bad_message and drop. */
  onUpstream(frames: Uint8Array[]): void {
    this.#received++;
    let update;
    try {
      update = parseUpdate(frames, { maxPayloadBytes: this.#options.maxPayloadBytes });
    } catch (error) {
      this.#badMessage("upstream", error, frames);
      return;
    }
    const { topic, headerBytes, header, payload } = update;
    const result = this.#cache.set(topic, headerBytes, header, payload, this.#options.now());
    if (result === "too_large") {
      this.#options.log.warn("not_cached", {
        topic: printable(topic),
        bytes: topic.length + headerBytes.length + payload.length,
        reason: "larger than --cache-max-bytes",
      });
    }
    this.#options.transport.downstream(frames);
    this.#forwardedCount++;
  }

  /**
   * Handles one message from the XPUB: a subscription is applied to its peer, forwarded
   * upstream (once per prefix) and answered at once with every cached value under its
   * prefix; an unsubscription (manual mode passes every one, and one per prefix of a
   * subscriber that disconnects) is applied and, when the prefix's last subscription is
   * gone, forwarded upstream. Anything else is a bad_message.
   */
  onDownstream(frames: Uint8Array[]): void {
    let sub;
    try {
      sub = parseSubscription(frames);
    } catch (error) {
      this.#badMessage("downstream", error, frames);
      return;
    }
    const key = bytesToKey(sub.prefix);
    const { transport, log } = this.#options;
    if (!sub.subscribe) {
      this.#unsubscriptions++;
      transport.apply(false, sub.prefix);
      log.info("unsubscribed", { prefix: printable(sub.prefix) });
      const count = this.#forwarded.get(key);
      if (count === undefined) return; // never subscribed: nothing to undo
      if (count > 1) {
        this.#forwarded.set(key, count - 1);
      } else {
        this.#forwarded.delete(key);
        if (!this.#own.has(key)) transport.upstream(subscriptionFrame(false, sub.prefix));
      }
      return;
    }
    this.#subscriptions++;
    // Attach the joiner now, then replay with no await in between (see the module doc).
    transport.apply(true, sub.prefix);
    const count = this.#forwarded.get(key) ?? 0;
    this.#forwarded.set(key, count + 1);
    // The broker's own subscription is already upstream: a duplicate would leave the
    // XSUB's refcount at 2 and the unsubscribe would never reach the sources.
    if (count === 0 && !this.#own.has(key)) {
      transport.upstream(subscriptionFrame(true, sub.prefix));
    }
    const started = performance.now();
    const entries = this.#cache.matching(sub.prefix);
    // Sent back to back right after the joiner was attached, with no await in between: an
    // XPUB send does not wait (it drops at the HWM), so they enter libzmq's pipe ahead of
    // any update forwarded later, and the joiner sees them before newer seqs.
    for (const entry of entries) {
      transport.downstream([
        entry.topic,
        encodeHeader({ ...entry.header, replay: true }),
        entry.payload,
      ]);
    }
    this.#replayed += entries.length;
    log.info("subscribed", {
      prefix: printable(sub.prefix),
      replayed: entries.length,
      replay_ms: Math.round((performance.now() - started) * 1000) / 1000,
    });
  }

  #badMessage(from: string, error: unknown, frames: Uint8Array[]): void {
    if (!(error instanceof BadMessageError)) throw error;
    this.#bad++;
    this.#options.log.warn("bad_message", {
      from,
      reason: error.reason,
      error: error.message,
      frames: frames.length,
      bytes: frames.reduce((n, f) => n + f.length, 0),
    });
  }

  /** Counters and cache occupancy (logged as `stats`). */
  stats(): BrokerStats {
    const c = this.#cache.stats();
    return {
      received: this.#received,
      forwarded: this.#forwardedCount,
      bad: this.#bad,
      subscriptions: this.#subscriptions,
      unsubscriptions: this.#unsubscriptions,
      replayed: this.#replayed,
      cache_entries: c.entries,
      cache_bytes: c.bytes,
      cache_evictions: c.evictions,
      cache_max_entries: c.maxEntries,
      cache_max_bytes: c.maxBytes,
    };
  }
}
