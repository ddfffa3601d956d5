/**
 * Lab 01 wire protocol: topic scheme, frame layout and the msgpack heartbeat schema.
 *
 * Every message is two frames: `[topic, payload]`.
 *
 * - `hb.<rack>.<node>`: every heartbeat of a node.
 * - `alert.<level>.<rack>.<node>`: the same heartbeat once more, only while the node's
 *   status is `warning` or `critical` (`<level>` = the status).
 *
 * The payload is msgpack `{node, rack, seq, boot_id, ts, status, metrics}`.
 * A subscriber selects with plain ZeroMQ prefix subscriptions, which the PUB side applies
 * before anything is sent: `hb.A.` is rack A only, `alert.critical.` is critical alerts only,
 * `alert.warning.B.` is warnings of rack B only. The trailing `.` keeps rack `A` from
 * matching rack `AB`.
 *
 * @module
 */
import { BadMessageError, decode, encode, s } from "@lib/codec/mod.ts";

/** Topic root of every heartbeat: `hb.<rack>.<node>`. */
export const HEARTBEAT_ROOT = "hb";
/** Topic root of alert copies: `alert.<level>.<rack>.<node>`. */
export const ALERT_ROOT = "alert";
/** Separator between topic segments. */
export const TOPIC_SEPARATOR = ".";
/** Health statuses a heartbeat carries, best first. */
export const STATUSES = ["ok", "warning", "critical"] as const;
/** Statuses that are also published on an alert topic. */
export const ALERT_LEVELS = ["warning", "critical"] as const;
/** Frames per message: topic and payload. */
export const FRAME_COUNT = 2;
/** Largest topic frame accepted, in bytes. */
export const MAX_TOPIC_BYTES = 256;
/** Largest payload frame accepted, in bytes (a heartbeat is ~200 B). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;
/** Most metrics per heartbeat. */
export const MAX_METRICS = 64;
/** Rack names: no separator, so a rack prefix subscription is exact. */
export const RACK_PATTERN: RegExp = /^[A-Za-z0-9_-]{1,64}$/;
/** Node names: the last topic segment, so dots (host names) are allowed. */
export const NODE_PATTERN: RegExp = /^[A-Za-z0-9_.-]{1,128}$/;

/** A node's health status. */
export type Status = typeof STATUSES[number];
/** An alert level (a status that is not `ok`). */
export type AlertLevel = typeof ALERT_LEVELS[number];

/** Schema of the msgpack heartbeat payload (extra fields are tolerated). */
export const HeartbeatSchema = s.object({
  node: s.string({ min: 1, max: 128 }),
  rack: s.string({ min: 1, max: 64 }),
  seq: s.int({ min: 0 }),
  boot_id: s.string({ min: 1, max: 64 }),
  ts: s.number(),
  status: s.literal(...STATUSES),
  metrics: s.record(s.number(), { maxKeys: MAX_METRICS }),
});

/** One heartbeat as it travels on the wire. */
export interface Heartbeat {
  /** Node name, unique within its rack. */
  node: string;
  /** Rack name. */
  rack: string;
  /** Per-boot sequence number: 0, 1, 2, ... A gap means lost beats. */
  seq: number;
  /** Random id of this boot (process start or simulated reboot); a new one is a restart. */
  boot_id: string;
  /** Sender's wall clock, ms since the epoch (informational: liveness uses the receiver's). */
  ts: number;
  /** Health status derived from the metrics. */
  status: Status;
  /** Host metrics, e.g. `load1`, `mem_used_pct`, `uptime_s`. */
  metrics: Record<string, number>;
}

/** A decoded message: its topic's kind and the heartbeat. */
export interface Received {
  /** `heartbeat` for `hb.*`, `alert` for `alert.*`. */
  kind: "heartbeat" | "alert";
  /** The topic string. */
  topic: string;
  /** The decoded, checked heartbeat. */
  heartbeat: Heartbeat;
}

/** What a subscriber wants to see. */
export interface Selection {
  /** Racks to see; empty = all racks. */
  racks: readonly string[];
  /** Alert copies only (`alert.*`) instead of every heartbeat (`hb.*`). */
  alertsOnly: boolean;
  /** With `alertsOnly`: the levels to see; empty = all levels. */
  levels: readonly AlertLevel[];
}

/**
 * The topic a node's heartbeat is published on.
 *
 * @example
 * ```ts
 * heartbeatTopic("A", "a-01"); // "hb.A.a-01"
 * ```
 */
export function heartbeatTopic(rack: string, node: string): string {
  return [HEARTBEAT_ROOT, rack, node].join(TOPIC_SEPARATOR);
}

/**
 * The topic an alert copy is published on.
 *
 * @example
 * ```ts
 * alertTopic("critical", "A", "a-01"); // "alert.critical.A.a-01"
 * ```
 */
export function alertTopic(level: AlertLevel, rack: string, node: string): string {
  return [ALERT_ROOT, level, rack, node].join(TOPIC_SEPARATOR);
}

/**
 * The messages (topic + payload) to publish for one heartbeat: always the `hb.` one, plus an
 * `alert.` copy when the status is not ok.
 *
 * @example
 * ```ts
 * import { heartbeatMessages } from "./protocol.ts";
 * const hb = { node: "a-01", rack: "A", seq: 0, boot_id: "b1", ts: 0, status: "warning" as const,
 *   metrics: {} };
 * heartbeatMessages(hb).map(([topic]) => topic); // ["hb.A.a-01", "alert.warning.A.a-01"]
 * ```
 */
