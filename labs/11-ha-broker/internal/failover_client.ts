/**
 * The Binary Star client (the Guide's `bstarcli`): Lazy Pirate requests to the current
 * server; when one gets no reply (its timeout × retries ran out), switch to the next
 * server, wait a settle delay and send the same request there. The settle delay matters:
 * a passive server takes over only once its peer has been silent for 2 heartbeats, so a
 * request that arrives sooner is dropped and would cost another timeout.
 *
 * The Lazy Pirate logic is `LazyPirateClient` from `@lib/patterns`; this adds only the
 * choice of server, so it runs against fake channels and a `ManualClock` in unit tests.
 *
 * @module
 */
import type { Clock } from "@lib/async/mod.ts";
import {
  AbortedError,
  type Frames,
  LazyPirateClient,
  type ReqChannelFactory,
} from "@lib/patterns/mod.ts";

/** Options of {@link FailoverClient}. */
export interface FailoverClientOptions {
  /** The servers, tried in order from the first; at least one. */
  servers: string[];
  /** A REQ channel factory for one server (e.g. `(e) => zmqReqFactory({ endpoint: e })`). */
  connect: (server: string) => ReqChannelFactory;
  /** Wait for each reply this long (the Guide's `REQUEST_TIMEOUT`). */
  timeoutMs: number;
  /** Attempts on one server before failing over (1 = fail over after one timeout). */
  retries: number;
  /** Wait after a failover before sending (the Guide's `SETTLE_DELAY`). */
  settleMs: number;
  /** Failovers allowed for one request before it gives up (0 = none). */
  maxFailovers: number;
  clock: Clock;
  /** Aborting ends the current wait; the request rejects with `AbortedError`. */
  signal?: AbortSignal;
  /** Called at each failover, before the settle delay. */
  onFailover?: (info: FailoverInfo) => void;
}

/** A failover. */
export interface FailoverInfo {
  from: string;
  to: string;
  /** Failovers so far for this request (1 for the first). */
  failover: number;
  /** Why: the Lazy Pirate error message. */
  reason: string;
}

/** An answered request. */
export interface FailoverReply {
  reply: Frames;
  /** The server that answered. */
  server: string;
  /** Failovers this request took. */
  failovers: number;
}

/** No server answered within the failovers allowed. */
export class GaveUpError extends Error {
  override name = "GaveUpError";
  constructor(readonly failovers: number, readonly last: string) {
    super(`no reply after ${failovers} failover${failovers === 1 ? "" : "s"} (last: ${last})`);
  }
}

/** Counters of a {@link FailoverClient}. */
export interface FailoverClientStats {
  requests: number;
  replies: number;
  failovers: number;
  gaveUp: number;
  /** Lazy Pirate resends on one server. */
  retries: number;
  socketsOpened: number;
}

/**
 * Requests with failover between servers; see the module doc.
 *
 * @example
 * ```ts
 * import { systemClock } from "@lib/async/mod.ts";
 * import { zmqReqFactory } from "@lib/patterns/mod.ts";
 * import { FailoverClient } from "./failover_client.ts";
 *
 * const client = new FailoverClient({
 *   servers: ["tcp://127.0.0.1:5511", "tcp://127.0.0.1:5512"],
 *   connect: (endpoint) => zmqReqFactory({ endpoint }),
 *   timeoutMs: 1000,
 *   retries: 1,
 *   settleMs: 2000,
 *   maxFailovers: 10,
 *   clock: systemClock,
 * });
 * client.close();
 * ```
 */
export class FailoverClient {
  readonly #options: FailoverClientOptions;
  readonly #pirates: LazyPirateClient[];
  #current = 0;
  #stats = { requests: 0, replies: 0, failovers: 0, gaveUp: 0 };

  constructor(options: FailoverClientOptions) {
    if (options.servers.length === 0) {
      throw new RangeError("servers: expected at least one, got none");
    }
    if (!(Number.isFinite(options.settleMs) && options.settleMs >= 0)) {
      throw new RangeError(`settleMs: expected a number >= 0, got ${options.settleMs}`);
    }
    if (!(Number.isInteger(options.maxFailovers) && options.maxFailovers >= 0)) {
      throw new RangeError(`maxFailovers: expected an integer >= 0, got ${options.maxFailovers}`);
    }
    this.#options = options;
    this.#pirates = options.servers.map((server) =>
      new LazyPirateClient({
        connect: options.connect(server),
        timeoutMs: options.timeoutMs,
        retries: options.retries,
        clock: options.clock,
        signal: options.signal,
      })
    );
  }

  /** The server the next request goes to first. */
  get server(): string {
    return this.#options.servers[this.#current];
  }

  /**
   * Sends `frames` to the current server, failing over as needed. Rejects with
   * {@link GaveUpError} after `maxFailovers`, or `AbortedError` on abort.
   */
  async request(frames: Frames): Promise<FailoverReply> {
    const { servers, settleMs, maxFailovers, clock, signal, onFailover } = this.#options;
    this.#stats.requests++;
    for (let failovers = 0;; failovers++) {
      const server = servers[this.#current];
      try {
        const reply = await this.#pirates[this.#current].request(frames);
        this.#stats.replies++;
        return { reply, server, failovers };
      } catch (error) {
        if (error instanceof AbortedError) throw error;
        // No reply, or the socket failed (e.g. a refused handshake): this server is out.
        const reason = (error as Error).message;
        if (failovers >= maxFailovers) {
          this.#stats.gaveUp++;
          throw new GaveUpError(failovers, reason);
        }
        this.#pirates[this.#current].close();
        this.#current = (this.#current + 1) % servers.length;
        this.#stats.failovers++;
        onFailover?.({ from: server, to: servers[this.#current], failover: failovers + 1, reason });
        await clock.sleep(settleMs, signal);
        if (signal?.aborted) throw new AbortedError();
      }
    }
  }

  /** Counters since the client was made. */
  stats(): FailoverClientStats {
    const pirates = this.#pirates.map((p) => p.stats());
    return {
      ...this.#stats,
      retries: pirates.reduce((n, s) => n + s.retries, 0),
      socketsOpened: pirates.reduce((n, s) => n + s.socketsOpened, 0),
    };
  }

  /** True when no request is in flight. */
  settled(): boolean {
    return this.#pirates.every((p) => p.settled());
  }

  /** Closes every socket. */
  close(): void {
    for (const p of this.#pirates) p.close();
  }
}
