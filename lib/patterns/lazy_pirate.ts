/**
 * The Lazy Pirate client (ZeroMQ Guide, chapter 4, `lpclient`): a REQ socket whose request
 * is answered within a timeout, or the socket is closed, reopened and the request sent
 * again, up to `retries` attempts in all. A failed ZMTP handshake (wrong CURVE key,
 * mechanism mismatch, refused by ZAP) fails the request at once: retrying cannot help.
 *
 * The client owns its socket's lifecycle (a REQ socket stuck without a reply can only be
 * replaced), so it takes a socket factory rather than a `send` function: the retry logic
 * runs against any {@linkcode ReqChannel} and a {@linkcode Clock}, and is unit-tested with
 * fakes and a `ManualClock`; {@linkcode zmqReqFactory} is the thin real-socket part.
 *
 * @module
 */

import { type Clock, systemClock } from "../async/clock.ts";
import { Request, type RequestOptions, type SocketEvent } from "../zmq/mod.ts";
import type { Frames, Pattern } from "./port.ts";

/** The REQ socket as the client uses it. */
export interface ReqChannel {
  /** Sends one request (resolves once queued). */
  send(frames: Frames): Promise<void>;
  /** The reply to the request sent last. */
  receive(): Promise<Frames>;
  /** Closes at once (linger 0): an unanswered request is dropped; pending calls reject. */
  close(): void;
}

/** Opens and connects a fresh REQ socket; `socket` counts the sockets opened, from 1. */
export type ReqChannelFactory = (socket: number) => ReqChannel;

/** Reported when an attempt timed out and another one follows. */
export interface RetryInfo {
  /** The attempt that timed out (1-based). */
  attempt: number;
  /** Attempts allowed in all. */
  attempts: number;
  /** Milliseconds waited for that attempt's reply. */
  timeoutMs: number;
}

/** Options of {@linkcode LazyPirateClient}. */
export interface LazyPirateOptions {
  /** Opens and connects a fresh REQ socket (see {@linkcode zmqReqFactory}). */
  connect: ReqChannelFactory;
  /** Milliseconds to wait for each reply (the Guide's `REQUEST_TIMEOUT`, `--timeout`). */
  timeoutMs: number;
  /**
   * Attempts in all, as the Guide's `REQUEST_RETRIES` (`--retries`; 1 = no retry). A request
   * gives up after `timeoutMs × retries` at most.
   */
  retries: number;
  /** Time source (default: the system clock; `ManualClock` in tests). */
  clock?: Clock;
  /** Called before each retry. */
  onRetry?: (info: RetryInfo) => void;
  /** Aborting ends the current wait; the request then rejects with {@linkcode AbortedError}. */
  signal?: AbortSignal;
}

/** Counters of a {@linkcode LazyPirateClient}. */
export interface LazyPirateStats {
  /** Requests started. */
  requests: number;
  /** Requests answered. */
  replies: number;
  /** Resends after a timeout. */
  retries: number;
  /** Requests abandoned after the last attempt. */
  noReply: number;
  /** Requests failed by their socket (a failed handshake, a socket error). */
  failed: number;
  /** Sockets opened (1 + reopens after lost replies or failures). */
  socketsOpened: number;
}

/** No reply came after every attempt. */
export class NoReplyError extends Error {
  override name = "NoReplyError";
  /**
   * @param attempts attempts made
   * @param timeoutMs milliseconds waited for each
   * @param elapsedMs milliseconds from the first send to giving up
   */
  constructor(
    readonly attempts: number,
    readonly timeoutMs: number,
    readonly elapsedMs: number,
  ) {
    super(
      `no reply after ${attempts} attempt${attempts === 1 ? "" : "s"} of ${timeoutMs} ms each`,
    );
  }
}

/** The request was abandoned because the client's signal aborted. */
export class AbortedError extends Error {
  override name = "AbortedError";
  constructor() {
    super("request aborted");
  }
}

/** How a ZMTP handshake failed, as the socket's events report it. */
export type HandshakeFailure = "protocol" | "auth" | "other";

