/**
 * Option validators for commander: each is a parse function `(value: string) => T` that
 * throws commander's `InvalidArgumentError` with a message "expected X, got Y". Commander
 * prefixes it with the option, so a bad value reads:
 * `option '--interval <ms>' argument 'x' is invalid. expected an integer >= 10, got "x"`.
 *
 * @module
 */

import { InvalidArgumentError } from "commander";

/** A commander option parser. */
export type OptionParser<T> = (value: string, previous?: unknown) => T;

/** Bounds for {@link int} and {@link float}. */
export interface RangeOptions {
  /** Smallest accepted value (inclusive). */
  min?: number;
  /** Largest accepted value (inclusive). */
  max?: number;
}

function fail(expected: string, got: string): never {
  throw new InvalidArgumentError(`expected ${expected}, got ${JSON.stringify(got)}`);
}

function rangeText(kind: string, { min, max }: RangeOptions): string {
  if (min !== undefined && max !== undefined) return `${kind} in [${min}, ${max}]`;
  if (min !== undefined) return `${kind} >= ${min}`;
  if (max !== undefined) return `${kind} <= ${max}`;
  return kind;
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * An integer option, optionally bounded.
 *
 * @example
 * ```ts
 * cmd.option("--interval <ms>", "heartbeat interval", int({ min: 10 }), 1000);
 * int({ min: 1 })("5"); // 5
 * ```
 */
export function int(range: RangeOptions = {}): OptionParser<number> {
  const expected = rangeText("an integer", range);
  return (value: string): number => {
    const text = value.trim();
    if (!INT_RE.test(text)) fail(expected, value);
    const n = Number(text);
    if (!Number.isSafeInteger(n)) fail(expected, value);
    if (range.min !== undefined && n < range.min) fail(expected, value);
    if (range.max !== undefined && n > range.max) fail(expected, value);
    return n;
  };
}

/**
 * A decimal number option, optionally bounded.
 *
 * @example
 * ```ts
 * cmd.option("--ratio <x>", "sampling ratio", float({ min: 0, max: 1 }), 0.5);
 * ```
 */
export function float(range: RangeOptions = {}): OptionParser<number> {
  const expected = rangeText("a number", range);
  return (value: string): number => {
    const text = value.trim();
    if (!FLOAT_RE.test(text)) fail(expected, value);
    const n = Number(text);
    if (!Number.isFinite(n)) fail(expected, value);
    if (range.min !== undefined && n < range.min) fail(expected, value);
    if (range.max !== undefined && n > range.max) fail(expected, value);
    return n;
  };
}

/**
 * A positive integer (>= 1).
 *
 * @example
 * ```ts
 * cmd.option("--workers <n>", "worker count", positive, 4);
 * ```
 */
export const positive: OptionParser<number> = int({ min: 1 });

const TCP_RE = /^tcp:\/\/([^\s/]+):(\*|\d{1,5})$/;

/**
 * A ZeroMQ endpoint: `tcp://host:port` (port may be `*`, host may be `*`),
 * `ipc://path` or `inproc://name`.
 *
 * @example
 * ```ts
 * cmd.option("--bind <endpoint>", "PUB endpoint", endpoint, "tcp://127.0.0.1:5501");
 * endpoint("tcp://127.0.0.1:*"); // "tcp://127.0.0.1:*"
 * ```
 */
export function endpoint(value: string): string {
  const expected = "an endpoint tcp://host:port|*, ipc://path or inproc://name";
  if (value.startsWith("tcp://")) {
    const m = TCP_RE.exec(value);
    if (!m) fail(expected, value);
    if (m[2] !== "*" && Number(m[2]) > 65535) fail(expected, value);
    return value;
  }
  if (value.startsWith("ipc://")) {
    if (value.length <= "ipc://".length) fail(expected, value);
    return value;
  }
  if (value.startsWith("inproc://")) {
    if (value.length <= "inproc://".length) fail(expected, value);
    return value;
  }
  fail(expected, value);
}

/**
 * One of a fixed set of strings.
 *
 * @example
 * ```ts
 * cmd.option("--mode <mode>", "delivery mode", oneOf("fast", "safe"), "safe");
 * ```
 */
export function oneOf<const T extends string>(...values: T[]): OptionParser<T> {
  const expected = `one of ${values.join("|")}`;
  return (value: string): T => {
    if (!(values as string[]).includes(value)) fail(expected, value);
    return value as T;
  };
}

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration: `250ms`, `2s`, `1.5m`, `1h` or plain milliseconds (`500`), returned in ms.
 *
 * @example
 * ```ts
 * cmd.option("--timeout <duration>", "request timeout", duration, 2500);
 * duration("2s"); // 2000
 * ```
 */
export function duration(value: string): number {
  const m = DURATION_RE.exec(value.trim());
  if (!m) fail("a duration like 250ms, 2s, 1m, 1h or plain ms", value);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? "ms"]);
}

/**
 * A comma-separated list of non-empty strings (items are trimmed).
 *
 * @example
 * ```ts
 * cmd.option("--racks <list>", "racks to show", list, []);
 * list("a, b,c"); // ["a", "b", "c"]
 * ```
 */
export function list(value: string): string[] {
  const items = value.split(",").map((item) => item.trim());
  if (items.some((item) => item === "")) {
    fail("a comma-separated list of non-empty items", value);
  }
  return items;
}
