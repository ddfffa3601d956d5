/**
 * The span model (OpenTelemetry's, with OTLP's enum numbers) and the telemetry-plane wire
 * format: one msgpack frame per batch, PUSHed by a service's exporter to the collector's PULL.
 *
 * ```
 * monitored_service (PUSH)                                  trace_collector (PULL)
 *   [ msgpack [1, service, dropped, [span...]] ]  ------->
 *   span = [traceId, spanId, parentSpanId, name, kind, startMs, endMs, attributes,
 *           [[eventName, timeMs, attributes]...], statusCode, statusMessage, traceState]
 * ```
 *
 * Times are Unix epoch milliseconds with a fractional part (microsecond resolution fits a
 * double); OTLP export turns them into nanosecond strings.
 *
 * @module
 */

import { BadMessageError, decode, encode, s } from "@lib/codec/mod.ts";

/** OTLP `Span.SpanKind` numbers. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** OTLP `Status.StatusCode` numbers. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

/** An attribute value (OTLP AnyValue's scalar cases). */
export type AttrValue = string | number | boolean;

/** A timestamped event within a span. */
export interface SpanEvent {
  name: string;
  timeMs: number;
  attributes: Record<string, AttrValue>;
}

/** A finished span. `parentSpanId` is "" for a root. */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** The service that recorded it (OTLP: the resource's `service.name`). */
  service: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue>;
  events: SpanEvent[];
  status: { code: number; message?: string };
  /** The tracestate in effect for this span ("" when none). */
  traceState: string;
}

/** The most spans one batch may carry. */
export const MAX_SPANS_PER_BATCH = 4096;
/** The most events one span may carry. */
export const MAX_EVENTS_PER_SPAN = 128;
/** The most attributes one span or event may carry. */
export const MAX_ATTRIBUTES = 64;

/** A decoded batch: the sender, its dropped counter so far and its spans. */
export interface SpanBatch {
  service: string;
  dropped: number;
  spans: SpanRecord[];
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = "0".repeat(32);
const ZERO16 = "0".repeat(16);

// The wire form is positional (msgpack arrays, no key strings): spans are encoded on the
// services' event loop, so every microsecond saved there is one the request path keeps.
//   batch = [1, service, dropped, [span...]]
//   span  = [traceId, spanId, parentSpanId, name, kind, startMs, endMs, attributes,
//            [[eventName, timeMs, attributes]...], statusCode, statusMessage, traceState]

/**
 * Encodes a batch as one frame.
 *
 * @example
 * ```ts
 * import { encodeBatch } from "./span.ts";
 * encodeBatch("gateway", 0, []); // Uint8Array
 * ```
 */
export function encodeBatch(
  service: string,
  dropped: number,
  spans: readonly SpanRecord[],
): Uint8Array {
  const wire = new Array(spans.length);
  for (let i = 0; i < spans.length; i++) {
    const sp = spans[i];
    wire[i] = [
      sp.traceId,
      sp.spanId,
      sp.parentSpanId,
      sp.name,
      sp.kind,
      sp.startMs,
      sp.endMs,
      sp.attributes,
      sp.events.length === 0 ? [] : sp.events.map((e) => [e.name, e.timeMs, e.attributes]),
      sp.status.code,
      sp.status.message ?? "",
      sp.traceState,
    ];
  }
  return encode([1, service, dropped, wire]);
}

function bad(reason: string): never {
  throw new BadMessageError(reason);
}

function str(v: unknown, what: string, max: number, min = 0): string {
  if (typeof v !== "string" || v.length < min || v.length > max) {
    bad(`${what}: expected a string of length ${min}..${max}`);
  }
  return v;
}

function time(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) bad(`${what}: expected a time`);
  return v;
}

