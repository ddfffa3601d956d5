/**
 * The Paranoid Pirate worker (ZeroMQ Guide, chapter 4, `ppworker`), sans-IO: READY on
 * every (re)connect, HEARTBEAT both ways, liveness counting, and reconnection with a
 * capped exponential backoff when the broker goes silent.
 *
 * The role owns the socket: the pattern sends through `port.send` and tells the role when
 * to drop its socket (`port.disconnect()`) and when to open a fresh one
 * (`port.connect()`); the role feeds every received message to `receive`/`onMessage` and
 * calls `tick(now)` from a timer. Frame values are configurable, so the Guide's protocol
 * (`\x01` READY, `\x02` HEARTBEAT, no envelope) and a lab's own (`['', "READY"]`) are the
 * same class.
 *
 * Framing, after the `envelope` prefix (e.g. `['']` for a DEALER talking to a ROUTER that
 * expects REQ-style delimiters, `[]` for the Guide's ppworker):
 * - one frame: a control word (`heartbeat` from the broker; anything else is bad);
 * - two or more frames: a request (handed to the application; the reply goes back
 *   through {@linkcode ParanoidPirateWorker.reply} with the same envelope).
 *
 * @module
 */

import { Backoff, type BackoffOptions } from "../async/backoff.ts";
import { BadMessageError } from "../codec/schema.ts";
import type { Frames, Pattern, PatternPort } from "./port.ts";

/** What the worker needs from its role: the common port plus socket lifecycle. */
export interface PirateWorkerPort extends PatternPort {
  /** Drop the current socket at once (linger 0): the broker is considered dead. */
  disconnect(): void;
  /** Open and connect a fresh socket; READY follows through `send`. */
  connect(): void;
}

/** Options of {@linkcode ParanoidPirateWorker}. */
export interface ParanoidPirateWorkerOptions {
  /** READY control word (the Guide: `"\x01"`). */
  ready: string | Uint8Array;
  /** HEARTBEAT control word (the Guide: `"\x02"`). */
  heartbeat: string | Uint8Array;
  /** Frames before every message, both ways (default none; `[""]` for an empty delimiter). */
  envelope?: (string | Uint8Array)[];
  /** Heartbeat interval in ms (the Guide: 1000). */
  heartbeatIntervalMs: number;
  /** Silent intervals before the broker is considered dead (the Guide: 3). */
  liveness: number;
  /**
   * Reconnect delays: default `initialMs` = the heartbeat interval, doubling, `maxMs`
   * 32 s, no jitter (as the Guide). Reset by any message from the broker.
   */
  backoff?: Partial<BackoffOptions>;
  /** Send a HEARTBEAT right after READY (lets a broker mark the worker as heartbeating). */
  heartbeatOnConnect?: boolean;
  /** Called for each request (frames after the envelope), when fed through `onMessage`. */
  onRequest?: (request: Frames) => void;
}

/** Counters of a {@linkcode ParanoidPirateWorker}. */
export interface PirateWorkerStats {
  /** Sessions opened (READY sent), the first one included. */
  sessions: number;
  /** Times the broker was declared dead. */
  brokerLost: number;
  requests: number;
  replies: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** Messages that `send` refused (full queue): heartbeats, READY or replies. */
  sendDropped: number;
  badMessages: number;
  /** Requests received and not answered yet. */
  inHand: number;
}

/** The worker's connection state. */
export type PirateWorkerState = "idle" | "connected" | "waiting";

