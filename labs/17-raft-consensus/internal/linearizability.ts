/**
 * A linearizability checker for a single read/write register, in the style of Wing & Gong
 * (1993) with Lowe's memoisation as used by Porcupine: depth-first search for an order of
 * the operations that respects real time (an operation that returned before another was
 * invoked comes first) and the register's sequential specification (a read returns the
 * last value written), caching (set of operations linearized, register value) states
 * already explored.
 *
 * An operation whose outcome is unknown (a write that timed out: it may or may not have
 * taken effect) has `ret = Infinity`: it may be linearized at any point after its call, or
 * never. Failed reads tell nothing and are left out by the caller.
 *
 * @module
 */

/** One client operation on the register. */
export interface RegisterOp {
  kind: "read" | "write";
  /** The value written, or the value the read returned (null: empty register). */
  value: string | null;
  /** When it was invoked (any monotonic unit shared by all clients). */
  call: number;
  /** When it returned; Infinity when its outcome is unknown. */
  ret: number;
  /** For reports. */
  client?: string;
}

/** The verdict, with an explanation when the history is not linearizable. */
export type CheckResult =
  | { ok: true; explored: number }
  | { ok: false; explored: number; reason: string };

/** Options of {@link checkRegister}. */
export interface CheckOptions {
  /** The register's initial value (default null). */
  initial?: string | null;
  /** Give up (throwing) after exploring this many states (default 5 000 000). */
  maxStates?: number;
}

/**
 * Checks whether a history of register operations is linearizable.
 *
 * @example
 * ```ts
 * import { checkRegister } from "./linearizability.ts";
 * checkRegister([
 *   { kind: "write", value: "a", call: 0, ret: 10 },
 *   { kind: "read", value: "a", call: 5, ret: 15 },
 * ]).ok; // true
 * checkRegister([
 *   { kind: "write", value: "a", call: 0, ret: 10 },
 *   { kind: "read", value: null, call: 11, ret: 15 }, // a stale read after the write returned
 * ]).ok; // false
 * ```
 */
export function checkRegister(
  history: readonly RegisterOp[],
  options: CheckOptions = {},
): CheckResult {
  const maxStates = options.maxStates ?? 5_000_000;
  const ops = [...history].sort((a, b) => a.call - b.call);
  const n = ops.length;
  const done = new Uint8Array(n);
  const mustFinish = ops.filter((o) => o.ret !== Infinity).length;
  const seen = new Set<string>();
  let explored = 0;
  let deepest = 0;

  const key = (value: string | null) => {
    let bits = "";
    for (let i = 0; i < n; i += 16) {
      let word = 0;
      for (let j = i; j < Math.min(n, i + 16); j++) word |= done[j] << (j - i);
      bits += String.fromCharCode(word + 0x100);
    }
    return `${bits}|${value === null ? "\u0000" : `v${value}`}`;
  };

  const search = (value: string | null, finished: number): boolean => {
    if (finished === mustFinish) return true;
    const k = key(value);
    if (seen.has(k)) return false;
    seen.add(k);
    if (++explored > maxStates) {
      throw new Error(`gave up after ${maxStates} states`);
    }
    // The earliest return among operations not yet linearized: nothing invoked after it
    // can come next.
    let minRet = Infinity;
    for (let i = 0; i < n; i++) if (!done[i] && ops[i].ret < minRet) minRet = ops[i].ret;
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      if (done[i]) continue;
      if (op.call > minRet) break; // sorted by call
      let next: string | null;
      if (op.kind === "write") next = op.value;
      else if (op.value === value) next = value;
      else continue;
      done[i] = 1;
      const count = finished + (op.ret !== Infinity ? 1 : 0);
      if (count > deepest) deepest = count;
      if (search(next, count)) return true;
      done[i] = 0;
    }
    return false;
  };

  const ok = search(options.initial ?? null, 0);
  if (ok) return { ok: true, explored };
  return {
    ok: false,
    explored,
    reason:
      `no linearization: at most ${deepest} of ${mustFinish} completed operations could be ordered`,
  };
}
