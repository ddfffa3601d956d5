/**
 * Wire protocol of the telemetry feed.
 *
 * An update is one ZeroMQ message of exactly three frames:
 *
 * | frame | content                                                                  |
 * | ----- | ------------------------------------------------------------------------ |
 * | 0     | topic, e.g. `plant-a/temperature/00042` (the PUB/SUB filter prefix)      |
 * | 1     | header, msgpack map `{seq, ts, units, schema}` (+ `replay: true` on LVC replays) |
 * | 2     | payload, opaque bytes whose layout the header's `schema` names           |
 *
 * - `seq`: per-topic sequence number of the source (integer >= 0, +1 per update).
 * - `ts`: source clock when the value was sampled, ms since the Unix epoch (float).
 * - `units`: e.g. `degC`, `%RH`, `hPa`, `W`, `mm/s`.
 * - `schema`: payload layout; {@linkcode READING_SCHEMA} is
 *   `[value: float64 BE][blob: n bytes][crc32 BE of value+blob: uint32]`.
 * - `replay`: set by the broker when it re-sends a cached value to a new subscription.
 *
 * Subscriptions travel upstream as XPUB/XSUB subscription frames (ZeroMQ RFC 29/PUBSUB):
 * one frame, first byte {@linkcode SUBSCRIBE} (0x01) or {@linkcode UNSUBSCRIBE} (0x00),
 * then the topic prefix.
 *
 * @module
 */
import { toHex } from "@lib/async/mod.ts";
import { BadMessageError, decode, encode, s } from "@lib/codec/mod.ts";
import { crc32 } from "./crc32.ts";

/**
 * A `BadMessageError` whose `reason` is a short code (`frame_count`, `bad_topic`,
 * `oversize`, `bad_header`, `bad_subscription`, `bad_payload`, `checksum`) for logs and
 * tests, and whose message says what was expected and what was got.
 *
 * @example
 * ```ts
 * throw badMessage("frame_count", "expected 3 frames, got 2");
 * ```
 */
export function badMessage(reason: string, detail: string): BadMessageError {
  const error = new BadMessageError(reason);
  error.message = `bad message: ${reason}: ${detail}`;
  return error;
}

/** Frames per update message. */
export const UPDATE_FRAMES = 3;
/** First byte of a subscribe frame (XPUB/XSUB). */
export const SUBSCRIBE = 0x01;
/** First byte of an unsubscribe frame (XPUB/XSUB). */
export const UNSUBSCRIBE = 0x00;
/** Largest topic frame accepted. */
export const MAX_TOPIC_BYTES = 256;
/** Largest header frame accepted. */
export const MAX_HEADER_BYTES = 1024;
/** Default largest payload frame accepted (configurable per role). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Payload schema of simulated sensor readings. */
export const READING_SCHEMA = "telemetry.reading.v1";
/** Bytes of a reading payload around its blob: float64 value + uint32 crc. */
export const READING_OVERHEAD = 12;

/** The decoded header frame. */
export interface UpdateHeader {
  seq: number;
  ts: number;
  units: string;
  schema: string;
  replay?: boolean;
}

/** Header schema (extra fields from other producers are tolerated and ignored). */
export const HeaderSchema = s.object({
  seq: s.int(),
  ts: s.number(),
  units: s.string(),
  schema: s.string(),
  replay: s.optional(s.boolean()),
}, { strict: false });

/** One validated update. */
export interface Update {
  topic: Uint8Array;
  headerBytes: Uint8Array;
  header: UpdateHeader;
  payload: Uint8Array;
}

/** Size limits applied by {@linkcode parseUpdate}. */
export interface UpdateLimits {
  maxPayloadBytes: number;
}

/**
 * Encodes a header frame.
 *
 * @example
 * ```ts
 * const bytes = encodeHeader({ seq: 1, ts: Date.now(), units: "degC", schema: READING_SCHEMA });
 * ```
 */
export function encodeHeader(header: UpdateHeader): Uint8Array {
  const out: UpdateHeader = {
    seq: header.seq,
    ts: header.ts,
    units: header.units,
    schema: header.schema,
  };
  if (header.replay) out.replay = true;
  return encode(out);
}

/**
 * Decodes and checks a header frame; throws `BadMessageError` when it is not one.
 *
 * @example
 * ```ts
 * import { decodeHeader, encodeHeader, READING_SCHEMA } from "./protocol.ts";
 * const bytes = encodeHeader({ seq: 1, ts: 0, units: "degC", schema: READING_SCHEMA });
 * decodeHeader(bytes); // { seq: 1, ts: 0, units: "degC", schema: "telemetry.reading.v1" }
 * ```
 */
export function decodeHeader(bytes: Uint8Array): UpdateHeader {
  if (bytes.length > MAX_HEADER_BYTES) {
    throw badMessage(
      "oversize",
      `expected a header of at most ${MAX_HEADER_BYTES} bytes, got ${bytes.length}`,
    );
  }
  let h: UpdateHeader;
  try {
    h = decode(bytes, HeaderSchema) as UpdateHeader;
  } catch (error) {
    if (!(error instanceof BadMessageError)) throw error;
    throw badMessage("bad_header", error.reason);
  }
  if (h.seq < 0 || !Number.isFinite(h.ts)) {
    throw badMessage(
      "bad_header",
      `expected seq >= 0 and a finite ts, got seq=${h.seq} ts=${h.ts}`,
    );
  }
  return { seq: h.seq, ts: h.ts, units: h.units, schema: h.schema, replay: h.replay === true };
}

