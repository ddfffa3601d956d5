/**
 * Lab 16 browser protocol: JSON text frames over one WebSocket (RFC 6455), checked by a
 * schema on the way in, and the translation of Lab 04's ZeroMQ updates into data frames.
 *
 * Browser → bridge (each a text frame of at most {@linkcode MAX_CLIENT_FRAME_BYTES} bytes,
 * one JSON object, no other keys allowed):
 *
 * | type          | fields                                              | when                              |
 * | ------------- | --------------------------------------------------- | --------------------------------- |
 * | `hello`       | `topics: string[]`, `resume?: {epoch, seq}`          | first frame, exactly once         |
 * | `subscribe`   | `topics: string[]` (topic prefixes, `""` = all)      | any time after `hello`            |
 * | `unsubscribe` | `topics: string[]`                                  | any time after `hello`            |
 * | `pong`        | `t: number` (the `t` of the bridge's `ping`)         | answer to each `ping`             |
 *
 * Bridge → browser:
 *
 * | type         | fields                                                                              |
 * | ------------ | ----------------------------------------------------------------------------------- |
 * | `welcome`    | `epoch`, `seq` (latest), `ping_ms`, `resumed`, `replayed`, `missed`, `topics`       |
 * | `subscribed` | `topics` (the client's prefixes now)                                                |
 * | `data`       | `seq`, `topic`, `src_seq`, `ts`, `units`, `schema`, `value` or `payload` (base64), `lvc`; `conflated` + `skipped` when conflated |
 * | `ping`       | `t` (bridge clock, ms)                                                              |
 *
 * `seq` is the bridge's own sequence number: +1 for every update the bridge receives from
 * ZeroMQ, within an `epoch` (a random id of one replay ring; a restart with `--state` keeps
 * it). Close codes are in {@linkcode CLOSE}.
 *
 * @module
 */

import { BadMessageError, type Infer, s, validate } from "@lib/codec/mod.ts";
import {
  decodeReading,
  parseUpdate,
  READING_SCHEMA,
} from "../../04-telemetry-lvc/internal/protocol.ts";

/**
 * WebSocket close codes the bridge uses (RFC 6455 §7.4.1 for the 1000-range, §7.4.2 for the
 * private 4000–4999 range).
 */
export const CLOSE = {
  /** 1001 Going Away: the bridge is shutting down (the page reconnects and resumes). */
  goingAway: 1001,
  /** 1003 Unsupported Data: a binary frame (only text frames are accepted). */
  unsupportedData: 1003,
  /** 1009 Message Too Big: a text frame over {@linkcode MAX_CLIENT_FRAME_BYTES}. */
  tooBig: 1009,
  /** 4400 Bad Message: not JSON, or fails the schema (type, fields, limits, order). */
  badMessage: 4400,
  /** 4408 Slow Consumer: stayed behind (conflating without progress) past `--slow-timeout`. */
  slowConsumer: 4408,
  /** 4409 Ping Timeout: no `pong` within `--ping-timeout`. */
  pingTimeout: 4409,
} as const;

/** Largest text frame a browser may send (bytes of UTF-16 code units, checked as length). */
export const MAX_CLIENT_FRAME_BYTES = 8192;
/** Most topic prefixes per client. */
export const MAX_TOPICS_PER_CLIENT = 32;
/** Longest topic prefix (Lab 04's longest topic). */
export const MAX_TOPIC_LENGTH = 256;

const Topics = s.array(s.string({ max: MAX_TOPIC_LENGTH }), { max: MAX_TOPICS_PER_CLIENT });

/** `hello`: the first frame of every connection. */
export const Hello = s.object({
  type: s.literal("hello"),
  topics: Topics,
  resume: s.optional(
    s.object({ epoch: s.string({ max: 64 }), seq: s.int({ min: 0 }) }, { strict: true }),
  ),
}, { strict: true });
/** `subscribe` / `unsubscribe`: change the client's topic prefixes. */
export const TopicChange = s.object({
  type: s.oneOf(s.literal("subscribe"), s.literal("unsubscribe")),
  topics: Topics,
}, { strict: true });
/** `pong`: the answer to a `ping`. */
export const Pong = s.object({ type: s.literal("pong"), t: s.number() }, { strict: true });

/** A browser frame after its schema check. */
export type ClientMessage = Infer<typeof Hello> | Infer<typeof TopicChange> | Infer<typeof Pong>;