/**
 * The ZMTP handshake with the server failed. `code` says why: a ZMTP error name
 * (`ZMTP_MECHANISM_MISMATCH`: one side uses CURVE and the other not;
 * `ZMTP_CRYPTOGRAPHIC`: a wrong CURVE server key), the ZAP status (`auth`, e.g. "400"), or
 * an errno name.
 */
export class HandshakeError extends Error {
  override name = "HandshakeError";
  /**
   * @param endpoint the endpoint connected to
   * @param failure the kind of failure (`handshake:error:<failure>`)
   * @param code the ZMTP error name, ZAP status or errno name ("" when unknown)
   */
  constructor(
    readonly endpoint: string,
    readonly failure: HandshakeFailure,
    readonly code: string,
  ) {
    super(`handshake with ${endpoint} failed (${failure}${code ? ` ${code}` : ""})`);
  }

  /** True when the two sides use different security mechanisms (e.g. CURVE and NULL). */
  get mechanismMismatch(): boolean {
    return this.code === "ZMTP_MECHANISM_MISMATCH";
  }
}

/**
 * Sends requests with a timeout and retries; keeps the REQ socket between answered
 * requests and replaces it after a lost reply or a socket failure. Requests made while one
 * is in flight wait their turn (REQ alternates send and receive).
 *
 * It has the {@linkcode Pattern} contract's `stats()` and `settled()`; its receive and its
 * timer belong to the socket it owns, so there is no `onMessage`/`tick` to feed.
 *
 * @example
 * ```ts
 * import { LazyPirateClient, zmqReqFactory } from "@lib/patterns/mod.ts";
 * const client = new LazyPirateClient({
 *   connect: zmqReqFactory({ endpoint: "tcp://127.0.0.1:5555" }),
 *   timeoutMs: 2500,
 *   retries: 3,
 * });
 * try {
 *   const [reply] = await client.request([new TextEncoder().encode("hello")]);
 *   console.log(reply.length);
 * } finally {
 *   client.close();
 * }
 * ```
 */
