/**
 * The node's (and the client's) side of request-reply over DEALER sockets: one DEALER per
 * remote endpoint, a request id per request, replies matched back by id, a deadline per
 * request. The node's ROUTER answers `[identity, reply]`; the DEALER sees `[reply]`.
 *
 * @module
 */

import type { Clock, TimerHandle } from "@lib/async/mod.ts";
import { Dealer } from "@lib/zmq/mod.ts";
import type { Transport } from "./node.ts";
import { decodeReply, encodeMessage, oneFrame, type Reply, type Request } from "./protocol.ts";

/** Raised when no reply came in time. */
export class RequestTimeout extends Error {
  /** `endpoint` did not answer within `ms`. */
  constructor(endpoint: string, ms: number) {
    super(`no reply from ${endpoint} within ${ms} ms`);
    this.name = "RequestTimeout";
  }
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  timer: TimerHandle;
}

/** Options of {@link DealerTransport}. */
export interface DealerTransportOptions {
  clock: Clock;
  /** Starts the read loop of a new DEALER (the role passes `ctx.serve`). */
  serve: (dealer: Dealer, onFrames: (frames: Uint8Array[]) => void, endpoint: string) => void;
  /** Most DEALERs kept (least recently used closed first). */
  maxPeers?: number;
  /** Most requests in flight; past it a request is refused at once. */
  maxPending?: number;
}

/**
 * Request-reply to many endpoints over DEALERs.
 *
 * @example
 * ```ts ignore
 * const transport = new DealerTransport({ clock: systemClock, serve: (d, fn) => ctx.serve(d, fn) });
 * const reply = await transport.request("tcp://127.0.0.1:5514", { kind: "ring", id: 0 }, 1000);
 * ```
 */
export class DealerTransport implements Transport {
  readonly #dealers = new Map<string, Dealer>();
  readonly #pending = new Map<number, Pending>();
  readonly #o: DealerTransportOptions;
  #nextId = 1;
  #closed = false;
  /** Replies that matched no request (late, after a timeout). */
  late = 0;

  constructor(options: DealerTransportOptions) {
    this.#o = options;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.#pending.size;
  }

  #dealer(endpoint: string): Dealer {
    let dealer = this.#dealers.get(endpoint);
    if (dealer) {
      this.#dealers.delete(endpoint); // LRU order
      this.#dealers.set(endpoint, dealer);
      return dealer;
    }
    if (this.#dealers.size >= (this.#o.maxPeers ?? 256)) {
      const [oldest, socket] = this.#dealers.entries().next().value!;
      this.#dealers.delete(oldest);
      socket.close();
    }
    dealer = new Dealer({ linger: 0, sendHighWaterMark: 1000, reconnectMaxInterval: 1000 });
    try {
      dealer.connect(endpoint); // throws on an endpoint libzmq refuses (e.g. from gossip)
    } catch (error) {
      dealer.close();
      throw error;
    }
    this.#dealers.set(endpoint, dealer);
    this.#o.serve(dealer, (frames) => this.#onReply(frames), endpoint);
    return dealer;
  }

  #onReply(frames: Uint8Array[]): void {
    const reply = decodeReply(oneFrame(frames));
    const pending = this.#pending.get(reply.id);
    if (!pending) {
      this.late++;
      return;
    }
    this.#pending.delete(reply.id);
    pending.timer.cancel();
    pending.resolve(reply);
  }

  /** Sends `message` (its id is replaced) and resolves with the reply. */
  request(endpoint: string, message: Request, timeoutMs: number): Promise<Reply> {
    if (this.#closed) return Promise.reject(new Error("transport closed"));
    if (this.#pending.size >= (this.#o.maxPending ?? 10_000)) {
      return Promise.reject(new Error("too many requests in flight"));
    }
    const id = this.#nextId++;
    if (this.#nextId > Number.MAX_SAFE_INTEGER - 1) this.#nextId = 1;
    const { promise, resolve, reject } = Promise.withResolvers<Reply>();
    const timer = this.#o.clock.setTimer(timeoutMs, () => {
      if (this.#pending.delete(id)) reject(new RequestTimeout(endpoint, timeoutMs));
    });
    this.#pending.set(id, { resolve, reject, timer });
    const fail = (error: unknown) => {
      if (!this.#pending.delete(id)) return;
      timer.cancel();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    try {
      this.#dealer(endpoint).send(encodeMessage({ ...message, id } as Request)).catch(fail);
    } catch (error) {
      fail(error);
    }
    return promise;
  }

  /** Closes one endpoint's DEALER (a peer that left or moved). */
  forget(endpoint: string): void {
    this.#dealers.get(endpoint)?.close();
    this.#dealers.delete(endpoint);
  }

  /** Fails every pending request and closes every DEALER. */
  close(): void {
    this.#closed = true;
    for (const [id, p] of this.#pending) {
      p.timer.cancel();
      p.reject(new Error("transport closed"));
      this.#pending.delete(id);
    }
    for (const dealer of this.#dealers.values()) dealer.close();
    this.#dealers.clear();
  }
}
