/**
 * Graceful stop for a pulling worker: after a stop is requested it keeps taking messages
 * until none arrived for `idleMs` (so batches already on their way are finished, not
 * dropped), then calls `close`; `close` is called after `hardMs` at the latest.
 *
 * @example
 * ```ts
 * const drain = new DrainOnStop(() => pull.close(), 300, 4000);
 * signal.addEventListener("abort", () => drain.start());
 * for await (const msg of pull) {
 *   drain.busy();
 *   await handle(msg);
 *   drain.idle();
 * }
 * drain.dispose();
 * ```
 */
export class DrainOnStop {
  #close: () => void;
  #idleMs: number;
  #hardMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #hardTimer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #busy = false;
  #closed = false;

  constructor(close: () => void, idleMs: number, hardMs: number) {
    this.#close = close;
    this.#idleMs = idleMs;
    this.#hardMs = hardMs;
  }

  /** Whether a stop was requested. */
  get stopping(): boolean {
    return this.#started;
  }

  #fire = () => {
    if (this.#closed) return;
    this.#closed = true;
    this.dispose();
    this.#close();
  };

  /** A stop was requested: close when idle, or at the hard deadline. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#hardTimer = setTimeout(this.#fire, this.#hardMs);
    if (!this.#busy) this.#idleTimer = setTimeout(this.#fire, this.#idleMs);
  }

  /** A message arrived: not idle while it is handled. */
  busy(): void {
    this.#busy = true;
    clearTimeout(this.#idleTimer);
  }

  /** The message is handled: after a stop, the idle clock starts again. */
  idle(): void {
    this.#busy = false;
    if (this.#started && !this.#closed) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(this.#fire, this.#idleMs);
    }
  }

  /** Clears the timers (without closing). */
  dispose(): void {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#hardTimer);
  }
}