export class LazyPirateClient implements Pick<Pattern<LazyPirateStats>, "stats" | "settled"> {
  readonly #options: LazyPirateOptions;
  readonly #clock: Clock;
  #socket: ReqChannel | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #stats: LazyPirateStats = {
    requests: 0,
    replies: 0,
    retries: 0,
    noReply: 0,
    failed: 0,
    socketsOpened: 0,
  };

  constructor(options: LazyPirateOptions) {
    if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
      throw new RangeError(`timeoutMs: expected a positive number, got ${options.timeoutMs}`);
    }
    if (!(Number.isInteger(options.retries) && options.retries >= 1)) {
      throw new RangeError(`retries: expected an integer >= 1, got ${options.retries}`);
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Sends `frames` and resolves with the reply's frames. Rejects with
   * {@linkcode NoReplyError} after the last attempt, {@linkcode AbortedError} on abort, or
   * the socket's error (e.g. {@linkcode HandshakeError}) at once. `onSend` is called before
   * each attempt's send (attempt counts from 1).
   */
  request(frames: Frames, onSend?: (attempt: number) => void): Promise<Frames> {
    this.#pending++;
    const run = this.#queue
      .then(() => this.#attempts(frames, onSend))
      .finally(() => this.#pending--);
    this.#queue = run.catch(() => {}); // the next request runs whatever this one did
    return run;
  }

  async #attempts(frames: Frames, onSend?: (attempt: number) => void): Promise<Frames> {
    const { timeoutMs, retries, connect, onRetry, signal } = this.#options;
    const clock = this.#clock;
    const started = clock.now();
    this.#stats.requests++;
    for (let attempt = 1; attempt <= retries; attempt++) {
      if (signal?.aborted) throw new AbortedError();
      if (!this.#socket) this.#socket = connect(++this.#stats.socketsOpened);
      const socket = this.#socket;
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      onSend?.(attempt);
      const io = (async () => {
        await socket.send(frames);
        return await socket.receive();
      })();
      // After a close the pending call rejects: expected, not an error.
      io.catch(() => {});
      const timer = clock.sleep(timeoutMs, stop.signal).then(() => null);
      try {
        const reply = await Promise.race([io, timer]);
        if (reply !== null) {
          this.#stats.replies++;
          return reply;
        }
      } catch (error) {
        // The socket failed: discard it so the next request starts clean.
        this.#stats.failed++;
        this.#discard();
        throw error;
      } finally {
        stop.abort();
        signal?.removeEventListener("abort", onAbort);
      }
      // Lost reply (or aborted): the REQ socket waits for a reply for ever; only a new one
      // can send again.
      this.#discard();
      if (signal?.aborted) throw new AbortedError();
      if (attempt < retries) {
        this.#stats.retries++;
        onRetry?.({ attempt, attempts: retries, timeoutMs });
      }
    }
    this.#stats.noReply++;
    throw new NoReplyError(retries, timeoutMs, clock.now() - started);
  }

  /** Sockets opened so far (more than one means replies were lost). */
  get socketsOpened(): number {
    return this.#stats.socketsOpened;
  }

  /** Counters since the client was made. */
  stats(): LazyPirateStats {
    return { ...this.#stats };
  }

  /** True when no request is in flight or waiting. */
  settled(): boolean {
    return this.#pending === 0;
  }

  /** Closes the current socket, if any (a later request opens a new one). */
  close(): void {
    this.#discard();
  }

  #discard(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }
}

/** Options of {@linkcode zmqReqFactory}. */
export interface ZmqReqFactoryOptions {
  /** Where each socket connects. */
  endpoint: string;
  /** REQ socket options (CURVE keys, `maxMessageSize`, ...); `linger` is always 0. */
  socket?: RequestOptions;
  /** Every event of each socket (connect, handshake, ...), e.g. for a debug log. */
  onEvent?: (type: string, detail: string | undefined) => void;
}

/** What an event adds to its type for the `onEvent` callback: the error code, if any. */
function eventDetail(event: SocketEvent): string | undefined {
  return "error" in event ? (event.error as Error & { code?: string }).code : undefined;
}

/**
 * Opens real ZeroMQ REQ sockets (linger 0) connected to `endpoint`. Each socket's events
 * turn a failed handshake into a rejected send or receive ({@linkcode HandshakeError})
 * instead of a wait for the timeout. Both are raced: after a protocol or auth failure
 * libzmq drops the connection's pipe and does not reconnect, so a send issued after the
 * failure would otherwise wait for a pipe that never comes.
 *
 * @example
 * ```ts
 * import { LazyPirateClient, zmqReqFactory } from "@lib/patterns/mod.ts";
 * const connect = zmqReqFactory({
 *   endpoint: "tcp://127.0.0.1:5555",
 *   socket: { maxMessageSize: 1 << 20 },
 * });
 * const client = new LazyPirateClient({ connect, timeoutMs: 1000, retries: 3 });
 * client.close();
 * ```
 */
export function zmqReqFactory(options: ZmqReqFactoryOptions): ReqChannelFactory {
  const { endpoint, onEvent } = options;
  return (): ReqChannel => {
    const sock = new Request({ ...options.socket, linger: 0 });
    const failed = (async (): Promise<never> => {
      for await (const event of sock.events) {
        const detail = eventDetail(event);
        onEvent?.(event.type, detail);
        const kind = /^handshake:error:(protocol|auth|other)$/.exec(event.type)?.[1];
        if (kind) throw new HandshakeError(endpoint, kind as HandshakeFailure, detail ?? "");
      }
      return await new Promise<never>(() => {}); // the events ended with the socket
    })();
    failed.catch(() => {});
    sock.connect(endpoint);
    return {
      send: (frames) => Promise.race([sock.send(frames), failed]),
      receive: () => Promise.race([sock.receive(), failed]),
      close: () => sock.close({ linger: 0 }),
    };
  };
}
