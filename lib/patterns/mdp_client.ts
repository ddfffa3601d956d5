/**
 * 7/MDP clients, as the Guide's `mdcliapi` and `mdcliapi2`:
 *
 * - {@linkcode MdpClient}: synchronous, over a REQ socket, with Lazy Pirate retries
 *   (`LazyPirateClient`: a fresh socket per retry, `retries` attempts of `timeoutMs`).
 * - {@linkcode MdpAsyncClient}: asynchronous, sans-IO, for a DEALER: many requests in
 *   flight, replies matched to the oldest outstanding request of their service (MDP
 *   replies carry no request id), each outstanding request expiring after `timeoutMs`.
 *
 * A reply that the broker itself made (`["mdp.error", code, text]`, e.g. a full service
 * queue) comes back as an {@linkcode MdpErrorReply}, not as a body.
 *
 * @module
 */

import { BadMessageError } from "../codec/schema.ts";
import { LazyPirateClient, type LazyPirateOptions, type LazyPirateStats } from "./lazy_pirate.ts";
import { decodeClientReply, encodeClientRequest, parseErrorReply } from "./mdp_protocol.ts";
import type { Frames, Pattern, PatternPort } from "./port.ts";

/**
 * The broker answered with its own error reply (`503` queue full/stopping, `504` no worker in time).
 *
 * @example
 * ```ts
 * import { MdpErrorReply } from "@lib/patterns/mod.ts";
 * const error = new MdpErrorReply("echo", "503", "service queue full (100 waiting)");
 * console.log(error.message); // "broker refused echo: 503 service queue full (100 waiting)"
 * ```
 */
export class MdpErrorReply extends Error {
  override name = "MdpErrorReply";
  /**
   * @param service the service asked for
   * @param code `503` or `504`
   * @param text the broker's explanation
   */
  constructor(readonly service: string, readonly code: string, readonly text: string) {
    super(`broker refused ${service}: ${code} ${text}`);
  }
}

/** Options of {@linkcode MdpClient}: those of `LazyPirateClient`. */
export type MdpClientOptions = LazyPirateOptions;

/**
 * Synchronous MDP client over REQ with Lazy Pirate retries.
 *
 * @example
 * ```ts
 * import { MdpClient, zmqReqFactory } from "@lib/patterns/mod.ts";
 * const client = new MdpClient({
 *   connect: zmqReqFactory({ endpoint: "tcp://127.0.0.1:5555" }),
 *   timeoutMs: 2500,
 *   retries: 3,
 * });
 * try {
 *   const body = await client.request("echo", [new TextEncoder().encode("hello")]);
 *   console.log(body.length);
 * } finally {
 *   client.close();
 * }
 * ```
 */
export class MdpClient implements Pick<Pattern<LazyPirateStats>, "stats" | "settled"> {
  readonly #pirate: LazyPirateClient;

  constructor(options: MdpClientOptions) {
    this.#pirate = new LazyPirateClient(options);
  }

