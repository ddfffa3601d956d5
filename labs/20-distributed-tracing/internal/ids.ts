/**
 * Trace and span ids from an injected source of random bytes (`crypto.getRandomValues` in
 * the roles, a seeded generator in tests), and the head sampler: a ratio at the root,
 * parent-based below it.
 *
 * @module
 */

import { toHex } from "@lib/async/mod.ts";
import type { Random } from "@lib/random/mod.ts";

/** Fills `bytes` with random bytes. */
export type RandomBytes = (bytes: Uint8Array) => void;

/** The roles' source: the platform's CSPRNG. */
export const cryptoRandomBytes: RandomBytes = (bytes) => {
  crypto.getRandomValues(bytes);
};

/**
 * Random bytes from a seeded `Random` (tests).
 *
 * @example
 * ```ts
 * import { seededRandom } from "@lib/random/mod.ts";
 * import { randomBytesFrom } from "./ids.ts";
 * const bytes = new Uint8Array(4);
 * randomBytesFrom(seededRandom(1))(bytes);
 * ```
 */
export function randomBytesFrom(random: Random): RandomBytes {
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  };
}

/**
 * Makes W3C-valid ids (never all zero) from a source of random bytes, drawn 4 KiB at a
 * time (one call to the source per 170 ids rather than one per id).
 */
export class IdGenerator {
  readonly #random: RandomBytes;
  readonly #pool = new Uint8Array(4096);
  #at = 4096;

  /** @param random the byte source */
  constructor(random: RandomBytes) {
    this.#random = random;
  }

  #take(n: number): Uint8Array {
    if (this.#at + n > this.#pool.length) {
      this.#random(this.#pool);
      this.#at = 0;
    }
    const out = this.#pool.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  #id(n: number): string {
    for (;;) {
      const bytes = this.#take(n);
      if (!bytes.every((b) => b === 0)) return toHex(bytes);
    }
  }

  /** A 32-hex trace id, not all zero. */
  traceId(): string {
    return this.#id(16);
  }

  /** A 16-hex span id, not all zero. */
  spanId(): string {
    return this.#id(8);
  }
}

/**
 * The head sampler. At the root (no valid incoming traceparent) a trace is sampled when the
 * rightmost 7 bytes (56 bits: the random part W3C Level 2 names) of its trace id, read as a
 * number, fall below `ratio` × 2^56, so the decision is a pure function of the trace id (the
 * same trace id always gets the same answer, as OpenTelemetry's TraceIdRatioBased does).
 * Below the root the parent's sampled flag decides (ParentBased).
 */
export class HeadSampler {
  readonly ratio: number;

  /** @param ratio 0..1: the share of root traces sampled */
  constructor(ratio: number) {
    if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`ratio must be 0..1, got ${ratio}`);
    this.ratio = ratio;
  }

  /**
   * The decision for a new root trace.
   *
   * @example
   * ```ts
   * import { HeadSampler } from "./ids.ts";
   * new HeadSampler(1).sampleRoot("4bf92f3577b34da6a3ce929d0e0e4736"); // true
   * new HeadSampler(0).sampleRoot("4bf92f3577b34da6a3ce929d0e0e4736"); // false
   * ```
   */
  sampleRoot(traceId: string): boolean {
    if (this.ratio >= 1) return true;
    if (this.ratio <= 0) return false;
    const random = parseInt(traceId.slice(18, 32), 16); // 56 bits fit a double exactly
    return random < this.ratio * 2 ** 56;
  }

  /** The decision below the root: the parent's (ParentBased). */
  sampleChild(parentSampled: boolean): boolean {
    return parentSampled;
  }
}
