/**
 * The bridge's core, sans-IO: clients and their topic prefixes (reference-counted ZeroMQ
 * subscriptions), the replay ring, each client's outbox (backpressure and conflation),
 * ping/pong keep-alive, and the schema checks of browser frames. The role wires it to
 * `Deno.serve`/`Deno.upgradeWebSocket` and a ZeroMQ SUB socket through a {@link BridgePort}.
 *
 * @module
 */

import { BadMessageError } from "@lib/codec/mod.ts";
import { Outbox, type OutboxOptions, type OutboxStats } from "./outbox.ts";
import {
  CLOSE,
  dataJson,
  MAX_TOPICS_PER_CLIENT,
  parseClientMessage,
  parseUpdateFrames,
  type UpdateLimits,
  type Welcome,
} from "./protocol.ts";
import { ReplayRing, type RingSnapshot } from "./replay_ring.ts";
import { BRIDGE_OWNER, SubscriptionTable } from "./subscriptions.ts";

/** What the core asks of the world. */
export interface BridgePort {
  /** Monotonic clock, ms. */
  now(): number;
  /** Subscribe the SUB socket to a prefix. */
  subscribe(prefix: string): void;
  /** Unsubscribe the SUB socket from a prefix. */
  unsubscribe(prefix: string): void;
  /** Write one text frame to a client (never waits). */
  send(client: number, text: string): void;
  /** The client socket's `bufferedAmount` now. */
  buffered(client: number): number;
  /** Close a client's socket with a code and reason. */
  close(client: number, code: number, reason: string): void;
  /** A rate-limited `bad_message` (anything a peer can trigger). */
  badMessage(reason: string, fields: Record<string, unknown>): void;
  /** An event worth a log line (`client_conflating`, `client_closed`, ...). */
  event(name: string, fields: Record<string, unknown>): void;
}

/** Bridge settings. */
export interface BridgeOptions extends OutboxOptions {
  /** Replay ring: most entries and bytes. */
  ringCapacity: number;
  ringBytes: number;
  /** Most distinct prefixes the SUB socket holds. */
  maxPrefixes: number;
  /** Ping every this many ms; close a client without a pong for `pingTimeoutMs`. */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** A client that sends no `hello` within this many ms is closed. */
  helloTimeoutMs: number;
  /** Limits of ZeroMQ updates. */
  limits: UpdateLimits;
  /** Prefixes the bridge always holds (kept in the ring with nobody connected). */
  topics: string[];
  /** The ring of a previous run (`--state`), or a fresh epoch id. */
  restore?: RingSnapshot;
  epoch: string;
}

/** One connected client as the live view shows it. */
export interface ClientRow extends OutboxStats {
  id: number;
  origin: string;
  topics: string[];
  buffered: number;
  age_ms: number;
}

/** Bridge counters. */
export interface BridgeStats {
  clients: number;
  prefixes: number;
  seq: number;
  ring: number;
  ring_bytes: number;
  updates: number;
  bad_updates: number;
  fanned_out: number;
  conflated: number;
  skipped: number;
  replayed: number;
  closed_slow: number;
  closed_bad: number;
  closed_ping: number;
}

interface Client {
  id: number;
  origin: string;
  openedAt: number;
  hello: boolean;
  outbox: Outbox;
  lastPongAt: number;
  lastPingAt: number;
  closing: boolean;
}

/**
 * The bridge.
 *
 * @example
 * ```ts
 * import { Bridge } from "./bridge.ts";
 * const sent: string[] = [];
 * const bridge = new Bridge({
 *   highWater: 1 << 18, hardWater: 1 << 20, lowWater: 1 << 16, maxTopics: 10_000, slowTimeoutMs: 10_000,
 *   ringCapacity: 1000, ringBytes: 1 << 20, maxPrefixes: 1000, pingIntervalMs: 5000,
 *   pingTimeoutMs: 15_000, helloTimeoutMs: 5000, limits: { maxPayloadBytes: 65536 },
 *   topics: [], epoch: "e1",
 * }, {
 *   now: () => 0, subscribe: () => {}, unsubscribe: () => {},
 *   send: (_id, text) => void sent.push(text), buffered: () => 0, close: () => {},
 *   badMessage: () => {}, event: () => {},
 * });
 * bridge.open(1, "http://127.0.0.1:5516");
 * bridge.message(1, '{"type":"hello","topics":[""]}'); // sent[0] is the welcome
 * ```
 */
export class Bridge {
  readonly #options: BridgeOptions;
  readonly #port: BridgePort;
  readonly #clients = new Map<number, Client>();
  readonly #subs: SubscriptionTable;
  readonly #ring: ReplayRing;
  #updates = 0;
  #badUpdates = 0;
  #fannedOut = 0;
  #replayed = 0;
  #closedSlow = 0;
  #closedBad = 0;
  #closedPing = 0;
  #conflatedGone = 0;
  #skippedGone = 0;