function attributes(v: unknown, what: string): Record<string, AttrValue> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    bad(`${what}: expected a map`);
  }
  let n = 0;
  for (const key in v) {
    if (++n > MAX_ATTRIBUTES) bad(`${what}: more than ${MAX_ATTRIBUTES} attributes`);
    if (key.length > 256) bad(`${what}: key too long`);
    const value = (v as Record<string, unknown>)[key];
    if (
      typeof value === "string"
        ? value.length > 4096
        : typeof value === "number"
        ? !Number.isFinite(value)
        : typeof value !== "boolean"
    ) bad(`${what}.${key}: expected a string, number or boolean`);
  }
  return v as Record<string, AttrValue>;
}

function decodeSpan(v: unknown, service: string, i: number): SpanRecord {
  const at = `spans[${i}]`;
  if (!Array.isArray(v) || v.length !== 12) bad(`${at}: expected an array of 12`);
  const [traceId, spanId, parentSpanId, name, kind, startMs, endMs, attrs, events, code, msg, ts] =
    v;
  if (typeof traceId !== "string" || !HEX32.test(traceId) || traceId === ZERO32) {
    bad(`${at}.traceId: not 32 lowercase hex digits (not all zero)`);
  }
  if (typeof spanId !== "string" || !HEX16.test(spanId) || spanId === ZERO16) {
    bad(`${at}.spanId: not 16 lowercase hex digits (not all zero)`);
  }
  if (typeof parentSpanId !== "string" || (parentSpanId !== "" && !HEX16.test(parentSpanId))) {
    bad(`${at}.parentSpanId: neither empty nor 16 lowercase hex digits`);
  }
  if (!Number.isInteger(kind) || kind < 0 || kind > 5) bad(`${at}.kind: expected 0..5`);
  if (!Number.isInteger(code) || code < 0 || code > 2) bad(`${at}.status: expected 0..2`);
  const start = time(startMs, `${at}.startMs`);
  const end = time(endMs, `${at}.endMs`);
  if (end < start) bad(`${at}: ends before it starts`);
  if (!Array.isArray(events) || events.length > MAX_EVENTS_PER_SPAN) {
    bad(`${at}.events: expected an array of at most ${MAX_EVENTS_PER_SPAN}`);
  }
  const message = str(msg, `${at}.statusMessage`, 4096);
  return {
    traceId,
    spanId,
    parentSpanId,
    service,
    name: str(name, `${at}.name`, 256, 1),
    kind,
    startMs: start,
    endMs: end,
    attributes: attributes(attrs, `${at}.attributes`),
    events: events.map((e: unknown, j: number) => {
      const where = `${at}.events[${j}]`;
      if (!Array.isArray(e) || e.length !== 3) bad(`${where}: expected an array of 3`);
      return {
        name: str(e[0], `${where}.name`, 256, 1),
        timeMs: time(e[1], `${where}.timeMs`),
        attributes: attributes(e[2], `${where}.attributes`),
      };
    }),
    status: message === "" ? { code } : { code, message },
    traceState: str(ts, `${at}.traceState`, 8192),
  };
}

/**
 * Decodes one batch message; throws `BadMessageError` on anything else (wrong frame count,
 * not msgpack, wrong shape, ids that are not lowercase hex, end before start).
 *
 * @example
 * ```ts
 * import { decodeBatch, encodeBatch } from "./span.ts";
 * decodeBatch([encodeBatch("gateway", 0, [])]); // { service: "gateway", dropped: 0, spans: [] }
 * ```
 */
export function decodeBatch(frames: Uint8Array[]): SpanBatch {
  if (frames.length !== 1) bad(`expected 1 frame, got ${frames.length}`);
  const batch = decode(frames[0], s.array(s.unknown(), { min: 4, max: 4 }));
  const [version, service, dropped, spans] = batch;
  if (version !== 1) bad(`unknown batch version ${JSON.stringify(version)}`);
  const name = str(service, "service", 128, 1);
  if (!Number.isSafeInteger(dropped) || (dropped as number) < 0) bad("dropped: expected a count");
  if (!Array.isArray(spans) || spans.length > MAX_SPANS_PER_BATCH) {
    bad(`spans: expected an array of at most ${MAX_SPANS_PER_BATCH}`);
  }
  return {
    service: name,
    dropped: dropped as number,
    spans: spans.map((sp, i) => decodeSpan(sp, name, i)),
  };
}
