/**
 * The 7/MDP worker (the Guide's `mdwrkapi`), sans-IO: READY for one service on every
 * (re)connect, HEARTBEAT both ways, the broker declared dead after `liveness` silent
 * intervals, a fresh socket (and READY) after a DISCONNECT or a lost broker, with capped
 * exponential backoff, and a DISCONNECT of its own on a graceful stop.
 *
 * The role owns the DEALER socket exactly as with `ParanoidPirateWorker` (the same
 * {@linkcode PirateWorkerPort}): `connect()` opens a fresh socket, `disconnect()` drops it,
 * `send` writes `['', "MDPW01", command, ...]`; the role feeds what the socket receives to
 * `receive`/`onMessage` and calls `tick(now)` from a timer.
 *
 * @module
 */

import { Backoff, type BackoffOptions } from "../async/backoff.ts";
import { BadMessageError } from "../codec/schema.ts";
import {
  decodeWorkerMessage,
  encodeWorker,
  MDP_HEARTBEAT_INTERVAL_MS,
  MDP_HEARTBEAT_LIVENESS,
} from "./mdp_protocol.ts";
import type { PirateWorkerPort } from "./paranoid_pirate_worker.ts";
import type { Frames, Pattern } from "./port.ts";

/** A request handed to the application. */
export interface MdpRequest {
  /** The client's address (opaque; goes back in the REPLY). */
  client: Uint8Array;
  /** Request body frames. */
  body: Frames;
  /** The session it arrived in (a reply to an older session is not sent). */
  session: number;
}

/** Options of {@linkcode MdpWorker}. */
export interface MdpWorkerOptions {
  /** The one service this worker registers (READY). */
  service: string;
  /** Heartbeat interval in ms (7/MDP default 2500). */
  heartbeatIntervalMs?: number;
  /** Silent intervals before the broker is dead (default 3). */
  liveness?: number;
  /**
   * Delays before a reconnect after a lost broker or a DISCONNECT: default `initialMs` =
   * the heartbeat interval, doubling to 32 s, no jitter. Reset by a request from the broker.
   */
  backoff?: Partial<BackoffOptions>;
  /** Called for each request when fed through `onMessage`. */
  onRequest?: (request: MdpRequest) => void;
}

/** Counters of an {@linkcode MdpWorker}. */
export interface MdpWorkerStats {
  /** Sessions opened (READY sent), the first one included. */
  sessions: number;
  /** Times the broker went silent for `liveness` intervals. */
  brokerLost: number;
  /** DISCONNECTs received from the broker. */
  disconnectsReceived: number;
  requests: number;
  replies: number;
  /** Replies not sent because their session had ended. */
  staleReplies: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** Messages that `send` refused (a full queue). */
  sendDropped: number;
  badMessages: number;
  /** Requests received and not answered yet. */
  inHand: number;
}

/** `idle` (not started), `connected`, `waiting` (to reconnect) or `stopped` (DISCONNECT sent). */
export type MdpWorkerState = "idle" | "connected" | "waiting" | "stopped";

/**
 * A 7/MDP worker core.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { encodeWorker, MdpWorker } from "@lib/patterns/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 *
 * const clock = new ManualClock();
 * const sent: Uint8Array[][] = [];
 * const worker = new MdpWorker({
 *   clock,
 *   log: createMemoryLogger(),
 *   send: (frames) => void sent.push(frames),
 *   connect: () => {}, // the role opens a DEALER here
 *   disconnect: () => {}, // ... and closes it here
 * }, { service: "echo" });
 * worker.start(); // READY
 * const client = new TextEncoder().encode("c1");
 * const request = worker.receive(
 *   encodeWorker({ command: "REQUEST", client, body: [new TextEncoder().encode("hi")] }),
 * );
 * if (request) worker.reply(request, request.body); // REPLY
 * console.log(sent.length); // 2
 * ```
 */
