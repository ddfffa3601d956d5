/**
 * What one log record may carry: durations rounded, and arrays, strings, bytes, objects
 * and the whole line capped, so a hostile or huge value (1,001 frame sizes, a 50 MB
 * frame) cannot make one log line huge. Used by both log formatters.
 *
 * @module
 */

import { toHex } from "../async/hex.ts";

/**
 * The caps applied to every log record.
 *
 * @example
 * ```ts
 * import { LOG_LIMITS, type LogLimits } from "@lib/role/mod.ts";
 * const strict: LogLimits = { ...LOG_LIMITS, maxItems: 4 };
 * ```
 */
export interface LogLimits {
  /** Items of an array kept (then a `"… +N more"` item). */
  maxItems: number;
  /** Characters of a string kept (then `… +N chars`). */
  maxChars: number;
  /** Bytes of a Uint8Array shown as hex (then `… +N bytes`). */
  maxBytes: number;
  /** Keys of an object kept (then a `"…": "+N more keys"` entry). */
  maxKeys: number;
  /** Nesting depth below a field (deeper values become `"{…}"` / `"[…]"`). */
  maxDepth: number;
  /** Characters of one formatted record; fields past it are cut or left out. */
  maxRecord: number;
}

/**
 * The caps every role's log uses.
 *
 * @example
 * ```ts
 * import { LOG_LIMITS } from "@lib/role/mod.ts";
 * console.log(LOG_LIMITS.maxItems); // 16
 * ```
 */
export const LOG_LIMITS: Readonly<LogLimits> = Object.freeze({
  maxItems: 16,
  maxChars: 512,
  maxBytes: 64,
  maxKeys: 32,
  maxDepth: 4,
  maxRecord: 8192,
});

function roundFor(key: string, value: number): number {
  if (Number.isInteger(value)) return value;
  if (key.endsWith("_ms")) return Math.round(value * 10) / 10;
  if (key.endsWith("_s")) return Math.round(value * 1000) / 1000;
  return value;
}

/**
 * `text` cut to `max` characters with a `… +N chars` marker (never splitting a surrogate
 * pair).
 *
 * @example
 * ```ts
 * import { cutText } from "./log_bounds.ts";
 * cutText("abcdef", 3); // "abc… +3 chars"
 * ```
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}… +${text.length - end} chars`;
}

/**
 * A field value made JSON-safe and bounded: a non-integer number in a field whose name ends
 * in `_ms` keeps 1 decimal, in `_s` 3; strings, arrays, objects and bytes are capped;
 * Errors become their message, bigints strings, Maps objects, Sets arrays, non-finite
 * numbers strings; `undefined` and functions give `undefined` (the field is left out).
 *
 * @example
 * ```ts
 * import { boundValue } from "./log_bounds.ts";
 * boundValue("silent_ms", 3009.7584789999996); // 3009.8
 * boundValue("frames", Array.from({ length: 20 }, (_, i) => i)); // [0, ..., 15, "… +4 more"]
 * ```
 */
export function boundValue(
  key: string,
  value: unknown,
  limits: LogLimits = LOG_LIMITS,
  depth = 0,
): unknown {
  switch (typeof value) {
    case "string":
      return cutText(value, limits.maxChars);
    case "number":
      return Number.isFinite(value) ? roundFor(key, value) : String(value);
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return null;
  if (value instanceof Error) return cutText(value.message, limits.maxChars);
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const bytes = value instanceof Uint8Array ? value : new Uint8Array(value);
    const shown = toHex(bytes.subarray(0, limits.maxBytes));
    return bytes.length > limits.maxBytes
      ? `${shown}… +${bytes.length - limits.maxBytes} bytes`
      : shown;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  const isList = Array.isArray(value) || value instanceof Set;
  if (depth >= limits.maxDepth) return isList ? "[…]" : "{…}";
  if (isList) {
    const out: unknown[] = [];
    let total = 0;
    for (const item of value as Iterable<unknown>) {
      if (total++ < limits.maxItems) {
        out.push(boundValue(key, item, limits, depth + 1) ?? null);
      }
    }
    if (total > limits.maxItems) out.push(`… +${total - limits.maxItems} more`);
    return out;
  }
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
  const entries: Iterable<[unknown, unknown]> = value instanceof Map
    ? value.entries()
    : Object.entries(value as object);
  const out: Record<string, unknown> = {};
  let total = 0;
  for (const [k, v] of entries) {
    if (total++ >= limits.maxKeys) continue;
    const name = String(k);
    const bounded = boundValue(name, v, limits, depth + 1);
    if (bounded !== undefined) out[name] = bounded;
  }
  if (total > limits.maxKeys) out["…"] = `+${total - limits.maxKeys} more keys`;
  return out;
}

/**
 * A field value as bounded JSON text, or undefined when the field is left out.
 *
 * @example
 * ```ts
 * import { boundJson } from "./log_bounds.ts";
 * boundJson("rtt_ms", 1.23456); // "1.2"
 * ```
 */
export function boundJson(
  key: string,
  value: unknown,
  limits: LogLimits = LOG_LIMITS,
): string | undefined {
  const bounded = boundValue(key, value, limits);
  return bounded === undefined ? undefined : JSON.stringify(bounded);
}