  constructor(options: BridgeOptions, port: BridgePort) {
    this.#options = options;
    this.#port = port;
    this.#subs = new SubscriptionTable({ maxPrefixes: options.maxPrefixes });
    const bounds = { capacity: options.ringCapacity, maxBytes: options.ringBytes };
    this.#ring = options.restore
      ? ReplayRing.fromSnapshot(options.restore, bounds)
      : new ReplayRing({ ...bounds, epoch: options.epoch });
    this.#apply(this.#subs.add(BRIDGE_OWNER, options.topics));
  }

  /** The ring's epoch. */
  get epoch(): string {
    return this.#ring.epoch;
  }

  /** Connected clients. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** A WebSocket opened (after auth and Origin checks). */
  open(id: number, origin: string): void {
    const now = this.#port.now();
    this.#clients.set(id, {
      id,
      origin,
      openedAt: now,
      hello: false,
      outbox: new Outbox(this.#options, now),
      lastPongAt: now,
      lastPingAt: now,
      closing: false,
    });
  }

  /** A frame from a client: text (JSON) or binary (refused). */
  message(id: number, data: string | ArrayBuffer | Uint8Array): void {
    const client = this.#clients.get(id);
    if (!client || client.closing) return;
    if (typeof data !== "string") {
      return this.#refuse(client, CLOSE.unsupportedData, "binary frame", "binary frames");
    }
    let message;
    try {
      message = parseClientMessage(data);
    } catch (error) {
      if (!(error instanceof BadMessageError)) throw error;
      const code = data.length > 8192 ? CLOSE.tooBig : CLOSE.badMessage;
      return this.#refuse(client, code, error.message, "bad message");
    }
    if (message.type === "pong") {
      client.lastPongAt = this.#port.now();
      return;
    }
    if ((message.type === "hello") === client.hello) {
      const why = client.hello ? "second hello" : `${message.type} before hello`;
      return this.#refuse(client, CLOSE.badMessage, why, "bad message");
    }
    const before = this.#subs.prefixesOf(id);
    if (message.type === "unsubscribe") {
      this.#apply(this.#subs.remove(id, message.topics));
    } else {
      const union = new Set([...before, ...message.topics]);
      if (union.size > MAX_TOPICS_PER_CLIENT) {
        return this.#refuse(
          client,
          CLOSE.badMessage,
          `${union.size} topic prefixes > ${MAX_TOPICS_PER_CLIENT}`,
          "too many topics",
        );
      }
      try {
        this.#apply(this.#subs.add(id, message.topics));
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        this.#port.event("bridge_full", { client: id, error: error.message });
        return this.#close(client, 1013, "bridge subscription limit");
      }
    }
    if (message.type === "hello") {
      client.hello = true;
      this.#welcome(client, message.resume);
    } else {
      this.#send(client, JSON.stringify({ type: "subscribed", topics: this.#subs.prefixesOf(id) }));
    }
  }

  /** A client's socket closed (by either side). */
  closed(id: number): void {
    const client = this.#clients.get(id);
    if (!client) return;
    this.#clients.delete(id);
    const s = client.outbox.stats();
    this.#conflatedGone += s.conflated;
    this.#skippedGone += s.skipped;
    this.#apply(this.#subs.removeClient(id));
  }

  /** One ZeroMQ message from the SUB socket. Throws `BadMessageError` when malformed. */
  update(frames: Uint8Array[]): void {
    let parsed;
    try {
      parsed = parseUpdateFrames(frames, this.#options.limits);
    } catch (error) {
      if (error instanceof BadMessageError) this.#badUpdates++;
      throw error;
    }
    this.#updates++;
    const entry = this.#ring.push(parsed.topic, (seq) => dataJson(seq, parsed));
    const now = this.#port.now();
    for (const client of this.#clients.values()) {
      if (!client.hello || client.closing || !this.#subs.matches(client.id, entry.topic)) continue;
      this.#offer(client, entry.topic, entry.json, entry.seq, now);
    }
  }

  /** Timers: conflated flushes, stalled clients, pings and ping timeouts. Call often. */
  tick(): void {
    const now = this.#port.now();
    const o = this.#options;
    for (const client of [...this.#clients.values()]) {
      if (client.closing) continue;
      if (!client.hello) {
        if (now - client.openedAt > o.helloTimeoutMs) {
          this.#refuse(client, CLOSE.badMessage, "no hello in time", "no hello");
        }
        continue;
      }
      const buffered = this.#port.buffered(client.id);
      const result = client.outbox.tick(buffered, now);
      if (result.conflating) {
        this.#port.event("client_conflating", { client: client.id, buffered, seq: this.#ring.seq });
      }
      for (const text of result.send) this.#port.send(client.id, text);
      if (result.close) {
        this.#closedSlow++;
        this.#close(client, CLOSE.slowConsumer, "slow consumer");
        continue;
      }
      if (now - client.lastPongAt > o.pingTimeoutMs) {
        this.#closedPing++;
        this.#close(client, CLOSE.pingTimeout, "ping timeout");
        continue;
      }
      if (now - client.lastPingAt >= o.pingIntervalMs) {
        client.lastPingAt = now;
        this.#send(client, `{"type":"ping","t":${Math.round(now)}}`);
      }
    }
  }

  /** Closes every client with 1001 and returns the ring to persist. */
  shutdown(): RingSnapshot {
    for (const client of [...this.#clients.values()]) {
      if (!client.closing) this.#close(client, CLOSE.goingAway, "bridge stopping");
    }
    return this.#ring.toJSON();
  }

  /** Counters. */
  stats(): BridgeStats {
    let conflated = this.#conflatedGone;
    let skipped = this.#skippedGone;
    for (const c of this.#clients.values()) {
      const s = c.outbox.stats();
      conflated += s.conflated;
      skipped += s.skipped;
    }
    return {
      clients: this.#clients.size,
      prefixes: this.#subs.size,
      seq: this.#ring.seq,
      ring: this.#ring.size,
      ring_bytes: this.#ring.bytes,
      updates: this.#updates,
      bad_updates: this.#badUpdates,
      fanned_out: this.#fannedOut,
      conflated,
      skipped,
      replayed: this.#replayed,
      closed_slow: this.#closedSlow,
      closed_bad: this.#closedBad,
      closed_ping: this.#closedPing,
    };
  }

  /** One row per client (most `limit`), for the live view. */
  rows(limit: number): ClientRow[] {
    const now = this.#port.now();
    return [...this.#clients.values()].slice(0, limit).map((c) => ({
      id: c.id,
      origin: c.origin,
      topics: this.#subs.prefixesOf(c.id),
      buffered: this.#port.buffered(c.id),
      age_ms: Math.round(now - c.openedAt),
      ...c.outbox.stats(),
    }));
  }

  #welcome(client: Client, resume: { epoch: string; seq: number } | undefined): void {
    const ring = this.#ring;
    const resumed = resume !== undefined && resume.epoch === ring.epoch && resume.seq <= ring.seq;
    const replay = resumed
      ? ring.since(resume.seq, (e) => this.#subs.matches(client.id, e.topic))
      : { entries: [], missed: 0 };
    const welcome: Welcome = {
      type: "welcome",
      epoch: ring.epoch,
      seq: ring.seq,
      ping_ms: this.#options.pingIntervalMs,
      resumed,
      replayed: replay.entries.length,
      missed: replay.missed,
      topics: this.#subs.prefixesOf(client.id),
    };
    this.#send(client, JSON.stringify(welcome));
    if (resume !== undefined) {
      this.#port.event("client_resumed", {
        client: client.id,
        from_seq: resume.seq,
        same_epoch: resume.epoch === ring.epoch,
        replayed: replay.entries.length,
        missed: replay.missed,
      });
    }
    const now = this.#port.now();
    for (const e of replay.entries) {
      this.#replayed++;
      this.#offer(client, e.topic, e.json, e.seq, now);
    }
  }

  #offer(client: Client, topic: string, json: string, seq: number, now: number): void {
    const wasLive = client.outbox.state === "live";
    const result = client.outbox.offer({ seq, topic, json }, this.#port.buffered(client.id), now);
    if (result === "send") {
      this.#fannedOut++;
      this.#port.send(client.id, json);
    } else if (result === "queued" && wasLive) {
      this.#port.event("client_conflating", {
        client: client.id,
        buffered: this.#port.buffered(client.id),
        seq,
      });
    } else if (result === "close") {
      this.#closedSlow++;
      this.#close(client, CLOSE.slowConsumer, "slow consumer: too many topics pending");
    }
  }

  #send(client: Client, text: string): void {
    this.#port.send(client.id, text);
  }

  #refuse(client: Client, code: number, detail: string, reason: string): void {
    this.#closedBad++;
    this.#port.badMessage(reason, { client: client.id, code, error: detail });
    this.#close(client, code, reason);
  }

  #close(client: Client, code: number, reason: string): void {
    client.closing = true;
    this.#port.event("client_closing", {
      client: client.id,
      code,
      reason,
      ...client.outbox.stats(),
    });
    // Gone for the core at once: a peer that never reads may keep its TCP connection (and
    // its bounded send buffer) in CLOSING until it goes away, but gets nothing more.
    this.closed(client.id);
    this.#port.close(client.id, code, reason);
  }

  #apply(changes: { subscribe: string[]; unsubscribe: string[] }): void {
    for (const p of changes.subscribe) this.#port.subscribe(p);
    for (const p of changes.unsubscribe) this.#port.unsubscribe(p);
  }
}
