/**
 * Drain on stop: a set of work items in flight, and a promise that resolves when none
 * are left.
 *
 * @module
 */

/**
 * Tracks work in flight by key. A role stops taking new work on SIGTERM, then awaits
 * `whenSettled()` inside its drain budget (`ctx.drain`), so nothing accepted is lost.
 *
 * @example
 * ```ts
 * import { InFlight } from "@lib/patterns/mod.ts";
 * const work = new InFlight<string>();
 * work.add("job-1");
 * const drained = work.whenSettled();
 * work.done("job-1");
 * await drained;
 * console.log(work.settled()); // true
 * ```
 */
export class InFlight<K> {
  #items = new Set<K>();
  #waiters: (() => void)[] = [];

  /** Number in flight. */
  get size(): number {
    return this.#items.size;
  }

  /** Starts tracking `key`. */
  add(key: K): void {
    this.#items.add(key);
  }

  /** Whether `key` is in flight. */
  has(key: K): boolean {
    return this.#items.has(key);
  }

  /** `key` finished (a no-op when unknown); returns whether it was in flight. */
  done(key: K): boolean {
    const had = this.#items.delete(key);
    if (this.#items.size === 0) this.#release();
    return had;
  }

  /** Forgets everything (e.g. after the drain budget ran out). */
  clear(): void {
    this.#items.clear();
    this.#release();
  }

  /** The keys in flight. */
  keys(): K[] {
    return [...this.#items];
  }

  /** True when nothing is in flight. */
  settled(): boolean {
    return this.#items.size === 0;
  }

  /** Resolves once nothing is in flight (at once if nothing is). */
  whenSettled(): Promise<void> {
    if (this.#items.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #release(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
