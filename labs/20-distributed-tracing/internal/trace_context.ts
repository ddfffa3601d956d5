/**
 * W3C Trace Context (Recommendation, Level 1): the `traceparent` and `tracestate` values,
 * parsed and formatted to the letter of the spec. Section numbers below are the spec's
 * (https://www.w3.org/TR/trace-context/).
 *
 * - §3.2.2 `traceparent` = version "-" trace-id "-" parent-id "-" trace-flags, each field
 *   lowercase hex (HEXDIGLC); version `ff` is forbidden; an all-zero trace-id or parent-id is
 *   invalid; version `00` is exactly 55 characters.
 * - §3.2.4 a higher (unknown) version is parsed as far as version 00 goes: at least 55
 *   characters, the trace-id followed by "-", the parent-id followed by "-", the flags
 *   followed by the end or "-"; anything after is not interpreted.
 * - §3.3 `tracestate` = up to 32 list-members `key=value`, comma separated with optional
 *   spaces/tabs; empty members allowed; keys unique.
 * - §3.5 a vendor updating its own entry moves it to the front; past 32 entries the
 *   rightmost go.
 *
 * @module
 */

/** The only version this implementation writes (§3.2.2.1). */
export const TRACEPARENT_VERSION = "00";
/** The `sampled` bit of trace-flags (§3.2.2.5). */
export const FLAG_SAMPLED = 0x01;
/** At most this many list-members in a `tracestate` (§3.3.1.1). */
export const TRACESTATE_MAX_MEMBERS = 32;

/** A parsed, valid traceparent. */
export interface TraceParent {
  /** The version received (writes always use {@link TRACEPARENT_VERSION}). */
  version: string;
  /** 32 lowercase hex characters, not all zero. */
  traceId: string;
  /** 16 lowercase hex characters, not all zero: the caller's span. */
  parentId: string;
  /** trace-flags as a number (0..255). */
  flags: number;
}

/** Why a traceparent was refused (the trace restarts, §3.2.4 and §3.2.2.3/4). */
export type TraceParentError =
  | "absent"
  | "bad_version"
  | "version_ff"
  | "bad_length"
  | "bad_trace_id"
  | "zero_trace_id"
  | "bad_parent_id"
  | "zero_parent_id"
  | "bad_flags";

/** What {@link parseTraceParent} returns. */
export type TraceParentResult =
  | { ok: true; value: TraceParent }
  | { ok: false; error: TraceParentError };

const HEX_LC = /^[0-9a-f]+$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

function isHex(text: string): boolean {
  return HEX_LC.test(text);
}

/**
 * Parses a `traceparent` value (§3.2). Leading/trailing spaces and tabs are allowed (the
 * header value is OWS-trimmed as HTTP does); nothing else is forgiven: uppercase hex,
 * version `ff`, all-zero ids, a version-00 value that is not exactly 55 characters.
 *
 * @example
 * ```ts
 * import { parseTraceParent } from "./trace_context.ts";
 * parseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
 * // { ok: true, value: { version: "00", traceId: "4bf9...", parentId: "00f0...", flags: 1 } }
 * parseTraceParent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
 * // { ok: false, error: "bad_trace_id" }
 * ```
 */
export function parseTraceParent(raw: string | undefined | null): TraceParentResult {
  if (raw === undefined || raw === null) return { ok: false, error: "absent" };
  const value = raw.replace(/^[ \t]+|[ \t]+$/g, "");
  if (value.length === 0) return { ok: false, error: "absent" };
  const version = value.slice(0, 2);
  if (version.length !== 2 || !isHex(version) || value[2] !== "-") {
    return { ok: false, error: "bad_version" };
  }
  if (version === "ff") return { ok: false, error: "version_ff" };
  if (version === "00" ? value.length !== 55 : value.length < 55) {
    return { ok: false, error: "bad_length" };
  }
  const traceId = value.slice(3, 35);
  if (!isHex(traceId) || value[35] !== "-") return { ok: false, error: "bad_trace_id" };
  if (traceId === ZERO_TRACE) return { ok: false, error: "zero_trace_id" };
  const parentId = value.slice(36, 52);
  if (!isHex(parentId) || value[52] !== "-") return { ok: false, error: "bad_parent_id" };
  if (parentId === ZERO_SPAN) return { ok: false, error: "zero_parent_id" };
  const flags = value.slice(53, 55);
  // Version 00 ends here (length checked above); a higher version may go on after a "-".
  if (!isHex(flags) || (value.length > 55 && value[55] !== "-")) {
    return { ok: false, error: "bad_flags" };
  }
  return { ok: true, value: { version, traceId, parentId, flags: parseInt(flags, 16) } };
}

