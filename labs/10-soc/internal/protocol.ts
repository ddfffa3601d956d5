/**
 * Lab 10 wire protocol. Every body is one msgpack frame checked by a schema on the way in
 * (a malformed frame throws BadMessageError: logged as `bad_message` and dropped).
 *
 * ```
 * threat feed   PUB  [ "ioc.<type>" | Indicator ]   and   [ "ioc.meta" | FeedMeta ]
 * detector      REQ  [ Event ]  ->  REP [ Verdict ]
 * alert pipeline PUSH [ Alert ]  (event_generator -> alert_router -> alert_sink)
 * ```
 *
 * @module
 */

import { BadMessageError, decode, encode, type Infer, s } from "@lib/codec/mod.ts";

/** Indicator kinds a consumer can subscribe to (the PUB topic is `ioc.<type>`). */
export const INDICATOR_TYPES = ["ip", "domain", "hash"] as const;
/** An indicator kind. */
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

/** Alert severities, lowest first. */
export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
/** An alert severity. */
export type Severity = (typeof SEVERITIES)[number];

/** Largest body any Lab 10 socket accepts (ZMQ_MAXMSGSIZE on every socket). */
export const MAX_BODY_BYTES = 16 * 1024;

/** One indicator of compromise. */
export const Indicator = s.object({
  type: s.literal(...INDICATOR_TYPES),
  value: s.string({ min: 1, max: 256 }),
  severity: s.literal(...SEVERITIES),
  note: s.string({ max: 200 }),
}, { strict: true });
/** One indicator of compromise. */
export type Indicator = Infer<typeof Indicator>;

/**
 * Sent after each full pass over the feed: how many indicators of each type the pass had,
 * so a consumer knows when its copy is complete.
 */
export const FeedMeta = s.object({
  pass: s.int({ min: 0 }),
  counts: s.record(s.int({ min: 0 }), { maxKeys: 8 }),
}, { strict: true });
/** Sent after each full pass over the feed. */
export type FeedMeta = Infer<typeof FeedMeta>;

/** A security event to score. `ts` is event time (ms), not the detector's clock. */
export const Event = s.object({
  id: s.string({ min: 1, max: 64 }),
  ts: s.int({ min: 0 }),
  kind: s.literal("login", "conn", "dns", "file"),
  host: s.string({ min: 1, max: 64 }),
  src: s.optional(s.string({ max: 64 })),
  dst: s.optional(s.string({ max: 256 })),
  port: s.optional(s.int({ min: 0, max: 65535 })),
  user: s.optional(s.string({ max: 64 })),
  ok: s.optional(s.boolean()),
  hash: s.optional(s.string({ max: 128 })),
}, { strict: true });
/** A security event. */
export type Event = Infer<typeof Event>;

/** The detector's rules. */
export const RULES = ["ioc_ip", "ioc_domain", "ioc_hash", "brute_force", "beaconing"] as const;
/** A detector rule. */
export type Rule = (typeof RULES)[number];

/** One rule that fired on an event. */
export const Finding = s.object({
  rule: s.literal(...RULES),
  severity: s.literal(...SEVERITIES),
  reason: s.string({ max: 300 }),
}, { strict: true });
/** One rule that fired on an event. */
export type Finding = Infer<typeof Finding>;

/**
 * The detector's answer: 200 with the findings (none = benign), 503 while its threat intel
 * is incomplete (retry later), 400 for an event it cannot score.
 */
export const Verdict = s.object({
  id: s.string({ max: 64 }),
  status: s.literal(200, 400, 503),
  findings: s.array(Finding, { max: 8 }),
  detail: s.optional(s.string({ max: 300 })),
}, { strict: true });
/** The detector's answer. */
export type Verdict = Infer<typeof Verdict>;

/** An alert travelling down the pipeline; `alert_id` = `<event id>:<rule>` (dedup key). */
export const Alert = s.object({
  alert_id: s.string({ min: 1, max: 100 }),
  event_id: s.string({ min: 1, max: 64 }),
  ts: s.int({ min: 0 }),
  host: s.string({ max: 64 }),
  rule: s.literal(...RULES),
  severity: s.literal(...SEVERITIES),
  reason: s.string({ max: 300 }),
}, { strict: true });
/** An alert. */
export type Alert = Infer<typeof Alert>;

function oneFrame(frames: Uint8Array[]): Uint8Array {
  if (frames.length !== 1) {
    throw new BadMessageError(`expected 1 frame, got ${frames.length}`);
  }
  return frames[0];
}

/**
 * Encodes any Lab 10 body.
 *
 * @example
 * ```ts
 * import { decodeEvent, encodeBody } from "./protocol.ts";
 * const e = decodeEvent([encodeBody({ id: "e1", ts: 0, kind: "dns", host: "h", dst: "x.example" })]);
 * console.log(e.kind); // "dns"
 * ```
 */
export function encodeBody(body: Indicator | FeedMeta | Event | Verdict | Alert): Uint8Array {
  return encode(body);
}

/** Decodes a one-frame Event; throws BadMessageError otherwise. */
export function decodeEvent(frames: Uint8Array[]): Event {
  return decode(oneFrame(frames), Event);
}

/** Decodes a one-frame Verdict; throws BadMessageError otherwise. */
export function decodeVerdict(frames: Uint8Array[]): Verdict {
  return decode(oneFrame(frames), Verdict);
}

/** Decodes a one-frame Alert; throws BadMessageError otherwise. */
export function decodeAlert(frames: Uint8Array[]): Alert {
  return decode(oneFrame(frames), Alert);
}

/**
 * Decodes a feed message `[topic, body]` into an indicator or a pass marker.
 *
 * @example
 * ```ts
 * import { decodeFeed, encodeBody } from "./protocol.ts";
 * const t = new TextEncoder();
 * const m = decodeFeed([t.encode("ioc.meta"), encodeBody({ pass: 1, counts: { ip: 2 } })]);
 * console.log(m.kind); // "meta"
 * ```
 */
export function decodeFeed(
  frames: Uint8Array[],
): { kind: "indicator"; indicator: Indicator } | { kind: "meta"; meta: FeedMeta } {
  if (frames.length !== 2) throw new BadMessageError(`expected 2 frames, got ${frames.length}`);
  const topic = new TextDecoder().decode(frames[0]);
  if (topic === "ioc.meta") return { kind: "meta", meta: decode(frames[1], FeedMeta) };
  const indicator = decode(frames[1], Indicator);
  if (topic !== `ioc.${indicator.type}`) {
    throw new BadMessageError(`expected topic ioc.${indicator.type}, got ${topic.slice(0, 40)}`);
  }
  return { kind: "indicator", indicator };
}

/** The higher of two severities. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}