/**
 * Checks one text frame from a browser; throws `BadMessageError` (reason says what was
 * wrong) for anything but one of the documented messages.
 *
 * @example
 * ```ts
 * import { parseClientMessage } from "./protocol.ts";
 * const m = parseClientMessage('{"type":"subscribe","topics":["plant-a/"]}');
 * console.log(m.type); // "subscribe"
 * ```
 */
export function parseClientMessage(text: string): ClientMessage {
  if (text.length > MAX_CLIENT_FRAME_BYTES) {
    throw new BadMessageError(`frame of ${text.length} chars > ${MAX_CLIENT_FRAME_BYTES}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadMessageError("not JSON");
  }
  const type = typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as { type?: unknown }).type
    : undefined;
  switch (type) {
    case "hello":
      return validate(value, Hello);
    case "subscribe":
    case "unsubscribe":
      return validate(value, TopicChange);
    case "pong":
      return validate(value, Pong);
    default:
      throw new BadMessageError(
        `expected type hello|subscribe|unsubscribe|pong, got ${JSON.stringify(type) ?? "none"}`,
      );
  }
}

/** One update from ZeroMQ, ready to fan out: its topic and its `data` frame text. */
export interface DataEntry {
  seq: number;
  topic: string;
  /** The JSON text of the `data` frame (encoded once, sent to every client). */
  json: string;
}

/** Limits applied to updates from ZeroMQ. */
export interface UpdateLimits {
  /** Largest payload accepted (bytes). */
  maxPayloadBytes: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** A checked update from ZeroMQ, before the bridge numbers it. */
export interface ParsedUpdate {
  topic: string;
  /** The `data` frame's fields after `type` and `seq`. */
  fields: Record<string, unknown>;
}

/**
 * Checks a Lab 04 update `[topic, header, payload]`: a `telemetry.reading.v1` payload
 * becomes `value` (CRC checked), any other schema is passed on as base64 `payload`. Throws
 * `BadMessageError` for a malformed update.
 *
 * @example
 * ```ts
 * import { encodeHeader, encodeReading, READING_SCHEMA } from "../../04-telemetry-lvc/internal/protocol.ts";
 * import { dataJson, parseUpdateFrames } from "./protocol.ts";
 * const frames = [
 *   new TextEncoder().encode("plant-a/temperature/00001"),
 *   encodeHeader({ seq: 7, ts: 1, units: "degC", schema: READING_SCHEMA }),
 *   encodeReading(21.5, new Uint8Array()),
 * ];
 * const update = parseUpdateFrames(frames, { maxPayloadBytes: 65536 });
 * console.log(dataJson(1, update)); // {"type":"data","seq":1,"topic":"plant-a/temperature/00001",...}
 * ```
 */
export function parseUpdateFrames(frames: Uint8Array[], limits: UpdateLimits): ParsedUpdate {
  const update = parseUpdate(frames, { maxPayloadBytes: limits.maxPayloadBytes });
  let topic: string;
  try {
    topic = decoder.decode(update.topic);
  } catch {
    throw new BadMessageError("topic is not UTF-8");
  }
  const h = update.header;
  const fields: Record<string, unknown> = {
    topic,
    src_seq: h.seq,
    ts: h.ts,
    units: h.units,
    schema: h.schema,
  };
  if (h.schema === READING_SCHEMA) fields.value = decodeReading(update.payload).value;
  else fields.payload = toBase64(update.payload);
  if (h.replay) fields.lvc = true;
  return { topic, fields };
}

/**
 * The text of the `data` frame of `update` numbered `seq`.
 *
 * @example
 * ```ts
 * import { dataJson } from "./protocol.ts";
 * dataJson(3, { topic: "t", fields: { topic: "t", value: 1 } }); // '{"type":"data","seq":3,"topic":"t","value":1}'
 * ```
 */
export function dataJson(seq: number, update: ParsedUpdate): string {
  return JSON.stringify({ type: "data", seq, ...update.fields });
}

/**
 * The text of a conflated `data` frame: the entry's frame plus `conflated: true` and how
 * many updates of its topic it replaced.
 *
 * @example
 * ```ts
 * import { conflatedJson } from "./protocol.ts";
 * conflatedJson('{"type":"data","seq":9}', 3); // '{"conflated":true,"skipped":3,"type":"data","seq":9}'
 * ```
 */
export function conflatedJson(json: string, skipped: number): string {
  return `{"conflated":true,"skipped":${skipped},${json.slice(1)}`;
}

/** The `welcome` frame. */
export interface Welcome {
  type: "welcome";
  epoch: string;
  seq: number;
  ping_ms: number;
  resumed: boolean;
  replayed: number;
  missed: number;
  topics: string[];
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}
