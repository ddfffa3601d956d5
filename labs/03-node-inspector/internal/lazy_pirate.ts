/**
 * The Lazy Pirate client (ZeroMQ Guide, chapter 4): a REQ socket whose request is
 * answered within a timeout, or the socket is closed, reopened and the request sent
 * again, a bounded number of times. The socket and the clock are injected, so the logic
 * is unit-tested without ZeroMQ or real time.
 *
 * @module
 */

/** The REQ socket as the client uses it. */
export interface ReqChannel {
  send(frames: Uint8Array[]): Promise<void>;
  receive(): Promise<Uint8Array[]>;
  /** Closes at once (linger 0): an unanswered request is dropped. */
  close(): void;
}

/** Opens and connects a fresh REQ socket. `attempt` counts from 1. */
export type ChannelFactory = (attempt: number) => ReqChannel;

/** Time source. */
export interface PirateClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

/** The real clock (`performance.now` and `setTimeout`). */
export const systemClock: PirateClock = {
  now: () => performance.now(),
  wait: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(id);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const id = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    }),
};

/** Called when an attempt timed out and another one follows. */
export interface RetryInfo {
  /** The attempt that timed out (1-based). */
  attempt: number;
  /** Attempts allowed in all. */
  attempts: number;
  timeout: number;
}

/** Options of {@linkcode LazyPirateClient}. */
export interface LazyPirateOptions {
  /** Opens and connects a fresh REQ socket. */
  factory: ChannelFactory;
  /** Milliseconds to wait for each reply. */
  timeout: number;
  /**
   * Attempts in all, as the Guide's `REQUEST_RETRIES` (1 = no retry). The client gives up
   * after `timeout × retries` at most.
   */
  retries: number;
  clock?: PirateClock;
  onRetry?: (info: RetryInfo) => void;
  /** Aborting stops the current wait; the request then rejects with {@linkcode AbortedError}. */
  signal?: AbortSignal;
}

/** No reply came after every attempt. */
export class NoReplyError extends Error {
  override name = "NoReplyError";
  /**
   * @param attempts attempts made
   * @param timeout milliseconds waited for each
   * @param elapsed milliseconds from the first send to giving up
   */
  constructor(readonly attempts: number, readonly timeout: number, readonly elapsed: number) {
    super(
      `no reply after ${attempts} attempt${attempts === 1 ? "" : "s"} of ${timeout} ms each`,
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

/**
 * Sends requests with timeout and retries; keeps the REQ socket open between
 * successful requests and replaces it after a lost reply.
 *
 * @example
 * ```ts
 * const client = new LazyPirateClient({
 *   factory: () => { const s = new Request({ linger: 0 }); s.connect(endpoint); return s; },
 *   timeout: 1000,
 *   retries: 3,
 * });
 * const reply = await client.request([encode({ v: 1, cmd: "ping", args: {} })]);
 * client.close();
 * ```
 */
export class LazyPirateClient {
  #socket: ReqChannel | undefined;
  #opened = 0;
  readonly #opts: Required<Omit<LazyPirateOptions, "onRetry" | "signal">> & LazyPirateOptions;

  constructor(options: LazyPirateOptions) {
    if (!(Number.isFinite(options.timeout) && options.timeout > 0)) {
      throw new RangeError(`timeout: expected a positive number of ms, got ${options.timeout}`);
    }
    if (!(Number.isInteger(options.retries) && options.retries >= 1)) {
      throw new RangeError(`retries: expected an integer >= 1, got ${options.retries}`);
    }
    this.#opts = { clock: systemClock, ...options };
  }

  /** Sockets opened so far (1 + reopens after lost replies). */
  get socketsOpened(): number {
    return this.#opened;
  }

  /**
   * Sends `frames` and resolves with the reply's frames. Rejects with
   * {@linkcode NoReplyError} after the last attempt, or {@linkcode AbortedError}.
   * `onSend` is called before each attempt's send (attempt counts from 1).
   */
  async request(
    frames: Uint8Array[],
    onSend?: (attempt: number) => void,
  ): Promise<Uint8Array[]> {
    const { clock, timeout, retries, factory, onRetry, signal } = this.#opts;
    const started = clock.now();
    for (let attempt = 1; attempt <= retries; attempt++) {
      if (signal?.aborted) throw new AbortedError();
      if (!this.#socket) {
        this.#socket = factory(++this.#opened);
      }
      const socket = this.#socket;
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      onSend?.(attempt);
      const io = (async () => {
        await socket.send(frames);
        return await socket.receive();
      })();
      // After a close, the pending receive rejects (ENOTSOCK): that is expected, not an error.
      io.catch(() => {});
      const timer = clock.wait(timeout, stop.signal).then(() => null);
      try {
        const result = await Promise.race([io, timer]);
        if (result !== null) return result;
      } catch (err) {
        // The socket failed: discard it so the next request starts clean.
        this.#discard();
        throw err;
      } finally {
        stop.abort();
        signal?.removeEventListener("abort", onAbort);
      }
      // Lost reply (or aborted): REQ is now stuck waiting; the only way on is a new socket.
      this.#discard();
      if (signal?.aborted) throw new AbortedError();
      if (attempt < retries) onRetry?.({ attempt, attempts: retries, timeout });
    }
    throw new NoReplyError(retries, timeout, clock.now() - started);
  }

  /** Closes the current socket, if any. */
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
