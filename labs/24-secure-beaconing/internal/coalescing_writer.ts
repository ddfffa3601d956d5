/**
 * Saves a file whose content is derived from state that changes in bursts (the TOFU
 * known-devices file: one learned key per spoofed UUID under a flood). `request()` marks the
 * state dirty; at most one write runs at a time, and when it ends one more write takes the
 * latest content if anything changed meanwhile. No queue of stale copies builds up: a burst
 * of N changes costs at most two writes, not N writes of N lines each.
 *
 * @module
 */

/** Options of {@link CoalescingWriter}. */
export interface CoalescingWriterOptions {
  /** The content to write now (called when a write starts, so it is always the latest). */
  render: () => string;
  /** Writes the content (e.g. to a temp file, then rename). */
  write: (text: string) => Promise<void>;
  /** A write failed (the next request tries again). */
  onError?: (error: unknown) => void;
}

/**
 * One write in flight at most, the latest state always written last.
 *
 * @example
 * ```ts
 * import { CoalescingWriter } from "./coalescing_writer.ts";
 * let state = 0;
 * const writes: string[] = [];
 * const writer = new CoalescingWriter({
 *   render: () => String(state),
 *   write: async (text) => void writes.push(text),
 * });
 * for (let i = 1; i <= 100; i++) {
 *   state = i;
 *   writer.request();
 * }
 * await writer.flush();
 * console.log(writes); // ["1", "100"]: the first and the latest, nothing in between
 * ```
 */
export class CoalescingWriter {
  readonly #options: CoalescingWriterOptions;
  #dirty = false;
  #running: Promise<void> | undefined;

  constructor(options: CoalescingWriterOptions) {
    this.#options = options;
  }

  /** The state changed: write it (now, or after the write in flight). */
  request(): void {
    this.#dirty = true;
    if (this.#running) return;
    this.#running = this.#loop().finally(() => this.#running = undefined);
  }

  /** Resolves when nothing is left to write. */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #loop(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      try {
        await this.#options.write(this.#options.render());
      } catch (error) {
        this.#options.onError?.(error);
      }
    }
  }
}