export class MdpWorker implements Pattern<MdpWorkerStats> {
  readonly #port: PirateWorkerPort;
  readonly #service: string;
  readonly #intervalMs: number;
  readonly #liveness: number;
  readonly #onRequest?: (request: MdpRequest) => void;
  readonly #backoff: Backoff;
  #state: MdpWorkerState = "idle";
  #noReconnect = false;
  #lastHeard = 0;
  #lastSent = 0;
  #lastTick: number | null = null;
  #reconnectAt = 0;
  #stats: MdpWorkerStats = {
    sessions: 0,
    brokerLost: 0,
    disconnectsReceived: 0,
    requests: 0,
    replies: 0,
    staleReplies: 0,
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    sendDropped: 0,
    badMessages: 0,
    inHand: 0,
  };

  constructor(port: PirateWorkerPort, options: MdpWorkerOptions) {
    this.#intervalMs = options.heartbeatIntervalMs ?? MDP_HEARTBEAT_INTERVAL_MS;
    this.#liveness = options.liveness ?? MDP_HEARTBEAT_LIVENESS;
    if (!(this.#intervalMs > 0)) {
      throw new RangeError(`expected heartbeatIntervalMs > 0, got ${this.#intervalMs}`);
    }
    if (!(this.#liveness >= 1)) {
      throw new RangeError(`expected liveness >= 1, got ${this.#liveness}`);
    }
    if (options.service.length === 0 || options.service.startsWith("mmi.")) {
      throw new RangeError(`expected a service name outside "mmi.", got "${options.service}"`);
    }
    this.#port = port;
    this.#service = options.service;
    this.#onRequest = options.onRequest;
    this.#backoff = new Backoff({
      initialMs: this.#intervalMs,
      maxMs: Math.max(32_000, this.#intervalMs),
      jitter: "none",
      ...options.backoff,
    });
  }

  /** The connection state. */
  get state(): MdpWorkerState {
    return this.#state;
  }

  /** The current session number (1 after `start`). */
  get session(): number {
    return this.#stats.sessions;
  }

  /** Milliseconds of silence after which the broker is declared dead. */
  get silenceMs(): number {
    return this.#intervalMs * this.#liveness;
  }

  /** Connects and sends READY: call once, after wiring the socket loop. */
  start(): void {
    if (this.#state !== "idle") return;
    this.#open();
  }

  /**
   * Classifies one message from the broker (as the DEALER receives it). Any message proves
   * the broker alive; HEARTBEAT returns null; DISCONNECT drops the socket and schedules a
   * fresh session (null); REQUEST returns the request. Anything else throws
   * `BadMessageError` (counted): a broker that sends garbage is dropped and retried too.
   */
  receive(frames: Frames): MdpRequest | null {
    if (this.#state !== "connected") return null; // a late message from a dropped socket
    this.#lastHeard = this.#port.clock.now();
    let message;
    try {
      if (frames.length === 0 || frames[0].length !== 0) {
        throw new BadMessageError("worker message: expected an empty delimiter frame first");
      }
      message = decodeWorkerMessage(frames.slice(1));
    } catch (error) {
      this.#stats.badMessages++;
      throw error;
    }
    switch (message.command) {
      case "HEARTBEAT":
        this.#stats.heartbeatsReceived++;
        return null;
      case "DISCONNECT":
        this.#stats.disconnectsReceived++;
        this.#port.log.warn("broker_disconnect", { session: this.#stats.sessions });
        this.#drop(this.#backoff.next());
        return null;
      case "REQUEST":
        this.#backoff.reset();
        this.#stats.requests++;
        this.#stats.inHand++;
        return { client: message.client, body: message.body, session: this.#stats.sessions };
      default:
        this.#stats.badMessages++;
        throw new BadMessageError(
          `worker: expected REQUEST, HEARTBEAT or DISCONNECT, got ${message.command}`,
        );
    }
  }

  /** {@linkcode receive}, handing a request to `options.onRequest`. */
  onMessage(frames: Frames): void {
    const request = this.receive(frames);
    if (request) this.#onRequest?.(request);
  }

  /**
   * Sends the REPLY to `request`; false when it was not sent (its session ended: the broker
   * forgot it, and the client retries; or `send` refused it).
   */
  reply(request: MdpRequest, body: Frames): boolean {
    this.#stats.inHand = Math.max(0, this.#stats.inHand - 1);
    if (request.session !== this.#stats.sessions || this.#state !== "connected") {
      this.#stats.staleReplies++;
      return false;
    }
    if (!this.#send(encodeWorker({ command: "REPLY", client: request.client, body }))) return false;
    this.#stats.replies++;
    return true;
  }

  /** Forgets a request in hand without replying. */
  discard(): void {
    this.#stats.inHand = Math.max(0, this.#stats.inHand - 1);
  }

  /**
   * Abandons the session as a crashed worker would, but politely: DISCONNECT, a dropped
   * socket, then a fresh session with READY at once (requests in hand are lost: their
   * clients retry).
   */
  restart(reason: string): void {
    if (this.#state !== "connected") return;
    this.#send(encodeWorker({ command: "DISCONNECT" }));
    this.#port.log.info("session_abandoned", { reason, session: this.#stats.sessions });
    this.#drop(0);
  }

  /**
   * Graceful end: sends DISCONNECT (the broker forgets this worker at once) and never
   * reconnects. Drop the socket with linger so the DISCONNECT leaves.
   */
  disconnect(): void {
    this.#noReconnect = true;
    if (this.#state === "connected") this.#send(encodeWorker({ command: "DISCONNECT" }));
    this.#state = "stopped";
  }

  /**
   * Heartbeats when due (skipped when something else was sent within the interval),
   * declares the broker dead after `liveness` silent intervals, reconnects when due.
   */
  tick(now: number): void {
    if (this.#state === "waiting") {
      if (!this.#noReconnect && now >= this.#reconnectAt) this.#open();
      return;
    }
    if (this.#state !== "connected") return;
    // A tick more than an interval late means this process did not run (SIGSTOP, a starved
    // CPU): heartbeats may be waiting unread, so the broker gets one more interval.
    const last = this.#lastTick;
    this.#lastTick = now;
    if (last !== null && now - last > this.#intervalMs) {
      this.#lastHeard = Math.max(this.#lastHeard, now - this.silenceMs + this.#intervalMs);
    }
    if (now - this.#lastHeard >= this.silenceMs) {
      this.#stats.brokerLost++;
      const retryMs = this.#backoff.next();
      this.#port.log.warn("broker_lost", {
        silent_ms: Math.round(now - this.#lastHeard),
        retry_ms: retryMs,
      });
      this.#drop(retryMs);
      return;
    }
    if (now - this.#lastSent >= this.#intervalMs) {
      if (this.#send(encodeWorker({ command: "HEARTBEAT" }))) this.#stats.heartbeatsSent++;
    }
  }

  /** Counters. */
  stats(): MdpWorkerStats {
    return { ...this.#stats };
  }

  /** True when no request is in hand. */
  settled(): boolean {
    return this.#stats.inHand === 0;
  }

  #drop(retryMs: number): void {
    this.#port.disconnect();
    this.#state = "waiting";
    this.#reconnectAt = this.#port.clock.now() + retryMs;
    if (retryMs === 0 && !this.#noReconnect) this.#open();
  }

  #open(): void {
    const now = this.#port.clock.now();
    this.#port.connect();
    this.#state = "connected";
    this.#stats.sessions++;
    this.#lastHeard = now;
    this.#lastTick = null;
    this.#send(encodeWorker({ command: "READY", service: this.#service }));
    this.#port.log.info("ready", { service: this.#service, session: this.#stats.sessions });
  }

  #send(frames: Frames): boolean {
    try {
      this.#port.send(frames);
      this.#lastSent = this.#port.clock.now();
      return true;
    } catch {
      this.#stats.sendDropped++;
      return false;
    }
  }
}
