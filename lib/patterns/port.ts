/**
 * The one port shape and the one contract every sans-IO pattern in `lib/patterns` shares.
 *
 * A pattern never touches a socket or a timer itself: the role's socket loop feeds it
 * frames (`onMessage`), its timer calls `tick(now)`, and the pattern answers through the
 * `send` function it was given. Tests drive it with a `ManualClock` and a recording `send`.
 *
 * @module
 */

import type { Clock } from "../async/clock.ts";
import type { Logger } from "../role/logger.ts";

/** Frames as they go on the wire. */
export type Frames = Uint8Array[];

/** What every pattern is built with. */
export interface PatternPort {
  /** Time and timers (use `ManualClock` in tests). */
  clock: Clock;
  /** The role's logger (use `createMemoryLogger()` in tests). */
  log: Logger;
  /**
   * Sends one message. It may throw (e.g. a full send queue: `EAGAIN`); the pattern
   * treats a throw as "not sent" and counts it.
   */
  send(frames: Frames): void;
}

/** The contract every pattern implements. */
export interface Pattern<Stats extends object = Record<string, number>> {
  /** Feeds one received message (frames exactly as received). */
  onMessage(frames: Frames): void;
  /** Runs time-driven work (heartbeats, expiry, retries) due at `now`. */
  tick(now: number): void;
  /** Counters and gauges for a `stats` log line. */
  stats(): Stats;
  /** True when nothing is in flight: stopping now loses nothing. */
  settled(): boolean;
}

/**
 * Calls `port.send`, turning a throw into `false` (the caller counts it), so one full
 * queue never escapes a pattern as an exception.
 *
 * @example
 * ```ts
 * import { trySend } from "@lib/patterns/mod.ts";
 * const sent: Uint8Array[][] = [];
 * trySend((frames) => void sent.push(frames), [new Uint8Array([1])]); // true
 * trySend(() => { throw new Error("EAGAIN"); }, []); // false
 * ```
 */
export function trySend(send: (frames: Frames) => void, frames: Frames): boolean {
  try {
    send(frames);
    return true;
  } catch {
    return false;
  }
}