  /**
   * Sends `body` to `service`; resolves with the reply body. Rejects with `NoReplyError`
   * after the last attempt, {@linkcode MdpErrorReply} when the broker refused, and
   * `BadMessageError` for a reply that is not MDP/Client for this service.
   */
  async request(
    service: string,
    body: (string | Uint8Array)[],
    onSend?: (attempt: number) => void,
  ): Promise<Frames> {
    // REQ adds the empty delimiter itself.
    const frames = encodeClientRequest(service, body).slice(1);
    const reply = decodeClientReply(await this.#pirate.request(frames, onSend));
    if (reply.service !== service) {
      throw new BadMessageError(`reply: expected service "${service}", got "${reply.service}"`);
    }
    const error = parseErrorReply(reply.body);
    if (error) throw new MdpErrorReply(service, error.code, error.text);
    return reply.body;
  }

  /** Counters (those of the underlying Lazy Pirate client). */
  stats(): LazyPirateStats {
    return this.#pirate.stats();
  }

  /** True when no request is in flight. */
  settled(): boolean {
    return this.#pirate.settled();
  }

  /** Closes the current socket. */
  close(): void {
    this.#pirate.close();
  }
}

/** One reply (or a failure) delivered by {@linkcode MdpAsyncClient}. */
export type MdpAsyncResult =
  | { ok: true; service: string; body: Frames; rttMs: number }
  | { ok: false; service: string; error: MdpErrorReply | "timeout"; rttMs: number };

/** Options of {@linkcode MdpAsyncClient}. */
export interface MdpAsyncClientOptions {
  /** An outstanding request older than this is given up (`timeout`). */
  timeoutMs: number;
  /** Most requests in flight at once; `send` refuses more (default 1000). */
  maxInFlight?: number;
  /** Each reply, broker error or timeout. */
  onResult?: (result: MdpAsyncResult) => void;
}

/** Counters of an {@linkcode MdpAsyncClient}. */
export interface MdpAsyncClientStats {
  sent: number;
  replies: number;
  errors: number;
  timeouts: number;
  /** Replies with no outstanding request of their service (late after a timeout). */
  unmatched: number;
  /** Sends that `port.send` refused. */
  sendDropped: number;
  badMessages: number;
  inFlight: number;
}

/**
 * Asynchronous MDP client core for a DEALER socket (the Guide's `mdcliapi2`).
 *
 * @example
 * ```ts
 * import { ManualClock } from "@lib/async/mod.ts";
 * import { encodeClientRequest, MdpAsyncClient } from "@lib/patterns/mod.ts";
 * import { createMemoryLogger } from "@lib/role/mod.ts";
 *
 * const clock = new ManualClock();
 * const sent: Uint8Array[][] = [];
 * const client = new MdpAsyncClient(
 *   { clock, log: createMemoryLogger(), send: (frames) => void sent.push(frames) },
 *   { timeoutMs: 1000, onResult: (r) => console.log(r.ok) },
 * );
 * client.send("echo", ["hi"]);
 * client.onMessage(encodeClientRequest("echo", ["hi"])); // the broker's reply has the same shape: true
 * ```
 */
export class MdpAsyncClient implements Pattern<MdpAsyncClientStats> {
  readonly #port: PatternPort;
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #onResult?: (result: MdpAsyncResult) => void;
  // Per service, send times of outstanding requests, oldest first.
  #outstanding = new Map<string, number[]>();
  #inFlight = 0;
  #stats = {
    sent: 0,
    replies: 0,
    errors: 0,
    timeouts: 0,
    unmatched: 0,
    sendDropped: 0,
    badMessages: 0,
  };

  constructor(port: PatternPort, options: MdpAsyncClientOptions) {
    if (!(options.timeoutMs > 0)) {
      throw new RangeError(`expected timeoutMs > 0, got ${options.timeoutMs}`);
    }
    this.#port = port;
    this.#timeoutMs = options.timeoutMs;
    this.#maxInFlight = options.maxInFlight ?? 1000;
    this.#onResult = options.onResult;
  }

  /** Requests sent and not yet answered or expired. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Sends one request; false when the window is full or `send` refused it. */
  send(service: string, body: (string | Uint8Array)[]): boolean {
    if (this.#inFlight >= this.#maxInFlight) return false;
    try {
      this.#port.send(encodeClientRequest(service, body));
    } catch {
      this.#stats.sendDropped++;
      return false;
    }
    let queue = this.#outstanding.get(service);
    if (!queue) this.#outstanding.set(service, queue = []);
    queue.push(this.#port.clock.now());
    this.#inFlight++;
    this.#stats.sent++;
    return true;
  }

  /** Feeds one message from the DEALER: `['', "MDPC01", service, body...]`. */
  onMessage(frames: Frames): void {
    let reply;
    try {
      reply = decodeClientReply(frames, true);
    } catch (error) {
      this.#stats.badMessages++;
      throw error;
    }
    const queue = this.#outstanding.get(reply.service);
    const sentAt = queue?.shift();
    if (sentAt === undefined) {
      this.#stats.unmatched++;
      return;
    }
    if (queue!.length === 0) this.#outstanding.delete(reply.service);
    this.#inFlight--;
    const rttMs = this.#port.clock.now() - sentAt;
    const error = parseErrorReply(reply.body);
    if (error) {
      this.#stats.errors++;
      this.#onResult?.({
        ok: false,
        service: reply.service,
        error: new MdpErrorReply(reply.service, error.code, error.text),
        rttMs,
      });
    } else {
      this.#stats.replies++;
      this.#onResult?.({ ok: true, service: reply.service, body: reply.body, rttMs });
    }
  }

  /** Expires outstanding requests older than the timeout. */
  tick(now: number): void {
    for (const [service, queue] of this.#outstanding) {
      while (queue.length > 0 && now - queue[0] >= this.#timeoutMs) {
        const sentAt = queue.shift()!;
        this.#inFlight--;
        this.#stats.timeouts++;
        this.#onResult?.({ ok: false, service, error: "timeout", rttMs: now - sentAt });
      }
      if (queue.length === 0) this.#outstanding.delete(service);
    }
  }

  /** Counters. */
  stats(): MdpAsyncClientStats {
    return { ...this.#stats, inFlight: this.#inFlight };
  }

  /** True when nothing is outstanding. */
  settled(): boolean {
    return this.#inFlight === 0;
  }
}