const encoder = new TextEncoder();
const bytes = (value: string | Uint8Array): Uint8Array =>
  typeof value === "string" ? encoder.encode(value) : value;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A Paranoid Pirate worker core.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { ParanoidPirateWorker } from "@lib/patterns/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 *
 * const clock = new ManualClock();
 * const sent: Uint8Array[][] = [];
 * const worker = new ParanoidPirateWorker({
 *   clock,
 *   log: createMemoryLogger(),
 *   send: (frames) => void sent.push(frames),
 *   connect: () => {}, // the role opens and connects its socket here
 *   disconnect: () => {}, // ... and closes it here
 * }, { ready: "\x01", heartbeat: "\x02", heartbeatIntervalMs: 1000, liveness: 3 });
 * worker.start(); // sends READY
 * const request = worker.receive([new TextEncoder().encode("client"), new Uint8Array(), new TextEncoder().encode("hi")]);
 * if (request) worker.reply(request);
 * clock.set(1000);
 * worker.tick(clock.now()); // sends HEARTBEAT
 * console.log(sent.length); // 3
 * ```
 */
export class ParanoidPirateWorker implements Pattern<PirateWorkerStats> {
  readonly #port: PirateWorkerPort;
  readonly #ready: Uint8Array;
  readonly #heartbeat: Uint8Array;
  readonly #envelope: Uint8Array[];
  readonly #intervalMs: number;
  readonly #liveness: number;
  readonly #heartbeatOnConnect: boolean;
  readonly #onRequest?: (request: Frames) => void;
  readonly #backoff: Backoff;
  #state: PirateWorkerState = "idle";
  #stopped = false;
  #lastHeard = 0;
  #lastTick: number | null = null;
  #nextBeat = 0;
  #reconnectAt = 0;
  #stats: PirateWorkerStats = {
    sessions: 0,
    brokerLost: 0,
    requests: 0,
    replies: 0,
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    sendDropped: 0,
    badMessages: 0,
    inHand: 0,
  };

  constructor(port: PirateWorkerPort, options: ParanoidPirateWorkerOptions) {
    if (!(options.heartbeatIntervalMs > 0)) {
      throw new RangeError(
        `expected heartbeatIntervalMs > 0, got ${options.heartbeatIntervalMs}`,
      );
    }
    if (!(options.liveness >= 1)) {
      throw new RangeError(`expected liveness >= 1, got ${options.liveness}`);
    }
    this.#port = port;
    this.#ready = bytes(options.ready);
    this.#heartbeat = bytes(options.heartbeat);
    this.#envelope = (options.envelope ?? []).map(bytes);
    this.#intervalMs = options.heartbeatIntervalMs;
    this.#liveness = options.liveness;
    this.#heartbeatOnConnect = options.heartbeatOnConnect ?? false;
    this.#onRequest = options.onRequest;
    this.#backoff = new Backoff({
      initialMs: options.heartbeatIntervalMs,
      maxMs: Math.max(32_000, options.heartbeatIntervalMs),
      jitter: "none",
      ...options.backoff,
    });
  }

  /** `idle` (not started), `connected`, or `waiting` (between a lost broker and the next connect). */
  get state(): PirateWorkerState {
    return this.#state;
  }

  /** Milliseconds of silence after which the broker is declared dead. */
  get silenceMs(): number {
    return this.#intervalMs * this.#liveness;
  }

  /** Connects (through the port) and sends READY: call once, after wiring the socket loop. */
  start(): void {
    if (this.#state !== "idle" || this.#stopped) return;
    this.#open();
  }

  /**
   * No more reconnects (a role that drains keeps heartbeating while it finishes the
   * requests in hand; a worker waiting to reconnect stays disconnected).
   */
  stop(): void {
    this.#stopped = true;
  }

  /** True once {@linkcode stop} was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Classifies one message from the broker: any message proves the broker alive; a
   * HEARTBEAT returns null; a request returns its frames after the envelope (answer it
   * with {@linkcode reply}). Throws `BadMessageError` (counted) for anything else.
   */
  receive(frames: Frames): Frames | null {
    if (this.#state === "waiting") return null; // a late message from the dropped socket
    this.#lastHeard = this.#port.clock.now();
    this.#backoff.reset();
    const n = this.#envelope.length;
    const enveloped = frames.length > n && this.#envelope.every((f, i) => sameBytes(f, frames[i]));
    if (enveloped && frames.length === n + 1) {
      if (sameBytes(frames[n], this.#heartbeat)) {
        this.#stats.heartbeatsReceived++;
        return null;
      }
    } else if (enveloped) {
      this.#stats.requests++;
      this.#stats.inHand++;
      return frames.slice(n);
    }
    this.#stats.badMessages++;
    throw new BadMessageError(
      `expected ${n} envelope frame(s) then HEARTBEAT or a request of 2+ frames, got ${frames.length} frame(s) (${
        frames.slice(0, 8).map((f) => f.length).join(", ")
      }${frames.length > 8 ? ", ..." : ""} bytes)`,
    );
  }

  /** {@linkcode receive}, handing a request to `options.onRequest`. */
  onMessage(frames: Frames): void {
    const request = this.receive(frames);
    if (request) this.#onRequest?.(request);
  }

  /** Sends the reply to a request (frames after the envelope); false if `send` refused it. */
  reply(frames: Frames): boolean {
    this.#stats.inHand = Math.max(0, this.#stats.inHand - 1);
    this.#stats.replies++;
    return this.#send(frames);
  }

  /** Forgets a request in hand without replying (e.g. it was malformed). */
  discard(): void {
    this.#stats.inHand = Math.max(0, this.#stats.inHand - 1);
  }

  /** Heartbeats when due; declares the broker dead after `liveness` silent intervals; reconnects. */
  tick(now: number): void {
    if (this.#state === "waiting") {
      if (!this.#stopped && now >= this.#reconnectAt) this.#open();
      return;
    }
    if (this.#state !== "connected") return;
    // A tick that comes more than an interval late means this process was not running (stopped,
    // swapped, a starved CPU): messages may be waiting unread. Give the socket loop one
    // interval to read them before blaming the broker.
    const last = this.#lastTick;
    this.#lastTick = now;
    if (last !== null && now - last > this.#intervalMs) {
      this.#lastHeard = Math.max(this.#lastHeard, now - this.silenceMs + this.#intervalMs);
    }
    if (now - this.#lastHeard >= this.silenceMs) {
      const retryMs = this.#backoff.next();
      this.#stats.brokerLost++;
      this.#port.log.warn("broker_lost", {
        silent_ms: Math.round(now - this.#lastHeard),
        retry_ms: retryMs,
      });
      this.#port.disconnect();
      this.#state = "waiting";
      this.#reconnectAt = now + retryMs;
      return;
    }
    if (now >= this.#nextBeat) {
      this.#nextBeat = now + this.#intervalMs;
      this.#beat();
    }
  }

  /** Counters. */
  stats(): PirateWorkerStats {
    return { ...this.#stats };
  }

  /** True when no request is in hand. */
  settled(): boolean {
    return this.#stats.inHand === 0;
  }

  #open(): void {
    const now = this.#port.clock.now();
    this.#port.connect();
    this.#state = "connected";
    this.#stats.sessions++;
    // A fresh session: what was in hand was for the old one (its reply may still be sent).
    this.#lastHeard = now;
    this.#lastTick = null;
    this.#nextBeat = now + this.#intervalMs;
    this.#send([this.#ready]);
    if (this.#heartbeatOnConnect) this.#beat();
    this.#port.log.info("ready", { session: this.#stats.sessions });
  }

  #beat(): void {
    if (this.#send([this.#heartbeat])) this.#stats.heartbeatsSent++;
  }

  #send(frames: Frames): boolean {
    try {
      this.#port.send([...this.#envelope, ...frames]);
      return true;
    } catch {
      this.#stats.sendDropped++;
      return false;
    }
  }
}
