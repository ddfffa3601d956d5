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
 * Bounds: a subscription whose prefix is longer than `maxPrefixBytes`, or that would add a
 * prefix beyond `maxSubscriptions` distinct ones, is refused: not applied (the peer gets
 * nothing for it), not forwarded upstream, not replayed; counted in `subscriptions_refused`
 * and logged rate-limited. The per-prefix counts shrink with every unsubscribe (libzmq sends
 * one per prefix of a subscriber that disconnects), so a departed peer leaves nothing here.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
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
  /** Most distinct prefixes subscribed downstream at once (more are refused). */
  maxSubscriptions: number;
  /** Longest subscription prefix accepted, in bytes (longer ones are refused). */
  maxPrefixBytes: number;
  /** Monotonic clock (cache entry times, replay durations). */
  clock: Clock;
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
  /** Distinct prefixes subscribed downstream now. */
  subscribed_prefixes: number;
  subscriptions_refused: number;
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
 * import { systemClock } from "@lib/async/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 * import { LvcBroker } from "./lvc_broker.ts";
 *
 * const log = createMemoryLogger();
 * const sent: Uint8Array[][] = [];
 * const broker = new LvcBroker({ cache: { maxEntries: 100_000, maxBytes: 0 },
 *   maxPayloadBytes: 65536, upstreamPrefixes: [new Uint8Array()], maxSubscriptions: 10_000,
 *   maxPrefixBytes: 128, clock: systemClock, log,
 *   transport: { downstream: (f) => sent.push(f), upstream: (f) => sent.push([f]),
 *     apply: () => {} } });
 * broker.start(); // subscribes upstream
 * broker.onDownstream([new Uint8Array([1, 0x61])]); // a subscription to "a"
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
  #refused = 0;
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
    const result = this.#cache.set(
      topic,
      headerBytes,
      header,
      payload,
      this.#options.clock.now(),
    );
    if (result === "too_large") {
      this.#options.log.limited("warn", "not_cached", {
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
      const count = this.#forwarded.get(key);
      // A refused (or never seen) prefix: libzmq still reports its cancel, nothing to undo.
      if (count === undefined) return;
      transport.apply(false, sub.prefix);
      log.info("unsubscribed", { prefix: printable(sub.prefix) });
      if (count > 1) {
        this.#forwarded.set(key, count - 1);
      } else {
        this.#forwarded.delete(key);
        if (!this.#own.has(key)) transport.upstream(subscriptionFrame(false, sub.prefix));
      }
      return;
    }
    this.#subscriptions++;
    const count = this.#forwarded.get(key) ?? 0;
    const refusal = sub.prefix.length > this.#options.maxPrefixBytes
      ? "prefix_too_long"
      : count === 0 && this.#forwarded.size >= this.#options.maxSubscriptions
      ? "too_many_subscriptions"
      : undefined;
    if (refusal) {
      this.#refused++;
      log.limited("warn", "subscription_refused", {
        reason: refusal,
        prefix_bytes: sub.prefix.length,
        max_prefix_bytes: this.#options.maxPrefixBytes,
        subscribed_prefixes: this.#forwarded.size,
        max_subscriptions: this.#options.maxSubscriptions,
        refused: this.#refused,
      }, `subscription_refused:${refusal}`);
      return;
    }
    // Attach the joiner now, then replay with no await in between (see the module doc).
    transport.apply(true, sub.prefix);
    this.#forwarded.set(key, count + 1);
    // The broker's own subscription is already upstream: a duplicate would leave the
    // XSUB's refcount at 2 and the unsubscribe would never reach the sources.
    if (count === 0 && !this.#own.has(key)) {
      transport.upstream(subscriptionFrame(true, sub.prefix));
    }
    const started = this.#options.clock.now();
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
      replay_ms: Math.round((this.#options.clock.now() - started) * 1000) / 1000,
    });
  }

  #badMessage(from: string, error: unknown, frames: Uint8Array[]): void {
    if (!(error instanceof BadMessageError)) throw error;
    this.#bad++;
    // Reasons are short codes, so one key each: a bad publisher gets one line per window.
    this.#options.log.limited("warn", "bad_message", {
      from,
      reason: error.reason,
      error: error.message,
      frames: frames.length,
      bytes: frames.reduce((n, f) => n + f.length, 0),
      bad: this.#bad,
    }, `bad_message:${from}:${error.reason}`);
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
      subscribed_prefixes: this.#forwarded.size,
      subscriptions_refused: this.#refused,
      replayed: this.#replayed,
      cache_entries: c.entries,
      cache_bytes: c.bytes,
      cache_evictions: c.evictions,
      cache_max_entries: c.maxEntries,
      cache_max_bytes: c.maxBytes,
    };
  }
}