/**
 * Checks a received message is a well-formed update and returns its parts; throws
 * `BadMessageError` (reason `frame_count`, `bad_topic`, `oversize`, `bad_header`, ...).
 *
 * @example
 * ```ts
 * import { encodeHeader, encodeReading, parseUpdate, READING_SCHEMA } from "./protocol.ts";
 * const frames = [
 *   new TextEncoder().encode("plant/t/00001"),
 *   encodeHeader({ seq: 1, ts: 0, units: "degC", schema: READING_SCHEMA }),
 *   encodeReading(21.5, new Uint8Array()),
 * ];
 * const update = parseUpdate(frames, { maxPayloadBytes: 65536 });
 * console.log(update.header.seq); // 1
 * ```
 */
export function parseUpdate(frames: Uint8Array[], limits: UpdateLimits): Update {
  if (frames.length !== UPDATE_FRAMES) {
    throw badMessage(
      "frame_count",
      `expected ${UPDATE_FRAMES} frames [topic, header, payload], got ${frames.length}`,
    );
  }
  const [topic, headerBytes, payload] = frames;
  if (topic.length === 0 || topic.length > MAX_TOPIC_BYTES) {
    throw badMessage(
      "bad_topic",
      `expected a topic of 1..${MAX_TOPIC_BYTES} bytes, got ${topic.length}`,
    );
  }
  if (payload.length > limits.maxPayloadBytes) {
    throw badMessage(
      "oversize",
      `expected a payload of at most ${limits.maxPayloadBytes} bytes, got ${payload.length}`,
    );
  }
  return { topic, headerBytes, header: decodeHeader(headerBytes), payload };
}

/** A subscription frame seen by an XPUB (or sent by an XSUB). */
export interface SubscriptionFrame {
  subscribe: boolean;
  prefix: Uint8Array;
}

/**
 * Parses an XPUB subscription frame (`0x01`/`0x00` + prefix); throws `BadMessageError`.
 *
 * @example
 * ```ts
 * import { parseSubscription, subscriptionFrame } from "./protocol.ts";
 * const frame = subscriptionFrame(true, new TextEncoder().encode("plant/"));
 * const { subscribe, prefix } = parseSubscription([frame]); // true, "plant/" as bytes
 * console.log(subscribe, prefix.length); // true 6
 * ```
 */
export function parseSubscription(frames: Uint8Array[]): SubscriptionFrame {
  if (frames.length !== 1) {
    throw badMessage(
      "frame_count",
      `expected 1 subscription frame, got ${frames.length}`,
    );
  }
  const [frame] = frames;
  if (frame.length === 0 || (frame[0] !== SUBSCRIBE && frame[0] !== UNSUBSCRIBE)) {
    throw badMessage(
      "bad_subscription",
      `expected a frame starting 0x01 (subscribe) or 0x00 (unsubscribe), got ${
        frame.length === 0 ? "an empty frame" : `0x${toHex(frame.subarray(0, 1))}`
      }`,
    );
  }
  return { subscribe: frame[0] === SUBSCRIBE, prefix: frame.subarray(1) };
}

/**
 * Builds a subscription frame.
 *
 * @example
 * ```ts
 * import { subscriptionFrame } from "./protocol.ts";
 * subscriptionFrame(true, new Uint8Array()); // Uint8Array [1]: subscribe to everything
 * ```
 */
export function subscriptionFrame(subscribe: boolean, prefix: Uint8Array): Uint8Array {
  const frame = new Uint8Array(prefix.length + 1);
  frame[0] = subscribe ? SUBSCRIBE : UNSUBSCRIBE;
  frame.set(prefix, 1);
  return frame;
}

/** A decoded {@linkcode READING_SCHEMA} payload. */
export interface Reading {
  value: number;
  blob: Uint8Array;
  crc: number;
}

/**
 * Encodes a reading payload: float64 BE value, blob, CRC-32 BE of both.
 *
 * @example
 * ```ts
 * const payload = encodeReading(21.5, new Uint8Array(16));
 * ```
 */
export function encodeReading(value: number, blob: Uint8Array): Uint8Array {
  const out = new Uint8Array(blob.length + READING_OVERHEAD);
  const view = new DataView(out.buffer);
  view.setFloat64(0, value);
  out.set(blob, 8);
  view.setUint32(8 + blob.length, crc32(out.subarray(0, 8 + blob.length)));
  return out;
}

/**
 * Decodes a reading payload and verifies its CRC; throws `BadMessageError`
 * (reason `bad_payload` or `checksum`).
 *
 * @example
 * ```ts
 * import { decodeReading, encodeReading } from "./protocol.ts";
 * const { value } = decodeReading(encodeReading(21.5, new Uint8Array(4)));
 * console.log(value); // 21.5
 * ```
 */
export function decodeReading(payload: Uint8Array): Reading {
  if (payload.length < READING_OVERHEAD) {
    throw badMessage(
      "bad_payload",
      `expected a ${READING_SCHEMA} payload of >= ${READING_OVERHEAD} bytes, got ${payload.length}`,
    );
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const end = payload.length - 4;
  const crc = view.getUint32(end);
  const actual = crc32(payload.subarray(0, end));
  if (crc !== actual) {
    throw badMessage(
      "checksum",
      `expected crc32 ${crc.toString(16)} from the payload, computed ${actual.toString(16)}`,
    );
  }
  return { value: view.getFloat64(0), blob: payload.subarray(8, end), crc };
}