/**
 * Formats a version-00 traceparent (§3.2.2; §3.2.4: always the highest version known).
 * Only the sampled flag is written: the other bits are reserved and MUST be zero (§3.2.2.5).
 *
 * @example
 * ```ts
 * import { formatTraceParent } from "./trace_context.ts";
 * formatTraceParent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true);
 * // "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
 * ```
 */
export function formatTraceParent(traceId: string, spanId: string, sampled: boolean): string {
  return `${TRACEPARENT_VERSION}-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

/** Whether a traceparent's sampled bit is set. */
export function isSampled(parent: TraceParent): boolean {
  return (parent.flags & FLAG_SAMPLED) !== 0;
}

/** One `tracestate` list-member. */
export interface TraceStateEntry {
  key: string;
  value: string;
}

// §3.3.1.3.1 key = simple-key / multi-tenant-key
const SIMPLE_KEY = /^[a-z][a-z0-9_\-*/]{0,255}$/;
const MULTI_TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
// §3.3.1.3.2 value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** Whether `key` is a valid tracestate key (§3.3.1.3.1). */
export function isTraceStateKey(key: string): boolean {
  return SIMPLE_KEY.test(key) || MULTI_TENANT_KEY.test(key);
}

/** Whether `value` is a valid tracestate value (§3.3.1.3.2). */
export function isTraceStateValue(value: string): boolean {
  return VALUE.test(value);
}

/** What {@link parseTraceState} returns: the entries, or why the header was discarded. */
export type TraceStateResult =
  | { ok: true; entries: TraceStateEntry[] }
  | { ok: false; error: "too_many_members" | "bad_member" | "duplicate_key" };

/**
 * Parses a `tracestate` value (§3.3.1). Empty and whitespace-only members are skipped
 * (§3.3.1.1); more than 32 members, a malformed member or a duplicate key makes the whole
 * header invalid, and the caller discards it (§3.3.1.1: "invalid ... SHOULD NOT be
 * propagated"). An empty value gives no entries.
 *
 * @example
 * ```ts
 * import { parseTraceState } from "./trace_context.ts";
 * parseTraceState("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");
 * // { ok: true, entries: [{ key: "rojo", value: "00f067aa0ba902b7" }, { key: "congo", ... }] }
 * ```
 */
export function parseTraceState(raw: string | undefined | null): TraceStateResult {
  const entries: TraceStateEntry[] = [];
  if (!raw) return { ok: true, entries };
  const seen = new Set<string>();
  for (const part of raw.split(",")) {
    const member = part.replace(/^[ \t]+|[ \t]+$/g, "");
    if (member.length === 0) continue;
    const eq = member.indexOf("=");
    if (eq <= 0) return { ok: false, error: "bad_member" };
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!isTraceStateKey(key) || !isTraceStateValue(value)) {
      return { ok: false, error: "bad_member" };
    }
    if (seen.has(key)) return { ok: false, error: "duplicate_key" };
    seen.add(key);
    entries.push({ key, value });
    if (entries.length > TRACESTATE_MAX_MEMBERS) return { ok: false, error: "too_many_members" };
  }
  return { ok: true, entries };
}

/**
 * Formats entries as a tracestate value ("" when there are none: then send no header).
 *
 * @example
 * ```ts
 * import { formatTraceState } from "./trace_context.ts";
 * formatTraceState([{ key: "a", value: "1" }, { key: "b", value: "2" }]); // "a=1,b=2"
 * ```
 */
export function formatTraceState(entries: readonly TraceStateEntry[]): string {
  return entries.map((e) => `${e.key}=${e.value}`).join(",");
}

/**
 * A vendor's update of its own entry (§3.5): the entry goes to the front (the left), any
 * older entry with the same key is removed, and past 32 entries the rightmost are dropped.
 * Throws on an invalid key or value (a programming error, not peer input).
 *
 * @example
 * ```ts
 * import { updateTraceState } from "./trace_context.ts";
 * updateTraceState([{ key: "a", value: "1" }, { key: "me", value: "x" }], "me", "y");
 * // [{ key: "me", value: "y" }, { key: "a", value: "1" }]
 * ```
 */
export function updateTraceState(
  entries: readonly TraceStateEntry[],
  key: string,
  value: string,
): TraceStateEntry[] {
  if (!isTraceStateKey(key) || !isTraceStateValue(value)) {
    throw new RangeError(`invalid tracestate member ${key}=${value}`);
  }
  const rest = entries.filter((e) => e.key !== key);
  return [{ key, value }, ...rest].slice(0, TRACESTATE_MAX_MEMBERS);
}