export function heartbeatMessages(heartbeat: Heartbeat): [string, Uint8Array][] {
  const payload = encode(heartbeat);
  const messages: [string, Uint8Array][] = [
    [heartbeatTopic(heartbeat.rack, heartbeat.node), payload],
  ];
  if (heartbeat.status !== "ok") {
    messages.push([alertTopic(heartbeat.status, heartbeat.rack, heartbeat.node), payload]);
  }
  return messages;
}

/**
 * The prefix subscriptions for a selection. The publisher applies them, so nothing outside
 * the selection reaches the subscriber's socket.
 *
 * @example
 * ```ts
 * subscriptionsFor({ racks: ["A"], alertsOnly: false, levels: [] }); // ["hb.A."]
 * subscriptionsFor({ racks: [], alertsOnly: true, levels: ["critical"] }); // ["alert.critical."]
 * ```
 */
export function subscriptionsFor(selection: Selection): string[] {
  const racks = [...new Set(selection.racks)];
  for (const rack of racks) {
    if (!RACK_PATTERN.test(rack)) {
      throw new RangeError(`rack: expected a name matching ${RACK_PATTERN}, got "${rack}"`);
    }
  }
  const dot = TOPIC_SEPARATOR;
  if (!selection.alertsOnly) {
    if (racks.length === 0) return [HEARTBEAT_ROOT + dot];
    return racks.map((rack) => HEARTBEAT_ROOT + dot + rack + dot);
  }
  const levels = selection.levels.length === 0 ? [...ALERT_LEVELS] : [
    ...new Set(selection.levels),
  ];
  const out: string[] = [];
  for (const level of levels) {
    if (racks.length === 0) out.push(ALERT_ROOT + dot + level + dot);
    for (const rack of racks) out.push(ALERT_ROOT + dot + level + dot + rack + dot);
  }
  return out;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes and checks one received message `[topic, payload]`. Throws `BadMessageError`
 * (with `reason`) on a wrong frame count, oversize frames, an unknown topic, a payload that
 * fails the schema, or a payload that does not match its topic.
 *
 * @example
 * ```ts
 * import { BadMessageError, decodeMessage } from "./protocol.ts";
 * const frames = [new TextEncoder().encode("hb.A.a-01")]; // the payload frame is missing
 * try {
 *   decodeMessage(frames);
 * } catch (e) {
 *   if (e instanceof BadMessageError) console.log(e.reason); // expected 2 frames [topic, payload], got 1
 * }
 * ```
 */
export function decodeMessage(frames: readonly Uint8Array[]): Received {
  const bad = (reason: string): never => {
    throw new BadMessageError(reason);
  };
  if (frames.length !== FRAME_COUNT) {
    bad(`expected ${FRAME_COUNT} frames [topic, payload], got ${frames.length}`);
  }
  const [topicFrame, payload] = frames;
  if (topicFrame.length > MAX_TOPIC_BYTES) {
    bad(`topic: expected at most ${MAX_TOPIC_BYTES} bytes, got ${topicFrame.length}`);
  }
  if (payload.length > MAX_PAYLOAD_BYTES) {
    bad(`payload: expected at most ${MAX_PAYLOAD_BYTES} bytes, got ${payload.length}`);
  }
  let topic = "";
  try {
    topic = textDecoder.decode(topicFrame);
  } catch {
    bad("topic: expected UTF-8 text");
  }
  const parsed = parseTopic(topic);
  const heartbeat = decode(payload, HeartbeatSchema) as Heartbeat;
  if (!RACK_PATTERN.test(heartbeat.rack)) {
    bad(`rack: expected a name matching ${RACK_PATTERN}, got ${JSON.stringify(heartbeat.rack)}`);
  }
  if (!NODE_PATTERN.test(heartbeat.node)) {
    bad(`node: expected a name matching ${NODE_PATTERN}, got ${JSON.stringify(heartbeat.node)}`);
  }
  if (parsed.rack !== heartbeat.rack || parsed.node !== heartbeat.node) {
    bad(
      `topic ${topic}: expected rack/node ${heartbeat.rack}/${heartbeat.node} of the payload`,
    );
  }
  if (parsed.kind === "alert" && parsed.level !== heartbeat.status) {
    bad(`topic ${topic}: expected level ${heartbeat.status} of the payload status`);
  }
  return { kind: parsed.kind, topic, heartbeat };
}

/** The parts of a topic string. */
export interface ParsedTopic {
  kind: "heartbeat" | "alert";
  rack: string;
  node: string;
  level?: AlertLevel;
}

/**
 * Splits a topic into its parts, or throws `BadMessageError` naming what was expected.
 *
 * @example
 * ```ts
 * parseTopic("alert.warning.B.b-02"); // { kind: "alert", level: "warning", rack: "B", node: "b-02" }
 * ```
 */
export function parseTopic(topic: string): ParsedTopic {
  const parts = topic.split(TOPIC_SEPARATOR);
  const expected = `expected hb.<rack>.<node> or alert.<level>.<rack>.<node>, got ${
    JSON.stringify(topic.slice(0, 80))
  }`;
  if (parts[0] === HEARTBEAT_ROOT && parts.length >= 3) {
    const node = parts.slice(2).join(TOPIC_SEPARATOR);
    if (RACK_PATTERN.test(parts[1]) && NODE_PATTERN.test(node)) {
      return { kind: "heartbeat", rack: parts[1], node };
    }
  }
  if (parts[0] === ALERT_ROOT && parts.length >= 4) {
    const level = parts[1] as AlertLevel;
    const node = parts.slice(3).join(TOPIC_SEPARATOR);
    if (ALERT_LEVELS.includes(level) && RACK_PATTERN.test(parts[2]) && NODE_PATTERN.test(node)) {
      return { kind: "alert", level, rack: parts[2], node };
    }
  }
  throw new BadMessageError(`topic: ${expected}`);
}

export { BadMessageError };
