/**
 * The conflict rule: last-writer-wins on a hybrid logical clock stamp with the writing
 * coordinator's node id as the tie-break, and the stamps a node hands out.
 *
 * A stamp is `(wall, counter, node)`: `wall` is the coordinator's wall clock in ms (never
 * behind any stamp it has seen), `counter` orders writes within one ms, `node` breaks exact
 * ties so that every replica picks the same winner without talking to the others (HLC:
 * Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * @module
 */

/** A version of one key: its value (null = deleted, a tombstone) and its stamp. */
export interface Versioned {
  /** The value, or null for a delete (a tombstone, kept so the delete wins over old copies). */
  value: Uint8Array | null;
  /** Wall-clock ms of the coordinator that stamped the write. */
  wall: number;
  /** Logical counter within `wall`. */
  counter: number;
  /** Id of the coordinator that stamped it (the tie-break). */
  node: string;
}

/** A stamp (a version without its value). */
export type Stamp = Pick<Versioned, "wall" | "counter" | "node">;

/**
 * Orders two stamps: negative when `a` is older, positive when newer, 0 when equal.
 *
 * @example
 * ```ts
 * import { compareStamps } from "./versioned.ts";
 * compareStamps({ wall: 5, counter: 0, node: "a" }, { wall: 5, counter: 0, node: "b" }); // < 0
 * ```
 */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.wall !== b.wall) return a.wall - b.wall;
  if (a.counter !== b.counter) return a.counter - b.counter;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The newer of two versions (by {@link compareStamps}); `a` when equal. */
export function newer<T extends Stamp>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a) return b;
  if (!b) return a;
  return compareStamps(b, a) > 0 ? b : a;
}

/** A stamp as text, `wall.counter@node`, for logs and the CLI. */
export function stampText(s: Stamp): string {
  return `${s.wall}.${s.counter}@${s.node}`;
}

/**
 * A hybrid logical clock: `next()` stamps a local write, `observe()` takes in a stamp seen
 * from elsewhere so that later local stamps are newer than it even if this node's wall clock
 * is behind (so a read-modify-write through any coordinator is ordered after what it read).
 *
 * @example
 * ```ts
 * import { HybridClock } from "./versioned.ts";
 * let t = 1000;
 * const hlc = new HybridClock("a", () => t);
 * hlc.next(); // { wall: 1000, counter: 0, node: "a" }
 * hlc.next(); // { wall: 1000, counter: 1, node: "a" }
 * hlc.observe({ wall: 5000, counter: 3, node: "b" });
 * hlc.next(); // { wall: 5000, counter: 4, node: "a" }
 * ```
 */
export class HybridClock {
  #wall = 0;
  #counter = 0;
  readonly #node: string;
  readonly #physical: () => number;

  readonly #maxDriftMs: number;

  /**
   * `physical` is the wall clock in ms (`Date.now` in roles, a fake in tests); a stamp more
   * than `maxDriftMs` ahead of it is not taken in (a peer with a runaway clock cannot drag
   * every later write into the future).
   */
  constructor(node: string, physical: () => number, maxDriftMs = 60_000) {
    this.#node = node;
    this.#physical = physical;
    this.#maxDriftMs = maxDriftMs;
  }

  /** A new stamp, newer than every stamp handed out or observed so far. */
  next(): Stamp {
    const now = Math.floor(this.#physical());
    if (now > this.#wall) {
      this.#wall = now;
      this.#counter = 0;
    } else {
      this.#counter++;
    }
    return { wall: this.#wall, counter: this.#counter, node: this.#node };
  }

  /** Takes in a stamp from elsewhere; false when it is too far ahead to be believed. */
  observe(stamp: Stamp): boolean {
    if (stamp.wall > this.#physical() + this.#maxDriftMs) return false;
    if (stamp.wall > this.#wall || (stamp.wall === this.#wall && stamp.counter > this.#counter)) {
      this.#wall = stamp.wall;
      this.#counter = stamp.counter;
    }
    return true;
  }
}
